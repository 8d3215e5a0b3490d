#!/bin/bash
# Our epmd against OTP's, byte for byte: the same states are set up with
# each server in turn on the same port, and the output, error text and
# exit code of -names, -started, -dump, -kill, -stop, usage and "no daemon"
# are recorded with both clients. All four combinations must agree. Only
# the "fd = N" in -dump is masked: descriptor numbers are the process's own.
# Then the wire-level black-box cases run against OTP's epmd, showing that
# what they expect of ours is what OTP does.
# usage: epmd_compare_otp.sh BIN_DIR
set -u
BIN=${1:?usage: $0 BIN_DIR}
. "$(dirname "$0")/lib/epmd_interop.sh"
need_erl
[ -x "$OTP_EPMD" ] || { echo "no OTP epmd at $OTP_EPMD"; exit 1; }
PORT=14520
PORT_CASES=14521
OURS=$BIN/epmd
unset ERL_EPMD_PORT ERL_EPMD_ADDRESS ERL_EPMD_RELAXED_COMMAND_CHECK

# rec DIR STEP CMD...: record stdout, stderr and exit code of CMD.
rec() {
    local dir=$1 step=$2
    shift 2
    mkdir -p "$dir"
    "$@" >"$dir/$step.out" 2>"$dir/$step.err"
    echo $? >"$dir/$step.rc"
    sed -i 's/fd = [0-9]*/fd = N/g' "$dir/$step.out"
}

# hold NAME=PORT...: one holder process per name, in order; HOLDS lists
# their PIDs.
hold() {
    local a
    HOLDS=()
    for a in "$@"; do
        bg_start "$PY" "$EPMD_TEST_LIB/epmd_hold.py" $PORT "$a" >"$EPMD_TMP/hold"
        HOLDS+=("$LAST_PID")
        for _ in $(seq 1 300); do grep -q ready "$EPMD_TMP/hold" && break; sleep 0.1; done
        grep -q ready "$EPMD_TMP/hold" || return 1
    done
}

# unhold: end the registrations one by one, each gone before the next, so
# the unregistered list has the same order on both servers.
unhold() {
    local pid n
    if [ "${1:-}" == quick ]; then
        for pid in "${HOLDS[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null; done
        return 0
    fi
    for pid in "${HOLDS[@]}"; do
        n=$("$OURS" -port $PORT -names | wc -l)
        kill "$pid"
        wait "$pid" 2>/dev/null
        for _ in $(seq 1 300); do
            [ "$("$OURS" -port $PORT -names | wc -l)" -lt "$n" ] && break
            sleep 0.05
        done
    done
}


# scenario SERVER_BINARY TAG: run every step with both clients.
scenario() {
    local server=$1 tag=$2 c cl
    for c in otp ours; do
        [ $c == otp ] && cl=$OTP_EPMD || cl=$OURS
        rec "$EPMD_TMP/$tag/$c" usage "$cl" -h
        rec "$EPMD_TMP/$tag/$c" usage2 "$cl" -names -port $PORT
        for cmd in -names -dump -kill -started; do
            rec "$EPMD_TMP/$tag/$c" "none$cmd" "$cl" -port $PORT $cmd
        done
        rec "$EPMD_TMP/$tag/$c" none-stop "$cl" -port $PORT -stop foo
    done

    bg_start "$server" -port $PORT 2>>"$EPMD_TMP/server.log"
    local d=$LAST_PID
    wait_port $PORT || return 1
    for c in otp ours; do
        [ $c == otp ] && cl=$OTP_EPMD || cl=$OURS
        rec "$EPMD_TMP/$tag/$c" empty-names "$cl" -port $PORT -names
        rec "$EPMD_TMP/$tag/$c" empty-dump "$cl" -port $PORT -dump
    done
    hold alpha=40001 beta=40002 "$(printf 'g\303\244mma')=40003" || return 1
    for c in otp ours; do
        [ $c == otp ] && cl=$OTP_EPMD || cl=$OURS
        rec "$EPMD_TMP/$tag/$c" names "$cl" -port $PORT -names
        rec "$EPMD_TMP/$tag/$c" started "$cl" -port $PORT -started
        rec "$EPMD_TMP/$tag/$c" dump "$cl" -port $PORT -dump
        rec "$EPMD_TMP/$tag/$c" kill-live "$cl" -port $PORT -kill
        rec "$EPMD_TMP/$tag/$c" stop-strict "$cl" -port $PORT -stop alpha
    done
    unhold
    for c in otp ours; do
        [ $c == otp ] && cl=$OTP_EPMD || cl=$OURS
        rec "$EPMD_TMP/$tag/$c" dump-old "$cl" -port $PORT -dump
    done
    rec "$EPMD_TMP/$tag/kill" kill "$OTP_EPMD" -port $PORT -kill
    wait $d
    echo $? >"$EPMD_TMP/$tag/kill/daemon.rc"

    bg_start "$server" -port $PORT -relaxed_command_check 2>>"$EPMD_TMP/server.log"
    d=$LAST_PID
    wait_port $PORT || return 1
    hold alpha=40001 beta=40002 || return 1
    for c in otp ours; do
        [ $c == otp ] && cl=$OTP_EPMD || cl=$OURS
        rec "$EPMD_TMP/$tag/$c" stop-unknown "$cl" -port $PORT -stop nosuchnode
    done
    rec "$EPMD_TMP/$tag/relaxed" stop-known "$OTP_EPMD" -port $PORT -stop alpha
    rec "$EPMD_TMP/$tag/relaxed" stop-known2 "$OURS" -port $PORT -stop beta
    sleep 0.2 # not asserted: only lets the holder see its socket close
    rec "$EPMD_TMP/$tag/relaxed" names-after-stop "$OURS" -port $PORT -names
    rec "$EPMD_TMP/$tag/relaxed" dump-after-stop "$OTP_EPMD" -port $PORT -dump
    rec "$EPMD_TMP/$tag/relaxed" kill-relaxed "$OURS" -port $PORT -kill
    wait $d
    echo $? >"$EPMD_TMP/$tag/relaxed/daemon.rc"
    unhold quick
    return 0
}

scenario "$OTP_EPMD" otp || fail "scenario with OTP's epmd"
wait_port_closed $PORT
scenario "$OURS" ours || fail "scenario with our epmd"
wait_port_closed $PORT

# With -d both keep only a few unregistered names (OTP: more than 5 makes
# the oldest go).
debug_unreg() {
    local server=$1 tag=$2 i
    bg_start "$server" -port $PORT -d 2>>"$EPMD_TMP/server.log"
    local d=$LAST_PID
    wait_port $PORT || return 1
    for i in 1 2 3 4 5 6 7 8; do
        hold "old$i=4100$i" || return 1
        unhold
    done
    rec "$EPMD_TMP/$tag/debug" dump "$OURS" -port $PORT -dump
    kill $d
    wait $d 2>/dev/null
    wait_port_closed $PORT
}
debug_unreg "$OTP_EPMD" otp || fail "-d scenario with OTP's epmd"
debug_unreg "$OURS" ours || fail "-d scenario with our epmd"

# Every file recorded with OTP's server must match ours byte for byte, and
# within each, OTP's client must match ours.
n=0
for f in $(cd "$EPMD_TMP/otp" && find . -type f | sort); do
    n=$((n + 1))
    expect_file_eq "server: $f" "$EPMD_TMP/otp/$f" "$EPMD_TMP/ours/$f"
done
for tag in otp ours; do
    for f in $(cd "$EPMD_TMP/$tag/otp" && find . -type f | sort); do
        expect_file_eq "client ($tag server): $f" "$EPMD_TMP/$tag/otp/$f" "$EPMD_TMP/$tag/ours/$f"
    done
done
[ "$n" -gt 40 ] && pass "$n recordings compared" || fail "only $n recordings"
echo "--- sample, -names with three nodes (our server, our client):"
cat "$EPMD_TMP/ours/ours/names.out"
echo "--- -dump after they left:"
tr '\0' '@' <"$EPMD_TMP/ours/ours/dump-old.out"
echo "--- -dump under -d after 8 names came and went:"
tr '\0' '@' <"$EPMD_TMP/ours/debug/dump.out"
n=$(grep -c 'old/unused' "$EPMD_TMP/ours/debug/dump.out")
expect_eq "under -d, 6 unregistered names are kept (more than 5 recycles)" 6 "$n"

# The wire cases against OTP's own epmd.
bg_start "$OTP_EPMD" -port $PORT_CASES -packet_timeout 2 -relaxed_command_check 2>"$EPMD_TMP/otp-cases.log"
D=$LAST_PID
wait_port $PORT_CASES || exit 1
if timeout 600 "$PY" "$EPMD_TEST_LIB/epmd_protocol_cases.py" $PORT_CASES --otp; then
    pass "black-box wire cases hold for OTP's epmd"
else
    fail "black-box wire cases hold for OTP's epmd"
fi
kill $D; wait $D 2>/dev/null
finish
