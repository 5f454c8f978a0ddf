#!/usr/bin/env bash
# mariadb-test-run runs this instead of mariadb-test (select.sh and run_through_sluice.py set
# MYSQL_TEST to it): before each case it gives the case an empty `test` database, made
# directly on the sandbox primary, and waits until both replicas have it.
#
# Against its own servers mtr restarts them after a failed case; with --extern it cannot, and
# the tables a failed case left behind would fail every case after it ("Table 't1' already
# exists"). The case's own connections then start (through Sluice or not) on a database that
# exists everywhere, with the replicas caught up on everything the previous case wrote.
#
# MTR_WAIT_LOG, if set: a file that gets one line per case, "CASE SECONDS", the time the
# replicas took to catch up before it, i.e. the replication lag the previous case left.
set -euo pipefail

PORT=${SLUICE_SANDBOX_PORT_BASE:-13306}
WAIT_S=120

sql() {
	mariadb --no-defaults -h127.0.0.1 -P"$1" -uapp -papp --protocol=TCP -N -B -e "$2"
}

case_file=
for arg in "$@"; do
	[[ $arg == --test-file=* ]] && case_file=${arg#--test-file=}
done
if [[ -n $case_file && $case_file != include/* ]]; then
	t0=$EPOCHREALTIME
	pos=$(sql "$PORT" "SELECT @@gtid_binlog_pos")
	for replica in $((PORT + 1)) $((PORT + 2)); do
		[[ $(sql "$replica" "SELECT MASTER_GTID_WAIT('$pos', $WAIT_S)") == 0 ]] ||
			echo "mysqltest.sh: replica on port $replica did not reach $pos in $WAIT_S s" >&2
	done
	waited=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
	pos=$(sql "$PORT" "DROP DATABASE IF EXISTS test; CREATE DATABASE test; SELECT @@gtid_binlog_pos")
	for replica in $((PORT + 1)) $((PORT + 2)); do
		sql "$replica" "SELECT MASTER_GTID_WAIT('$pos', $WAIT_S)" >/dev/null
	done
	[[ -z ${MTR_WAIT_LOG:-} ]] ||
		echo "main.$(basename "$case_file" .test) $waited" >>"$MTR_WAIT_LOG"
fi
exec /usr/bin/mariadb-test "$@"
