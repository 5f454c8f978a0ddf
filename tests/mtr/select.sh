#!/usr/bin/env bash
# Chooses the MariaDB main-suite cases (Debian package mariadb-test) that pass when run
# directly against the sandbox primary, and writes them to tests/mtr/cases.txt, which
# run_through_sluice.py then runs through Sluice.
#
#   tests/mtr/select.sh            # candidates: the default patterns below
#   tests/mtr/select.sh 'insert*' 'update*'   # other patterns (shell globs on main/*.test)
#
# Many main cases fail against this sandbox whatever the proxy does: they expect MTR's own
# server configuration (MyISAM as default engine, STATEMENT binlog, sql_mode ''), root over
# the unix socket for extra connections, debug builds, etc. Those are simply not chosen.
#
# The cases all use database `test` and the same table names (t1, t2…), so they run one at a
# time: mtr's --parallel would run two of them against the same `test` at once. mysqltest.sh
# gives each case an empty `test` (mtr cannot restart an --extern server after a failure).
#
# Environment:
#   MTR_DIR                   MariaDB's test directory (default /usr/share/mysql/mysql-test)
#   SLUICE_SANDBOX_PORT_BASE  the sandbox's primary port (default 13306)
#   MTR_SELECT_BUDGET_MS      sum of the chosen cases' direct run times (default 30000)
#   MTR_SELECT_MAX            at most this many cases (default 80)
#   MTR_SELECT_CASE_MAX_MS    no case slower than this directly (default 3000)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MTR_DIR=${MTR_DIR:-/usr/share/mysql/mysql-test}
PORT=${SLUICE_SANDBOX_PORT_BASE:-13306}
BUDGET_MS=${MTR_SELECT_BUDGET_MS:-30000}
MAX_CASES=${MTR_SELECT_MAX:-80}
CASE_MAX_MS=${MTR_SELECT_CASE_MAX_MS:-3000}
OUT=$HERE/cases.txt

# Cases that pass directly but are not run through Sluice, with the reason (see README.md).
# One line: "main.NAME  reason".
EXCLUDE=$(cat "$HERE/exclude.txt" 2>/dev/null || true)

PATTERNS=("$@")
((${#PATTERNS[@]})) || PATTERNS=(
	'insert*' 'update*' 'delete*' 'replace*' 'select*' 'join*' 'subselect*' 'func_*'
	'group_by*' 'order_by*' 'having*' 'distinct*' 'union*' 'limit*' 'create*' 'alter_table*'
	'view*' 'trigger*' 'derived*' 'cte_*' 'win*' 'multi_update*' 'truncate*' 'null*' 'case*'
	'count_distinct*' 'key*' 'default*' 'auto_increment*' 'type_*' 'range*' 'temp_table*')

# Never candidates: big data sets whose ROW-format deletes on key-less tables keep the
# replicas busy for minutes (one row = one table scan there), and other slow ones.
SKIP_GLOBS=('*big*' '*_use_source' '*_debug' 'range_aria_dbt3' 'multi_update_tiny_hash' 'selectivity*'
	'create_delayed' 'count_distinct3')

KILLS_SERVER='restart_mysqld|shutdown_server|kill_mysqld|restart_and_reconnect|shutdown_mysqld|kill_and_restart|start_mysqld|wait_until_disconnected|expect_crash|Kill the server'

[[ -x $MTR_DIR/mariadb-test-run ]] || {
	echo "select: $MTR_DIR/mariadb-test-run not found: install mariadb-test" >&2; exit 1; }

sql() { mariadb --no-defaults -h127.0.0.1 -P"$PORT" -uapp -papp --protocol=TCP -N -e "$1"; }

# The cases need database `test` on the primary (and, through Sluice, on the replicas).
sql "CREATE DATABASE IF NOT EXISTS test"

mapfile -t candidates < <(cd "$MTR_DIR/main" &&
	for p in "${PATTERNS[@]}"; do ls -1 $p.test 2>/dev/null || true; done |
	sed 's/\.test$//' | sort -u | while read -r name; do
		for g in "${SKIP_GLOBS[@]}"; do [[ $name == $g ]] && continue 2; done
		# Never a case that kills or restarts the server: with --extern that is the
		# shared sandbox primary (main.default_storage_engine kills it, for one).
		grep -qE "$KILLS_SERVER" "$name.test" && continue
		echo "main.$name"
	done)
echo "select: ${#candidates[@]} candidate cases, run one at a time against 127.0.0.1:$PORT" >&2

VARDIR=$(mktemp -d /tmp/sluice-mtr-select.XXXXXX)
LOG=$VARDIR/mtr.out
# --force: go on after a failure; --max-test-fail=0: never stop; --retry=1: no retry.
WAITS=$VARDIR/waits
(cd "$MTR_DIR" && MYSQL_TEST=$HERE/mysqltest.sh MTR_WAIT_LOG=$WAITS ./mariadb-test-run --extern host=127.0.0.1 --extern port="$PORT" \
	--extern user=app --extern password=app --vardir="$VARDIR/var" \
	--force --max-test-fail=0 --retry=1 --testcase-timeout=1 \
	"${candidates[@]}" >"$LOG" 2>&1) || true

# "main.insert_select   [ pass ]   123" -> "123 main.insert_select"; cases with
# combinations ("main.x 'innodb'") are kept only when every combination passes.
passed=$(awk '$2 == "[" && $3 == "pass" && $4 == "]" && $5 ~ /^[0-9]+$/ { print $5, $1 }' "$LOG")
failed=$(awk '$0 ~ /\[ fail \]/ { print $1 }' "$LOG" | sort -u)
# A case after which the replicas needed more than a second to catch up would make Sluice's
# monitor call them lagging: not chosen. (mysqltest.sh logs the wait before each case.)
laggy=$(awk 'prev != "" && $2 > 1.0 { print prev } { prev = $1 }' "$WAITS" 2>/dev/null || true)
failed=$(printf '%s\n%s\n' "$failed" "$laggy" | sort -u)
[[ -z $laggy ]] || echo "select: left replicas lagging > 1 s: $(echo $laggy)" >&2
skipped=$(grep -c '\[ skipped \]' "$LOG" || true)
npass=$(grep -c . <<<"$passed" || true)
echo "select: $npass passed, $(grep -c . <<<"$failed" || true) failed, $skipped skipped" >&2

# Favour a spread of families: round-robin over the name prefixes (insert, select…), fastest
# first in each, within the budget.
PICK=$(cat <<'PY'
import re, sys
budget, max_cases, case_max = (int(x) for x in sys.argv[1:4])
failed = set(sys.argv[4].split())
excluded = {l.split()[0] for l in sys.argv[5].splitlines() if l.strip() and not l.startswith("#")}
fam = {}
for line in sys.stdin:
    if not line.strip():
        continue
    ms, name = line.split()
    if name in failed or name in excluded or int(ms) > case_max:
        continue
    key = re.match(r"main\.([a-z]+)", name).group(1)
    fam.setdefault(key, []).append((int(ms), name))
for v in fam.values():
    v.sort()
out, total = [], 0
while len(out) < max_cases and any(fam.values()):
    for key in sorted(fam):
        if fam[key] and len(out) < max_cases:
            ms, name = fam[key].pop(0)
            if total + ms <= budget:
                out.append(name)
                total += ms
print("\n".join(sorted(out)))
print("total_ms %d" % total, file=sys.stderr)
PY
)
chosen=$(python3 -c "$PICK" "$BUDGET_MS" "$MAX_CASES" "$CASE_MAX_MS" "$failed" "$EXCLUDE" <<<"$passed")

{
	echo "# MariaDB main-suite cases run through Sluice by tests/mtr/run_through_sluice.py."
	echo "# Made by tests/mtr/select.sh on $(date -u +%Y-%m-%d) against the sandbox primary"
	echo "# ($(sql 'SELECT @@version'), mariadb-test $(dpkg-query -W -f='${Version}' mariadb-test 2>/dev/null)):"
	echo "# of ${#candidates[@]} candidates (${PATTERNS[*]}, but not ${SKIP_GLOBS[*]}),"
	echo "# $npass passed directly; these are a spread of them within ${BUDGET_MS} ms of direct run time."
	echo "# One case a line; '#' starts a comment."
	if [[ -n $EXCLUDE ]]; then
		echo "#"
		echo "# Passing directly but excluded (tests/mtr/exclude.txt):"
		sed 's/^/#   /' <<<"$EXCLUDE"
	fi
	echo "$chosen"
} >"$OUT"
echo "select: wrote $(grep -vc '^#' "$OUT") cases to $OUT (mtr log: $LOG)" >&2
