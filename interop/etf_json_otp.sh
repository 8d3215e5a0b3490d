#!/usr/bin/env bash
# libetf's JSON forms against OTP 25: the typed form's round trip
# (=:= terms, unchanged bytes, the documented JSON text) on edge-case and
# random terms of every kind, and the plain form against OTP 27's json
# semantics written out in the escript (OTP 25 has no json module).
#
# usage: etf_json_otp.sh BIN_DIR   (ETF_JSON_N, ETF_JSON_SEED to vary)
set -euo pipefail

bin=${1:?usage: etf_json_otp.sh BIN_DIR}
here=$(cd "$(dirname "$0")" && pwd)
n=${ETF_JSON_N:-3000}
seed=${ETF_JSON_SEED:-1}

if ! command -v erl >/dev/null || ! command -v escript >/dev/null; then
    echo "etf_json_otp: erl or escript not found: skipped"
    exit 77
fi
if [ ! -x "$bin/etf" ]; then
    echo "etf_json_otp: $bin/etf not built" >&2
    exit 1
fi

work=$(mktemp -d /tmp/etf_json_otp.XXXXXX)
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

escript "$here/lib/etf_json_otp.escript" "$bin/etf" "$work" "$n" "$seed" &
pid=$!
rc=0
wait "$pid" || rc=$?
pid=
exit "$rc"
