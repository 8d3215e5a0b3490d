#!/usr/bin/env bash
# etf-bench's decode on corpora of one kind of term each (kinds.escript):
# where libetf is ahead of ei and where it is not.
# usage: bench/etf_bench/kinds.sh [BIN_DIR]   (BIN_DIR: build/bin)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/build/bin}
if [ ! -x "$bin/etf-bench" ]; then
    echo "kinds.sh: $bin/etf-bench not built" >&2
    exit 1
fi
work=$(mktemp -d /tmp/etf_kinds.XXXXXX)
trap 'rm -rf "$work"' EXIT

escript "$root/bench/etf_bench/kinds.escript" "$work"
printf "%-16s %12s %12s %8s\n" kind "libetf MB/s" "ei MB/s" ratio
for dir in "$work"/*/; do
    kind=$(basename "$dir")
    "$bin/etf-bench" "$dir" | awk -v k="$kind" \
        '$1 == "decode" { printf "%-16s %12s %12s %8s\n", k, $3, $6, $8 }'
done
