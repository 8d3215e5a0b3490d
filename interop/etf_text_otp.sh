#!/usr/bin/env bash
# libetf's Erlang text form against OTP 25: printing (~w and single-line
# ~tp) byte for byte, and parsing, on random and edge-case terms.
#
# usage: etf_text_otp.sh BIN_DIR   (ETF_TEXT_N, ETF_TEXT_SEED to vary)
set -euo pipefail

bin=${1:?usage: etf_text_otp.sh BIN_DIR}
here=$(cd "$(dirname "$0")" && pwd)
n=${ETF_TEXT_N:-4000}
seed=${ETF_TEXT_SEED:-1}

if ! command -v erl >/dev/null || ! command -v escript >/dev/null; then
    echo "etf_text_otp: erl or escript not found: skipped"
    exit 77
fi
if [ ! -x "$bin/etf" ]; then
    echo "etf_text_otp: $bin/etf not built" >&2
    exit 1
fi

work=$(mktemp -d /tmp/etf_text_otp.XXXXXX)
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

escript "$here/lib/etf_text_otp.escript" "$bin/etf" "$work" "$n" "$seed" &
pid=$!
rc=0
wait "$pid" || rc=$?
pid=
exit "$rc"
