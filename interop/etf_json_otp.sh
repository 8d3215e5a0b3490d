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
# shellcheck source=lib/etf_otp_check.sh
. "$here/lib/etf_otp_check.sh"
etf_otp_check etf_json_otp "$here/lib/etf_json_otp.escript" "$bin" \
    "${ETF_JSON_N:-3000}" "${ETF_JSON_SEED:-1}"
