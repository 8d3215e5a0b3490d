#!/usr/bin/env bash
# Make the OTP corpus (interop/lib/etf_corpus.escript, on a private epmd)
# and run etf-bench over it: libetf against erl_interface's ei (decode
# with each term repeated, then decode, skip and encode in timed passes).
#
# usage: bench/etf_bench/run.sh [BIN_DIR [N [SEED]]]   (BIN_DIR: build/bin)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/build/bin}
n=${2:-10000}
seed=${3:-1}

if [ ! -x "$bin/etf-bench" ]; then
    echo "run.sh: $bin/etf-bench not built (cmake --build build --target etf-bench)" >&2
    exit 1
fi
. "$root/interop/lib/etf_corpus_env.sh"
work=$(mktemp -d /tmp/etf_bench.XXXXXX)
trap 'etf_corpus_cleanup; rm -rf "$work"' EXIT

etf_corpus_gen "$work/corpus" "$n" "$seed"
etf_corpus_cleanup
# decode with each term repeated first (docs/testing-etf.md: why decode
# stops short of 2x), then the timed passes, whose last line is the ratio
"$bin/etf-bench" --warm "$work/corpus" | tail -3
"$bin/etf-bench" "$work/corpus"
