#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang into build-fuzz/, runs each for N
# seconds over a copy of its seed corpus, then replays every saved regression input once.
#
#   scripts/fuzz.sh N [TARGET...]     e.g. scripts/fuzz.sh 30, scripts/fuzz.sh 600 classify
#
# Quiet on success: one line per target. On a crash, timeout or leak it prints the fuzzer's
# report, keeps the input under build-fuzz/artifacts/TARGET/ and exits non-zero; a fixed crash's
# input belongs in tests/fuzz/regressions/TARGET/. Extra libFuzzer flags: SLUICE_FUZZ_FLAGS.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BUILD=build-fuzz
FUZZ_DIR=tests/fuzz
TARGETS=(handshake packets classify keys config binlog)

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

die() {
	echo "fuzz: $*" >&2
	exit 1
}

build() {
	local log=$WORK/build.log
	if ! { CC=clang cmake -S . -B "$BUILD" -DFUZZ=ON &&
		cmake --build "$BUILD" --target fuzz -j2; } >"$log" 2>&1; then
		cat "$log" >&2
		die "build failed"
	fi
}

# stats LOG: "RUNS runs in S s (R/s), cov C, ft F, corpus N" from libFuzzer's last lines.
stats() {
	local log=$1 runs secs status
	read -r runs secs < <(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 \2/p' "$log")
	status=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	printf '%s runs in %s s (%s/s), cov %s, ft %s, corpus %s' "$runs" "$secs" \
		"$((runs / (secs > 0 ? secs : 1)))" \
		"$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")" \
		"$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")" \
		"$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$status")"
}

# fail TARGET LOG WHAT: prints the report and the input that caused it, then exits.
fail() {
	local target=$1 log=$2 what=$3
	tail -n 60 "$log" >&2
	local input
	input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
	[[ -n $input ]] || input=$(sed -n 's/^Running: \(.*\)$/\1/p' "$log" | tail -n 1)
	die "$target: $what; input: ${input:-unknown}"
}

# run TARGET SECONDS: fuzzes a scratch copy of the seed corpus, so runs never grow the repo.
run() {
	local target=$1 seconds=$2
	local bin=$BUILD/$FUZZ_DIR/fuzz_$target corpus=$WORK/corpus/$target log=$WORK/$target.log
	local artifacts=$ROOT/$BUILD/artifacts/$target/
	local -a flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
		-artifact_prefix="$artifacts" -print_final_stats=0)
	[[ -f $FUZZ_DIR/$target.dict ]] && flags+=(-dict="$FUZZ_DIR/$target.dict")
	mkdir -p "$corpus" "$artifacts"
	cp -r "$FUZZ_DIR/corpus/$target/." "$corpus/" 2>/dev/null || true
	# shellcheck disable=SC2086 # SLUICE_FUZZ_FLAGS is a list of flags
	"$bin" "${flags[@]}" ${SLUICE_FUZZ_FLAGS:-} "$corpus" >"$log" 2>&1 ||
		fail "$target" "$log" "fuzzing found a bug"
	echo "fuzz: $target: $(stats "$log")"
}

# replay TARGET: runs each saved regression input once.
replay() {
	local target=$1 dir=$FUZZ_DIR/regressions/$1 log=$WORK/$1.replay.log
	local -a inputs=()
	[[ -d $dir ]] && mapfile -t inputs < <(find "$dir" -type f ! -name '.*' ! -name '*.md' | sort)
	((${#inputs[@]} > 0)) || return 0
	"$BUILD/$FUZZ_DIR/fuzz_$target" -runs=1 "${inputs[@]}" >"$log" 2>&1 ||
		fail "$target" "$log" "a regression input fails again"
	echo "fuzz: $target: ${#inputs[@]} regression inputs pass"
}

main() {
	if (($# < 1)) || [[ ! $1 =~ ^[0-9]+$ ]]; then
		die "usage: scripts/fuzz.sh SECONDS [TARGET...]"
	fi
	local seconds=$1
	shift
	local -a targets=("$@")
	(($# > 0)) || targets=("${TARGETS[@]}")
	local t
	for t in "${targets[@]}"; do
		[[ " ${TARGETS[*]} " == *" $t "* ]] || die "unknown target '$t' (${TARGETS[*]})"
	done
	WORK=$(mktemp -d)
	trap 'rm -rf "$WORK"' EXIT
	build
	for t in "${targets[@]}"; do
		((seconds == 0)) || run "$t" "$seconds"
	done
	for t in "${targets[@]}"; do
		replay "$t"
	done
}

main "$@"
