#!/bin/bash
# Wire-level black-box cases against the built epmd on a private port:
# malformed, partial, oversized and slow requests, registrations, lookups,
# NAMES/DUMP/STOP, unicode names, 1,100 registrations at once.
# usage: epmd_protocol.sh BIN_DIR
set -u
BIN=${1:?usage: $0 BIN_DIR}
. "$(dirname "$0")/lib/epmd_common.sh"
PORT=14400

ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
bg_start "$BIN/epmd" -port $PORT -packet_timeout 2 -relaxed_command_check \
    -d 2>"$EPMD_TMP/epmd.log"
EPMD=$LAST_PID
wait_port $PORT || exit 1

if timeout 600 "$PY" "$EPMD_TEST_LIB/epmd_protocol_cases.py" $PORT; then
    pass "protocol cases"
else
    fail "protocol cases"
fi

# The daemon survived everything and logs say which step refused whom.
if kill -0 "$EPMD" 2>/dev/null; then pass "epmd still running"; else fail "epmd still running"; fi
if grep -q '127.0.0.1:[0-9]*: request refused: zero length request' "$EPMD_TMP/epmd.log"; then
    pass "log names the peer and the refusal"
else
    fail "log names the peer and the refusal"
    tail -20 "$EPMD_TMP/epmd.log"
fi
if grep -q 'ALIVE2_REQ for ".*" refused: name already registered' "$EPMD_TMP/epmd.log"; then
    pass "log says why ALIVE2 was refused"
else
    fail "log says why ALIVE2 was refused"
fi
if grep -q 'AddressSanitizer\|runtime error' "$EPMD_TMP/epmd.log"; then
    fail "no sanitizer reports from epmd"
    grep -A20 'AddressSanitizer\|runtime error' "$EPMD_TMP/epmd.log" | head -40
else
    pass "no sanitizer reports from epmd"
fi
finish
