#!/usr/bin/env bash
# Builds Sluice (Release), brings up the sandbox and runs the proxy in the
# foreground with conf/sluice.conf. The sandbox keeps running afterwards;
# stop it with scripts/sandbox.sh down.
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
	cat <<'USAGE'

Sluice is starting in the foreground (Ctrl-C stops it).
  connect:  mariadb -h127.0.0.1 -P6033 -uapp -papp
  stats:    curl http://127.0.0.1:6080/stats

USAGE
	exec build/sluice -c conf/sluice.conf
}

main "$@"
