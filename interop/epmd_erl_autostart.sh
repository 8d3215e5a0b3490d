#!/bin/bash
# erl starts epmd on its own: erlexec runs "$BINDIR/epmd -daemon" (BINDIR =
# <root>/erts-<vsn>/bin, set by the bin/erl script) when -sname/-name is
# given without -start_epmd false. In a throwaway copy of the OTP install
# with our binary in that place, erl must start ours; and a second node
# must find it running (our "-daemon" exits 0 when the port is taken).
# Then the stock install with erlexec's (undocumented) -epmd flag.
# usage: epmd_erl_autostart.sh BIN_DIR
set -u
BIN=${1:?usage: $0 BIN_DIR}
. "$(dirname "$0")/lib/epmd_interop.sh"
need_erl
PORT=14510
export ERL_EPMD_PORT=$PORT
unset ERL_EPMD_ADDRESS ERL_EPMD_RELAXED_COMMAND_CHECK

REAL_ERL=$(readlink -f "$(command -v erl)")
ROOT=$(cd "$(dirname "$REAL_ERL")/.." && pwd)
ERTS_BIN=$(ls -d "$ROOT"/erts-*/bin | head -1)
COPY=$EPMD_TMP/otp
cp -a "$ROOT" "$COPY" || exit 1
CBIN=$COPY/$(basename "$(dirname "$ERTS_BIN")")/bin
[ -x "$CBIN/epmd" ] || { fail "no epmd in the copied $CBIN"; finish; exit 1; }
# The Debian erl script hard-codes its root; point the copy at itself.
sed -i "s|ROOTDIR=$ROOT\$|ROOTDIR=$COPY|" "$COPY/bin/erl" "$CBIN/erl"
grep -q "ROOTDIR=$COPY" "$COPY/bin/erl" && pass "copied OTP install at $COPY" || fail "rewrite ROOTDIR"
rm -f "$CBIN/epmd"
cp "$BIN/epmd" "$CBIN/epmd"
on_exit "'$BIN/epmd' -port $PORT -kill"

timeout 120 "$COPY/bin/erl" -noshell -sname epmdauto$$ -eval '
    {ok, Names} = net_adm:names(),
    io:format("names: ~p~n", [Names]),
    halt(0).' >"$EPMD_TMP/node.out" 2>&1
RC=$?
cat "$EPMD_TMP/node.out"
expect_eq "a node started by the copied erl runs" 0 "$RC"
grep -q "epmdauto$$" "$EPMD_TMP/node.out" && pass "it registered with the epmd erl started" ||
    fail "it registered with the epmd erl started"

DPID=$(ss -Hltnp "sport = :$PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
if [ -n "$DPID" ]; then
    on_exit "kill $DPID"
    EXE=$(readlink "/proc/$DPID/exe")
    expect_eq "the daemon erl started is our binary in the copy" "$CBIN/epmd" "$EXE"
    cmp -s "$EXE" "$BIN/epmd" && pass "same bytes as the built epmd" || fail "same bytes as the built epmd"
    [ "$(ps -o ppid= -p "$DPID" | tr -d ' ')" == 1 ] || [ "$(ps -o sid= -p "$DPID" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ] &&
        pass "it runs detached" || fail "it runs detached"
else
    fail "an epmd listens on $PORT after erl ran"
fi

# A second node: erlexec runs "epmd -daemon" again, which must exit 0
# quietly, and the node must register with the running daemon.
timeout 120 "$COPY/bin/erl" -noshell -sname epmdauto2$$ -eval '
    {ok, Names} = net_adm:names(), io:format("names: ~p~n", [Names]), halt(0).' \
    >"$EPMD_TMP/node2.out" 2>&1
expect_eq "second node with the daemon already running" 0 "$?"
grep -q "epmdauto2$$" "$EPMD_TMP/node2.out" && pass "second node registered" || fail "second node registered"
DPID2=$(ss -Hltnp "sport = :$PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
expect_eq "still the first daemon" "$DPID" "$DPID2"
OUT=$("$BIN/epmd" -port $PORT -kill)
expect_eq "-kill the daemon erl started" "Killed" "$OUT"
wait_port_closed $PORT

# The stock install, told which epmd to run with erlexec's -epmd flag.
timeout 120 erl -noshell -sname epmdauto3$$ -epmd "$BIN/epmd -daemon" -eval '
    {ok, Names} = net_adm:names(), io:format("names: ~p~n", [Names]), halt(0).' \
    >"$EPMD_TMP/node3.out" 2>&1
expect_eq "erl -epmd \"our epmd -daemon\"" 0 "$?"
DPID3=$(ss -Hltnp "sport = :$PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
if [ -n "$DPID3" ]; then
    on_exit "kill $DPID3"
    expect_eq "erl -epmd started our binary" "$(readlink -f "$BIN/epmd")" "$(readlink -f /proc/$DPID3/exe)"
else
    fail "erl -epmd started a daemon"
fi
OUT=$("$BIN/epmd" -port $PORT -kill)
expect_eq "-kill it" "Killed" "$OUT"
finish
