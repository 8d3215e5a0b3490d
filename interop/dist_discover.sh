#!/bin/bash
# Discovery across hosts. Network namespaces on a private bridge are the
# hosts, each with its own address, hostname, /etc/hosts and resolv.conf:
# h1, h2, h3 run our epmd and two OTP 25 nodes each (h1 has an IPv6
# address too); h4 has no PTR name and a node named by its address
# (-name atomvm_ip@IP); h8's epmd answers after 10 s; h9 has no EPMD; hd's
# nameserver never answers; hc is the client. dnsmasq, a real DNS server
# in the bridge's namespace, answers tasks.svc with the A and AAAA records
# of h1, h2, h3 and h9 and PTR names hN.disc.test. From hc: `distgw
# discover tasks.svc` lists all six nodes and names h9 as failed; -ping
# gets six pongs (six pangs with a wrong cookie); h4's node is found and
# pinged as atomvm_ip@IP; on h1, discover -ping localhost gets pongs by
# h1's own name; names with no answering address exit 1, and so
# does a dead nameserver, after 4 s; the slow EPMD fails after 3 s, or at
# -timeout. `distgw serve -discover` connects to every node (each node's
# nodes(hidden) has the gateway, GET /nodes lists them), finds a node
# started later, and never dials itself; once a node is killed, discover
# and the next round no longer list it and the gateway does not dial it
# again, until it comes back and is connected to again; nodes of a host
# whose EPMD stops answering are kept, not gone.
# usage: dist_discover.sh BIN_DIR
set -u
BIN=${1:?usage: $0 BIN_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
SW_PREFIX=dgwt$$
SW_SUBNET=10.231.0
SW_SUBNET6=fd31:231:
SW_DOMAIN=disc.test
# shellcheck source=lib/swarm.sh
. "$HERE/lib/swarm.sh"

need_erl
if ! sw_available; then
    echo "no network namespaces here (needs root and iproute2): skipped"
    exit 77
fi

sw_start dist_discover

DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
if [ ! -x "$DNSMASQ" ]; then
    fail "dnsmasq not installed (Debian: dnsmasq-base)"
    end
fi

COOKIE=disc$$
HOSTS="h1 h2 h3"
NODES="atomvm_node1 atomvm_node2"
declare -A IP=([h1]=11 [h2]=12 [h3]=13 [h4]=14 [h8]=18 [h9]=19 [hc]=4 [hd]=6)
declare -A PID

# --- the network -------------------------------------------------------
setup() {
    sw_bridge || return 1
    sw_host h1 "${IP[h1]}" v6 || return 1
    sw_host h2 "${IP[h2]}" || return 1
    sw_host h3 "${IP[h3]}" || return 1
    sw_host h4 "${IP[h4]}" || return 1
    sw_host h8 "${IP[h8]}" || return 1
    sw_host h9 "${IP[h9]}" || return 1
    sw_host hc "${IP[hc]}" v6 || return 1
    # hd's nameserver is an address nobody has: DNS never answers.
    sw_host hd "${IP[hd]}" || return 1
    printf 'nameserver %s.99\n' "$SW_SUBNET" >"/etc/netns/$(sw_ns hd)/resolv.conf"
}
if ! setup; then
    fail "set up namespaces"
    end
fi
pass "namespaces: bridge, h1 h2 h3 (our epmd, OTP nodes), h9 (no epmd), hc"

# One line per address: its PTR name (the first), a short alias, and
# tasks.svc; dead.svc is h9's address alone; all.svc is tasks.svc and a
# second address of hc's, whose PTR name (gwc) is not hc's hostname: the
# gateway there must know itself by its address.
ip -n "$(sw_ns hc)" addr add "$SW_SUBNET.5/24" dev eth0
{
    for h in h1 h2 h3 h9; do
        echo "$SW_SUBNET.${IP[$h]} $h.disc.test $h tasks.svc all.svc"
    done
    echo "$SW_SUBNET6:${IP[h1]} h1.disc.test h1 tasks.svc all.svc"
    echo "$SW_SUBNET.5 gwc.disc.test gwc all.svc"
    echo "$SW_SUBNET.${IP[h9]} dead.svc"
    echo "$SW_SUBNET.${IP[h1]} slow.svc"
    echo "$SW_SUBNET.${IP[h8]} h8.disc.test h8 slow.svc"
} >"$TMP/hosts"
chmod 644 "$TMP/hosts"
sw_bg br "$TMP/dnsmasq.log" "$DNSMASQ" --keep-in-foreground \
    --conf-file=/dev/null --no-resolv --no-hosts --addn-hosts="$TMP/hosts" \
    --listen-address="$SW_DNS" --bind-interfaces --local=/svc/ \
    --local=/disc.test/ --local=/231.10.in-addr.arpa/ \
    --address=/ip.svc/"$SW_SUBNET.${IP[h4]}" \
    --pid-file= --log-queries --log-facility=-
PID[dnsmasq]=$SW_LAST

# --- epmd and OTP nodes on each host ----------------------------------------
for h in $HOSTS hc; do
    sw_bg "$h" "$TMP/epmd.$h.log" "$BIN/epmd"
    PID[epmd.$h]=$SW_LAST
done
# h4 has no PTR name: its node goes by its address, as libcluster's.
sw_bg h4 "$TMP/epmd.h4.log" "$BIN/epmd"
PID[epmd.h4]=$SW_LAST
# h8's EPMD answers only after 10 s.
sw_bg h8 "$TMP/epmd.h8.log" "$BIN/epmd" -delay_write 10
PID[epmd.h8]=$SW_LAST
start_node() { # HOST ALIVE
    sw_bg "$1" "$TMP/$2.$1.log" erl -noshell -sname "$2" -setcookie "$COOKIE" \
        -start_epmd false \
        -kernel inet_dist_listen_min 9100 inet_dist_listen_max 9200
    PID[$2.$1]=$SW_LAST
}
sleep 0.3
for h in $HOSTS; do
    for n in $NODES; do
        start_node "$h" "$n"
    done
done
sw_bg h4 "$TMP/atomvm_ip.h4.log" erl -noshell \
    -name "atomvm_ip@$SW_SUBNET.${IP[h4]}" -setcookie "$COOKIE" \
    -start_epmd false \
    -kernel inet_dist_listen_min 9100 inet_dist_listen_max 9200
PID[atomvm_ip.h4]=$SW_LAST

# names_on HOST: the names its EPMD knows.
names_on() {
    sw_run "$1" "$BIN/epmd" -names 2>/dev/null
}
all_registered() {
    local h n
    for h in $HOSTS; do
        for n in $NODES; do
            names_on "$h" | grep -q "^name $n at port" || return 1
        done
    done
    names_on h4 | grep -q "^name atomvm_ip at port"
}
for _ in $(seq 1 150); do
    all_registered && break
    sleep 0.1
done
if all_registered; then
    pass "7 OTP nodes registered with our epmd on h1 h2 h3 h4"
else
    fail "OTP nodes did not register"
    for h in $HOSTS h4; do names_on "$h"; done
fi

# The DNS server answers as it should (checked with our own binary: the
# resolution is what discover does below).
if sw_run hc getent ahostsv4 tasks.svc >"$TMP/getent" 2>&1 &&
    [ "$(awk '{print $1}' "$TMP/getent" | sort -u | wc -l)" -eq 4 ]; then
    pass "dnsmasq answers tasks.svc with 4 IPv4 addresses"
else
    fail "dnsmasq does not answer tasks.svc: $(cat "$TMP/getent")"
fi

# --- distgw discover --------------------------------------------------
port_of() { # HOST ALIVE: the port its EPMD gives
    names_on "$1" | sed -n "s/^name $2 at port \([0-9]*\)$/\1/p"
}
discover() { # OUT ARGS...: run discover on hc
    local out=$1
    shift
    sw_run hc timeout 30 "$BIN/distgw" discover "$@" >"$out" 2>"$out.err"
}

discover "$TMP/d1" tasks.svc
rc=$?
ok=1
for h in $HOSTS; do
    for n in $NODES; do
        want="$n@$h.disc.test $SW_SUBNET.${IP[$h]} port $(port_of "$h" "$n")"
        [ "$h" = h1 ] &&
            want="$n@$h.disc.test \($SW_SUBNET.${IP[$h]}\|$SW_SUBNET6:${IP[$h]}\) port $(port_of "$h" "$n")"
        if ! grep -qx "$want" "$TMP/d1"; then
            ok=0
            echo "  missing: $want"
        fi
    done
done
[ "$(grep -c ' port ' "$TMP/d1")" -eq 6 ] || ok=0
last=$(tail -n 1 "$TMP/d1")
want_last="discover tasks.svc: 5 addresses, 6 nodes; failed: $SW_SUBNET.${IP[h9]} (Connection refused)"
if [ "$rc" -eq 0 ] && [ "$ok" -eq 1 ] && [ "$last" = "$want_last" ]; then
    pass "discover tasks.svc: 6 nodes on 3 hosts (5 addresses, A and AAAA), h9 failed"
else
    fail "discover tasks.svc (rc $rc):"
    cat "$TMP/d1" "$TMP/d1.err"
fi

discover "$TMP/d2" -ping -setcookie "$COOKIE" tasks.svc
rc=$?
ok=1
for h in $HOSTS; do
    for n in $NODES; do
        grep -q "^$n@$h.disc.test .* port [0-9]* pong as $n@$h\$" "$TMP/d2" ||
            ok=0
    done
done
if [ "$rc" -eq 0 ] && [ "$ok" -eq 1 ] &&
    tail -n 1 "$TMP/d2" | grep -q '^discover tasks.svc: 5 addresses, 6 nodes, 6 pong, 0 pang; failed: '; then
    pass "discover -ping: pong from all 6 (by the PTR name's first label)"
else
    fail "discover -ping (rc $rc):"
    cat "$TMP/d2" "$TMP/d2.err"
fi

discover "$TMP/d3" -ping -setcookie wrong$$ -timeout 8 tasks.svc
if [ "$(grep -c ' pang (' "$TMP/d3")" -eq 6 ] &&
    tail -n 1 "$TMP/d3" | grep -q ', 0 pong, 6 pang; '; then
    pass "discover -ping with a wrong cookie: pang from all 6"
else
    fail "discover -ping, wrong cookie:"
    cat "$TMP/d3" "$TMP/d3.err"
fi

discover "$TMP/d4" dead.svc
rc=$?
if [ "$rc" -eq 1 ] && [ "$(tail -n 1 "$TMP/d4")" = \
    "discover dead.svc: 1 address, 0 nodes; failed: $SW_SUBNET.${IP[h9]} (Connection refused)" ]; then
    pass "discover dead.svc: no address answers: exit 1, the address and why"
else
    fail "discover dead.svc (rc $rc):"
    cat "$TMP/d4" "$TMP/d4.err"
fi

discover "$TMP/d5" nosuch.svc
rc=$?
if [ "$rc" -eq 1 ] && tail -n 1 "$TMP/d5" |
    grep -q '^discover nosuch.svc: 0 addresses, 0 nodes; failed: nosuch.svc ('; then
    pass "discover nosuch.svc: exit 1, the name and why"
else
    fail "discover nosuch.svc (rc $rc):"
    cat "$TMP/d5" "$TMP/d5.err"
fi

# On a host itself: its nodes answer to the host's name.
sw_run h1 timeout 30 "$BIN/distgw" discover -ping -setcookie "$COOKIE" \
    localhost >"$TMP/d11" 2>"$TMP/d11.err"
rc=$?
if [ "$rc" -eq 0 ] &&
    grep -q '^atomvm_node1@localhost 127.0.0.1 port [0-9]* pong as atomvm_node1@h1$' "$TMP/d11" &&
    grep -q '^atomvm_node2@localhost 127.0.0.1 port [0-9]* pong as atomvm_node2@h1$' "$TMP/d11" &&
    [ "$(tail -n 1 "$TMP/d11")" = "discover localhost: 1 address, 2 nodes, 2 pong, 0 pang; failed: none" ]; then
    pass "discover -ping localhost on h1: pong as atomvm_nodeN@h1 (this host's name)"
else
    fail "discover -ping localhost on h1 (rc $rc):"
    cat "$TMP/d11" "$TMP/d11.err"
fi

# An address without a PTR name: the node is alive@IP, and answers so.
discover "$TMP/d9" -ping -setcookie "$COOKIE" ip.svc
rc=$?
want="atomvm_ip@$SW_SUBNET.${IP[h4]} $SW_SUBNET.${IP[h4]} port $(port_of h4 atomvm_ip) pong"
if [ "$rc" -eq 0 ] && [ "$(head -n 1 "$TMP/d9")" = "$want" ] &&
    [ "$(tail -n 1 "$TMP/d9")" = "discover ip.svc: 1 address, 1 node, 1 pong, 0 pang; failed: none" ]; then
    pass "discover -ping ip.svc: no PTR name: atomvm_ip@$SW_SUBNET.${IP[h4]}, pong"
else
    fail "discover -ping ip.svc (rc $rc):"
    cat "$TMP/d9" "$TMP/d9.err"
fi

# A nameserver that never answers costs 4 s (2 s, twice; libevent's
# default would be 15), and exit 1.
start=$(date +%s%N)
sw_run hd timeout 30 "$BIN/distgw" discover tasks.svc >"$TMP/d10" 2>"$TMP/d10.err"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
if [ "$rc" -eq 1 ] && [ "$ms" -lt 9000 ] && tail -n 1 "$TMP/d10" |
    grep -q '^discover tasks.svc: 0 addresses, 0 nodes; failed: tasks.svc ('; then
    pass "discover with a dead nameserver: fails in $ms ms, exit 1"
else
    fail "discover with a dead nameserver (rc $rc, $ms ms):"
    cat "$TMP/d10" "$TMP/d10.err"
fi

# An EPMD that does not answer costs 3 s, and -timeout bounds the whole.
start=$(date +%s%N)
discover "$TMP/d7" slow.svc
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
if [ "$rc" -eq 0 ] && [ "$ms" -lt 6000 ] && [ "$(tail -n 1 "$TMP/d7")" = \
    "discover slow.svc: 2 addresses, 2 nodes; failed: $SW_SUBNET.${IP[h8]} (no NAMES reply in 3 s)" ]; then
    pass "discover slow.svc: an EPMD that answers in 10 s fails after 3 s ($ms ms in all)"
else
    fail "discover slow.svc (rc $rc, $ms ms):"
    cat "$TMP/d7" "$TMP/d7.err"
fi
start=$(date +%s%N)
discover "$TMP/d8" -timeout 1 slow.svc
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
if [ "$rc" -eq 0 ] && [ "$ms" -lt 2500 ] && [ "$(tail -n 1 "$TMP/d8")" = \
    "discover slow.svc: 2 addresses, 2 nodes; failed: $SW_SUBNET.${IP[h8]} (no answer in time)" ] &&
    [ "$(grep -c '@h1.disc.test ' "$TMP/d8")" -eq 2 ]; then
    pass "discover -timeout 1 slow.svc: what answered in 1 s, and the rest failed ($ms ms)"
else
    fail "discover -timeout 1 slow.svc (rc $rc, $ms ms):"
    cat "$TMP/d8" "$TMP/d8.err"
fi

# --- distgw serve -discover -------------------------------------------------
GWLOG=$TMP/gw.log
sw_bg hc "$GWLOG" "$BIN/distgw" serve -sname gw -setcookie "$COOKIE" \
    -http 127.0.0.1:8080 -start_epmd false -discover all.svc \
    -discover-interval 2 -d
PID[gw]=$SW_LAST

# hidden_on HOST: each node of HOST's nodes(hidden), asked by a probe node.
hidden_on() {
    local h=$1 calls="" n
    for n in $NODES; do
        calls="$calls io:format(\"~s ~p~n\", [$n, rpc:call('$n@$h', erlang, nodes, [hidden])]),"
    done
    sw_run "$h" timeout 20 erl -noshell -sname "probe$$" -setcookie "$COOKIE" \
        -start_epmd false -eval "$calls halt()."
}
connected=0
for _ in $(seq 1 100); do
    connected=$(grep -c 'connected to atomvm_node[12]@h[123] .*found by discover' "$GWLOG")
    [ "$connected" -ge 6 ] && break
    sleep 0.1
done
ok=1
for h in $HOSTS; do
    hidden_on "$h" >"$TMP/hidden.$h" 2>&1
    for n in $NODES; do
        grep -q "^$n \[\(.*[[,]\)\?'\?gw@hc'\?[],]" "$TMP/hidden.$h" || ok=0
    done
done
if [ "$connected" -ge 6 ] && [ "$ok" -eq 1 ]; then
    pass "serve -discover: connected to all 6; each node's nodes(hidden) has gw@hc"
else
    fail "serve -discover: $connected connections logged"
    cat "$TMP"/hidden.* "$GWLOG"
fi
if grep -q 'new node gw@gwc.disc.test at 10.231.0.5 ' "$GWLOG" &&
    ! grep -q 'initiator with gw@\|connect to gw@' "$GWLOG"; then
    pass "serve -discover: finds itself at 10.231.0.5 (PTR gwc) and does not dial itself"
else
    fail "serve -discover: itself:"
    grep 'gw@' "$GWLOG"
fi

# The HTTP API (on hc's own loopback) lists the six.
if command -v curl >/dev/null 2>&1; then
    sw_run hc curl -s -m 5 http://127.0.0.1:8080/nodes >"$TMP/nodes.json"
    ok=1
    for h in $HOSTS; do
        for n in $NODES; do
            grep -q "\"node\": *\"$n@$h\"" "$TMP/nodes.json" || ok=0
        done
    done
    if [ "$ok" -eq 1 ]; then
        pass "serve -discover: GET /nodes lists all 6"
    else
        fail "serve -discover: GET /nodes: $(cat "$TMP/nodes.json")"
    fi
else
    echo "curl not installed: GET /nodes not checked"
fi

# A new node is found and connected to on a later round.
start_node h3 atomvm_node3
for _ in $(seq 1 150); do
    grep -q 'connected to atomvm_node3@h3 ' "$GWLOG" && break
    sleep 0.1
done
if grep -q 'new node atomvm_node3@h3.disc.test at ' "$GWLOG" &&
    grep -q 'connected to atomvm_node3@h3 ' "$GWLOG"; then
    pass "serve -discover: a node started later is found and connected to"
else
    fail "serve -discover: atomvm_node3 not found"
    cat "$GWLOG"
fi

# Kill one node: gone from the next discover and the next round.
sw_kill "${PID[atomvm_node2.h2]}" KILL
for _ in $(seq 1 50); do
    names_on h2 | grep -q atomvm_node2 || break
    sleep 0.1
done
discover "$TMP/d6" tasks.svc
if ! grep -q '^atomvm_node2@h2' "$TMP/d6" &&
    [ "$(grep -c ' port ' "$TMP/d6")" -eq 6 ] &&
    tail -n 1 "$TMP/d6" | grep -q '^discover tasks.svc: 5 addresses, 6 nodes; '; then
    pass "after kill -9 of atomvm_node2@h2: discover lists the other 6"
else
    fail "discover after the kill:"
    cat "$TMP/d6" "$TMP/d6.err"
fi
for _ in $(seq 1 100); do
    grep -q 'atomvm_node2@h2.disc.test is gone' "$GWLOG" && break
    sleep 0.1
done
if grep -q 'atomvm_node2@h2.disc.test is gone' "$GWLOG"; then
    pass "serve -discover: the next round says atomvm_node2@h2 is gone"
else
    fail "serve -discover: no 'gone' for atomvm_node2"
    cat "$GWLOG"
fi
# Two more rounds: they count 7 nodes (6 and the gateway) and never dial
# the dead one.
gone_at=$(grep -n 'atomvm_node2@h2.disc.test is gone' "$GWLOG" | head -n 1 | cut -d: -f1)
sleep 4.5
after=$(tail -n +"$((${gone_at:-1} + 1))" "$GWLOG")
if [ -n "$gone_at" ] &&
    [ "$(grep -c 'discover all.svc: 6 addresses, 7 nodes; ' <<<"$after")" -ge 2 ] &&
    ! grep -q 'atomvm_node2@h2' <<<"$after"; then
    pass "serve -discover: later rounds count 7 nodes and leave atomvm_node2@h2 alone"
else
    fail "serve -discover: rounds after the kill:"
    echo "$after"
fi
# The node comes back (a new OS process, a new creation): found and
# connected to again.
start_node h2 atomvm_node2
back=0
for _ in $(seq 1 150); do
    back=$(tail -n +"$((${gone_at:-1} + 1))" "$GWLOG" |
        grep -c 'new node atomvm_node2@h2.disc.test \|connected to atomvm_node2@h2 ')
    [ "$back" -ge 2 ] && break
    sleep 0.1
done
if [ "$back" -ge 2 ]; then
    pass "serve -discover: atomvm_node2@h2 restarted is found and connected to again"
else
    fail "serve -discover: atomvm_node2@h2 did not come back"
    tail -n +"$((${gone_at:-1} + 1))" "$GWLOG"
fi
# h3's EPMD stops: its nodes are not known to be gone, and are kept.
mark=$(wc -l <"$GWLOG")
sw_kill "${PID[epmd.h3]}"
sleep 4.5
after=$(tail -n +"$((mark + 1))" "$GWLOG")
if grep -q "failed: .*$SW_SUBNET.${IP[h3]} (Connection refused)" <<<"$after" &&
    grep -q 'kept 3 nodes of addresses that did not answer' <<<"$after" &&
    ! grep -q '@h3.disc.test is gone' <<<"$after"; then
    pass "serve -discover: h3's EPMD down: its 3 nodes are kept, not gone"
else
    fail "serve -discover: h3's EPMD down:"
    echo "$after"
fi
if kill -0 "${PID[gw]}" 2>/dev/null; then
    pass "gateway still running"
else
    fail "gateway died"
    cat "$GWLOG"
fi

end
