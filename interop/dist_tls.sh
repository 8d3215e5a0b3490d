#!/bin/bash
# TLS distribution between distgw and real OTP 25 nodes (-proto_dist
# inet_tls with an ssl_dist_optfile), certificates made here with the
# openssl command. OTP pings the gateway and streams 10,000 terms through
# its echo mailbox and back; the gateway pings and calls OTP. Both sides
# verify each other, and each bad certificate (expired, from another CA,
# for another host, none) is refused whichever side presents it, with the
# reason in the refusing side's log. A plain node and a TLS gateway, a
# TLS node and a plain gateway, refuse each other. After each refusal a
# good node still pings, and a node connected from the start stays
# connected throughout. The OTP side is interop/lib/tls_interop.erl.
# usage: dist_tls.sh BIN_DIR   (DIST_TLS_KEEP=1 keeps the logs)
set -u
BIN=${1:?usage: $0 BIN_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/dist_common.sh"
. "$HERE/lib/tls_certs.sh"
need_erl
if ! command -v openssl >/dev/null 2>&1; then
    echo "openssl not installed: skipped"
    exit 77
fi
if ! erl -noshell -eval 'halt(case code:which(inet_tls_dist) of
        non_existing -> 1; _ -> 0 end).' >/dev/null 2>&1; then
    echo "erlang-ssl (inet_tls_dist) not installed: skipped"
    exit 77
fi

TMP=$(mktemp -d /tmp/dist_tls.XXXXXX)
cleanup() {
    stop_all
    if [ "$FAILED" -eq 0 ] && [ "${DIST_TLS_KEEP:-0}" != 1 ]; then
        rm -rf "$TMP"
    else
        echo "logs kept in $TMP"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

HOST=$(hostname -s)
COOKIE=disttls$$
if ! tls_make_certs "$TMP" "$HOST" >"$TMP/certs.log" 2>&1; then
    fail "certificates made with openssl: $(cat "$TMP/certs.log")"
    finish
    exit 1
fi
for c in node expired other badname; do
    tls_optfile "$TMP/$c.opt" "$TMP/$c.pem" "$TMP/$c.key" "$TMP/ca.pem"
done
# A node with no certificate of its own (clients may try that).
cat >"$TMP/nocert.opt" <<OPT
[{server, [{cacertfile, "$TMP/ca.pem"}, {verify, verify_peer}]},
 {client, [{cacertfile, "$TMP/ca.pem"}, {verify, verify_peer}]}].
OPT
erlc -o "$TMP" "$HERE/lib/tls_interop.erl" || {
    fail "compile tls_interop.erl"
    finish
    exit 1
}

# Our epmd on a private port in 20000-20099.
EPMD_PORT=$(free_port $((20000 + $$ % 100)) 1 100) ||
    EPMD_PORT=$(free_port 20000 1 100) || {
    fail "a free EPMD port in 20000-20099"
    finish
    exit 1
}
export ERL_EPMD_PORT=$EPMD_PORT
bg "$BIN/epmd" -port "$EPMD_PORT"
wait_for 50 "$BIN/epmd" -port "$EPMD_PORT" -names >/dev/null 2>&1 || {
    fail "epmd started on port $EPMD_PORT"
    finish
    exit 1
}

# Gateway ports: 20100-20299, ten per run slot, two per gateway.
GWBASE=$((20100 + ($$ % 20) * 10))
RUN=0

# tls_args CERT: the gateway's TLS flags with CERT (verification on).
tls_args() {
    echo -tls-cert "$TMP/$1.pem" -tls-key "$TMP/$1.key" -tls-ca "$TMP/ca.pem"
}

# start_gw VAR NAME SLOT ARGS...: a gateway with an echo mailbox; its
# PID in VAR_PID, stderr in $TMP/NAME.err.
start_gw() {
    local var=$1 name=$2 p=$((GWBASE + $3 * 2))
    shift 3
    bg "$BIN/distgw" serve -sname "$name" -setcookie "$COOKIE" \
        -port "$p-$((p + 1))" -echo echo -http off -start_epmd false "$@" \
        >"$TMP/$name.out" 2>"$TMP/$name.err"
    printf -v "${var}_PID" %s "$LAST_PID"
    if ! wait_for 100 grep -q "^distgw: $name@$HOST listening on port" "$TMP/$name.out"; then
        fail "gateway $name started: $(tail -c 400 "$TMP/$name.err")"
        return 1
    fi
}

# otp NAME OPT CHECKS...: an OTP node (OPT: an optfile name, or "plain")
# runs tls_interop checks against GW; PASS/FAIL lines are counted with
# the prefix LABEL. Its output is in $TMP/NAME.out.
otp() {
    local name=$1 opt=$2 out line dist=()
    shift 2
    RUN=$((RUN + 1))
    out=$TMP/$name.out
    [ "$opt" != plain ] &&
        dist=(-proto_dist inet_tls -ssl_dist_optfile "$TMP/$opt.opt")
    timeout 120 erl -noshell -sname "$name" -setcookie "$COOKIE" \
        -start_epmd false "${dist[@]}" -pa "$TMP" \
        -run tls_interop main "$GW" "$@" >"$out" 2>&1
    while IFS= read -r line; do
        case $line in
        PASS\ *) pass "$LABEL: ${line#PASS }" ;;
        FAIL\ *) fail "$LABEL: ${line#FAIL }" ;;
        esac
    done <"$out"
    grep -q '^DONE' "$out" ||
        fail "$LABEL: OTP node $name did not finish: $(tail -c 400 "$out")"
}

# logged FILE PATTERN LABEL: the refusing side named the reason.
logged() {
    if wait_for 30 grep -q -- "$2" "$1"; then
        pass "$3: logged: $(grep -m1 -- "$2" "$1" | sed 's/^distgw: [^:]*:[0-9:]* [0-9]*: //')"
    else
        fail "$3: no log line matching '$2' in $(basename "$1"): $(tail -c 300 "$1")"
    fi
}

# still_serves: a fresh good node pings the TLS gateway.
N_AFTER=0
still_serves() {
    N_AFTER=$((N_AFTER + 1))
    LABEL="after $1, a good node" GW=$TGW otp ok$N_AFTER$$ node ping
}

TGW=tgw$$@$HOST
PGW=pgw$$@$HOST
start_gw TG "tgw$$" 0 $(tls_args gw) || { finish; exit 1; }
start_gw PG "pgw$$" 1 || { finish; exit 1; }

# A node that connects first and must stay connected to the end.
GW=$TGW
HOLD=$TMP/hold.release
bg erl -noshell -sname "hold$$" -setcookie "$COOKIE" -start_epmd false \
    -proto_dist inet_tls -ssl_dist_optfile "$TMP/node.opt" -pa "$TMP" \
    -run tls_interop main "$TGW" "hold=$HOLD" >"$TMP/hold.out" 2>&1
HOLD_PID=$LAST_PID

# 1. Good certificates, verified both ways.
GW=$TGW LABEL="OTP (TLS) to the TLS gateway" otp good$$ node ping echo=10000
grep -q "connected to good$$@$HOST (inbound" "$TMP/tgw$$.err" &&
    pass "the gateway logs the TLS node connected" ||
    fail "the gateway logs the TLS node connected: $(tail -3 "$TMP/tgw$$.err")"

bg erl -noshell -sname "srv$$" -setcookie "$COOKIE" -start_epmd false \
    -proto_dist inet_tls -ssl_dist_optfile "$TMP/node.opt" -pa "$TMP" \
    -run tls_interop serve >"$TMP/srv.out" 2>&1
SRV_PID=$LAST_PID
SRV=srv$$@$HOST
if wait_for 150 grep -q '^ready' "$TMP/srv.out"; then
    out=$("$BIN/distgw" ping -setcookie "$COOKIE" $(tls_args gw) "$SRV" 2>"$TMP/ping.err")
    rc=$?
    [ "$rc" = 0 ] && [ "$out" = pong ] && pass "distgw ping -tls-... an OTP TLS node: pong" ||
        fail "distgw ping -tls-... an OTP TLS node: rc $rc, $out, $(cat "$TMP/ping.err")"
    out=$("$BIN/distgw" rpc -setcookie "$COOKIE" $(tls_args gw) "$SRV" erlang node '[]' 2>"$TMP/rpc.err")
    rc=$?
    [ "$rc" = 0 ] && [ "$out" = "$SRV" ] && pass "distgw rpc -tls-... erlang node []: $out" ||
        fail "distgw rpc -tls-... erlang node []: rc $rc, $out, $(cat "$TMP/rpc.err")"
    out=$("$BIN/distgw" rpc -setcookie "$COOKIE" $(tls_args gw) "$SRV" lists reverse '[[1, <<"ü"/utf8>>, {x}]]' 2>"$TMP/rpc2.err")
    rc=$?
    [ "$rc" = 0 ] && [ "$out" = '[{x},<<"ü"/utf8>>,1]' ] && pass "distgw rpc -tls-... lists reverse: $out" ||
        fail "distgw rpc -tls-... lists reverse: rc $rc, $out, $(cat "$TMP/rpc2.err")"

    # 2. The gateway presents a bad certificate to OTP (as the client).
    for c in expired other; do
        case $c in
        expired) otp_says="SERVER ALERT: Fatal - Certificate Expired" gw_says="alert certificate expired" ;;
        other) otp_says="SERVER ALERT: Fatal - Unknown CA" gw_says="alert unknown ca" ;;
        esac
        out=$("$BIN/distgw" ping -setcookie "$COOKIE" $(tls_args $c) "$SRV" 2>"$TMP/ping.$c.err")
        rc=$?
        [ "$rc" = 1 ] && [ "$out" = pang ] && pass "distgw ping with the $c certificate: pang" ||
            fail "distgw ping with the $c certificate: rc $rc, $out"
        logged "$TMP/srv.out" "$otp_says" "OTP refuses the gateway's $c certificate"
        logged "$TMP/ping.$c.err" "$gw_says" "distgw reports OTP's refusal of its $c certificate"
    done
    out=$("$BIN/distgw" rpc -setcookie "$COOKIE" $(tls_args gw) "$SRV" erlang node '[]' 2>&1)
    [ "$out" = "$SRV" ] && pass "after the refusals, distgw rpc to the OTP node works" ||
        fail "after the refusals, distgw rpc to the OTP node: $out"
    # Plain distgw against the TLS node.
    out=$("$BIN/distgw" ping -setcookie "$COOKIE" "$SRV" 2>"$TMP/ping.plain.err")
    rc=$?
    [ "$rc" = 1 ] && [ "$out" = pang ] && pass "plain distgw ping of an OTP TLS node: pang ($(tail -1 "$TMP/ping.plain.err" | sed 's/^distgw: //'))" ||
        fail "plain distgw ping of an OTP TLS node: rc $rc, $out, $(cat "$TMP/ping.plain.err")"
else
    fail "OTP TLS node started: $(tail -c 400 "$TMP/srv.out")"
fi
stop_pid "$SRV_PID"

# 3. OTP presents a bad certificate to the gateway (as the server).
for c in expired other badname; do
    case $c in
    expired) gw_says="peer certificate refused: certificate has expired" ;;
    other) gw_says="peer certificate refused: unable to get local issuer certificate" ;;
    badname) gw_says="peer certificate refused: hostname mismatch" ;;
    esac
    bg erl -noshell -sname "s$c$$" -setcookie "$COOKIE" -start_epmd false \
        -proto_dist inet_tls -ssl_dist_optfile "$TMP/$c.opt" -pa "$TMP" \
        -run tls_interop serve >"$TMP/s$c.out" 2>&1
    pid=$LAST_PID
    if wait_for 150 grep -q '^ready' "$TMP/s$c.out"; then
        out=$("$BIN/distgw" ping -setcookie "$COOKIE" $(tls_args gw) "s$c$$@$HOST" 2>"$TMP/pings.$c.err")
        rc=$?
        [ "$rc" = 1 ] && [ "$out" = pang ] && pass "distgw ping of an OTP node with the $c certificate: pang" ||
            fail "distgw ping of an OTP node with the $c certificate: rc $rc, $out"
        logged "$TMP/pings.$c.err" "$gw_says" "distgw refuses OTP's $c certificate"
    else
        fail "OTP node with the $c certificate started: $(tail -c 400 "$TMP/s$c.out")"
    fi
    stop_pid "$pid"
done

# 4. OTP presents a bad certificate (or none) to the TLS gateway.
for c in expired other nocert; do
    case $c in
    expired) gw_says="peer certificate refused: certificate has expired"
        otp_says="received SERVER ALERT: Fatal - Certificate Expired" ;;
    other) gw_says="peer certificate refused: unable to get local issuer certificate"
        otp_says="received SERVER ALERT: Fatal - Unknown CA" ;;
    nocert) gw_says="peer did not return a certificate"
        otp_says="received SERVER ALERT: Fatal - Handshake Failure" ;;
    esac
    GW=$TGW LABEL="OTP with the $c certificate to the TLS gateway" otp "c$c$$" "$c" pang
    logged "$TMP/tgw$$.err" "$gw_says" "the gateway refuses OTP's $c certificate"
    logged "$TMP/c$c$$.out" "$otp_says" "OTP reports the gateway's refusal of its $c certificate"
    still_serves "OTP's $c certificate"
done

# 5. The gateway presents a bad certificate to OTP (as the server).
SLOT=2
for c in expired other badname; do
    case $c in
    expired) otp_says="CLIENT ALERT: Fatal - Certificate Expired" gw_says="alert certificate expired" ;;
    other) otp_says="CLIENT ALERT: Fatal - Unknown CA" gw_says="alert unknown ca" ;;
    badname) otp_says="hostname_check_failed" gw_says="alert handshake failure" ;;
    esac
    if start_gw BG "g$c$$" "$SLOT" $(tls_args $c); then
        GW=g$c$$@$HOST LABEL="OTP to a gateway with the $c certificate" otp "t$c$$" node pang
        logged "$TMP/t$c$$.out" "$otp_says" "OTP refuses the gateway's $c certificate"
        logged "$TMP/g$c$$.err" "$gw_says" "the gateway reports OTP's refusal of its $c certificate"
        stop_pid "$BG_PID"
    fi
    SLOT=$((SLOT + 1))
done

# 6. Plain and TLS do not mix.
GW=$TGW LABEL="plain OTP to the TLS gateway" otp plain$$ plain pang
logged "$TMP/tgw$$.err" "does not speak TLS" "the TLS gateway names a plain peer"
still_serves "a plain node"
GW=$PGW LABEL="TLS OTP to the plain gateway" otp tlsp$$ node pang
logged "$TMP/pgw$$.err" "the peer speaks TLS, this port plain TCP" "the plain gateway names a TLS peer"
GW=$PGW LABEL="plain OTP to the plain gateway" otp plainok$$ plain ping

# 7. The node connected from the start is still connected.
: >"$HOLD"
wait_for 300 grep -q '^DONE' "$TMP/hold.out"
LABEL="a node connected from the start"
while IFS= read -r line; do
    case $line in
    PASS\ hold*) pass "$LABEL stayed connected through every refusal: ${line#PASS }" ;;
    FAIL\ *) fail "$LABEL: ${line#FAIL }" ;;
    esac
done <"$TMP/hold.out"
grep -q '^PASS hold' "$TMP/hold.out" || fail "$LABEL: $(tail -c 300 "$TMP/hold.out")"
kill -0 "$TG_PID" 2>/dev/null && pass "the TLS gateway is still running" ||
    fail "the TLS gateway is still running"
stop_pid "$HOLD_PID"
finish
