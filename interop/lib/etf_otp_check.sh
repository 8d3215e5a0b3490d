#!/usr/bin/env bash
# Run one of libetf's OTP checks: an escript given the etf tool, a work
# directory, a term count and a seed. Sourced by interop/etf_*_otp.sh.
#   etf_otp_check NAME ESCRIPT BIN_DIR N SEED
etf_otp_check() {
    local name=$1 script=$2 bin=$3 n=$4 seed=$5 rc=0
    if ! command -v erl >/dev/null || ! command -v escript >/dev/null; then
        echo "$name: erl or escript not found: skipped"
        exit 77
    fi
    if [ ! -x "$bin/etf" ]; then
        echo "$name: $bin/etf not built" >&2
        exit 1
    fi
    ETF_OTP_WORK=$(mktemp -d "/tmp/$name.XXXXXX")
    ETF_OTP_PID=
    trap 'if [ -n "$ETF_OTP_PID" ]; then kill "$ETF_OTP_PID" 2>/dev/null || true; wait "$ETF_OTP_PID" 2>/dev/null || true; fi; rm -rf "$ETF_OTP_WORK"' EXIT
    trap 'exit 130' INT TERM
    escript "$script" "$bin/etf" "$ETF_OTP_WORK" "$n" "$seed" &
    ETF_OTP_PID=$!
    wait "$ETF_OTP_PID" || rc=$?
    ETF_OTP_PID=
    exit "$rc"
}
