#!/usr/bin/env bash
# Throughput benchmark: sysbench oltp_point_select, oltp_read_only,
# oltp_read_only --skip-trx=on and oltp_read_write --skip-trx=on (prepared
# statements, and again with the text protocol) against four targets in one
# run, so they share the machine's state:
#   direct        the sandbox primary, 127.0.0.1:13306
#   haproxy       a layer-4 TCP forwarder (haproxy mode tcp) in front of the primary
#   sluice        ${SLUICE_BIN:-build/sluice} with conf/sluice.conf on free ports
#                 (its [pinning]: window mode, Redis 127.0.0.1:16379)
#   sluice_nopin  a second Sluice, same binary and config but [pinning] mode = off,
#                 running at the same time on its own free ports
# Targets are interleaved per workload, each after a discarded warm-up run.
# Prints a table with qps, p95 latency and ratios, for each Sluice run the share
# of statements each backend served and the pinning counters (from /stats), the
# pinning cost (sluice / sluice_nopin qps and p95 per workload), the classifier's
# cost per statement (bench/classify_bench), and the issue's target checks
# (sluice >= 0.95 x haproxy qps on oltp_point_select; classifier < 1 us per
# typical statement). It reports, it does not fail: the exit status is 0
# whatever the numbers are.
#
# Usage: bench/sysbench.sh [--time S] [--threads N] [--tables T] [--table-size R]
#                          [--warmup S]
set -euo pipefail

TIME=20
THREADS=16
TABLES=4
TABLE_SIZE=10000
WARMUP=3
TARGET_RATIO=0.95

usage() {
    sed -n '/^# Usage:/,/^[^#]/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case "$1" in
    --time) TIME=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --tables) TABLES=$2; shift 2 ;;
    --table-size) TABLE_SIZE=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "sysbench.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
for v in "$TIME" "$THREADS" "$TABLES" "$TABLE_SIZE" "$WARMUP"; do
    case "$v" in
    '' | *[!0-9]*) echo "sysbench.sh: numeric argument expected, got '$v'" >&2; exit 2 ;;
    esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

HOST=127.0.0.1
PRIMARY_PORT=13306
REPLICA_PORTS="13307 13308"
DB_USER=app
DB_PASS=app
DB_NAME=sbtest
SLUICE_BIN=${SLUICE_BIN:-build/sluice}
SLUICE_CONF_TEMPLATE=${SLUICE_CONF:-conf/sluice.conf}
CLASSIFY_TARGET_NS=1000
CLASSIFY_SECONDS=0.2 # per statement of classify_bench's corpus

# Table rows: label -> sysbench test, extra options (space-separated, none with
# a space inside), --db-ps-mode (default auto), --mysql-ignore-errors (default
# none) and whether it writes. oltp_read_only wraps every read in BEGIN/COMMIT, so Sluice
# sends all of it to the primary; --skip-trx=on drops the transaction so Sluice
# spreads the reads over the replicas (read scale-out), while direct and haproxy
# still use the primary.
# oltp_read_write --skip-trx=on is where pinning works: autocommit writes mark
# rows (or tables) in Redis and the autocommit reads after them look the marks
# up, so a read of something written within the window goes to the primary.
# The _skip_trx row uses prepared statements, where Sluice keys the marks by the
# bound values; the _text row (--db-ps-mode=disable) puts the values in the SQL
# text. Both should pin about the same share of reads: a much higher share with
# prepared statements means their marks went table-wide. Without transactions
# two threads' DELETE+INSERT of the same id can collide (1062) or deadlock
# (1213), which sysbench retries; those rows ignore these errors and the report
# counts them. The read-write rows come last (their writes keep the tables'
# sizes), and before each of their runs the script waits for the replicas to
# catch up with the primary, so no run inherits the previous one's backlog.
WORKLOADS="oltp_point_select oltp_read_only oltp_read_only_skip_trx"
WORKLOADS="$WORKLOADS oltp_read_write_skip_trx oltp_read_write_skip_trx_text"
RW_IGNORE=1062,1213,1205,1020
declare -A SB_TEST SB_OPTS SB_PS SB_IGNORE SB_WRITES
SB_TEST[oltp_point_select]=oltp_point_select SB_OPTS[oltp_point_select]=
SB_TEST[oltp_read_only]=oltp_read_only SB_OPTS[oltp_read_only]=
SB_TEST[oltp_read_only_skip_trx]=oltp_read_only SB_OPTS[oltp_read_only_skip_trx]=--skip-trx=on
SB_TEST[oltp_read_write_skip_trx]=oltp_read_write
SB_OPTS[oltp_read_write_skip_trx]=--skip-trx=on
SB_IGNORE[oltp_read_write_skip_trx]=$RW_IGNORE
SB_WRITES[oltp_read_write_skip_trx]=1
SB_TEST[oltp_read_write_skip_trx_text]=oltp_read_write
SB_OPTS[oltp_read_write_skip_trx_text]=--skip-trx=on
SB_PS[oltp_read_write_skip_trx_text]=disable
SB_IGNORE[oltp_read_write_skip_trx_text]=$RW_IGNORE
SB_WRITES[oltp_read_write_skip_trx_text]=1
CATCHUP_TIMEOUT=60 # s to wait for the replicas before a run of a writing row

for tool in sysbench haproxy mariadb; do
    command -v "$tool" >/dev/null || { echo "sysbench.sh: $tool not found" >&2; exit 2; }
done

TMP=$(mktemp -d /tmp/sluice-bench.XXXXXX)
HAPROXY_PID=
# Sluice targets: name -> [pinning] mode written into its config ("" keeps the
# template's). Each gets its own proxy and stats ports and its own process.
SLUICE_TARGETS="sluice sluice_nopin"
declare -A SLUICE_PIN_MODE SLUICE_PID STATS_PORT
SLUICE_PIN_MODE[sluice]=
SLUICE_PIN_MODE[sluice_nopin]=off

stop_pid() { # stop_pid PID NAME GRACE_S: SIGTERM, wait up to GRACE_S, then SIGKILL
    local pid=$1 name=$2 grace=$3 i
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "sysbench.sh: $name (pid $pid) ignored SIGTERM for ${grace}s, killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317  # invoked from the EXIT trap
cleanup() {
    local s
    for s in $SLUICE_TARGETS; do
        stop_pid "${SLUICE_PID[$s]:-}" "$s" 10
        SLUICE_PID[$s]=
    done
    stop_pid "$HAPROXY_PID" haproxy 5
    HAPROXY_PID=""
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    /usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

sql() { # sql PORT QUERY: one value per line, no headers
    mariadb -h "$HOST" -P "$1" -u "$DB_USER" -p"$DB_PASS" "$DB_NAME" -N -B -e "$2"
}

wait_sql() { # wait_sql PORT TIMEOUT_S [PID]: until a login succeeds
    local port=$1 timeout=$2 pid=${3:-} i
    for ((i = 0; i < timeout * 5; i++)); do
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sql "$port" 'SELECT 1' >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}

# --- prepare ----------------------------------------------------------------

SB_COMMON=(--db-driver=mysql --mysql-host="$HOST" --mysql-user="$DB_USER"
    --mysql-password="$DB_PASS" --mysql-db="$DB_NAME"
    --tables="$TABLES" --table-size="$TABLE_SIZE")

tables_ready() { # tables_ready PORT: every sbtestN exists with TABLE_SIZE rows
    local port=$1 t n
    for ((t = 1; t <= TABLES; t++)); do
        n=$(sql "$port" "SELECT COUNT(*) FROM sbtest$t" 2>/dev/null) || return 1
        [ "$n" = "$TABLE_SIZE" ] || return 1
    done
}

if ! wait_sql "$PRIMARY_PORT" 5; then
    echo "sysbench.sh: cannot log in to the primary at $HOST:$PRIMARY_PORT as $DB_USER" \
        "(is scripts/sandbox.sh up?)" >&2
    exit 2
fi

if tables_ready "$PRIMARY_PORT"; then
    echo "== sbtest: $TABLES tables x $TABLE_SIZE rows already present"
else
    echo "== sbtest: preparing $TABLES tables x $TABLE_SIZE rows on the primary"
    # Drop every sbtestN, including tables beyond --tables left by an earlier run.
    for t in $(sql "$PRIMARY_PORT" "SELECT table_name FROM information_schema.tables
            WHERE table_schema = '$DB_NAME' AND table_name REGEXP '^sbtest[0-9]+\$'"); do
        sql "$PRIMARY_PORT" "DROP TABLE IF EXISTS \`$t\`"
    done
    sysbench oltp_common "${SB_COMMON[@]}" --mysql-port="$PRIMARY_PORT" \
        --threads="$TABLES" prepare >"$TMP/prepare.log" 2>&1 || {
        echo "sysbench.sh: sysbench prepare failed:" >&2
        tail -n 20 "$TMP/prepare.log" >&2
        exit 2
    }
fi

# Sluice sends reads to the replicas, so they must hold the same tables.
for port in $REPLICA_PORTS; do
    ok=
    for ((i = 0; i < 60; i++)); do
        if tables_ready "$port"; then ok=1; break; fi
        sleep 1
    done
    [ -n "$ok" ] || echo "sysbench.sh: warning: replica $port does not have the sbtest tables" \
        "after 60 s; sluice reads routed there may fail" >&2
done

# --- targets ----------------------------------------------------------------

TARGETS="direct"
declare -A PORT
PORT[direct]=$PRIMARY_PORT

HAPROXY_PORT=$(free_port)
cat >"$TMP/haproxy.cfg" <<EOF
global
    nbthread 2
    maxconn 4096

defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h

listen mysql
    bind $HOST:$HAPROXY_PORT
    server primary $HOST:$PRIMARY_PORT
EOF
haproxy -f "$TMP/haproxy.cfg" -db >"$TMP/haproxy.log" 2>&1 &
HAPROXY_PID=$!
if wait_sql "$HAPROXY_PORT" 10 "$HAPROXY_PID"; then
    TARGETS="$TARGETS haproxy"
    PORT[haproxy]=$HAPROXY_PORT
    echo "== haproxy: pid $HAPROXY_PID on $HOST:$HAPROXY_PORT (mode tcp, nbthread 2)"
else
    echo "sysbench.sh: haproxy did not come up; skipping it:" >&2
    tail -n 20 "$TMP/haproxy.log" >&2
    stop_pid "$HAPROXY_PID" haproxy 5
    HAPROXY_PID=
fi

# Rewrite the listen keys of [proxy] and [stats] in a copy of the template and,
# when PIN_MODE is given, set [pinning] mode (adding the key or the section if
# the template lacks it).
write_sluice_conf() { # write_sluice_conf PROXY_PORT STATS_PORT OUT [PIN_MODE]
    awk -v pp="$1" -v sp="$2" -v host="$HOST" -v pin="${4:-}" '
        function pin_flush() {
            if (pin != "" && sect == "pinning" && !pin_done) { print "mode = " pin; pin_done = 1 }
        }
        /^[ \t]*\[/ { pin_flush(); sect = $0; gsub(/[ \t\[\]]/, "", sect) }
        /^[ \t]*listen[ \t]*=/ && sect == "proxy" { print "listen = " host ":" pp; next }
        /^[ \t]*listen[ \t]*=/ && sect == "stats" { print "listen = " host ":" sp; next }
        /^[ \t]*mode[ \t]*=/ && sect == "pinning" && pin != "" {
            if (!pin_done) print "mode = " pin
            pin_done = 1; next
        }
        { print }
        END {
            pin_flush()
            if (pin != "" && !pin_done) print "\n[pinning]\nmode = " pin
        }' "$SLUICE_CONF_TEMPLATE" >"$3"
}

# start_sluice TARGET: start one Sluice instance on free ports; on success adds
# TARGET to TARGETS, else notes why in SLUICE_NOTE.
start_sluice() {
    local tgt=$1 mode=${SLUICE_PIN_MODE[$1]} port sport pid
    port=$(free_port)
    sport=$(free_port)
    while [ "$sport" = "$port" ]; do sport=$(free_port); done
    write_sluice_conf "$port" "$sport" "$TMP/$tgt.conf" "$mode"
    "$SLUICE_BIN" -c "$TMP/$tgt.conf" >"$TMP/$tgt.log" 2>&1 &
    pid=$!
    SLUICE_PID[$tgt]=$pid
    if wait_sql "$port" 20 "$pid"; then
        TARGETS="$TARGETS $tgt"
        PORT[$tgt]=$port
        STATS_PORT[$tgt]=$sport
        mode=$(awk '/^[ \t]*\[/ { sect = $0; gsub(/[ \t\[\]]/, "", sect) }
            sect == "pinning" && /^[ \t]*mode[ \t]*=/ { sub(/^[^=]*=[ \t]*/, ""); m = $0 }
            END { print (m == "" ? "window (default)" : m) }' "$TMP/$tgt.conf")
        echo "== $tgt: pid $pid on $HOST:$port (stats $sport), [pinning] mode = $mode"
    else
        SLUICE_NOTE="${SLUICE_NOTE:+$SLUICE_NOTE; }$tgt did not accept a login within 20 s: not measured"
        echo "sysbench.sh: $tgt did not accept a login within 20 s; its log:" >&2
        tail -n 30 "$TMP/$tgt.log" >&2
        stop_pid "$pid" "$tgt" 10
        SLUICE_PID[$tgt]=
    fi
}

SLUICE_NOTE=
if [ ! -x "$SLUICE_BIN" ]; then
    SLUICE_NOTE="sluice binary $SLUICE_BIN not found: measured direct and haproxy only"
    echo "== $SLUICE_NOTE"
else
    for s in $SLUICE_TARGETS; do start_sluice "$s"; done
fi

# --- sluice /stats -----------------------------------------------------------

stats_get() { # stats_get TARGET OUT: save that Sluice's /stats JSON to OUT; fails if unreachable
    curl -sf --max-time 5 "http://$HOST:${STATS_PORT[$1]}/stats" >"$2"
}

# stats_share LABEL BEFORE AFTER SUMMARY: two lines, each starting with LABEL:
# the share of the statements served between the two snapshots that went to the
# replicas and to each backend, with the fallback/retried/errors deltas; then
# the pinning counters' deltas (queries.pinned, pinning.lookups, .marks,
# .safe_reads, .errors) and pinning.redis, or "pinning off". Writes
# "REPLICA_PCT PINNED_PCT FALLBACK" to SUMMARY for the cost table ("-" when
# unknown).
stats_share() {
    /usr/bin/python3 - "$1" "$2" "$3" "$4" <<'EOF'
import json, sys
label = sys.argv[1]
summary = open(sys.argv[4], "w")
try:
    a, b = (json.load(open(f)) for f in sys.argv[2:4])
except (OSError, ValueError) as e:
    print(f"{label} sluice backends: cannot read /stats ({e})")
    print("- - -", file=summary)
    sys.exit(0)
def d(group, key):
    return b.get(group, {}).get(key, 0) - a.get(group, {}).get(key, 0)
before = {x["name"]: x.get("queries", 0) for x in a.get("backends", [])}
served = [(x["name"], x.get("role"), x.get("queries", 0) - before.get(x["name"], 0))
          for x in b.get("backends", [])]
total = sum(n for _, _, n in served)
def pct(n, of):
    return f"{100 * n / of:.0f}%" if of else "-"
replicas = sum(n for _, role, n in served if role != "primary")
share = "  ".join(f"{name} {pct(n, total)}" for name, _, n in served)
delta = ", ".join(f"{k} +{d('queries', k)}" for k in ("fallback", "retried", "errors"))
print(f"{label} replicas {pct(replicas, total)} ({share}) of {total} statements; {delta}")
redis = b.get("pinning", {}).get("redis", "?")
pinned, lookups = d("queries", "pinned"), d("pinning", "lookups")
if redis == "off":
    print(f"{label} pinning off (queries.pinned +{pinned}, pinning.lookups +{lookups})")
else:
    rest = ", ".join(f"{k} +{d('pinning', k)}" for k in ("marks", "safe_reads", "errors"))
    print(f"{label} pinning redis {redis}: queries.pinned +{pinned} of pinning.lookups "
          f"+{lookups} ({pct(pinned, lookups)} pinned, {pct(pinned, total)} of statements); {rest}")
print(pct(replicas, total), pct(pinned, lookups) if redis != "off" else "off",
      d("queries", "fallback"), file=summary)
EOF
}

# --- runs -------------------------------------------------------------------

# run_sysbench WORKLOAD PORT SECONDS LOG: WORKLOAD is a table row label
run_sysbench() {
    # SB_OPTS holds options without spaces inside: word splitting is intended.
    # shellcheck disable=SC2086
    sysbench "${SB_TEST[$1]}" "${SB_COMMON[@]}" ${SB_OPTS[$1]} --mysql-port="$2" \
        --threads="$THREADS" --time="$3" --db-ps-mode="${SB_PS[$1]:-auto}" \
        --mysql-ignore-errors="${SB_IGNORE[$1]:-none}" \
        --percentile=95 --report-interval=0 run >"$4" 2>&1
}

is_sluice() { case " $SLUICE_TARGETS " in *" $1 "*) return 0 ;; esac; return 1; }

# wait_replicas: until every replica's gtid_slave_pos, as a running Sluice's
# /stats shows it, has reached the primary's position when called (at most
# CATCHUP_TIMEOUT s). Prints how long it waited when it did. Without a Sluice
# (or its /stats) it does nothing.
wait_replicas() {
    local s sport=
    for s in $SLUICE_TARGETS; do
        if [ -n "${STATS_PORT[$s]:-}" ]; then sport=${STATS_PORT[$s]}; break; fi
    done
    [ -n "$sport" ] || return 0
    /usr/bin/python3 - "http://$HOST:$sport/stats" "$CATCHUP_TIMEOUT" <<'EOF' || true
import json, sys, time, urllib.request
url, timeout = sys.argv[1], float(sys.argv[2])
def positions():
    with urllib.request.urlopen(url, timeout=5) as r:
        backends = json.load(r).get("backends", [])
    pos = {}
    for b in backends:
        seqs = {}
        for g in (b.get("gtid") or "").split(","):
            parts = g.strip().split("-")
            if len(parts) == 3 and all(x.isdigit() for x in parts):
                seqs[parts[0]] = max(seqs.get(parts[0], 0), int(parts[2]))
        pos[b["name"]] = (b.get("role"), seqs)
    return pos
start = time.monotonic()
try:
    target = next(seqs for role, seqs in positions().values() if role == "primary")
    while True:
        behind = [name for name, (role, seqs) in positions().items() if role != "primary"
                  and any(seqs.get(d, 0) < n for d, n in target.items())]
        waited = time.monotonic() - start
        if not behind:
            if waited >= 0.5:
                print(f"   replicas caught up after {waited:.1f}s")
            break
        if waited >= timeout:
            print(f"   replicas {' '.join(behind)} still behind after {timeout:.0f}s; running anyway")
            break
        time.sleep(0.2)
except (OSError, ValueError, StopIteration) as e:
    print(f"   cannot tell whether the replicas caught up ({e}); running anyway")
EOF
}

# run_order INDEX: TARGETS in order, but the Sluice targets reversed when INDEX
# is odd, so neither of sluice and sluice_nopin always runs first.
run_order() {
    local t others=() sl=()
    for t in $TARGETS; do
        if ! is_sluice "$t"; then
            others+=("$t")
        elif (($1 % 2)); then
            sl=("$t" "${sl[@]}")
        else
            sl+=("$t")
        fi
    done
    echo "${others[*]} ${sl[*]}"
}

W=30 # width of the workload column
T=12 # width of the target column
declare -A QPS P95 SHARE IGNORED REPL PINNED FALLBACK
wi=0
for w in $WORKLOADS; do
    order=$(run_order "$wi")
    wi=$((wi + 1))
    for tgt in $order; do
        log="$TMP/$w-$tgt.log"
        echo "== $w -> $tgt: warm-up ${WARMUP}s, run ${TIME}s"
        if [ -n "${SB_WRITES[$w]:-}" ]; then wait_replicas; fi
        QPS[$w.$tgt]=ERR
        P95[$w.$tgt]=ERR
        if [ "$WARMUP" -gt 0 ] && ! run_sysbench "$w" "${PORT[$tgt]}" "$WARMUP" "$log"; then
            echo "sysbench.sh: warm-up of $w against $tgt failed:" >&2
            tail -n 15 "$log" >&2
            continue
        fi
        if is_sluice "$tgt"; then
            stats_get "$tgt" "$TMP/stats-before.json" || : >"$TMP/stats-before.json"
        fi
        if ! run_sysbench "$w" "${PORT[$tgt]}" "$TIME" "$log"; then
            echo "sysbench.sh: $w against $tgt failed:" >&2
            tail -n 15 "$log" >&2
            continue
        fi
        if is_sluice "$tgt"; then
            stats_get "$tgt" "$TMP/stats-after.json" || : >"$TMP/stats-after.json"
            SHARE[$w.$tgt]=$(stats_share "$(printf "%-${W}s %-${T}s" "$w" "$tgt")" \
                "$TMP/stats-before.json" "$TMP/stats-after.json" "$TMP/summary")
            r='' pn='' fb=''
            read -r r pn fb <"$TMP/summary" || true
            REPL[$w.$tgt]=${r:--} PINNED[$w.$tgt]=${pn:--} FALLBACK[$w.$tgt]=${fb:--}
            echo "   ${SHARE[$w.$tgt]//$'\n'/$'\n'   }"
        fi
        # "queries: 123456 (6172.80 per sec.)", "95th percentile: 2.91" and
        # "ignored errors: 12 (0.80 per sec.)"
        q=$(awk '/^ *queries:/ { gsub(/\(/, "", $3); print $3; exit }' "$log")
        p=$(awk '/95th percentile:/ { print $3; exit }' "$log")
        e=$(awk '/ignored errors:/ { print $3; exit }' "$log")
        [ -n "$q" ] && QPS[$w.$tgt]=$q
        [ -n "$p" ] && P95[$w.$tgt]=$p
        [ -n "$e" ] && [ "$e" != 0 ] && IGNORED[$w.$tgt]=$e
    done
done

# --- classifier cost -----------------------------------------------------------

# Runs with nothing else of ours busy (sysbench is done; Sluice and haproxy idle).
CLASSIFY_LINE=
CLASSIFY_NOTE=
CLASSIFY_BIN=
for b in build-rel/bench/classify_bench build/bench/classify_bench; do
    if [ -x "$b" ]; then CLASSIFY_BIN=$b; break; fi
done
if [ -z "$CLASSIFY_BIN" ]; then
    echo "== classify_bench not built: building it with cmake --build build --target classify_bench"
    if [ -f build/CMakeCache.txt ] &&
        cmake --build build --target classify_bench >"$TMP/classify-build.log" 2>&1 &&
        [ -x build/bench/classify_bench ]; then
        CLASSIFY_BIN=build/bench/classify_bench
        CLASSIFY_NOTE="classify_bench was missing: built it in build/"
    else
        CLASSIFY_NOTE="classify_bench was missing and could not be built in build/"
        echo "sysbench.sh: $CLASSIFY_NOTE:" >&2
        tail -n 15 "$TMP/classify-build.log" >&2 2>/dev/null || true
    fi
fi
if [ -n "$CLASSIFY_BIN" ]; then
    tree=${CLASSIFY_BIN%%/*}
    build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$tree/CMakeCache.txt" 2>/dev/null || true)
    if [ "$build_type" != Release ]; then
        CLASSIFY_NOTE="${CLASSIFY_NOTE:+$CLASSIFY_NOTE; }$tree/ is not a Release tree"
        CLASSIFY_NOTE="$CLASSIFY_NOTE (CMAKE_BUILD_TYPE='$build_type'): figures are pessimistic"
    fi
    echo "== classifier: $CLASSIFY_BIN ${CLASSIFY_SECONDS}s per statement"
    if "$CLASSIFY_BIN" "$CLASSIFY_SECONDS" >"$TMP/classify.log" 2>&1; then
        # "32 statements: mean 210 ns, mean without the 2046-byte IN-list 150 ns, max 2900 ns"
        CLASSIFY_LINE=$(grep -m1 'statements: mean' "$TMP/classify.log" || true)
    else
        echo "sysbench.sh: $CLASSIFY_BIN failed:" >&2
        tail -n 15 "$TMP/classify.log" >&2
    fi
fi

# --- report -----------------------------------------------------------------

ratio() { # ratio A B: A/B with two decimals, "-" when either is missing
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) print "-";
        else printf "%.2f\n", a / b }'
}

mkdir -p bench/results
OUT="bench/results/sysbench-$(date +%Y%m%d-%H%M%S).txt"
{
    echo "# sysbench $(sysbench --version | awk '{print $2}'), $(date -Is), $(nproc) cores," \
        "$THREADS threads, ${TIME}s runs after ${WARMUP}s warm-up, $TABLES tables x $TABLE_SIZE rows," \
        "--db-ps-mode=auto unless a row says otherwise"
    [ -n "$SLUICE_NOTE" ] && echo "# $SLUICE_NOTE"
    echo "# oltp_read_only: every read inside BEGIN/COMMIT, so sluice sends it all to the primary"
    echo "# oltp_read_only_skip_trx (--skip-trx=on): sluice runs the reads on the replicas r1/r2," \
        "direct and haproxy run everything on the primary (read scale-out, not like for like)"
    echo "# oltp_read_write_skip_trx (oltp_read_write --skip-trx=on, ignoring $RW_IGNORE): autocommit" \
        "writes and reads; sluice pins reads of what was written to the primary; _text: the same" \
        "with --db-ps-mode=disable. Ignored errors are normally 1062 from two threads'" \
        "DELETE+INSERT of the same id. Each run of these rows starts once the replicas caught up"
    echo "# sluice: [pinning] of $SLUICE_CONF_TEMPLATE; sluice_nopin: the same with [pinning] mode = off;" \
        "the two run one after the other, in alternating order from row to row"
    printf "%-${W}s %-${T}s %10s %8s %10s %6s\n" workload target qps p95_ms vs_direct vs_l4
    for w in $WORKLOADS; do
        for tgt in direct haproxy $SLUICE_TARGETS; do
            [ -n "${QPS[$w.$tgt]+x}" ] || continue
            printf "%-${W}s %-${T}s %10s %8s %10s %6s\n" "$w" "$tgt" "${QPS[$w.$tgt]}" \
                "${P95[$w.$tgt]}" "$(ratio "${QPS[$w.$tgt]}" "${QPS[$w.direct]:-}")" \
                "$(ratio "${QPS[$w.$tgt]}" "${QPS[$w.haproxy]:-}")"
        done
    done
    for w in $WORKLOADS; do
        for tgt in $SLUICE_TARGETS; do
            if [ -n "${SHARE[$w.$tgt]+x}" ]; then echo "${SHARE[$w.$tgt]}"; fi
        done
    done
    for w in $WORKLOADS; do
        for tgt in direct haproxy $SLUICE_TARGETS; do
            if [ -n "${IGNORED[$w.$tgt]+x}" ]; then
                printf "%-${W}s %-${T}s ignored errors: %s (sysbench retried the event)\n" \
                    "$w" "$tgt" "${IGNORED[$w.$tgt]}"
            fi
        done
    done
    echo "pinning cost, sluice / sluice_nopin in the same run (qps_ratio < 1 and p95_ratio > 1:" \
        "pinning costs); replicas: share of statements on r1+r2; pinned: share of lookups pinned"
    printf "%-${W}s %10s %10s %16s %14s %7s  %s\n" workload qps_ratio p95_ratio \
        replicas_pinning replicas_nopin pinned note
    for w in $WORKLOADS; do
        note=
        for tgt in $SLUICE_TARGETS; do
            case "${FALLBACK[$w.$tgt]:--}" in
            - | 0) ;;
            *) note="${note:+$note, }$tgt fell back to the primary ${FALLBACK[$w.$tgt]} times" ;;
            esac
        done
        printf "%-${W}s %10s %10s %16s %14s %7s%s\n" "$w" \
            "$(ratio "${QPS[$w.sluice]:-}" "${QPS[$w.sluice_nopin]:-}")" \
            "$(ratio "${P95[$w.sluice]:-}" "${P95[$w.sluice_nopin]:-}")" \
            "${REPL[$w.sluice]:--}" "${REPL[$w.sluice_nopin]:--}" "${PINNED[$w.sluice]:--}" \
            "${note:+  $note}"
    done
    r=$(ratio "${QPS[oltp_point_select.sluice]:-}" "${QPS[oltp_point_select.haproxy]:-}")
    if [ "$r" = "-" ]; then
        echo "target: sluice >= $TARGET_RATIO x haproxy qps on oltp_point_select: NOT MEASURED"
    elif awk -v r="$r" -v t="$TARGET_RATIO" 'BEGIN { exit !(r >= t) }'; then
        echo "target: sluice >= $TARGET_RATIO x haproxy qps on oltp_point_select: PASS ($r)"
    else
        echo "target: sluice >= $TARGET_RATIO x haproxy qps on oltp_point_select: MISS ($r)"
    fi
    if [ -n "$CLASSIFY_NOTE" ]; then echo "# $CLASSIFY_NOTE"; fi
    if [ -n "$CLASSIFY_LINE" ]; then
        echo "classifier ($CLASSIFY_BIN ${CLASSIFY_SECONDS}s/statement): $CLASSIFY_LINE"
        # The typical statement is the corpus without the deliberately huge IN-list.
        typical=$(sed -n 's/.*IN-list \([0-9.]*\) ns.*/\1/p' <<<"$CLASSIFY_LINE")
        if [ -z "$typical" ]; then
            echo "target: classifier < $CLASSIFY_TARGET_NS ns per typical statement: NOT MEASURED"
        elif awk -v n="$typical" -v t="$CLASSIFY_TARGET_NS" 'BEGIN { exit !(n < t) }'; then
            echo "target: classifier < $CLASSIFY_TARGET_NS ns per typical statement: PASS ($typical ns)"
        else
            echo "target: classifier < $CLASSIFY_TARGET_NS ns per typical statement: MISS ($typical ns)"
        fi
    else
        echo "target: classifier < $CLASSIFY_TARGET_NS ns per typical statement: NOT MEASURED"
    fi
} | tee "$OUT"
echo "== written to $OUT"
exit 0
