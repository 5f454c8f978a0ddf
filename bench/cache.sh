#!/usr/bin/env bash
# Result cache benchmark (bench/cache_bench.py does the work; bench/README.md explains the output):
#   throughput  sysbench oltp_point_select on one table (text protocol, --db-ps-mode=disable,
#               then prepared statements, --db-ps-mode=auto) against, in one run: the primary and
#               a replica directly, Sluice without the cache, Sluice with the cache and no
#               in-process tier (every hit from Redis), Sluice with both tiers; each run after a
#               warm-up run that fills the cache. qps, p95, ratios to direct, cache hit shares.
#               Target: sluice_cache >= 1.5 x direct_primary qps.
#   invalidation latency  under a background load of direct writes, N single-row commits on the
#               primary, each timed from its OK to its cache entry gone from Redis, and N more
#               to the first read through Sluice that returns the new value; p50 / p99 / max.
# Starts its own Sluice instances (${SLUICE_BIN:-build/sluice}) and sluice-binlog
# (${SLUICE_BINLOG_BIN:-build/sluice-binlog}) from conf/sluice.conf on free ports with Redis key
# prefixes of their own, and a database of its own (sbcache); needs the sandbox. Use a Release
# build for meaningful figures. Reports, does not judge: exit 0 whatever the numbers (2: could not
# measure). Writes the report to bench/results/cache-<date>-<time>.txt too.
#
# Usage: bench/cache.sh [--time S] [--warmup S] [--threads N] [--table-size R] [--commits N]
#                       [--write-rate W] [--skip-throughput] [--skip-latency]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
command -v sysbench >/dev/null || { echo "cache.sh: sysbench not found" >&2; exit 2; }
exec /usr/bin/python3 "$ROOT/bench/cache_bench.py" "$@"
