#!/bin/bash
# POST /send through the HTTP bridge to a process on an OTP 25 node, under
# load from a second process (bridge-bench): our epmd, an OTP node with a
# registered sink, and distgw serve, all on private ports in 19500-19599.
# Runs 1 and 64 connections, checks the sink received every message
# answered 202, then the main run (CONNS, 16 by default); its summary is
# the last line:
#   bridge-bench: send R req/s, p99 L ms
# usage: run.sh BIN_DIR   (DURATION seconds per run, 10; WARMUP, 2; CONNS)
set -u
BIN=${1:?usage: $0 BIN_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../interop/lib/dist_common.sh"
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-16}
for t in erl erlc curl; do
    command -v "$t" >/dev/null 2>&1 || { echo "$t not installed: skipped"; exit 77; }
done

TMP=$(mktemp -d /tmp/bridge_bench.XXXXXX)
cleanup() {
    stop_all
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
die() {
    echo "bridge-bench: $*" >&2
    [ -f "$TMP/gw.err" ] && tail -5 "$TMP/gw.err" >&2
    exit 1
}

EPMD_PORT=$(free_port 19500 1 10) || die "no free EPMD port in 19500-19509"
HTTP_PORT=$(free_port 19580 1 10) || die "no free HTTP port in 19580-19589"
export ERL_EPMD_PORT=$EPMD_PORT
HOST=$(hostname -s)
GW=bbgw$$@$HOST
SINK=bbsink$$@$HOST
H=http://127.0.0.1:$HTTP_PORT

erlc -o "$TMP" "$HERE/bridge_sink.erl" || die "erlc failed"
bg "$BIN/epmd" -port "$EPMD_PORT"
wait_for 50 "$BIN/epmd" -port "$EPMD_PORT" -names >/dev/null 2>&1 || die "epmd did not start"
bg erl -noshell -sname "bbsink$$" -setcookie "bb$$" -start_epmd false \
    -kernel inet_dist_listen_min 19520 inet_dist_listen_max 19539 \
    -pa "$TMP" -run bridge_sink start "$TMP" >"$TMP/sink.out" 2>&1
wait_for 200 test -f "$TMP/sink.ready" || die "the OTP node did not start"
bg "$BIN/distgw" serve -sname "bbgw$$" -setcookie "bb$$" -port 19510-19519 \
    -http "127.0.0.1:$HTTP_PORT" -start_epmd false >"$TMP/gw.out" 2>"$TMP/gw.err"
wait_for 100 curl -sf -o /dev/null "$H/healthz" || die "the gateway did not start"

BODY="{\"to\":{\"name\":\"sink\",\"node\":\"$SINK\"},\"msg\":{\"tuple\":[{\"atom\":\"bench\"},12345,\"a payload of some bytes\"]}}"
# Connect the gateway to the node before measuring.
[ "$(curl -s -o /dev/null -w '%{http_code}' -d "$BODY" "$H/send")" = 202 ] ||
    die "a first /send was not accepted"
sent=1

echo "bridge-bench: distgw $GW -> OTP 25 $SINK, $(nproc) cores (load average $(cut -d' ' -f1-3 /proc/loadavg) before), ${DURATION} s per run after ${WARMUP} s warm-up"
for c in 1 64; do
    out=$("$BIN/bridge-bench" -q -p "$HTTP_PORT" -b "$BODY" -c "$c" \
        -d "$DURATION" -w "$WARMUP") || die "run with $c connections failed: $out"
    echo "$out"
    sent=$((sent + $(sed -n 's/.*, \([0-9]*\) answered 202 in all$/\1/p' <<<"$out")))
done
count_is() {
    got=$(curl -s -d "{\"node\":\"$SINK\",\"module\":\"bridge_sink\",\"function\":\"count\",\"args\":[]}" "$H/rpc")
    [ "$got" = "{\"result\":$sent}" ]
}
wait_for 100 count_is || die "the sink counted $got, the gateway answered 202 to $sent"
echo "bridge-bench: the sink received all $sent messages answered 202"
echo "bridge-bench: gateway RSS $(awk '/^VmRSS/ {print $2}' /proc/$(pgrep -f "distgw serve -sname bbgw$$" | head -1)/status) kB"
"$BIN/bridge-bench" -p "$HTTP_PORT" -b "$BODY" -c "$CONNS" -d "$DURATION" \
    -w "$WARMUP" || die "the main run failed"
