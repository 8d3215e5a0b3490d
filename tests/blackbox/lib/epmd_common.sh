# Shared helpers for the epmd black-box tests (sourced, bash).
# Every process a test starts is recorded and killed by PID on exit.

EPMD_TEST_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EPMD_PIDS=()
EPMD_CLEANUPS=()
EPMD_FAILS=0
EPMD_PASSES=0
PY=${PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3
export PYTHONPATH="$EPMD_TEST_LIB${PYTHONPATH:+:$PYTHONPATH}"

epmd_cleanup() {
    local pid c
    for c in "${EPMD_CLEANUPS[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
    for pid in "${EPMD_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${EPMD_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    [ -n "${EPMD_TMP:-}" ] && rm -rf "$EPMD_TMP"
}
trap epmd_cleanup EXIT
EPMD_TMP=$(mktemp -d /tmp/epmd-test.XXXXXX)

# Run a command in the background and remember its PID in $LAST_PID.
bg_start() {
    "$@" &
    LAST_PID=$!
    EPMD_PIDS+=("$LAST_PID")
}

# Register a shell command to run at exit (before the PIDs are killed).
on_exit() {
    EPMD_CLEANUPS+=("$1")
}

# Wait until something accepts on 127.0.0.1:$1 (hang bound: 30 s).
wait_port() {
    local port=$1 host=${2:-127.0.0.1} i
    for i in $(seq 1 300); do
        if "$PY" -c "import socket,sys; socket.create_connection(('$host',$port),1).close()" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "nothing listening on $host:$port" >&2
    return 1
}

# Wait until nothing accepts on 127.0.0.1:$1.
wait_port_closed() {
    local port=$1 i
    for i in $(seq 1 300); do
        if ! "$PY" -c "import socket; socket.create_connection(('127.0.0.1',$port),1).close()" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

pass() { EPMD_PASSES=$((EPMD_PASSES + 1)); echo "ok - $*"; }
fail() { EPMD_FAILS=$((EPMD_FAILS + 1)); echo "not ok - $*"; }

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
    if [ "$2" == "$3" ]; then
        pass "$1"
    else
        fail "$1"
        echo "  expected: $(printf '%q' "$2")"
        echo "  actual:   $(printf '%q' "$3")"
    fi
}

# expect_file_eq WHAT FILE1 FILE2 (byte for byte)
expect_file_eq() {
    if cmp -s "$2" "$3"; then
        pass "$1"
    else
        fail "$1"
        diff <(od -c "$2") <(od -c "$3") | head -20
    fi
}

finish() {
    echo "$EPMD_PASSES passed, $EPMD_FAILS failed"
    [ "$EPMD_FAILS" -eq 0 ]
}
