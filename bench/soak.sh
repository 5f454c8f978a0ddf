#!/usr/bin/env bash
# Soak (issue 8, not in CI): Sluice under `sysbench oltp_read_write` plus a churn of client
# connections (connect, full mysql_native_password login, COM_QUIT, close) at --rate per second,
# for --minutes. Samples Sluice's RSS, fd count and client connections every 5 s into
# $OUT/samples.tsv and prints a summary: RSS first/min/max/last and the drift between the first
# and the last minute, /proc/PID/fd count before and after, sysbench's figures and the churn
# rate actually reached. Reports, does not fail (exit 0), unless the run could not be made.
#
# Usage: bench/soak.sh [--minutes N] [--rate R] [--threads T] [--out DIR]
#
# Use a release build without ASan: SLUICE_BIN (default build/sluice). The sandbox is the one
# scripts/sandbox.sh and tests/integration/harness.py name (SLUICE_SANDBOX_PORT_BASE); sysbench's
# tables live in database soak_sbtest (4 x 10 000 rows, prepared directly on the primary).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MINUTES=10
RATE=2000
THREADS=8
OUT=
PY=/usr/bin/python3
SLUICE_BIN=${SLUICE_BIN:-$ROOT/build/sluice}
BASE=${SLUICE_SANDBOX_PORT_BASE:-13306}
DB=soak_sbtest
TABLES=4
TABLE_SIZE=10000

usage() { sed -n '/^# Usage:/,/^[^#]/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
while (($#)); do
	case $1 in
	--minutes) MINUTES=$2; shift 2 ;;
	--rate) RATE=$2; shift 2 ;;
	--threads) THREADS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[[ -x $SLUICE_BIN ]] || { echo "soak: no sluice binary at $SLUICE_BIN (set SLUICE_BIN)" >&2; exit 2; }
if nm -an "$SLUICE_BIN" 2>/dev/null | grep -q __asan_init; then
	echo "soak: warning: $SLUICE_BIN is built with ASan; RSS figures will not mean much" >&2
fi
OUT=${OUT:-$(mktemp -d /tmp/sluice-soak.XXXXXX)}
mkdir -p "$OUT"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
STATS=$(free_port)
# The sandbox's addresses come from harness.render_config (it follows SLUICE_SANDBOX_PORT_BASE).
PYTHONPATH=$ROOT/tests/integration SLUICE_SOURCE_DIR=$ROOT $PY - "$PORT" "$STATS" >"$OUT/sluice.conf" <<'EOF'
import sys, harness
port, stats = sys.argv[1:3]
print(harness.render_config({("proxy", "listen"): "127.0.0.1:" + port,
                             ("proxy", "max_connections"): "20000",
                             ("proxy", "log_level"): "warn",
                             ("stats", "listen"): "127.0.0.1:" + stats}), end="")
EOF

mysql_primary() { mariadb --no-defaults -h127.0.0.1 -P"$BASE" --protocol=TCP -uapp -papp "$@"; }
SB=(sysbench oltp_read_write --db-driver=mysql --mysql-host=127.0.0.1 --mysql-user=app
	--mysql-password=app --mysql-db=$DB --tables=$TABLES --table-size=$TABLE_SIZE)

echo "soak: preparing $DB on the primary (127.0.0.1:$BASE)"
mysql_primary -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB"
"${SB[@]}" --mysql-port="$BASE" prepare >"$OUT/prepare.log" 2>&1

"$SLUICE_BIN" -c "$OUT/sluice.conf" >"$OUT/sluice.log" 2>&1 &
PID=$!
cleanup() {
	[[ -n ${CHURN_PID:-} ]] && kill "$CHURN_PID" 2>/dev/null || true
	[[ -n ${SB_PID:-} ]] && kill "$SB_PID" 2>/dev/null || true
	kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
	mysql_primary -e "DROP DATABASE IF EXISTS $DB" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do
	mysql_primary -P"$PORT" -e 'SELECT 1' >/dev/null 2>&1 && break
	kill -0 "$PID" 2>/dev/null || { cat "$OUT/sluice.log" >&2; exit 2; }
	sleep 0.1
done

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$PID/status"; }
fds() { ls "/proc/$PID/fd" | wc -l; }
FDS0=$(fds)
RSS0=$(rss)
echo "soak: sluice pid $PID on 127.0.0.1:$PORT, rss ${RSS0} KiB, fds $FDS0; $MINUTES min, churn $RATE/s, $THREADS sysbench threads; output in $OUT"

SECS=$((MINUTES * 60))
"${SB[@]}" --mysql-port="$PORT" --threads="$THREADS" --time="$SECS" --report-interval=30 \
	--mysql-ignore-errors=all run >"$OUT/sysbench.log" 2>&1 &
SB_PID=$!

# The churn: P processes, each a paced loop of blocking logins (greeting, HandshakeResponse41
# with a native-password token, OK, COM_QUIT, close).
$PY - "$PORT" "$RATE" "$SECS" >"$OUT/churn.log" 2>&1 <<'EOF' &
import hashlib, multiprocessing as mp, socket, struct, sys, time
port, rate, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
PROCS = 4

def token(pw, scr):
    h1 = hashlib.sha1(pw).digest(); h3 = hashlib.sha1(scr + hashlib.sha1(h1).digest()).digest()
    return bytes(a ^ b for a, b in zip(h1, h3))

def recv_packet(s):
    hdr = b""
    while len(hdr) < 4:
        d = s.recv(4 - len(hdr))
        if not d: raise EOFError("closed")
        hdr += d
    n = int.from_bytes(hdr[:3], "little"); body = b""
    while len(body) < n:
        d = s.recv(n - len(body))
        if not d: raise EOFError("closed")
        body += d
    return body

def login(s):
    p = recv_packet(s)
    i = p.index(b"\0", 1) + 5; part1 = p[i:i + 8]; i += 16; alen = p[i]; i += 11
    scr = (part1 + p[i:i + max(13, alen - 8)])[:20]
    t = token(b"app", scr)
    body = struct.pack("<IIB23x", 0x1 | 0x200 | 0x2000 | 0x8000 | 0x80000, 1 << 24, 45)
    body += b"app\0" + bytes([len(t)]) + t + b"mysql_native_password\0"
    s.sendall(struct.pack("<I", len(body))[:3] + b"\x01" + body)
    r = recv_packet(s)
    if r[:1] != b"\0": raise RuntimeError("login failed: %r" % r[:60])
    s.sendall(b"\x01\x00\x00\x00\x01")            # COM_QUIT

def worker(q):
    per = rate / PROCS; ok = fail = 0; err = None
    t0 = time.monotonic(); end = t0 + secs
    while time.monotonic() < end:
        delay = t0 + (ok + fail) / per - time.monotonic()
        if delay > 0: time.sleep(delay)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                login(s)
            ok += 1
        except Exception as e:
            fail += 1; err = err or repr(e)
    q.put((ok, fail, err, time.monotonic() - t0))

q = mp.Queue(); ps = [mp.Process(target=worker, args=(q,)) for _ in range(PROCS)]
[p.start() for p in ps]; res = [q.get() for _ in ps]; [p.join() for p in ps]
ok = sum(r[0] for r in res); fail = sum(r[1] for r in res); el = max(r[3] for r in res)
print("churn: %d logins ok, %d failed, %.0f/s (first error: %s)" % (
    ok, fail, ok / el, next((r[2] for r in res if r[2]), None)))
EOF
CHURN_PID=$!

printf 't_s\trss_kib\tfds\tclients\n' >"$OUT/samples.tsv"
T0=$SECONDS
while (kill -0 "$SB_PID" || kill -0 "$CHURN_PID") 2>/dev/null && ((SECONDS - T0 < SECS + 60)); do
	kill -0 "$PID" 2>/dev/null || { echo "soak: sluice died" >&2; tail -50 "$OUT/sluice.log" >&2; exit 1; }
	clients=$(curl -s "http://127.0.0.1:$STATS/stats" |
		$PY -c 'import json,sys; print(json.load(sys.stdin).get("connections",{}).get("current","?"))' 2>/dev/null || echo '?')
	printf '%d\t%s\t%s\t%s\n' $((SECONDS - T0)) "$(rss)" "$(fds)" "$clients" >>"$OUT/samples.tsv"
	sleep 5
done
kill "$SB_PID" "$CHURN_PID" 2>/dev/null || true
wait "$SB_PID" || true
wait "$CHURN_PID" || true
SB_PID= CHURN_PID=
sleep 5
FDS1=$(fds)
RSS1=$(rss)
printf '%d\t%s\t%s\t%s\n' $((SECONDS - T0)) "$RSS1" "$FDS1" idle >>"$OUT/samples.tsv"

echo "soak: RSS samples (KiB, every 5 s under load): $(awk 'NR>1 && $4!="idle" {printf "%s ", $2}' "$OUT/samples.tsv")"
awk -F'\t' 'NR > 1 && $4 != "idle" {
		n++; r[n] = $2; t[n] = $1
		if (min == "" || $2 < min) min = $2
		if ($2 > max) max = $2
	}
	END {
		for (i = 1; i <= n; i++) {
			if (t[i] >= 5 && t[i] < 65) { a += r[i]; na++ }
			if (t[i] > t[n] - 60) { b += r[i]; nb++ }
		}
		printf "soak: RSS first %d, min %d, max %d, last %d KiB; mean of first minute (after 5 s) %d, of last minute %d KiB: drift %+d KiB\n",
			r[1], min, max, r[n], a / na, b / nb, b / nb - a / na
	}' "$OUT/samples.tsv"
echo "soak: RSS before load $RSS0 KiB, after load (idle, +5 s) $RSS1 KiB; fds before $FDS0, after $FDS1"
grep -E 'transactions:|queries:|ignored errors:|reconnects:|95th percentile:' "$OUT/sysbench.log" |
	sed 's/^ */soak: sysbench /'
sed 's/^/soak: /' "$OUT/churn.log"
grep -E 'AddressSanitizer|runtime error|ERROR' "$OUT/sluice.log" | head -5 | sed 's/^/soak: sluice log: /' || true
