#!/bin/bash
# The seeds' scenario on a simulated swarm: five hosts h1..h5 (network
# namespaces on a bridge, each with its own address, hostname, hosts file
# and resolv.conf), dnsmasq answering tasks.svc with all five addresses
# (as Swarm's DNS does for a dnsrr service), our epmd on every host as a
# container's `epmd -daemon` would run, and on each an OTP 25 node
# started with the seeds' flags (-sname atomvm_nodeN, one cookie,
# inet_dist_listen_min 9100, inet_dist_listen_max 9200) and a registered
# msg process. Every node pings every other (pong 5x4 times) and sends
# messages to every other's msg, all kept exactly once; on a gateway host
# hg, `distgw discover tasks.svc` lists all five nodes and pings them,
# and `distgw serve -discover tasks.svc -recorder msg` connects to all
# five (each has the gateway in nodes(hidden)) and keeps what they send.
# Everything is torn down at the end, also on failure or interrupt.
# usage: swarm.sh BIN_DIR
set -u
BIN=$(cd "${1:?usage: $0 BIN_DIR}" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/swarm.sh
. "$HERE/lib/swarm.sh"

N=${SWARM_HOSTS:-5}
K=20 # messages each node sends to each other node

sw_require

sw_start swarm
# Crash dumps and anything else the nodes write stay in $TMP.
cd "$TMP" || exit 1
export ERL_CRASH_DUMP=$TMP/erl_crash.dump

COOKIE=swarm$$
HOSTS=$(seq -f 'h%g' 1 "$N")
NODES=""
for i in $(seq 1 "$N"); do NODES="$NODES atomvm_node$i@h$i"; done
declare -A PID

# --- the network -------------------------------------------------------
sw_swarm "$N" "$TMP" || end
PID[dnsmasq]=$SW_LAST
pass "$N hosts, a gateway host and a test host on a bridge; dnsmasq"

# Each host sees its own hostname and resolves the others and tasks.svc.
ok=1
for h in $HOSTS hg; do
    [ "$(sw_run "$h" hostname)" = "$h" ] || ok=0
done
for _ in $(seq 1 50); do
    sw_run hg getent ahostsv4 tasks.svc >"$TMP/getent" 2>&1 && break
    sleep 0.1
done
addrs=$(awk '{print $1}' "$TMP/getent" | sort -u | tr '\n' ' ')
want=$(for i in $(seq 1 "$N"); do echo "$SW_SUBNET.$((10 + i))"; done |
    sort -u | tr '\n' ' ')
if [ "$ok" -eq 1 ] && [ "$addrs" = "$want" ] &&
    [ "$(sw_run h1 getent hosts h2 | awk '{print $1}')" = "$SW_SUBNET.12" ]; then
    pass "hostnames per host; tasks.svc resolves to all $N addresses ($addrs)"
else
    fail "hostnames or DNS: tasks.svc -> '$addrs', want '$want'"
fi

# --- epmd and OTP nodes ------------------------------------------------------
for h in $HOSTS hg hc; do
    # In the foreground, so that its PID is its own.
    sw_bg "$h" "$TMP/epmd.$h.log" "$BIN/epmd"
    PID[epmd.$h]=$SW_LAST
done
epmd_up() {
    local h
    for h in $HOSTS hg hc; do
        sw_run "$h" "$BIN/epmd" -names >/dev/null 2>&1 || return 1
    done
}
for _ in $(seq 1 50); do
    epmd_up && break
    sleep 0.1
done
for i in $(seq 1 "$N"); do
    sw_bg "h$i" "$TMP/atomvm_node$i.log" erl -noshell -noinput \
        -sname "atomvm_node$i" -setcookie "$COOKIE" -start_epmd false \
        -kernel inet_dist_listen_min 9100 -kernel inet_dist_listen_max 9200 \
        -pa "$TMP" -run swarm_msg start
    PID[node$i]=$SW_LAST
done
registered() {
    local i
    for i in $(seq 1 "$N"); do
        sw_run "h$i" "$BIN/epmd" -names 2>/dev/null |
            grep -q "^name atomvm_node$i at port 9[12][0-9][0-9]\$" || return 1
    done
}
for _ in $(seq 1 200); do
    registered && break
    sleep 0.1
done
if registered; then
    pass "$N OTP nodes registered with our epmd, each on a port in 9100-9200"
else
    fail "OTP nodes did not register"
    for h in $HOSTS; do sw_run "$h" "$BIN/epmd" -names; done
fi

# --- distgw discover -------------------------------------------------------
sw_run hg timeout 30 "$BIN/distgw" discover tasks.svc >"$TMP/d1" 2>&1
rc=$?
ok=1
for i in $(seq 1 "$N"); do
    grep -q "^atomvm_node$i@h$i.$SW_DOMAIN $SW_SUBNET.$((10 + i)) port 9[12][0-9][0-9]\$" \
        "$TMP/d1" || ok=0
done
if [ "$rc" -eq 0 ] && [ "$ok" -eq 1 ] && [ "$(tail -n 1 "$TMP/d1")" = \
    "discover tasks.svc: $N addresses, $N nodes; failed: none" ]; then
    pass "distgw discover tasks.svc on hg: all $N nodes"
else
    fail "distgw discover tasks.svc (rc $rc):"
    cat "$TMP/d1"
fi
sw_run hg timeout 30 "$BIN/distgw" discover -ping -setcookie "$COOKIE" \
    tasks.svc >"$TMP/d2" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && [ "$(grep -c ' pong as atomvm_node' "$TMP/d2")" -eq "$N" ] &&
    [ "$(tail -n 1 "$TMP/d2")" = \
        "discover tasks.svc: $N addresses, $N nodes, $N pong, 0 pang; failed: none" ]; then
    pass "distgw discover -ping tasks.svc: $N pong"
else
    fail "distgw discover -ping (rc $rc):"
    cat "$TMP/d2"
fi

# --- the gateway -------------------------------------------------------------
GWLOG=$TMP/gw.log
: >"$GWLOG"
sw_bg hg "$GWLOG" "$BIN/distgw" serve -sname gw -setcookie "$COOKIE" \
    -recorder msg -discover tasks.svc -discover-interval 2 \
    -start_epmd false -http off -d
PID[gw]=$SW_LAST
connected() {
    grep -o 'connected to atomvm_node[0-9]*@h[0-9]* .*found by discover' \
        "$GWLOG" | awk '{print $3}' | sort -u | wc -l
}
for _ in $(seq 1 150); do
    [ "$(connected)" -ge "$N" ] && break
    sleep 0.1
done
if [ "$(connected)" -eq "$N" ] &&
    sw_run hg "$BIN/epmd" -names | grep -q '^name gw at port '; then
    pass "distgw serve -discover tasks.svc on hg: registered, connected to all $N"
else
    fail "distgw serve -discover: $(connected) connected"
    cat "$GWLOG"
fi

# --- the seeds' scenario -----------------------------------------------------
node_list=$(echo "$NODES" | sed "s/^ *//; s/ \+/', '/g")
sw_run hc timeout 120 erl -noshell -noinput -sname "probe$$" -hidden \
    -setcookie "$COOKIE" -start_epmd false -pa "$TMP" \
    -eval "swarm_msg:scenario(['$node_list'], $K, ['gw@hg']), halt()." \
    >"$TMP/scenario" 2>&1
pongs=$(awk '/^exchange / {gsub(/[{},]/, " "); s += $3} END {print s + 0}' "$TMP/scenario")
acks=$(awk '/^exchange / {gsub(/[{},]/, " "); s += $4} END {print s + 0}' "$TMP/scenario")
if [ "$pongs" -eq $((N * (N - 1))) ]; then
    pass "net_adm:ping/1: pong $pongs times (N x (N-1) = $((N * (N - 1))))"
else
    fail "net_adm:ping/1: $pongs pongs, want $((N * (N - 1)))"
    cat "$TMP/scenario"
fi
want=$((N * (N - 1) * K))
ok=$(grep -c "^msgs atomvm_node[0-9]*@h[0-9]* ok $(((N - 1) * K))\$" "$TMP/scenario")
if [ "$acks" -eq "$want" ] && [ "$ok" -eq "$N" ]; then
    pass "$want messages across $N hosts: all acked, each msg kept exactly its $(((N - 1) * K))"
else
    fail "messages: $acks acked of $want, $ok of $N msg processes exact"
    grep -v '^hidden' "$TMP/scenario"
fi
if grep -q "^msgs gw@hg ok $((N * K))\$" "$TMP/scenario"; then
    pass "the gateway's recorder kept all $((N * K)) messages the nodes sent it"
else
    fail "gateway recorder: $(grep '^msgs gw@hg' "$TMP/scenario")"
fi
if [ "$(grep -c "^hidden atomvm_node[0-9]*@h[0-9]* \[.*'\?gw@hg'\?.*\]\$" \
    "$TMP/scenario")" -eq "$N" ]; then
    pass "every node's nodes(hidden) has gw@hg"
else
    fail "nodes(hidden):"
    grep '^hidden' "$TMP/scenario"
fi

# --- afterwards ----------------------------------------------------------------
alive=1
for p in "${PID[@]}"; do kill -0 "$p" 2>/dev/null || alive=0; done
if [ "$alive" -eq 1 ]; then
    pass "every epmd, node, the gateway and dnsmasq still running"
else
    fail "a process died"
fi
sw_cleanup
left=$(ip netns list | grep -c "^$SW_PREFIX")
if [ "$left" -eq 0 ] && ! ls -d /etc/netns/"$SW_PREFIX"* >/dev/null 2>&1; then
    pass "torn down: no namespace or /etc/netns entry left"
else
    fail "teardown left $left namespaces"
fi
end
