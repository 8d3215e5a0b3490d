#!/bin/bash
# distgw against real OTP 25 nodes, run twice: once with our epmd (and
# the HTTP bridge on), once with OTP's (bridge off). OTP pings the gateway
# (pong, hidden), streams 100,000 varied terms through its echo mailbox,
# sends 20 MB terms and 50 streams at once, monitors, links, unlinks and
# kills mailboxes, calls rpc and gen_server on it, is refused with a wrong
# cookie, keeps an idle link up at a 4 s net_ticktime, restarts with a new
# creation and reconnects, and sees noconnection when the gateway is
# killed mid-stream; peers that do not speak the protocol are refused and
# closed; distgw ping, rpc and send work against an OTP node and the
# gateway; the gateway registers again when EPMD restarts. The OTP side
# of each check is interop/lib/dist_interop.erl.
# usage: dist_otp.sh BIN_DIR   (ECHO_COUNT overrides the 100,000)
set -u
BIN=${1:?usage: $0 BIN_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dist_common.sh"
need_erl
OTP_EPMD=${OTP_EPMD:-/usr/bin/epmd}
ECHO_COUNT=${ECHO_COUNT:-100000}

TMP=$(mktemp -d /tmp/dist_otp.XXXXXX)
# A failed run keeps its logs (the line before the count says where).
cleanup() {
    stop_all
    [ "$FAILED" -eq 0 ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

erlc -o "$TMP" "$HERE/lib/dist_interop.erl" || {
    fail "compile dist_interop.erl"
    finish
    exit 1
}

HOST=$(hostname -s)
COOKIE=distotp$$
GWNAME=gw$$
GW=$GWNAME@$HOST
RUN=0

# otp_run NAME COOKIE ARGS...: run dist_interop checks on a fresh OTP node
# named NAME; each PASS/FAIL line it prints is counted, and a node that
# does not reach DONE is a failure.
otp_run() {
    local name=$1 cookie=$2 out line
    shift 2
    RUN=$((RUN + 1))
    out=$TMP/otp.$RUN.$name.out
    # in TMP: crash dumps and mismatch files land there
    (cd "$TMP" && timeout 300 erl -noshell -sname "$name" \
        -setcookie "$cookie" -start_epmd false ${OTP_ARGS:-} -pa "$TMP" \
        -run dist_interop main "$GW" "$@" >"$out" 2>&1)
    while IFS= read -r line; do
        case $line in
        PASS\ *) pass "[$MODE] ${line#PASS }" ;;
        FAIL\ *) fail "[$MODE] ${line#FAIL }" ;;
        esac
    done <"$out"
    if ! grep -q '^DONE' "$out"; then
        fail "[$MODE] OTP node $name did not finish: $(tail -c 400 "$out")"
    fi
}

gw_registered() {
    "$BIN/epmd" -port "$ERL_EPMD_PORT" -names 2>/dev/null |
        grep -q "^name $GWNAME at port $GWPORT\$"
}

name_free() {
    ! "$BIN/epmd" -port "$ERL_EPMD_PORT" -names 2>/dev/null |
        grep -q "^name $1 at port"
}

# Start the gateway; GWPID, GWPORT, GWOUT, GWERR describe it.
start_gw() {
    GWN=$((${GWN:-0} + 1))
    GWOUT=$TMP/gw.$MODE.$GWN.out
    GWERR=$TMP/gw.$MODE.$GWN.err
    bg "$BIN/distgw" serve -sname "$GWNAME" -setcookie "$COOKIE" \
        -port "$GW_PORTS" -echo echo -recorder rec -mailbox inbox \
        -mailbox victim -print -start_epmd false -http "$HTTP" \
        -coalesce "$COALESCE" -d >"$GWOUT" 2>"$GWERR"
    GWPID=$LAST_PID
    if wait_for 100 grep -q "^distgw: $GW listening on port" "$GWOUT"; then
        GWPORT=$(sed -n "s/^distgw: $GW listening on port \([0-9]*\)\$/\1/p" "$GWOUT")
        return 0
    fi
    fail "[$MODE] gateway started: $(tail -c 400 "$GWERR")"
    return 1
}

start_epmd() {
    if [ "$MODE" = ours ]; then
        bg "$BIN/epmd" -port "$ERL_EPMD_PORT"
    else
        bg "$OTP_EPMD" -port "$ERL_EPMD_PORT"
    fi
    EPMDPID=$LAST_PID
    wait_for 50 "$BIN/epmd" -port "$ERL_EPMD_PORT" -names >/dev/null 2>&1
}

# One whole run against the EPMD of MODE (ours or otp).
run_mode() {
    MODE=$1
    export ERL_EPMD_PORT=$2
    GW_PORTS=$3
    HTTP=$4
    COALESCE=$5
    local mark=m$$$MODE peer=peer$$$MODE out rc t0 t1

    if ! start_epmd; then
        fail "[$MODE] epmd started on port $ERL_EPMD_PORT"
        return
    fi
    start_gw || return
    gw_registered && pass "[$MODE] gateway in epmd -names" ||
        fail "[$MODE] gateway in epmd -names"
    "$BIN/distgw" names | grep -q "^name $GWNAME at port $GWPORT\$" &&
        pass "[$MODE] distgw names lists the gateway" ||
        fail "[$MODE] distgw names lists the gateway"

    # What OTP sees of the gateway.
    otp_run a$$$MODE "$COOKIE" ping hidden print monitor_name \
        monitor_noproc monitor_pid_alive gen_call_noproc gen_call_mailbox \
        echo_pid rpc_notsup \
        spawn_notsup gw_pid link_unlink link_noproc exit_to_mailbox \
        linked_dies kill_mailbox after_kill dead_pid_noproc recorder echo \
        "count=$ECHO_COUNT" "marker=$mark"
    grep -q "^inbox <'a$$$MODE@$HOST'/[0-9]*\.[0-9]*\.0> {hello,$mark,<<\"ü\"/utf8>>}\$" "$GWOUT" &&
        pass "[$MODE] -print shows sender and message" ||
        fail "[$MODE] -print shows sender and message: $(grep "$mark" "$GWOUT" | head -3)"
    grep -q "^inbox <'a$$$MODE@$HOST'/[0-9.]*> {'\$gen_call',{<'a$$$MODE@$HOST'/[0-9.]*>,\[alias|#Ref<[^>]*>\]},{call_me,maybe}}\$" "$GWOUT" &&
        pass "[$MODE] a gen_server:call to a mailbox is kept there" ||
        fail "[$MODE] a gen_server:call to a mailbox is kept there: $(grep call_me "$GWOUT")"
    grep -q "^inbox undefined {'EXIT',<'a$$$MODE@$HOST'/[0-9.]*>,${mark}_exit2}\$" "$GWOUT" &&
        pass "[$MODE] exit/2 to a mailbox becomes an 'EXIT' message" ||
        fail "[$MODE] exit/2 to a mailbox becomes an 'EXIT' message"
    grep -q "^inbox undefined {'EXIT',<'a$$$MODE@$HOST'/[0-9.]*>,normal}\$" "$GWOUT" &&
        pass "[$MODE] exit(Pid, normal) reaches the trapping mailbox" ||
        fail "[$MODE] exit(Pid, normal) reaches the trapping mailbox"
    grep -q "^inbox undefined {'EXIT',<'a$$$MODE@$HOST'/[0-9.]*>,${mark}_linked}\$" "$GWOUT" &&
        pass "[$MODE] a linked process's death reaches the mailbox" ||
        fail "[$MODE] a linked process's death reaches the mailbox"
    # The recorder got 500 {send, ...} and one {get, ...}: 501 messages.
    if [ "$HTTP" != off ] && command -v curl >/dev/null 2>&1; then
        out=$(curl -s "http://$HTTP/metrics" | grep '^distgw_mailbox_received_total{mailbox="rec"}')
        [ "$out" = 'distgw_mailbox_received_total{mailbox="rec"} 501' ] &&
            pass "[$MODE] /metrics counts the recorder's messages once" ||
            fail "[$MODE] /metrics counts the recorder's messages once: $out"
    fi
    grep -q "mailbox victim killed by a$$$MODE@$HOST" "$GWERR" &&
        pass "[$MODE] the kill is logged" || fail "[$MODE] the kill is logged"

    # Big frames, many senders at once, a frame over the limit, and an
    # idle link kept up by ticks on a node with a 4 s net_ticktime.
    otp_run b$$$MODE "$COOKIE" echo_big echo_parallel over_limit
    # A burst that waited while the gateway was stopped is read in
    # batches (-coalesce: 20 ms in the first pass, so every check above
    # ran with batches held that long); the check reads /metrics when the
    # bridge is on.
    local metrics=()
    if [ "$HTTP" != off ] && command -v curl >/dev/null 2>&1; then
        metrics=("http=$HTTP")
    fi
    otp_run s$$$MODE "$COOKIE" burst "gwpid=$GWPID" "${metrics[@]}"
    grep -q "connection to b$$$MODE@$HOST closed: frame of [0-9]* bytes is over the limit" "$GWERR" &&
        pass "[$MODE] the frame over the limit is logged" ||
        fail "[$MODE] the frame over the limit is logged"
    OTP_ARGS="-kernel net_ticktime 4" otp_run i$$$MODE "$COOKIE" idle secs=12

    # Peers that do not speak the protocol, one written with gen_tcp
    # that does, and one that says nothing.
    otp_run x$$$MODE "$COOKIE" bad_peers raw_peer raw_alive slow_peer "gwport=$GWPORT"
    grep -q "connection to alive[0-9]*@$HOST closed: replaced by a new connection" "$GWERR" &&
        pass "[$MODE] the replaced connection is closed and logged" ||
        fail "[$MODE] the replaced connection is closed and logged"
    grep -q "connection to raw[0-9]*@$HOST closed: unknown control op 99" "$GWERR" &&
        pass "[$MODE] a frame with an unknown op is logged" ||
        fail "[$MODE] a frame with an unknown op is logged"
    kill -0 "$GWPID" && pass "[$MODE] the gateway runs on after bad peers" ||
        fail "[$MODE] the gateway runs on after bad peers"
    grep -q "handshake failed: recv_name: peer x$$$MODE@$HOST lacks required flags" "$GWERR" &&
        pass "[$MODE] missing flags are logged" ||
        fail "[$MODE] missing flags are logged"

    # distgw's own commands against the gateway.
    out=$("$BIN/distgw" ping -setcookie "$COOKIE" "$GW" 2>&1)
    [ "$out" = pong ] && pass "[$MODE] distgw ping the gateway: pong" ||
        fail "[$MODE] distgw ping the gateway: $out"
    out=$("$BIN/distgw" ping -setcookie "wrong$COOKIE" "$GW" 2>"$TMP/wronggw.$MODE.err")
    rc=$?
    [ "$rc" = 1 ] && [ "$out" = pang ] && grep -q "cookies differ" "$TMP/wronggw.$MODE.err" &&
        pass "[$MODE] distgw ping the gateway with a wrong cookie: pang" ||
        fail "[$MODE] distgw ping the gateway with a wrong cookie: rc $rc, $out, $(cat "$TMP/wronggw.$MODE.err")"
    "$BIN/distgw" send -setcookie "$COOKIE" "$GW" inbox "{from_distgw, $mark}" &&
        wait_for 50 grep -q "^inbox <'distgw_[0-9]*@$HOST'/[0-9.]*> {from_distgw,$mark}\$" "$GWOUT" &&
        pass "[$MODE] distgw send to a gateway mailbox" ||
        fail "[$MODE] distgw send to a gateway mailbox"

    # A wrong cookie on the OTP side: pang, and the gateway says why.
    otp_run w$$$MODE wrong$COOKIE pang
    grep -q "w$$$MODE@$HOST.*cookies differ" "$GWERR" &&
        pass "[$MODE] the gateway logs the wrong cookie" ||
        fail "[$MODE] the gateway logs the wrong cookie"

    # distgw one-shot commands against an OTP node.
    bg erl -noshell -sname "$peer" -setcookie "$COOKIE" -start_epmd false \
        -pa "$TMP" -run dist_interop sink >"$TMP/peer.$MODE.out" 2>&1
    local peerpid=$LAST_PID
    if wait_for 150 grep -q "sink ready" "$TMP/peer.$MODE.out"; then
        out=$("$BIN/distgw" ping -setcookie "$COOKIE" "$peer@$HOST" 2>&1)
        rc=$?
        [ "$rc" = 0 ] && [ "$out" = pong ] && pass "[$MODE] distgw ping OTP: pong" ||
            fail "[$MODE] distgw ping OTP: rc $rc, $out"
        out=$("$BIN/distgw" rpc -setcookie "$COOKIE" "$peer@$HOST" erlang node '[]' 2>&1)
        rc=$?
        [ "$rc" = 0 ] && [ "$out" = "$peer@$HOST" ] &&
            pass "[$MODE] distgw rpc erlang node []" ||
            fail "[$MODE] distgw rpc erlang node []: rc $rc, $out"
        out=$("$BIN/distgw" rpc -setcookie "$COOKIE" "$peer@$HOST" lists reverse '[[1, 2, {x, <<"y">>}]]' 2>&1)
        rc=$?
        [ "$rc" = 0 ] && [ "$out" = '[{x,<<"y">>},2,1]' ] &&
            pass "[$MODE] distgw rpc lists reverse" ||
            fail "[$MODE] distgw rpc lists reverse: rc $rc, $out"
        out=$("$BIN/distgw" rpc -setcookie "$COOKIE" "$peer@$HOST" nosuchmod f '[]' 2>&1)
        rc=$?
        [ "$rc" = 1 ] && case $out in "{badrpc,{'EXIT',{undef,"*) true ;; *) false ;; esac &&
            pass "[$MODE] distgw rpc of an undefined function: badrpc, exit 1" ||
            fail "[$MODE] distgw rpc of an undefined function: rc $rc, $out"
        "$BIN/distgw" send -setcookie "$COOKIE" "$peer@$HOST" sink "{hello, <<\"x\">>, 42, $mark}"
        rc=$?
        [ "$rc" = 0 ] && wait_for 50 grep -q "^sink got {hello,<<120>>,42,$mark}\$" "$TMP/peer.$MODE.out" &&
            pass "[$MODE] distgw send to a registered OTP process" ||
            fail "[$MODE] distgw send: rc $rc, $(tail -3 "$TMP/peer.$MODE.out")"
        out=$("$BIN/distgw" ping -setcookie "wrong$COOKIE" "$peer@$HOST" 2>"$TMP/wrongping.$MODE.err")
        rc=$?
        [ "$rc" = 1 ] && [ "$out" = pang ] && grep -qi "cookie" "$TMP/wrongping.$MODE.err" &&
            pass "[$MODE] distgw ping with a wrong cookie: pang, says cookie" ||
            fail "[$MODE] distgw ping with a wrong cookie: rc $rc, $out, $(cat "$TMP/wrongping.$MODE.err")"
        wait_for 50 grep -q "Connection attempt from node distgw_[0-9]*@$HOST rejected" "$TMP/peer.$MODE.out" &&
            pass "[$MODE] OTP logs the refused connection" ||
            fail "[$MODE] OTP logs the refused connection: $(tail -3 "$TMP/peer.$MODE.out")"
        out=$("$BIN/distgw" ping -setcookie "$COOKIE" "nosuch$$@$HOST" 2>"$TMP/noping.$MODE.err")
        rc=$?
        [ "$rc" = 1 ] && [ "$out" = pang ] && grep -q "EPMD" "$TMP/noping.$MODE.err" &&
            pass "[$MODE] distgw ping of an unknown node: pang, EPMD lookup" ||
            fail "[$MODE] distgw ping of an unknown node: rc $rc, $out, $(cat "$TMP/noping.$MODE.err")"
    else
        fail "[$MODE] OTP peer node started: $(tail -c 400 "$TMP/peer.$MODE.out")"
    fi
    stop_pid "$peerpid"

    # An OTP node that restarts (new creation) reconnects: after a halt,
    # and after kill -9.
    local r=r$$$MODE c1 c2 c3
    otp_run "$r" "$COOKIE" ping echo count=300
    c1=$(sed -n 's/^PASS ping (creation \([0-9]*\))$/\1/p' "$TMP/otp.$RUN.$r.out")
    wait_for 50 name_free "$r"
    otp_run "$r" "$COOKIE" ping echo count=300
    c2=$(sed -n 's/^PASS ping (creation \([0-9]*\))$/\1/p' "$TMP/otp.$RUN.$r.out")
    bg erl -noshell -sname "$r" -setcookie "$COOKIE" -start_epmd false \
        -pa "$TMP" -run dist_interop main "$GW" ping stay >"$TMP/stay.$MODE.out" 2>&1
    local staypid=$LAST_PID
    wait_for 150 grep -q "^PASS ping" "$TMP/stay.$MODE.out"
    c3=$(sed -n 's/^PASS ping (creation \([0-9]*\))$/\1/p' "$TMP/stay.$MODE.out")
    stop_pid "$staypid" KILL
    wait_for 50 name_free "$r"
    otp_run "$r" "$COOKIE" ping echo count=300 monitor_name
    [ -n "$c1" ] && [ -n "$c2" ] && [ -n "$c3" ] && [ "$c1" != "$c2" ] && [ "$c2" != "$c3" ] &&
        pass "[$MODE] the restarted OTP node had a new creation each time" ||
        fail "[$MODE] new creations: '$c1' '$c2' '$c3'"

    # The gateway killed mid-stream: OTP sees noconnection everywhere.
    # (stderr: bash's own "Killed" notice for the gateway, reaped here)
    {
        otp_run k$$$MODE "$COOKIE" ping kill_gateway "gwpid=$GWPID"
        wait "$GWPID"
    } 2>/dev/null
    if wait_for 100 name_free "$GWNAME" && start_gw; then
        otp_run k2$$$MODE "$COOKIE" ping hidden echo count=1000
    else
        fail "[$MODE] the gateway starts again after being killed"
    fi

    # EPMD restarts: the gateway registers again within a bounded time,
    # and a new OTP node pings it.
    stop_pid "$EPMDPID" KILL
    if start_epmd; then
        t0=$(date +%s%N)
        if wait_for 100 gw_registered; then
            t1=$(date +%s%N)
            pass "[$MODE] gateway registered again $(((t1 - t0) / 1000000)) ms after EPMD restarted"
            otp_run n$$$MODE "$COOKIE" ping hidden echo count=1000
        else
            fail "[$MODE] gateway registered again within 10 s of the EPMD restart"
        fi
    else
        fail "[$MODE] epmd restarted on port $ERL_EPMD_PORT"
    fi
    grep -q "registration of $GW lost" "$GWERR" &&
        pass "[$MODE] the lost registration is logged" ||
        fail "[$MODE] the lost registration is logged"

    stop_pid "$GWPID"
    stop_pid "$EPMDPID"
    # A gateway built with sanitizers reports on stderr.
    if grep -l "Sanitizer\|runtime error" "$TMP"/gw."$MODE".*.err; then
        fail "[$MODE] sanitizer reports in the gateway's log"
    else
        pass "[$MODE] no sanitizer reports in the gateway's log"
    fi
}

# Private ports: EPMD in 18000-18099, the gateway in 18100-18299.
P1=$(free_port $((18000 + ($$ % 25) * 4)) 1 100) || { fail "a free EPMD port"; finish; exit 1; }
P2=$(free_port $((P1 + 1)) 1 100) || { fail "a free EPMD port"; finish; exit 1; }
G1=$((18100 + ($$ % 5) * 20))
G2=$((18200 + ($$ % 5) * 20))

# With our epmd the HTTP bridge stays on (the default) on a private
# port; with OTP's it is off: both ways of running the gateway. The
# batch timer (-coalesce) is long with ours, so that the checks run with
# messages held by it, and the default with OTP's.
run_mode ours "$P1" "$G1-$((G1 + 18))" "127.0.0.1:$((G1 + 19))" 20000
if [ -x "$OTP_EPMD" ]; then
    run_mode otp "$P2" "$G2-$((G2 + 19))" off 100
else
    fail "OTP's epmd at $OTP_EPMD"
fi
[ "$FAILED" -eq 0 ] || echo "logs kept in $TMP"
finish
