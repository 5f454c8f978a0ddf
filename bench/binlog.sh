#!/usr/bin/env bash
# sluice-binlog benchmark (bench/binlog_bench.py does the work):
#   latency     commit-to-publish for N single-row autocommit UPDATEs on the primary, one at a
#               time: from the client's OK to the stream entry naming the row (XREAD BLOCK);
#               p50 / p99 / max (target p99 < 5 ms)
#   throughput  one UPDATE of R rows (default 1 000 000) in one transaction: row images decoded
#               per second by the tailer, from its /stats counter (target >= 200 000 rows/s)
# Starts its own tailer (${SLUICE_BINLOG_BIN:-build/sluice-binlog}, a Release build gives the
# meaningful figures) with conf/sluice.conf, a Redis prefix and a database of its own; needs the
# sandbox. Reports, does not judge: exit 0 whatever the numbers (2: could not measure).
#
# Usage: bench/binlog.sh [--commits N] [--rows R]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exec /usr/bin/python3 "$ROOT/bench/binlog_bench.py" "$@"
