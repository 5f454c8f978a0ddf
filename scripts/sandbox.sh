#!/usr/bin/env bash
# Local test sandbox on loopback: a MariaDB primary (13306) with two GTID
# replicas r1 (13307) and r2 (13308), and a Redis (16379). All state lives in
# .sandbox/ at the repo root; this script starts and stops only the processes
# whose pid files it finds there.
#
# Environment (for a second, independent sandbox, e.g. for disruptive tests):
#   SLUICE_SANDBOX_DIR        state directory (default .sandbox at the repo root)
#   SLUICE_SANDBOX_PORT_BASE  primary port (default 13306); r1 = base+1, r2 = base+2,
#                             redis = base+3073 (16379 by default)
#
#   scripts/sandbox.sh up              start (creating on first use) and wait until healthy
#   scripts/sandbox.sh down [--purge]  stop by pid file; --purge also removes .sandbox/
#   scripts/sandbox.sh status          one line per server; exit 0 only if all run
#                                      and both replicas replicate
#   scripts/sandbox.sh sql NAME [SQL]  mariadb CLI as root on NAME (primary|r1|r2)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SANDBOX=$(realpath -m -- "${SLUICE_SANDBOX_DIR:-$ROOT/.sandbox}")
PORT_BASE=${SLUICE_SANDBOX_PORT_BASE:-13306}
TEMPLATE=$SANDBOX/template
TIMEOUT=${SLUICE_SANDBOX_TIMEOUT:-60}

MARIADBD=/usr/sbin/mariadbd
MARIADB_SERVERS=(primary r1 r2)
REPLICAS=(r1 r2)
[[ $PORT_BASE =~ ^[0-9]+$ ]] && ((PORT_BASE > 0 && PORT_BASE + 3073 < 65536)) ||
	{ echo "sandbox: SLUICE_SANDBOX_PORT_BASE must be a port number (got '$PORT_BASE')" >&2; exit 1; }
declare -A PORT=([primary]=$PORT_BASE [r1]=$((PORT_BASE + 1)) [r2]=$((PORT_BASE + 2))
	[redis]=$((PORT_BASE + 3073)))
declare -A SERVER_ID=([primary]=1 [r1]=2 [r2]=3)
declare -A STARTED_PID=()

# mariadbd and mariadb-install-db refuse to run as root unless told to.
RUN_AS=()
[[ $EUID -eq 0 ]] && RUN_AS=(--user=root)

die() {
	echo "sandbox: $*" >&2
	exit 1
}

say() {
	echo "sandbox: $*"
}

dir_of() { echo "$SANDBOX/$1"; }
sock_of() { echo "$SANDBOX/$1/mysqld.sock"; }
log_of() { echo "$SANDBOX/$1/error.log"; }

is_replica() {
	[[ $1 == r1 || $1 == r2 ]]
}

# process_alive PID [COMM]: running (not a zombie), and called COMM if given;
# the name check keeps a stale pid file from pointing us at someone else's
# process. Servers outlive the script that started them, so init is their
# parent, and init here may take seconds to reap an exited one: kill -0 would
# still find it.
process_alive() {
	local pid=$1 comm=${2:-} state name
	read -r state name < <(ps -o stat=,comm= -p "$pid" 2>/dev/null) || return 1
	[[ $state != Z* && (-z $comm || $name == "$comm") ]]
}

pid_alive() {
	[[ -s $1 ]] && process_alive "$(<"$1")" "$2"
}

mariadb_running() { pid_alive "$(dir_of "$1")/mysqld.pid" mariadbd; }
redis_running() { pid_alive "$SANDBOX/redis/redis.pid" redis-server; }

# client NAME ARGS...: the mariadb CLI as root over NAME's unix socket (root
# has unix_socket auth on a fresh datadir).
client() {
	local name=$1
	shift
	mariadb --no-defaults -S "$(sock_of "$name")" -uroot "$@"
}

# ---------------------------------------------------------------- MariaDB

# The system tables are created once into a template datadir, which every
# fresh server copies: one mariadb-install-db instead of three.
ensure_template() {
	[[ -d $TEMPLATE/data ]] && return
	say "creating template datadir"
	mkdir -p "$TEMPLATE"
	rm -rf "$TEMPLATE/data.tmp"
	mariadb-install-db --no-defaults "${RUN_AS[@]}" --datadir="$TEMPLATE/data.tmp" \
		--auth-root-authentication-method=socket --skip-test-db \
		--innodb-log-file-size=48M >"$TEMPLATE/install.log" 2>&1 ||
		die "mariadb-install-db failed; see $TEMPLATE/install.log"
	mv "$TEMPLATE/data.tmp" "$TEMPLATE/data"
}

write_mariadb_conf() {
	local name=$1 dir
	dir=$(dir_of "$name")
	cat >"$dir/my.cnf" <<EOF
[mariadbd]
datadir=$dir/data
socket=$dir/mysqld.sock
pid_file=$dir/mysqld.pid
log_error=$dir/error.log
port=${PORT[$name]}
bind_address=127.0.0.1
skip_name_resolve
server_id=${SERVER_ID[$name]}
log_bin=$dir/data/mysql-bin
relay_log=$dir/data/relay-bin
binlog_format=ROW
binlog_row_metadata=FULL
log_slave_updates=ON
gtid_strict_mode=ON
read_only=$(is_replica "$name" && echo ON || echo OFF)
max_allowed_packet=256M
max_connections=2000
local_infile=ON
performance_schema=OFF
innodb_buffer_pool_size=128M
innodb_log_file_size=48M
innodb_flush_log_at_trx_commit=2
sync_binlog=0
key_buffer_size=8M
aria_pagecache_buffer_size=16M
EOF
}

# prepare_mariadb NAME: config written, datadir present (copied from the
# template on first use; the copy is renamed into place so an interrupted
# copy is never mistaken for a datadir).
prepare_mariadb() {
	local name=$1 dir sock
	dir=$(dir_of "$name")
	sock=$(sock_of "$name")
	((${#sock} < 108)) || die "$name: socket path too long for a unix socket: $sock"
	mkdir -p "$dir"
	write_mariadb_conf "$name"
	[[ -d $dir/data ]] && return
	ensure_template
	rm -rf "$dir/data.tmp"
	cp -a "$TEMPLATE/data" "$dir/data.tmp"
	mv "$dir/data.tmp" "$dir/data"
}

# start_mariadb NAME: launch in its own session, detached from our terminal.
# mariadbd writes its pid file only once InnoDB is up; we write the same pid
# at once so that a `down` after a failed `up` still finds a server that was
# mid-startup.
start_mariadb() {
	local name=$1 dir
	dir=$(dir_of "$name")
	mariadb_running "$name" && return
	say "starting $name on 127.0.0.1:${PORT[$name]}"
	setsid "$MARIADBD" --defaults-file="$dir/my.cnf" "${RUN_AS[@]}" \
		</dev/null >>"$dir/error.log" 2>&1 &
	STARTED_PID[$name]=$!
	echo "$!" >"$dir/mysqld.pid"
}

# mariadb_ready NAME: accepts connections. Gives up at once if the server we
# just launched has already exited.
mariadb_ready() {
	local name=$1 pid=${STARTED_PID[$1]:-}
	client "$name" -e 'SELECT 1' >/dev/null 2>&1 && return
	if [[ -n $pid ]] && ! process_alive "$pid"; then
		die "$name exited during startup; see $(log_of "$name")"
	fi
	return 1
}

# replica_state NAME: "IO SQL BEHIND LAST_ERROR" from SHOW SLAVE STATUS;
# "- - - not-configured" before CHANGE MASTER, "? ? ? unreachable" if the
# server does not answer.
replica_state() {
	local out
	out=$(client "$1" -e 'SHOW SLAVE STATUS\G' 2>/dev/null) || {
		echo "? ? ? unreachable"
		return
	}
	awk -F': ' '
		{ sub(/^ +/, "") }
		$1 == "Slave_IO_Running"      { io = $2 }
		$1 == "Slave_SQL_Running"     { sql = $2 }
		$1 == "Seconds_Behind_Master" { behind = $2 }
		$1 == "Last_IO_Error" && $2 != ""  { err = $2 }
		$1 == "Last_SQL_Error" && $2 != "" { err = $2 }
		END {
			if (io == "") print "- - - not-configured"
			else print io, sql, behind, (err == "" ? "-" : err)
		}' <<<"$out"
}

replica_running() {
	local io sql _
	read -r io sql _ < <(replica_state "$1")
	[[ $io == Yes && $sql == Yes ]]
}

# Users and databases are created on the primary only; the replicas receive
# them through replication. Runs once per datadir (marker file).
bootstrap_primary() {
	local marker
	marker=$(dir_of primary)/.bootstrapped
	[[ -e $marker ]] && return
	say "creating users and databases on primary"
	client primary <<'EOF'
CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'app';
GRANT ALL PRIVILEGES ON *.* TO 'app'@'%';
CREATE USER IF NOT EXISTS 'monitor'@'%' IDENTIFIED BY 'monitor';
GRANT REPLICATION CLIENT, PROCESS, SLAVE MONITOR, SELECT ON *.* TO 'monitor'@'%';
CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY 'repl';
GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'repl'@'%';
CREATE DATABASE IF NOT EXISTS sbtest;
CREATE DATABASE IF NOT EXISTS sluice_test;
EOF
	touch "$marker"
}

# A fresh replica has an empty gtid_slave_pos, so it replays the primary's
# binlog from the start, users included. connect_retry=1 lets a replica that
# starts before the primary catch up within a second instead of sixty.
bootstrap_replica() {
	local name=$1 marker
	marker=$(dir_of "$name")/.bootstrapped
	[[ -e $marker ]] && return
	say "starting replication on $name"
	client "$name" <<EOF
CHANGE MASTER TO master_host='127.0.0.1', master_port=${PORT[primary]},
  master_user='repl', master_password='repl',
  master_use_gtid=slave_pos, master_connect_retry=1;
START SLAVE;
EOF
	touch "$marker"
}

# ------------------------------------------------------------------ Redis

start_redis() {
	local dir=$SANDBOX/redis
	redis_running && return
	say "starting redis on 127.0.0.1:${PORT[redis]}"
	mkdir -p "$dir"
	cat >"$dir/redis.conf" <<EOF
bind 127.0.0.1
port ${PORT[redis]}
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
dir $dir
save ""
appendonly no
EOF
	redis-server "$dir/redis.conf" || die "redis-server failed; see $dir/redis.log"
}

redis_ready() {
	[[ $(redis-cli -h 127.0.0.1 -p "${PORT[redis]}" ping 2>/dev/null) == PONG ]]
}

# -------------------------------------------------------------- commands

# wait_until CMD...: poll CMD until it succeeds; false after $TIMEOUT s.
wait_until() {
	local deadline=$((SECONDS + TIMEOUT))
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

cmd_up() {
	local name
	for name in "${MARIADB_SERVERS[@]}"; do
		prepare_mariadb "$name"
		start_mariadb "$name"
	done
	start_redis
	for name in "${MARIADB_SERVERS[@]}"; do
		wait_until mariadb_ready "$name" ||
			die "$name not accepting connections after ${TIMEOUT}s; see $(log_of "$name")"
	done
	wait_until redis_ready ||
		die "redis not answering PING after ${TIMEOUT}s; see $SANDBOX/redis/redis.log"

	bootstrap_primary
	for name in "${REPLICAS[@]}"; do
		bootstrap_replica "$name"
	done
	for name in "${REPLICAS[@]}"; do
		wait_until replica_running "$name" ||
			die "$name replication not running after ${TIMEOUT}s" \
				"(io sql behind error: $(replica_state "$name")); see $(log_of "$name")"
	done
	say "up"
}

# stop_pid NAME PIDFILE COMM: SIGTERM, up to 20 s to exit, then SIGKILL.
stop_pid() {
	local name=$1 pidfile=$2 comm=$3 pid i
	pid_alive "$pidfile" "$comm" || return 0
	pid=$(<"$pidfile")
	say "stopping $name (pid $pid)"
	kill -TERM "$pid"
	for ((i = 0; i < 100; i++)); do
		process_alive "$pid" || return 0
		sleep 0.2
	done
	say "$name did not exit after SIGTERM; killing it"
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$pidfile"
}

cmd_down() {
	local name
	for name in r2 r1 primary; do
		stop_pid "$name" "$(dir_of "$name")/mysqld.pid" mariadbd
	done
	stop_pid redis "$SANDBOX/redis/redis.pid" redis-server
	if [[ ${1:-} == --purge ]]; then
		say "removing $SANDBOX"
		rm -rf "$SANDBOX"
	fi
}

cmd_status() {
	local name state io sql behind err rc=0
	for name in "${MARIADB_SERVERS[@]}" redis; do
		if [[ $name == redis ]]; then
			redis_running && state=running || state=stopped
		else
			mariadb_running "$name" && state=running || state=stopped
		fi
		[[ $state == running ]] || rc=1
		printf '%-8s %-8s 127.0.0.1:%s' "$name" "$state" "${PORT[$name]}"
		if is_replica "$name" && [[ $state == running ]]; then
			read -r io sql behind err < <(replica_state "$name")
			printf '  io=%s sql=%s behind=%s' "$io" "$sql" "$behind"
			if [[ $io != Yes || $sql != Yes ]]; then
				printf '  error=%s' "$err"
				rc=1
			fi
		fi
		printf '\n'
	done
	return "$rc"
}

cmd_sql() {
	local name=${1:-}
	[[ $name == primary || $name == r1 || $name == r2 ]] ||
		die "usage: sandbox.sh sql primary|r1|r2 [SQL...]"
	shift
	if (($# > 0)); then
		client "$name" -e "$*"
	else
		client "$name"
	fi
}

main() {
	local cmd=${1:-}
	shift || true
	case $cmd in
	up) cmd_up ;;
	down) cmd_down "$@" ;;
	status) cmd_status ;;
	sql) cmd_sql "$@" ;;
	*) die "usage: sandbox.sh up | down [--purge] | status | sql NAME [SQL...]" ;;
	esac
}

main "$@"
