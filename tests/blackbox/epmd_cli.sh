#!/bin/bash
# The command line: usage and exit codes, -names/-started/-dump/-kill/-stop
# output, relaxed mode by flag and by environment, -daemon.
# usage: epmd_cli.sh BIN_DIR
set -u
BIN=${1:?usage: $0 BIN_DIR}
. "$(dirname "$0")/lib/epmd_common.sh"
EPMD=$BIN/epmd
P1=14410 # strict daemon
P2=14411 # nothing listens here
P3=14412 # relaxed by environment
P4=14413 # -daemon

# Run the client; sets OUT, ERR, RC.
run() {
    "$@" >"$EPMD_TMP/out" 2>"$EPMD_TMP/err"
    RC=$?
    OUT=$(cat "$EPMD_TMP/out"; echo x)
    OUT=${OUT%x}
    ERR=$(cat "$EPMD_TMP/err"; echo x)
    ERR=${ERR%x}
}

# hold PORT NAME...: register names in the background until the test ends.
hold() {
    local port=$1
    shift
    bg_start "$PY" "$EPMD_TEST_LIB/epmd_hold.py" "$port" "$@" >"$EPMD_TMP/hold.$port"
    HOLD_PID=$LAST_PID
    for _ in $(seq 1 300); do
        grep -q ready "$EPMD_TMP/hold.$port" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "hold: registrations failed" >&2
    return 1
}

USAGE1='usage: epmd [-d|-debug] [DbgExtra...] [-address List]'
for args in "-h" "--help" "-port" "-port 0" "-port abc" "-names -port 1" \
    "-packet_timeout 0" "-delay_write" "-stop" "-stop a b" "-kill x" "-dump 1"; do
    run $EPMD $args
    expect_eq "usage for '$args': exit 1" 1 "$RC"
    expect_eq "usage for '$args': text on stderr" "$USAGE1" "$(head -1 "$EPMD_TMP/err")"
    expect_eq "usage for '$args': nothing on stdout" "" "$OUT"
done

# No daemon.
for cmd in -names -dump -kill "-stop foo"; do
    run $EPMD -port $P2 $cmd
    expect_eq "no daemon, $cmd: exit 1" 1 "$RC"
    expect_eq "no daemon, $cmd: message" $'epmd: Cannot connect to local epmd\n' "$ERR"
done
run $EPMD -port $P2 -started
expect_eq "no daemon, -started: exit 1, silent" "1:" "$RC:$ERR$OUT"
run env ERL_EPMD_PORT=$P2 $EPMD -names
expect_eq "ERL_EPMD_PORT reaches the client" 1 "$RC"

# A strict daemon.
bg_start $EPMD -port $P1
D1=$LAST_PID
wait_port $P1 || exit 1
run $EPMD -port $P1 -names
expect_eq "-names, empty" "0:epmd: up and running on port $P1 with data:"$'\n' "$RC:$OUT"
run env ERL_EPMD_PORT=$P1 $EPMD -names
expect_eq "-names via ERL_EPMD_PORT" "0:epmd: up and running on port $P1 with data:"$'\n' "$RC:$OUT"
run $EPMD -port $P1 -started
expect_eq "-started: exit 0, silent" "0:" "$RC:$OUT$ERR"
hold $P1 alpha=40001 beta=40002 || exit 1
H1=$HOLD_PID
run $EPMD -port $P1 -names
expect_eq "-names, two nodes, newest first" \
    "0:epmd: up and running on port $P1 with data:"$'\nname beta at port 40002\nname alpha at port 40001\n' "$RC:$OUT"
$EPMD -port $P1 -dump >"$EPMD_TMP/dump"
RC=$?
if [ $RC -eq 0 ] && head -1 "$EPMD_TMP/dump" | grep -qx "epmd: up and running on port $P1 with data:" &&
    tr '\0' '@' <"$EPMD_TMP/dump" | grep -q 'active name     <alpha> at port 40001, fd = [0-9]*$' &&
    [ "$(tr -cd '\0' <"$EPMD_TMP/dump" | wc -c)" -eq 2 ]; then
    pass "-dump: lines and NUL bytes"
else
    fail "-dump"; od -c "$EPMD_TMP/dump" | head
fi
run $EPMD -port $P1 -kill
expect_eq "-kill with live nodes refused" "1:Killing not allowed - living nodes in database."$'\n' "$RC:$OUT"
run $EPMD -port $P1 -stop alpha
expect_eq "-stop without relaxed check" "1:epmd: local epmd responded with <>"$'\n' "$RC:$OUT"
run $EPMD -port $P1 -stop "$(printf 'n%.0s' $(seq 1 1001))"
expect_eq "-stop with a name over 1000 bytes" "1:epmd: Name too long!" "$RC:$OUT"
kill $H1
wait $H1 2>/dev/null
for _ in $(seq 1 100); do
    [ "$($EPMD -port $P1 -names | wc -l)" -eq 1 ] && break
    sleep 0.1
done
run $EPMD -port $P1 -kill
expect_eq "-kill with no nodes" "0:Killed"$'\n' "$RC:$OUT"
wait $D1
expect_eq "daemon exits 0 after -kill" 0 "$?"

# Relaxed through the environment, even when empty.
ERL_EPMD_RELAXED_COMMAND_CHECK= bg_start $EPMD -port $P3
D3=$LAST_PID
wait_port $P3 || exit 1
hold $P3 gamma=40003 delta=40004 || exit 1
run $EPMD -port $P3 -stop gamma
expect_eq "-stop known name" "0:STOPPED"$'\n' "$RC:$OUT"
run $EPMD -port $P3 -stop nosuchnode
expect_eq "-stop unknown name" "0:NOEXIST"$'\n' "$RC:$OUT"
run $EPMD -port $P3 -names
expect_eq "-names after -stop" "0:epmd: up and running on port $P3 with data:"$'\nname delta at port 40004\n' "$RC:$OUT"
run $EPMD -port $P3 -kill
expect_eq "-kill with live nodes, relaxed" "0:Killed"$'\n' "$RC:$OUT"
wait $D3
expect_eq "relaxed daemon exits 0" 0 "$?"

# The DbgExtra options are accepted and the daemon still answers.
bg_start $EPMD -port $P2 -packet_timeout 5 -delay_accept 1 -delay_write 1 -d -d -d
D2=$LAST_PID
wait_port $P2 || exit 1
run $EPMD -port $P2 -names
expect_eq "-packet_timeout/-delay_accept/-delay_write: still answers" "0:epmd: up and running on port $P2 with data:"$'\n' "$RC:$OUT"
kill $D2
wait $D2 2>/dev/null

# -daemon detaches; a second one exits 0 quietly; so does a foreground one.
on_exit "$EPMD -port $P4 -kill"
run timeout 20 $EPMD -daemon -port $P4
expect_eq "-daemon returns 0 at once" "0::" "$RC:$OUT:$ERR"
wait_port $P4 || exit 1
DPID=$(ss -Hltnp "sport = :$P4" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
[ -n "$DPID" ] && on_exit "kill $DPID"
if [ -n "$DPID" ] && [ "$(ps -o ppid= -p "$DPID" | tr -d ' ')" != "$$" ] &&
    [ "$(ps -o sid= -p "$DPID" | tr -d ' ')" == "$DPID" -o "$(ps -o pgid= -p "$DPID" | tr -d ' ')" != "$(ps -o pgid= -p $$ | tr -d ' ')" ]; then
    pass "-daemon is detached (own session, not our child)"
else
    fail "-daemon is detached"; ps -o pid,ppid,sid,pgid,args -p "$DPID"
fi
run timeout 20 $EPMD -daemon -port $P4
expect_eq "second -daemon exits 0 quietly" "0::" "$RC:$OUT:$ERR"
run timeout 20 $EPMD -port $P4
expect_eq "foreground epmd on a used port exits 0 quietly" "0::" "$RC:$OUT:$ERR"
run $EPMD -port $P4 -names
expect_eq "first daemon still serves" "0:epmd: up and running on port $P4 with data:"$'\n' "$RC:$OUT"
run $EPMD -port $P4 -kill
expect_eq "-kill the daemon" "0:Killed"$'\n' "$RC:$OUT"
wait_port_closed $P4 && pass "daemon gone after -kill" || fail "daemon gone after -kill"
finish
