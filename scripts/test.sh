#!/usr/bin/env bash
# Builds Sluice with ASan+UBSan into build-test/, brings up the sandbox and
# runs ctest; arguments go to ctest (e.g. -L unit, -R cli). The sandbox is
# always stopped at the end unless SLUICE_KEEP_SANDBOX=1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# EXIT trap: stop the sandbox, and fail the run if stopping it fails.
stop_sandbox() {
	local rc=$?
	if [[ ${SLUICE_KEEP_SANDBOX:-0} == 1 ]]; then
		echo "test: SLUICE_KEEP_SANDBOX=1, leaving the sandbox running"
	else
		scripts/sandbox.sh down || rc=1
	fi
	exit "$rc"
}

build() {
	cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DSANITIZE=ON
	cmake --build build-test -j2
}

main() {
	scripts/deps.sh
	build
	trap stop_sandbox EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	# fuzzing first, so ctest's summary closes the run; SLUICE_FUZZ_SECONDS=0 skips it
	[[ ${SLUICE_FUZZ_SECONDS:-30} == 0 ]] || scripts/fuzz.sh "${SLUICE_FUZZ_SECONDS:-30}"
	scripts/sandbox.sh up
	ctest --test-dir build-test --output-on-failure "$@"
}

main "$@"
