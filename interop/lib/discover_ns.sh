# Simulated hosts for interop/dist_discover.sh (sourced, bash): network
# namespaces joined by a bridge that lives in a namespace of its own, so
# nothing of the host's own network is touched. Each host has an address
# on 10.231.0.0/24 (and optionally fd31:231::/64), its own hostname (a UTS
# namespace per process), and its own /etc/hosts and /etc/resolv.conf
# (ip netns exec bind-mounts /etc/netns/NS/*). Every name starts with
# $DN_PREFIX so that the cleanup removes exactly what was made.

DN_PREFIX=${DN_PREFIX:-dgwt$$}
DN_NETS=()    # namespaces made, the bridge's first
DN_PIDS=()    # processes started inside them
DN_SUBNET=10.231.0
DN_SUBNET6=fd31:231:
DN_DNS=$DN_SUBNET.2 # the bridge's address, where dnsmasq answers
DN_ETC_NETNS_MADE=

# True if this machine can make network namespaces (root, iproute2).
dn_available() {
    [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null 2>&1 &&
        command -v unshare >/dev/null 2>&1 &&
        ip netns add "${DN_PREFIX}probe" 2>/dev/null &&
        ip netns del "${DN_PREFIX}probe" 2>/dev/null
}

# The bridge namespace: br0 with $DN_DNS.
dn_bridge() {
    local ns=${DN_PREFIX}br
    ip netns add "$ns" || return 1
    DN_NETS+=("$ns")
    ip -n "$ns" link set lo up &&
        ip -n "$ns" link add br0 type bridge &&
        ip -n "$ns" addr add "$DN_DNS/24" dev br0 &&
        ip -n "$ns" link set br0 up
}

# dn_host NAME INDEX [v6]: a host NAME at $DN_SUBNET.INDEX (and
# $DN_SUBNET6:INDEX with v6), on the bridge, resolving through dnsmasq
# with search domain disc.test; its hosts file knows only itself.
dn_host() {
    local name=$1 idx=$2 v6=${3:-} ns=${DN_PREFIX}$1 br=${DN_PREFIX}br
    ip netns add "$ns" || return 1
    DN_NETS+=("$ns")
    # The veth pair is made inside the bridge namespace, its far end
    # moved straight into the host's: it never exists in ours.
    ip -n "$br" link add "v$name" type veth peer name eth0 netns "$ns" &&
        ip -n "$br" link set "v$name" master br0 &&
        ip -n "$br" link set "v$name" up &&
        ip -n "$ns" link set lo up &&
        ip -n "$ns" addr add "$DN_SUBNET.$idx/24" dev eth0 &&
        ip -n "$ns" link set eth0 up || return 1
    if [ -n "$v6" ]; then
        ip -n "$ns" addr add "$DN_SUBNET6:$idx/64" dev eth0 nodad || return 1
    fi
    if [ ! -d /etc/netns ]; then
        mkdir -p /etc/netns || return 1
        DN_ETC_NETNS_MADE=1
    fi
    mkdir "/etc/netns/$ns" || return 1
    printf 'nameserver %s\nsearch disc.test\noptions timeout:1 attempts:2\n' \
        "$DN_DNS" >"/etc/netns/$ns/resolv.conf"
    printf '127.0.0.1 localhost\n%s.%s %s.disc.test %s\n' \
        "$DN_SUBNET" "$idx" "$name" "$name" >"/etc/netns/$ns/hosts"
}

# dn_run HOST CMD...: run CMD on HOST (its network, its hostname).
dn_run() {
    local host=$1
    shift
    # shellcheck disable=SC2016 # expanded by the inner sh
    ip netns exec "${DN_PREFIX}$host" unshare --uts \
        sh -c 'hostname "$0" && exec "$@"' "$host" "$@"
}

# dn_bg HOST LOG CMD...: start CMD on HOST in the background, output to
# LOG; its PID (the command's own: every step execs) in DN_LAST.
dn_bg() {
    local host=$1 log=$2
    shift 2
    # A simple command, not a function: $! is then the process itself
    # (ip netns exec, unshare and sh all exec the next step).
    # shellcheck disable=SC2016 # expanded by the inner sh
    ip netns exec "${DN_PREFIX}$host" unshare --uts \
        sh -c 'hostname "$0" && exec "$@"' "$host" "$@" >"$log" 2>&1 &
    DN_LAST=$!
    DN_PIDS+=("$DN_LAST")
}

# Stop one process started with dn_bg, by PID.
dn_stop() {
    kill -"${2:-TERM}" "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

# Stop every process, delete every namespace and its /etc/netns files.
dn_cleanup() {
    local p ns
    for p in "${DN_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    for p in "${DN_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    for ns in "${DN_NETS[@]}"; do
        # Anything still inside (a child a killed process left) goes too.
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$p" 2>/dev/null
        done
        ip netns del "$ns" 2>/dev/null
        rm -rf "/etc/netns/$ns"
    done
    [ -n "$DN_ETC_NETNS_MADE" ] && rmdir /etc/netns 2>/dev/null
    return 0
}
