#!/bin/bash
# OTP 25 nodes use our epmd: with -start_epmd false and ERL_EPMD_PORT set
# to our port they register, see each other in net_adm:names/0, and
# net_adm:ping/1 answers pong both ways. Then the registration ends with
# the node, and a node stopped with -stop re-registers on its own.
# usage: epmd_otp_nodes.sh BIN_DIR
set -u
BIN=${1:?usage: $0 BIN_DIR}
. "$(dirname "$0")/lib/epmd_interop.sh"
need_erl
PORT=14500
export ERL_EPMD_PORT=$PORT
COOKIE=epmdinterop$$
A=epmdia$$
B=epmdib$$

bg_start "$BIN/epmd" -port $PORT -relaxed_command_check -d 2>"$EPMD_TMP/epmd.log"
D=$LAST_PID
wait_port $PORT || exit 1

bg_start erl -noshell -sname $A -setcookie $COOKIE -start_epmd false \
    -eval 'receive after infinity -> ok end'
NA=$LAST_PID
for _ in $(seq 1 300); do
    "$BIN/epmd" -port $PORT -names | grep -q "^name $A at port" && break
    sleep 0.1
done
"$BIN/epmd" -port $PORT -names | grep -q "^name $A at port" &&
    pass "node A registered with our epmd" || fail "node A registered"

timeout 120 erl -noshell -sname $B -setcookie $COOKIE -start_epmd false -eval "
    [_, Host] = string:split(atom_to_list(node()), \"@\"),
    A = list_to_atom(\"$A@\" ++ Host),
    {ok, Names} = net_adm:names(),
    io:format(\"names: ~p~n\", [Names]),
    true = lists:keymember(\"$A\", 1, Names),
    true = lists:keymember(\"$B\", 1, Names),
    {port, _, 6} = erl_epmd:port_please(\"$A\", {127,0,0,1}),
    io:format(\"ping A: ~p~n\", [pong = net_adm:ping(A)]),
    io:format(\"ping back: ~p~n\", [pong = rpc:call(A, net_adm, ping, [node()])]),
    halt(0)." >"$EPMD_TMP/b.out" 2>&1
RC=$?
cat "$EPMD_TMP/b.out"
expect_eq "names, ping and ping back from OTP nodes" 0 "$RC"
grep -q "ping A: pong" "$EPMD_TMP/b.out" && pass "ping A -> pong" || fail "ping A -> pong"
grep -q "ping back: pong" "$EPMD_TMP/b.out" && pass "ping B from A -> pong" || fail "ping back -> pong"

# B halted: its name is free again.
for _ in $(seq 1 300); do
    "$BIN/epmd" -port $PORT -names | grep -q "^name $B " || break
    sleep 0.1
done
"$BIN/epmd" -port $PORT -names | grep -q "^name $B " &&
    fail "B unregistered when it stopped" || pass "B unregistered when it stopped"

# -stop A: OTP's erl_epmd notices the closed socket and registers again.
OUT=$("$BIN/epmd" -port $PORT -stop $A)
expect_eq "-stop a live OTP node" "STOPPED" "$OUT"
back=0
for _ in $(seq 1 300); do
    if "$BIN/epmd" -port $PORT -names | grep -q "^name $A at port"; then back=1; break; fi
    sleep 0.1
done
expect_eq "the stopped node registers again on its own" 1 "$back"
kill $NA
wait $NA 2>/dev/null
finish
