#!/usr/bin/env bash
# Builds Sluice (Release), brings up the sandbox, starts the binlog tailer
# (sluice-binlog) in the background and runs the proxy in the foreground, both
# with conf/sluice.conf. Stopping the proxy stops the tailer; the sandbox keeps
# running afterwards: stop it with scripts/sandbox.sh down.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

build() {
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
	cmake --build build -j2
}

main() {
	scripts/deps.sh
	build
	scripts/sandbox.sh up
	build/sluice-binlog -c conf/sluice.conf >.sandbox/sluice-binlog.log 2>&1 &
	local tailer=$!
	trap 'kill "$tailer" 2>/dev/null; wait "$tailer" 2>/dev/null || true' EXIT
	cat <<'USAGE'

Sluice is starting in the foreground (Ctrl-C stops it).
  connect:    mariadb -h127.0.0.1 -P6033 -uapp -papp
  stats:      curl http://127.0.0.1:6080/stats   (dashboard: http://127.0.0.1:6080/)
  tailer:     curl http://127.0.0.1:6081/stats   (log: .sandbox/sluice-binlog.log)

USAGE
	build/sluice -c conf/sluice.conf
}

main "$@"
