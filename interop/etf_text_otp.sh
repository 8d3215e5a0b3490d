#!/usr/bin/env bash
# libetf's Erlang text form against OTP 25: printing (~w and single-line
# ~tp) byte for byte, and parsing, on random and edge-case terms.
#
# usage: etf_text_otp.sh BIN_DIR   (ETF_TEXT_N, ETF_TEXT_SEED to vary)
set -euo pipefail

bin=${1:?usage: etf_text_otp.sh BIN_DIR}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/etf_otp_check.sh
. "$here/lib/etf_otp_check.sh"
etf_otp_check etf_text_otp "$here/lib/etf_text_otp.escript" "$bin" \
    "${ETF_TEXT_N:-4000}" "${ETF_TEXT_SEED:-1}"
