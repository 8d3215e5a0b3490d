# shellcheck shell=bash
# A swarm on one machine, for interop/swarm.sh and interop/chaos.sh
# (sourced, bash). Each host is a network namespace on a bridge that
# lives in a namespace of its own (nothing of this machine's own network
# is touched), with an address on 10.232.0.0/24, its own hostname (every
# process started on it gets a UTS namespace named after the host), and
# its own /etc/hosts and /etc/resolv.conf (ip netns exec bind-mounts
# /etc/netns/NS/*), the latter pointing at dnsmasq on the bridge: a real
# DNS server that answers the hosts' names and tasks.<service>, as Swarm's
# does in dnsrr mode. Every name made starts with $SW_PREFIX, so the
# cleanup removes exactly what was made.

SW_PREFIX=${SW_PREFIX:-swm$$}
SW_SUBNET=10.232.0
SW_DNS=$SW_SUBNET.2 # the bridge's address, where dnsmasq answers
SW_DOMAIN=swarm.test
SW_NETS=() # namespaces made, the bridge's first
SW_PIDS=() # every process started on a host
SW_ETC_NETNS_MADE=

# True if this machine can make network namespaces (root, iproute2).
# PASS/FAIL lines and their counts, for the scripts built on this library.
sw_checks_init() {
    PASSED=0
    FAILED=0
}
pass() {
    PASSED=$((PASSED + 1))
    echo "PASS $*"
}
fail() {
    FAILED=$((FAILED + 1))
    echo "FAIL $*"
}

# Exit 77 (skipped) unless this host can run the simulated swarm: root,
# OTP, network namespaces and dnsmasq.
sw_require() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "not root: skipped"
        exit 77
    fi
    if ! command -v erl >/dev/null 2>&1 || ! command -v erlc >/dev/null 2>&1; then
        echo "erl not installed: skipped"
        exit 77
    fi
    if ! sw_available; then
        echo "no network namespaces here (needs iproute2 and unshare): skipped"
        exit 77
    fi
    if ! command -v dnsmasq >/dev/null 2>&1 && [ ! -x /usr/sbin/dnsmasq ]; then
        echo "dnsmasq not installed (Debian: dnsmasq-base): skipped"
        exit 77
    fi
}

sw_available() {
    [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null 2>&1 &&
        command -v unshare >/dev/null 2>&1 &&
        ip netns add "${SW_PREFIX}probe" 2>/dev/null &&
        ip netns del "${SW_PREFIX}probe" 2>/dev/null
}

# The namespace of host NAME.
sw_ns() {
    echo "${SW_PREFIX}-$1"
}

# The bridge namespace ${SW_PREFIX}br: br0 with $SW_DNS.
sw_bridge() {
    local ns=${SW_PREFIX}br
    ip netns add "$ns" || return 1
    SW_NETS+=("$ns")
    ip -n "$ns" link set lo up &&
        ip -n "$ns" link add br0 type bridge &&
        ip -n "$ns" addr add "$SW_DNS/24" dev br0 &&
        ip -n "$ns" link set br0 up
}

# sw_host NAME INDEX: host NAME at $SW_SUBNET.INDEX on the bridge; its
# hosts file knows only itself, the rest it asks dnsmasq.
sw_host() {
    local name=$1 idx=$2 ns br=${SW_PREFIX}br
    ns=$(sw_ns "$name")
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
    ip -n "${SW_PREFIX}br" link set "v$1" "$2"
}

# sw_dns HOSTS_FILE LOG: dnsmasq on the bridge, answering from HOSTS_FILE
# only (and nothing upstream); its PID in SW_LAST.
sw_dns() {
    local dnsmasq
    dnsmasq=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
    ip netns exec "${SW_PREFIX}br" "$dnsmasq" --keep-in-foreground \
        --conf-file=/dev/null --no-resolv --no-hosts --addn-hosts="$1" \
        --listen-address="$SW_DNS" --bind-interfaces \
        --local="/$SW_DOMAIN/" --local=/svc/ \
        --local=/0.232.10.in-addr.arpa/ --pid-file= --log-facility=- \
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
