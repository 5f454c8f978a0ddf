#!/usr/bin/env bash
# Fails when docs/configuration.md's generated reference differs from what the parser's key
# table prints (sluice --config-reference): the docs must change with the parser.
set -euo pipefail
bin=$1
doc=$2
begin='<!-- BEGIN GENERATED: sluice --config-reference -->'
end='<!-- END GENERATED -->'
embedded=$(awk -v b="$begin" -v e="$end" '$0==e{f=0} f{print} $0==b{f=1}' "$doc")
if ! diff -u <(printf '%s\n' "$embedded") <("$bin" --config-reference) >&2; then
	echo "docs/configuration.md is stale: regenerate the block between the markers with" >&2
	echo "  build/sluice --config-reference" >&2
	exit 1
fi
echo "docs/configuration.md matches the parser's key table"
