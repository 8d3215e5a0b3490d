# Shared by the interop/epmd_*.sh tests (sourced, bash): the black-box
# helpers, plus a skip when there is no OTP to test against.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../../tests/blackbox/lib/epmd_common.sh"

# Exit 77 (skipped) only when erl itself is absent.
need_erl() {
    if ! command -v erl >/dev/null 2>&1; then
        echo "erl not installed: skipped"
        exit 77
    fi
}

# The OTP epmd to compare with.
OTP_EPMD=${OTP_EPMD:-/usr/bin/epmd}
