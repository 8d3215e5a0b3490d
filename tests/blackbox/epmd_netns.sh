#!/bin/bash
# Peers that are not loopback, through a network namespace and a veth pair:
# ALIVE2/KILL/STOP/DUMP refused, NAMES/PORT_PLEASE2 answered; a connection
# from the host's own address counts as local; -address binding; a
# namespace with IPv6 disabled. Needs root (ip netns).
# usage: epmd_netns.sh BIN_DIR
set -u
BIN=${1:?usage: $0 BIN_DIR}
. "$(dirname "$0")/lib/epmd_common.sh"
EPMD=$BIN/epmd
PORT=14430
PORT_ADDR=14431
PORT_V6OFF=14432

if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
    echo "needs root and iproute2"
    exit 1
fi
NS=epmdt$$
NS6=epmdt6$$
VH=ve$$h
VN=ve$$n
NET=10.231.$(($$ % 250)).
on_exit "ip netns del $NS6"
on_exit "ip netns del $NS"
on_exit "ip link del $VH"
ip netns add $NS || exit 1
ip link add $VH type veth peer name $VN || exit 1
ip link set $VN netns $NS
ip addr add ${NET}1/24 dev $VH
ip link set $VH up
ip netns exec $NS ip addr add ${NET}2/24 dev $VN
ip netns exec $NS ip link set $VN up
ip netns exec $NS ip link set lo up

bg_start $EPMD -port $PORT -relaxed_command_check -d 2>"$EPMD_TMP/epmd.log"
D=$LAST_PID
wait_port $PORT || exit 1
bg_start "$PY" "$EPMD_TEST_LIB/epmd_hold.py" $PORT local_node=41000 >"$EPMD_TMP/hold"
for _ in $(seq 1 300); do grep -q ready "$EPMD_TMP/hold" && break; sleep 0.1; done

if ip netns exec $NS "$PY" "$EPMD_TEST_LIB/epmd_remote_cases.py" ${NET}1 $PORT; then
    pass "remote peer cases"
else
    fail "remote peer cases"
fi
kill -0 $D 2>/dev/null && pass "epmd survives a remote KILL_REQ" || fail "epmd survives a remote KILL_REQ"
grep -q "${NET}2:[0-9]*: KILL_REQ refused: only accepted from a local peer" "$EPMD_TMP/epmd.log" &&
    pass "log names the remote peer and the refusal" || { fail "log names the remote peer"; tail "$EPMD_TMP/epmd.log"; }
grep -q "${NET}2:[0-9]*: ALIVE2_REQ refused: only accepted from a local peer" "$EPMD_TMP/epmd.log" &&
    pass "log: remote ALIVE2 refused" || fail "log: remote ALIVE2 refused"

# From the host's own (non-loopback) address: local.
if "$PY" - ${NET}1 $PORT <<'PYEOF'
import sys
from epmdlib import Alive, port_please
host, port = sys.argv[1], int(sys.argv[2])
a = Alive(port, "own_addr_node", host=host, port=41001)
assert a.ok, a.reply
assert port_please(port, "own_addr_node")["port"] == 41001
PYEOF
then pass "the host's own address counts as local"; else fail "the host's own address counts as local"; fi
kill $D; wait $D 2>/dev/null

# -address: loopback is always added; the listed address is bound too.
bg_start $EPMD -port $PORT_ADDR -address ${NET}1
D=$LAST_PID
wait_port $PORT_ADDR || exit 1
SS=$(ss -Hltn "sport = :$PORT_ADDR" | awk '{print $4}' | sort | tr '\n' ' ')
expect_eq "-address binds loopback and the list" "${NET}1:$PORT_ADDR 127.0.0.1:$PORT_ADDR [::1]:$PORT_ADDR " "$SS"
if ip netns exec $NS "$PY" -c "
import sys; from epmdlib import names; assert names($PORT_ADDR, '${NET}1')[0] == $PORT_ADDR" ; then
    pass "-address reachable from the namespace"
else
    fail "-address reachable from the namespace"
fi
kill $D; wait $D 2>/dev/null
ERL_EPMD_ADDRESS="${NET}1" bg_start $EPMD -port $PORT_ADDR
D=$LAST_PID
wait_port $PORT_ADDR || exit 1
SS=$(ss -Hltn "sport = :$PORT_ADDR" | awk '{print $4}' | sort | tr '\n' ' ')
expect_eq "ERL_EPMD_ADDRESS binds the same" "${NET}1:$PORT_ADDR 127.0.0.1:$PORT_ADDR [::1]:$PORT_ADDR " "$SS"
kill $D; wait $D 2>/dev/null
timeout 20 $EPMD -port $PORT_ADDR -address 10.254.254.254 2>"$EPMD_TMP/err"
expect_eq "an address not on this host: exit 1" 1 "$?"
timeout 20 $EPMD -port $PORT_ADDR -address bogus 2>"$EPMD_TMP/err"
RC=$?
expect_eq "an unparsable address: exit 1" 1 "$RC"
grep -q 'cannot parse IP address "bogus"' "$EPMD_TMP/err" && pass "unparsable address message" || fail "unparsable address message"

# IPv6 disabled: default binding still starts, on IPv4.
ip netns add $NS6 || exit 1
ip netns exec $NS6 ip link set lo up
ip netns exec $NS6 sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip netns exec $NS6 sysctl -qw net.ipv6.conf.default.disable_ipv6=1
ip netns exec $NS6 sysctl -qw net.ipv6.conf.lo.disable_ipv6=1
for args in "" "-address 127.0.0.1"; do
    bg_start ip netns exec $NS6 $EPMD -port $PORT_V6OFF $args
    D=$LAST_PID
    ok=0
    for _ in $(seq 1 100); do
        if ip netns exec $NS6 $EPMD -port $PORT_V6OFF -names >/dev/null 2>&1; then ok=1; break; fi
        kill -0 $D 2>/dev/null || break
        sleep 0.1
    done
    expect_eq "starts and serves with IPv6 disabled ($args)" 1 "$ok"
    kill $D 2>/dev/null; wait $D 2>/dev/null
done
finish
