#!/usr/bin/python3
"""Writes the fuzzers' seed corpora into tests/fuzz/corpus/<target>/ (see tests/fuzz/README.md).

  /usr/bin/python3 tests/fuzz/seeds.py classify    statements of tests/unit/test_classify.c
  /usr/bin/python3 tests/fuzz/seeds.py config      conf/sluice.conf and variants
  /usr/bin/python3 tests/fuzz/seeds.py handshake   tests/unit/fixtures/*.bin, header stripped
  /usr/bin/python3 tests/fuzz/seeds.py capture     real traffic through a relay to the sandbox
                                                   primary (scripts/sandbox.sh up first): reply
                                                   streams for fuzz_packets, connection-phase
                                                   packets for fuzz_handshake

Files are named after a short label and the SHA-1 of their contents, so re-running adds only
what changed. The capture uses the mariadb CLI, pymysql and a small Connector/C program (built
with cc on the fly), all talking to 127.0.0.1:13306 as app/app through a TCP relay on a free
port; it works in a scratch database, sluice_fuzz_capture, dropped at the end.
"""
import hashlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
PRIMARY = ("127.0.0.1", 13306)
SCRATCH_DB = "sluice_fuzz_capture"

COM_NAMES = {0x01: "quit", 0x02: "init_db", 0x03: "query", 0x04: "field_list", 0x09: "statistics",
             0x0e: "ping", 0x11: "change_user", 0x16: "stmt_prepare", 0x17: "stmt_execute",
             0x18: "stmt_send_long_data", 0x19: "stmt_close", 0x1a: "stmt_reset",
             0x1b: "set_option", 0x1c: "stmt_fetch", 0x1f: "reset_connection"}
NO_REPLY = {0x01, 0x18, 0x19}


def write_seed(target, label, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = "%s-%s" % (label, hashlib.sha1(data).hexdigest()[:12])
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- classify -----------------------------------------------------------------------------------

def seeds_classify():
    """Lets the C compiler decode the string literals of test_classify.c's tables."""
    src = open(os.path.join(ROOT, "tests/unit/test_classify.c")).read()
    defines = "\n".join(l for l in src.splitlines() if re.match(r"#define E_ACUTE\b", l))
    table = re.search(r"static const struct case_def cases\[\] = \{(.*?)\n\};", src, re.S).group(1)
    longs = re.search(r"long_ones\[\] = \{(.*?)\n\t\};", src, re.S).group(1)
    prog = r"""
#include <stdio.h>
#include <string.h>
%s
#define C(sql, ...) sql
#define U(sql, ...) sql
static const char *const cases[] = {%s};
static const char *const long_ones[] = {%s};
int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		printf("%%zu:%%s", strlen(cases[i]), cases[i]);
	for (size_t i = 0; i < sizeof(long_ones) / sizeof(long_ones[0]); i++)
		printf("%%zu:%%s", strlen(long_ones[i]), long_ones[i]);
	return 0;
}
""" % (defines, table, longs)
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "x.c"), "w") as f:
            f.write(prog)
        subprocess.run(["cc", "-w", "-o", os.path.join(tmp, "x"), os.path.join(tmp, "x.c")],
                       check=True)
        out = subprocess.run([os.path.join(tmp, "x")], check=True, stdout=subprocess.PIPE).stdout
    n = 0
    while out:
        colon = out.index(b":")
        size = int(out[:colon])
        write_seed("classify", "case", out[colon + 1:colon + 1 + size])
        out = out[colon + 1 + size:]
        n += 1
    print("classify: %d statements" % n)


# ---- config -------------------------------------------------------------------------------------

CONFIG_VARIANTS = {
    "minimal": "[user.app]\npassword = app\n[primary]\naddress = 127.0.0.1:13306\n",
    "full": """[proxy]
listen = 0.0.0.0:6033
threads = 8
max_connections = 1
max_packet_mb = 1024
log_level = debug
[stats]
listen = [::1]:6080
[user.app]
password = "app"
[user.other]
password = s3cr=t;#
[primary]
address = db1.example:3306
[replica.r1]
address = 10.0.0.2:3306
weight = 100
[replica.r2]
address = 10.0.0.3
[routing]
balance = least-connections
breaker_failures = 5
[pinning]
mode = gtid
window_ms = 0
[cache]
enabled = true
ttl_s = 1
tables = app.t1, app.t2
[binlog]
server_id = 4294967295
""",
    "errors": """; every line wrong in a different way
[proxy
listen = 127.0.0.1:99999
threads = -1
unknown_key = 1
[user.]
password =
[replica.r1]
address = :3306
weight = 1e3
[routing]
balance = fastest
[nosuchsection]
x = y
= value only
key without equals
""",
    "duplicates": "[user.a]\npassword=1\n[user.a]\npassword=2\n[primary]\naddress=h:1\naddress=h:2\n"
                  "[replica.x]\naddress=h:3\n[replica.x]\naddress=h:4\n",
    "long": "[user.%s]\npassword = %s\n[primary]\naddress = %s:1\n" % ("u" * 100, "p" * 200, "h" * 70),
}


def seeds_config():
    write_seed("config", "sluice", open(os.path.join(ROOT, "conf/sluice.conf"), "rb").read())
    for label, text in CONFIG_VARIANTS.items():
        write_seed("config", label, text.encode())
    print("config: %d files" % (1 + len(CONFIG_VARIANTS)))


# ---- handshake fixtures -------------------------------------------------------------------------

def caps_of_login(payload):
    return int.from_bytes(payload[0:4], "little")


def caps_of_greeting(payload):
    p = payload.index(b"\0", 1) + 1 + 4 + 8 + 1
    return int.from_bytes(payload[p:p + 2], "little") | int.from_bytes(payload[p + 5:p + 7], "little") << 16


def seeds_handshake():
    fixtures = os.path.join(ROOT, "tests/unit/fixtures")
    greeting = open(os.path.join(fixtures, "mariadb_10.11_greeting.bin"), "rb").read()[4:]
    login = open(os.path.join(fixtures, "login_mariadb_cli_db.bin"), "rb").read()[4:]
    caps = caps_of_greeting(greeting) & caps_of_login(login)
    n = 0
    for name in sorted(os.listdir(fixtures)):
        if not name.endswith(".bin"):
            continue
        payload = open(os.path.join(fixtures, name), "rb").read()[4:]
        if payload[:1] == b"\x11":  # COM_CHANGE_USER: the caps word comes first
            payload = caps.to_bytes(4, "little") + payload
        write_seed("handshake", name[:-4], payload)
        n += 1
    print("handshake: %d fixtures" % n)


# ---- capture ------------------------------------------------------------------------------------

class Relay:
    """Forwards connections to the primary, logging every chunk in the order it arrived."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.logs = []
        self.lock = threading.Lock()
        self.threads = []
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(PRIMARY)
            log = []
            with self.lock:
                self.logs.append(log)
            for src, dst, d in ((client, server, "C"), (server, client, "S")):
                t = threading.Thread(target=self.pump, args=(src, dst, d, log), daemon=True)
                t.start()
                self.threads.append(t)

    def pump(self, src, dst, d, log):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            with self.lock:  # logged before it is passed on: the log keeps causal order
                log.append((d, data))
            dst.sendall(data)

    def close(self):
        self.sock.close()
        for t in list(self.threads):
            t.join(timeout=5)


def packets_of(log):
    """Whole packets as (direction, seq, raw bytes with header), in the order they completed."""
    bufs = {"C": b"", "S": b""}
    out = []
    for d, data in log:
        bufs[d] += data
        while len(bufs[d]) >= 4:
            n = 4 + int.from_bytes(bufs[d][:3], "little")
            if len(bufs[d]) < n:
                break
            out.append((d, bufs[d][3], bufs[d][:n]))
            bufs[d] = bufs[d][n:]
    return out


def seeds_from_connection(client, packets):
    server_pkts = [p for d, _, p in packets if d == "S"]
    client_pkts = [p for d, _, p in packets if d == "C"]
    if not server_pkts or not client_pkts:
        return 0
    caps = caps_of_greeting(server_pkts[0][4:]) & caps_of_login(client_pkts[0][4:])
    n = 0
    # Connection phase, for fuzz_handshake: everything before the first command.
    for d, seq, raw in packets:
        if d == "C" and seq == 0:
            break
        kind = {0x0a: "greeting", 0xfe: "auth_switch"}.get(raw[4] if len(raw) > 4 else -1)
        if d == "C" and seq == 1:
            kind = "login"
        if kind:
            write_seed("handshake", "%s-%s" % (client, kind), raw[4:])
            n += 1
    # Each command's reply (with any LOAD DATA upload between), for fuzz_packets.
    i = 0
    while i < len(packets):
        d, seq, raw = packets[i]
        i += 1
        if d != "C" or seq != 0 or len(raw) < 5:
            continue
        cmd = raw[4]
        reply = b""
        while i < len(packets) and not (packets[i][0] == "C" and packets[i][1] == 0):
            reply += packets[i][2]
            i += 1
        if cmd == 0x11:
            write_seed("handshake", "%s-change_user" % client, caps.to_bytes(4, "little") + raw[4:])
            n += 1
        if cmd in NO_REPLY or not reply:
            continue
        prefix = bytes([cmd]) + caps.to_bytes(4, "little") + b"\0"
        write_seed("packets", "%s-%s" % (client, COM_NAMES.get(cmd, "0x%02x" % cmd)), prefix + reply)
        n += 1
    # The client's whole stream, framed as the command loop does.
    stream = b"".join(client_pkts)
    write_seed("packets", "%s-client_stream" % client, b"\x03" + caps.to_bytes(4, "little") + b"\0" + stream)
    return n + 1


STMT_PROGRAM = r"""
#include <mysql.h>
#include <stdlib.h>
#include <string.h>

static void run(MYSQL_STMT *st, const char *q)
{
	if (mysql_stmt_prepare(st, q, strlen(q)) == 0 && mysql_stmt_execute(st) == 0)
		while (mysql_stmt_fetch(st) == 0)
			;
}

int main(int argc, char **argv)
{
	MYSQL *m = mysql_init(NULL);
	if (!mysql_real_connect(m, "127.0.0.1", "app", "app", argv[2], (unsigned)atoi(argv[1]), NULL,
	                        CLIENT_MULTI_RESULTS))
		return 1;
	mysql_ping(m);
	mysql_stat(m);
	mysql_select_db(m, argv[2]);
	MYSQL_RES *fields = mysql_list_fields(m, "t", NULL);
	if (fields)
		mysql_free_result(fields);

	/* parameters and columns */
	MYSQL_STMT *st = mysql_stmt_init(m);
	const char *q = "SELECT seq, CONCAT('row', seq), ? AS p FROM seq_1_to_4 WHERE seq > ?";
	if (mysql_stmt_prepare(st, q, strlen(q)) == 0) {
		MYSQL_BIND b[2];
		int one = 1;
		memset(b, 0, sizeof(b));
		b[0].buffer_type = MYSQL_TYPE_STRING;
		b[0].buffer = "param";
		b[0].buffer_length = 5;
		b[1].buffer_type = MYSQL_TYPE_LONG;
		b[1].buffer = &one;
		mysql_stmt_bind_param(st, b);
		mysql_stmt_execute(st);
		mysql_stmt_store_result(st);
		while (mysql_stmt_fetch(st) == 0)
			;
		mysql_stmt_reset(st);
	}
	mysql_stmt_close(st);

	/* a cursor: rows come with COM_STMT_FETCH */
	st = mysql_stmt_init(m);
	unsigned long type = CURSOR_TYPE_READ_ONLY, prefetch = 2;
	mysql_stmt_attr_set(st, STMT_ATTR_CURSOR_TYPE, &type);
	mysql_stmt_attr_set(st, STMT_ATTR_PREFETCH_ROWS, &prefetch);
	run(st, "SELECT seq, seq * 2 FROM seq_1_to_5");
	mysql_stmt_close(st);

	/* a write, long data, an error, a CALL */
	st = mysql_stmt_init(m);
	q = "INSERT INTO t (v, b) VALUES (?, ?)";
	if (mysql_stmt_prepare(st, q, strlen(q)) == 0) {
		MYSQL_BIND b[2];
		memset(b, 0, sizeof(b));
		b[0].buffer_type = MYSQL_TYPE_STRING;
		b[0].buffer = "v";
		b[0].buffer_length = 1;
		b[1].buffer_type = MYSQL_TYPE_BLOB;
		mysql_stmt_bind_param(st, b);
		mysql_stmt_send_long_data(st, 1, "long data", 9);
		mysql_stmt_execute(st);
	}
	mysql_stmt_close(st);
	st = mysql_stmt_init(m);
	run(st, "SELECT * FROM no_such_table");
	mysql_stmt_close(st);
	st = mysql_stmt_init(m);
	run(st, "CALL p()");
	while (mysql_stmt_next_result(st) == 0)
		while (mysql_stmt_fetch(st) == 0)
			;
	mysql_stmt_close(st);

	mysql_change_user(m, "app", "app", argv[2]);
	mysql_reset_connection(m);
	mysql_close(m);
	return 0;
}
"""

PYMYSQL_PROGRAM = r"""
import sys, pymysql
from pymysql.constants import CLIENT
c = pymysql.connect(host="127.0.0.1", port=int(sys.argv[1]), user="app", password="app",
                    database=sys.argv[2], client_flag=CLIENT.MULTI_STATEMENTS, local_infile=True)
cur = c.cursor()
cur.execute("SELECT 1 AS one; SELECT 'two', NULL, 2.5, X'00ff', NOW(6); DO 1")
while cur.nextset():
    pass
cur.execute("SELECT seq, REPEAT('x', seq * 40) FROM seq_1_to_6")
cur.execute("INSERT INTO t (v) VALUES ('a'), ('b'), ('c')")
cur.execute("UPDATE t SET v = 'z' WHERE v = 'a'")
cur.execute("LOAD DATA LOCAL INFILE %s INTO TABLE t (v)", (sys.argv[3],))
try:
    cur.execute("SELECT * FROM no_such_table")
except pymysql.MySQLError:
    pass
cur.execute("CALL p()")
while cur.nextset():
    pass
c.ping()
c.select_db(sys.argv[2])
c.close()
"""

CLI_SQL = """SELECT seq, CONCAT('row', seq) AS name, seq * 1.5 FROM seq_1_to_5;
SELECT NULL, '', 'it''s';
CALL p();
SELECT * FROM no_such_table;
INSERT INTO t (v) VALUES ('x'), ('y');
SHOW WARNINGS;
LOAD DATA LOCAL INFILE '%s' INTO TABLE t (v);
PREPARE s FROM 'SELECT ? + 1'; EXECUTE s USING 41; DEALLOCATE PREPARE s;
"""


def admin(sql):
    """Runs sql (statements ending in ';', or '//' after DELIMITER //) straight on the primary."""
    subprocess.run(["mariadb", "--no-defaults", "-h%s" % PRIMARY[0], "-P%d" % PRIMARY[1], "-uapp",
                    "-papp"], input=sql, text=True, check=True)


def seeds_capture():
    with tempfile.TemporaryDirectory() as tmp:
        infile = os.path.join(tmp, "rows.txt")
        with open(infile, "w") as f:
            f.write("".join("line%d\n" % i for i in range(20)))
        libs = subprocess.run(["pkg-config", "--cflags", "--libs", "libmariadb"], check=True,
                              stdout=subprocess.PIPE, text=True).stdout.split()
        stmt = os.path.join(tmp, "stmt")
        with open(stmt + ".c", "w") as f:
            f.write(STMT_PROGRAM)
        subprocess.run(["cc", "-o", stmt, stmt + ".c"] + libs, check=True)
        admin("DROP DATABASE IF EXISTS %s; CREATE DATABASE %s; USE %s;\n"
              "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20), b BLOB);\n"
              "DELIMITER //\n"
              "CREATE PROCEDURE p() BEGIN SELECT 1 AS a; SELECT 'two' AS b, 2 AS c; END//\n"
              % ((SCRATCH_DB,) * 3))
        relay = Relay()
        port = str(relay.port)
        clients = [
            ("cli", ["mariadb", "--no-defaults", "--force", "--local-infile=1", "-h127.0.0.1",
                     "-P" + port, "-uapp", "-papp", SCRATCH_DB], CLI_SQL % infile),
            ("cli_authswitch", ["mariadb", "--no-defaults", "--default-auth=caching_sha2_password",
                                "-h127.0.0.1", "-P" + port, "-uapp", "-papp", "-e", "SELECT 1"], None),
            ("pymysql", ["/usr/bin/python3", "-c", PYMYSQL_PROGRAM, port, SCRATCH_DB, infile], None),
            ("capi", [stmt, port, SCRATCH_DB], None),
        ]
        total = 0
        try:
            for label, cmd, stdin in clients:
                before = len(relay.logs)
                r = subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True, timeout=60)
                if r.returncode != 0 and label != "cli":  # cli --force reports the deliberate error
                    sys.exit("capture: %s failed: %s" % (label, r.stderr.strip()))
                relay_wait(relay, before)
                for log in relay.logs[before:]:
                    with relay.lock:
                        pkts = packets_of(list(log))
                    total += seeds_from_connection(label, pkts)
        finally:
            relay.close()
            admin("DROP DATABASE IF EXISTS %s;" % SCRATCH_DB)
    print("capture: %d seeds" % total)


def relay_wait(relay, before):
    """Waits until the connections opened since `before` have been closed on both sides."""
    for t in relay.threads[2 * before:]:
        t.join(timeout=10)


def main():
    steps = {"classify": seeds_classify, "config": seeds_config, "handshake": seeds_handshake,
             "capture": seeds_capture}
    names = sys.argv[1:] or list(steps)
    for name in names:
        if name not in steps:
            sys.exit(__doc__)
        steps[name]()


if __name__ == "__main__":
    main()
