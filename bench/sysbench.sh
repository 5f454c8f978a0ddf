#!/usr/bin/env bash
# Throughput benchmark: sysbench oltp_point_select, oltp_read_only and
# oltp_read_only --skip-trx=on against three targets in one run, so they share
# the machine's state:
#   direct   the sandbox primary, 127.0.0.1:13306
#   haproxy  a layer-4 TCP forwarder (haproxy mode tcp) in front of the primary
#   sluice   ${SLUICE_BIN:-build/sluice} with conf/sluice.conf on free ports
# Targets are interleaved per workload, each after a discarded warm-up run.
# Prints a table with qps, p95 latency and ratios, the share of statements each
# Sluice backend served in each Sluice run (from /stats), the classifier's cost
# per statement (bench/classify_bench), and the issue's target checks (sluice >=
# 0.95 x haproxy qps on oltp_point_select; classifier < 1 us per typical
# statement). It reports, it does not fail: the exit status is 0 whatever the
# numbers are.
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

# Table rows: label -> sysbench test and extra options. oltp_read_only wraps
# every read in BEGIN/COMMIT, so Sluice sends all of it to the primary;
# --skip-trx=on drops the transaction so Sluice spreads the reads over the
# replicas (read scale-out), while direct and haproxy still use the primary.
WORKLOADS="oltp_point_select oltp_read_only oltp_read_only_skip_trx"
declare -A SB_TEST SB_OPTS
SB_TEST[oltp_point_select]=oltp_point_select SB_OPTS[oltp_point_select]=
SB_TEST[oltp_read_only]=oltp_read_only SB_OPTS[oltp_read_only]=
SB_TEST[oltp_read_only_skip_trx]=oltp_read_only SB_OPTS[oltp_read_only_skip_trx]=--skip-trx=on

for tool in sysbench haproxy mariadb; do
    command -v "$tool" >/dev/null || { echo "sysbench.sh: $tool not found" >&2; exit 2; }
done

TMP=$(mktemp -d /tmp/sluice-bench.XXXXXX)
HAPROXY_PID=
SLUICE_PID=

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
    stop_pid "$SLUICE_PID" sluice 10
    stop_pid "$HAPROXY_PID" haproxy 5
    SLUICE_PID="" HAPROXY_PID=""
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

# Rewrite the listen keys of [proxy] and [stats] in a copy of the template.
write_sluice_conf() { # write_sluice_conf PROXY_PORT STATS_PORT OUT
    awk -v pp="$1" -v sp="$2" -v host="$HOST" '
        /^[ \t]*\[/ { sect = $0; gsub(/[ \t\[\]]/, "", sect) }
        /^[ \t]*listen[ \t]*=/ && sect == "proxy" { print "listen = " host ":" pp; next }
        /^[ \t]*listen[ \t]*=/ && sect == "stats" { print "listen = " host ":" sp; next }
        { print }' "$SLUICE_CONF_TEMPLATE" >"$3"
}

SLUICE_NOTE=
if [ ! -x "$SLUICE_BIN" ]; then
    SLUICE_NOTE="sluice binary $SLUICE_BIN not found: measured direct and haproxy only"
    echo "== $SLUICE_NOTE"
else
    SLUICE_PORT=$(free_port)
    SLUICE_STATS_PORT=$(free_port)
    while [ "$SLUICE_STATS_PORT" = "$SLUICE_PORT" ]; do SLUICE_STATS_PORT=$(free_port); done
    write_sluice_conf "$SLUICE_PORT" "$SLUICE_STATS_PORT" "$TMP/sluice.conf"
    "$SLUICE_BIN" -c "$TMP/sluice.conf" >"$TMP/sluice.log" 2>&1 &
    SLUICE_PID=$!
    if wait_sql "$SLUICE_PORT" 20 "$SLUICE_PID"; then
        TARGETS="$TARGETS sluice"
        PORT[sluice]=$SLUICE_PORT
        echo "== sluice: pid $SLUICE_PID on $HOST:$SLUICE_PORT (stats $SLUICE_STATS_PORT)"
    else
        SLUICE_NOTE="sluice did not accept a login within 20 s: not measured"
        echo "sysbench.sh: $SLUICE_NOTE; its log:" >&2
        tail -n 30 "$TMP/sluice.log" >&2
        stop_pid "$SLUICE_PID" sluice 10
        SLUICE_PID=
    fi
fi

# --- sluice /stats -----------------------------------------------------------

stats_get() { # stats_get OUT: save Sluice's /stats JSON to OUT; fails if unreachable
    curl -sf --max-time 5 "http://$HOST:$SLUICE_STATS_PORT/stats" >"$1"
}

# stats_share BEFORE AFTER: one line with each backend's share of the statements
# served between the two snapshots, and the fallback/retried/errors deltas.
stats_share() {
    /usr/bin/python3 - "$1" "$2" <<'EOF'
import json, sys
try:
    a, b = (json.load(open(f)) for f in sys.argv[1:3])
except (OSError, ValueError) as e:
    print(f"sluice backends: cannot read /stats ({e})")
    sys.exit(0)
before = {x["name"]: x.get("queries", 0) for x in a.get("backends", [])}
served = [(x["name"], x.get("queries", 0) - before.get(x["name"], 0))
          for x in b.get("backends", [])]
total = sum(n for _, n in served)
share = "  ".join(f"{name} {100 * n / total:.0f}%" if total else f"{name} -"
                  for name, n in served)
qa, qb = a.get("queries", {}), b.get("queries", {})
delta = ", ".join(f"{k} +{qb.get(k, 0) - qa.get(k, 0)}" for k in ("fallback", "retried", "errors"))
print(f"sluice backends: {share}  (of {total} statements; {delta})")
EOF
}

# --- runs -------------------------------------------------------------------

# run_sysbench WORKLOAD PORT SECONDS LOG: WORKLOAD is a table row label
run_sysbench() {
    # SB_OPTS holds at most one option, no spaces: word splitting is intended.
    # shellcheck disable=SC2086
    sysbench "${SB_TEST[$1]}" "${SB_COMMON[@]}" ${SB_OPTS[$1]} --mysql-port="$2" \
        --threads="$THREADS" --time="$3" --db-ps-mode=auto --mysql-ignore-errors=none \
        --percentile=95 --report-interval=0 run >"$4" 2>&1
}

declare -A QPS P95 SHARE
for w in $WORKLOADS; do
    for tgt in $TARGETS; do
        log="$TMP/$w-$tgt.log"
        echo "== $w -> $tgt: warm-up ${WARMUP}s, run ${TIME}s"
        QPS[$w.$tgt]=ERR
        P95[$w.$tgt]=ERR
        if [ "$WARMUP" -gt 0 ] && ! run_sysbench "$w" "${PORT[$tgt]}" "$WARMUP" "$log"; then
            echo "sysbench.sh: warm-up of $w against $tgt failed:" >&2
            tail -n 15 "$log" >&2
            continue
        fi
        if [ "$tgt" = sluice ]; then
            stats_get "$TMP/stats-before.json" || : >"$TMP/stats-before.json"
        fi
        if ! run_sysbench "$w" "${PORT[$tgt]}" "$TIME" "$log"; then
            echo "sysbench.sh: $w against $tgt failed:" >&2
            tail -n 15 "$log" >&2
            continue
        fi
        if [ "$tgt" = sluice ]; then
            stats_get "$TMP/stats-after.json" || : >"$TMP/stats-after.json"
            SHARE[$w]=$(stats_share "$TMP/stats-before.json" "$TMP/stats-after.json")
            echo "   ${SHARE[$w]}"
        fi
        # "queries: 123456 (6172.80 per sec.)" and "95th percentile: 2.91"
        q=$(awk '/^ *queries:/ { gsub(/\(/, "", $3); print $3; exit }' "$log")
        p=$(awk '/95th percentile:/ { print $3; exit }' "$log")
        [ -n "$q" ] && QPS[$w.$tgt]=$q
        [ -n "$p" ] && P95[$w.$tgt]=$p
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
        "--db-ps-mode=auto"
    [ -n "$SLUICE_NOTE" ] && echo "# $SLUICE_NOTE"
    echo "# oltp_read_only: every read inside BEGIN/COMMIT, so sluice sends it all to the primary"
    echo "# oltp_read_only_skip_trx (--skip-trx=on): sluice runs the reads on the replicas r1/r2," \
        "direct and haproxy run everything on the primary (read scale-out, not like for like)"
    printf '%-24s %-8s %10s %8s %10s %6s\n' workload target qps p95_ms vs_direct vs_l4
    for w in $WORKLOADS; do
        for tgt in direct haproxy sluice; do
            [ -n "${QPS[$w.$tgt]+x}" ] || continue
            printf '%-24s %-8s %10s %8s %10s %6s\n' "$w" "$tgt" "${QPS[$w.$tgt]}" \
                "${P95[$w.$tgt]}" "$(ratio "${QPS[$w.$tgt]}" "${QPS[$w.direct]:-}")" \
                "$(ratio "${QPS[$w.$tgt]}" "${QPS[$w.haproxy]:-}")"
        done
    done
    for w in $WORKLOADS; do
        if [ -n "${SHARE[$w]+x}" ]; then printf '%-24s %s\n' "$w" "${SHARE[$w]}"; fi
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
