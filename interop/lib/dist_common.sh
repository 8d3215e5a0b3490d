# Shared by interop/dist_*.sh (sourced, bash): counters, processes started
# by the test and stopped by PID, ports, and waiting for conditions.

# shellcheck source=checks.sh
. "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

STARTED=()

# Start a command in the background and remember its PID in LAST_PID.
bg() {
    "$@" &
    LAST_PID=$!
    STARTED+=("$LAST_PID")
}

# Stop one process we started, by PID, and reap it.
stop_pid() {
    local sig=${2:-TERM}
    {
        kill -"$sig" "$1"
        wait "$1"
    } 2>/dev/null
    return 0
}

# Stop everything we started (the EXIT trap).
stop_all() {
    local p
    for p in "${STARTED[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    for p in "${STARTED[@]}"; do
        { wait "$p"; } 2>/dev/null
    done
}

# True if something listens on 127.0.0.1:port.
port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# First free port from $1 stepping by $2, at most $3 tries.
free_port() {
    local p=$1 i
    for i in $(seq 1 "$3"); do
        if ! port_busy "$p"; then
            echo "$p"
            return 0
        fi
        p=$((p + $2))
    done
    return 1
}

# Run "$@" every 0.1 s until it succeeds or $1 tenths of a second pass.
wait_for() {
    local tenths=$1 i
    shift
    for i in $(seq 1 "$tenths"); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
