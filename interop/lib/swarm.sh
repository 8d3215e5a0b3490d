# shellcheck shell=bash
# Simulated hosts on one machine, for interop/swarm.sh, interop/chaos.sh
# and interop/dist_discover.sh (sourced, bash). Each host is a network
# namespace on a bridge that lives in a namespace of its own (nothing of
# this machine's own network is touched), with an address on
# $SW_SUBNET.0/24 (and optionally $SW_SUBNET6:/64), its own hostname (every
# process started on it gets a UTS namespace named after the host), and
# its own /etc/hosts and /etc/resolv.conf (ip netns exec bind-mounts
# /etc/netns/NS/*), the latter pointing at dnsmasq on the bridge: a real
# DNS server that answers the hosts' names and tasks.<service>, as Swarm's
# does in dnsrr mode. Every name made starts with $SW_PREFIX, so the
# cleanup removes exactly what was made. A script may set SW_PREFIX,
# SW_SUBNET, SW_SUBNET6 and SW_DOMAIN before sourcing this.

SW_PREFIX=${SW_PREFIX:-swm$$}
SW_SUBNET=${SW_SUBNET:-10.232.0}
SW_SUBNET6=${SW_SUBNET6:-}
SW_DNS=$SW_SUBNET.2 # the bridge's address, where dnsmasq answers
SW_DOMAIN=${SW_DOMAIN:-swarm.test}
SW_NETS=() # namespaces made, the bridge's first
SW_PIDS=() # every process started on a host
SW_ETC_NETNS_MADE=

# True if this machine can make network namespaces (root, iproute2).
# shellcheck source=checks.sh
. "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

# Exit 77 (skipped) unless this host can run the simulated swarm: root,
# OTP, network namespaces and dnsmasq.
sw_require() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "not root: skipped"
        exit 77
    fi
    need_erl
    if ! sw_available; then
        echo "no network namespaces here (needs iproute2 and unshare): skipped"
        exit 77
    fi
    if ! command -v dnsmasq >/dev/null 2>&1 && [ ! -x /usr/sbin/dnsmasq ]; then
        echo "dnsmasq not installed (Debian: dnsmasq-base): skipped"
        exit 77
    fi
}

# The swarm of swarm.sh and chaos.sh, in $2 (TMP): swarm_msg compiled
# there; hosts h1..h$1 at .11 and up, the gateway's host hg at .20 and the
# test's own host hc at .30 on the bridge; a hosts file naming them (and
# tasks.svc, every hN) served by dnsmasq, whose PID is left in SW_LAST.
# Fails (with a FAIL line) at the first step that does.
sw_swarm() { # N TMP
    local n=$1 tmp=$2 i
    if ! erlc -o "$tmp" "$(dirname "${BASH_SOURCE[0]}")/swarm_msg.erl" \
        >"$tmp/erlc.log" 2>&1; then
        fail "erlc swarm_msg.erl: $(cat "$tmp/erlc.log")"
        return 1
    fi
    sw_bridge || { fail "set up the bridge"; return 1; }
    for i in $(seq 1 "$n"); do
        sw_host "h$i" $((10 + i)) || { fail "set up host h$i"; return 1; }
    done
    sw_host hg 20 || { fail "set up host hg"; return 1; }
    sw_host hc 30 || { fail "set up host hc"; return 1; }
    {
        for i in $(seq 1 "$n"); do
            echo "$SW_SUBNET.$((10 + i)) h$i.$SW_DOMAIN h$i tasks.svc"
        done
        echo "$SW_SUBNET.20 hg.$SW_DOMAIN hg"
        echo "$SW_SUBNET.30 hc.$SW_DOMAIN hc"
    } >"$tmp/hosts"
    chmod 644 "$tmp/hosts"
    sw_dns "$tmp/hosts" "$tmp/dnsmasq.log"
}

# sw_start NAME: the script's TMP, /tmp/NAME.XXXXXX (which dnsmasq, as
# nobody, can read), and cleanup, run at exit and by end: every process
# and namespace made here goes, and TMP too unless a check failed.
sw_start() {
    TMP=$(mktemp -d "/tmp/$1.XXXXXX")
    chmod 755 "$TMP"
    trap cleanup EXIT
    trap 'fail "interrupted"; end' INT TERM
}
cleanup() {
    sw_cleanup
    [ "$FAILED" -eq 0 ] && rm -rf "$TMP"
}

sw_available() {
    [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null 2>&1 &&
        command -v unshare >/dev/null 2>&1 &&
        ip netns add "${SW_PREFIX}probe" 2>/dev/null &&
        ip netns del "${SW_PREFIX}probe" 2>/dev/null
}

# The namespace of host NAME; "br" is the bridge's.
sw_ns() {
    echo "${SW_PREFIX}-$1"
}

# The bridge namespace, host "br": br0 with $SW_DNS.
sw_bridge() {
    local ns
    ns=$(sw_ns br)
    ip netns add "$ns" || return 1
    SW_NETS+=("$ns")
    ip -n "$ns" link set lo up &&
        ip -n "$ns" link add br0 type bridge &&
        ip -n "$ns" addr add "$SW_DNS/24" dev br0 &&
        ip -n "$ns" link set br0 up
}

# sw_host NAME INDEX [v6]: host NAME at $SW_SUBNET.INDEX (and
# $SW_SUBNET6:INDEX with v6) on the bridge; its hosts file knows only
# itself, the rest it asks dnsmasq.
sw_host() {
    local name=$1 idx=$2 v6=${3:-} ns br
    ns=$(sw_ns "$name")
    br=$(sw_ns br)
    ip netns add "$ns" || return 1
    SW_NETS+=("$ns")
    # The veth pair is made inside the bridge namespace, its far end
    # moved straight into the host's: it never exists in ours.
    ip -n "$br" link add "v$name" type veth peer name eth0 netns "$ns" &&
        ip -n "$br" link set "v$name" master br0 &&
        ip -n "$br" link set "v$name" up &&
        ip -n "$ns" link set lo up &&
        ip -n "$ns" addr add "$SW_SUBNET.$idx/24" dev eth0 &&
        ip -n "$ns" link set eth0 up || return 1
    if [ -n "$v6" ]; then
        ip -n "$ns" addr add "$SW_SUBNET6:$idx/64" dev eth0 nodad || return 1
    fi
    if [ ! -d /etc/netns ]; then
        mkdir /etc/netns || return 1
        SW_ETC_NETNS_MADE=1
    fi
    mkdir "/etc/netns/$ns" || return 1
    printf 'nameserver %s\nsearch %s\noptions timeout:1 attempts:2\n' \
        "$SW_DNS" "$SW_DOMAIN" >"/etc/netns/$ns/resolv.conf"
    printf '127.0.0.1 localhost\n%s.%s %s.%s %s\n' \
        "$SW_SUBNET" "$idx" "$name" "$SW_DOMAIN" "$name" \
        >"/etc/netns/$ns/hosts"
}

# sw_link HOST up|down: plug or unplug HOST's cable (the bridge's end of
# its veth; the host's own eth0 keeps its address and routes).
sw_link() {
    ip -n "$(sw_ns br)" link set "v$1" "$2"
}

# sw_dns HOSTS_FILE LOG: dnsmasq on the bridge, answering from HOSTS_FILE
# only (and nothing upstream); its PID in SW_LAST.
sw_dns() {
    local dnsmasq a b c
    dnsmasq=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
    IFS=. read -r a b c <<<"$SW_SUBNET"
    ip netns exec "$(sw_ns br)" "$dnsmasq" --keep-in-foreground \
        --conf-file=/dev/null --no-resolv --no-hosts --addn-hosts="$1" \
        --listen-address="$SW_DNS" --bind-interfaces \
        --local="/$SW_DOMAIN/" --local=/svc/ \
        --local="/$c.$b.$a.in-addr.arpa/" --pid-file= --log-facility=- \
        >>"$2" 2>&1 &
    SW_LAST=$!
    SW_PIDS+=("$SW_LAST")
}

# sw_run HOST CMD...: run CMD on HOST (its network, its hostname).
sw_run() {
    local host=$1
    shift
    # shellcheck disable=SC2016 # expanded by the inner sh
    ip netns exec "$(sw_ns "$host")" unshare --uts \
        sh -c 'hostname "$0" && exec "$@"' "$host" "$@"
}

# sw_bg HOST LOG CMD...: start CMD on HOST in the background, its output
# appended to LOG (a restart adds to the same log); its PID in SW_LAST.
sw_bg() {
    local host=$1 log=$2
    shift 2
    # A simple command, not a function: $! is then the process itself
    # (ip netns exec, unshare and sh all exec the next step), so a
    # SIGKILL to it kills the program, as docker kill would.
    # shellcheck disable=SC2016 # expanded by the inner sh
    ip netns exec "$(sw_ns "$host")" unshare --uts \
        sh -c 'hostname "$0" && exec "$@"' "$host" "$@" >>"$log" 2>&1 &
    SW_LAST=$!
    SW_PIDS+=("$SW_LAST")
}

# sw_kill PID [SIG]: signal one process started with sw_bg and reap it.
sw_kill() {
    kill -"${2:-TERM}" "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

# sw_rss PID: its resident set in kB (empty if it is gone).
sw_rss() {
    awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null
}

# Stop every process, delete every namespace and its /etc/netns files.
sw_cleanup() {
    local p ns
    for p in "${SW_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    for p in "${SW_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    for ns in "${SW_NETS[@]}"; do
        # Anything still inside (a child a killed process left, such as
        # erl_child_setup) goes too: it runs in a namespace we made.
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$p" 2>/dev/null
        done
        ip netns del "$ns" 2>/dev/null
        rm -rf "/etc/netns/$ns"
    done
    SW_PIDS=()
    SW_NETS=()
    [ -n "$SW_ETC_NETNS_MADE" ] && rmdir /etc/netns 2>/dev/null
    return 0
}
