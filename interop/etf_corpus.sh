#!/usr/bin/env bash
# libetf against OTP on a corpus made by a running distributed OTP node:
# every term decodes; our re-encoding, ~w text, typed JSON round trip and
# parse of text agree with OTP; on malformed and truncated inputs our
# accept/reject verdict equals binary_to_term/1's.
#
# usage: etf_corpus.sh BIN_DIR   (ETF_CORPUS_N, ETF_CORPUS_SEED to vary;
# ETF_CORPUS_KEEP=1 keeps the corpus and our outputs and says where)
set -euo pipefail

bin=${1:?usage: etf_corpus.sh BIN_DIR}
here=$(cd "$(dirname "$0")" && pwd)
n=${ETF_CORPUS_N:-10000}
seed=${ETF_CORPUS_SEED:-1}

if ! command -v erl >/dev/null || ! command -v escript >/dev/null ||
    ! command -v epmd >/dev/null; then
    echo "etf_corpus: erl, escript or epmd not found: skipped"
    exit 77
fi
if [ ! -x "$bin/etf-corpus-check" ]; then
    echo "etf_corpus: $bin/etf-corpus-check not built" >&2
    exit 1
fi

. "$here/lib/etf_corpus_env.sh"
work=$(mktemp -d /tmp/etf_corpus.XXXXXX)
if [ -n "${ETF_CORPUS_KEEP:-}" ]; then
    trap 'etf_corpus_cleanup; echo "etf_corpus: kept $work"' EXIT
else
    trap 'etf_corpus_cleanup; rm -rf "$work"' EXIT
fi

echo "== generating $n terms (seed $seed)"
etf_corpus_gen "$work/corpus" "$n" "$seed"
etf_corpus_cleanup

echo "== libetf over the corpus"
"$bin/etf-corpus-check" "$work/corpus" "$work/out"

echo "== checking against OTP"
escript "$here/lib/etf_corpus.escript" check "$work/corpus" "$work/out"
