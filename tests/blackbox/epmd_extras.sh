#!/bin/bash
# What goes beyond OTP: 10,000 nodes at once, Prometheus metrics, systemd
# socket activation and readiness without libsystemd, and dropping root
# after binding.
# usage: epmd_extras.sh BIN_DIR
set -u
BIN=${1:?usage: $0 BIN_DIR}
. "$(dirname "$0")/lib/epmd_common.sh"
EPMD=$BIN/epmd
P_MANY=14440
P_METRICS=14441
P_HTTP=14442
P_SYSD=14443
P_USER=14444

# 10,000 registrations: each holds a connection, so raise the fd limit.
ulimit -Hn 65536 2>/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "open files limit: $(ulimit -n)"
bg_start $EPMD -port $P_MANY
D=$LAST_PID
wait_port $P_MANY || exit 1
if timeout 600 "$PY" - $P_MANY <<'PYEOF'
import sys
from epmdlib import Alive, check, names, port_please
port = int(sys.argv[1])
regs = []
for i in range(10000):
    a = Alive(port, "n%05d" % i, port=10000 + i)
    check(a.ok, "registration %d refused: %r" % (i, a.reply))
    regs.append(a)
p, lst = names(port)
check(len(lst) == 10000, "NAMES lists %d" % len(lst))
check(lst[0] == (b"n09999", 19999) and lst[-1] == (b"n00000", 10000),
      "NAMES order %r .. %r" % (lst[0], lst[-1]))
check(sorted(lst) == [(b"n%05d" % i, 10000 + i) for i in range(10000)],
      "every name with its port")
for i in range(0, 10000, 7):
    info = port_please(port, "n%05d" % i)
    check(info and info["port"] == 10000 + i, "lookup %d: %r" % (i, info))
for a in regs[:5000]:
    a.close()
import time
deadline = time.time() + 60
while time.time() < deadline and len(names(port)[1]) != 5000:
    time.sleep(0.1)
check(len(names(port)[1]) == 5000, "half unregistered")
check(port_please(port, "n04999") is None and
      port_please(port, "n05000")["port"] == 15000, "the right half")
print("10000 registered, listed and looked up; 5000 released")
PYEOF
then pass "10,000 nodes at once"; else fail "10,000 nodes at once"; fi
kill $D; wait $D 2>/dev/null

# Out of file descriptors: accepting pauses (logged, counted), and the
# daemon serves again once descriptors are free.
P_FD=14445
(ulimit -n 40 && exec $EPMD -port $P_FD -packet_timeout 30 -metrics_address 127.0.0.1:14446) 2>"$EPMD_TMP/fd.log" &
D=$!
EPMD_PIDS+=("$D")
wait_port $P_FD || exit 1
cat >"$EPMD_TMP/flood.py" <<'PYEOF'
import socket, sys, time
from epmdlib import names
port = int(sys.argv[1])
socks = []
for i in range(80):
    s = socket.socket()
    s.connect(("127.0.0.1", port))
    socks.append(s)
time.sleep(1.5)
for s in socks:
    s.close()
p, lst = names(port)
assert p == port, p
print("served after the flood")
PYEOF
if timeout 120 "$PY" "$EPMD_TMP/flood.py" $P_FD; then pass "serves again after running out of fds"; else fail "serves again after running out of fds"; fi
grep -q 'pausing accept for 1 s' "$EPMD_TMP/fd.log" && pass "EMFILE: accepting paused and logged" || { fail "EMFILE: accepting paused"; tail -5 "$EPMD_TMP/fd.log"; }
grep -q '^epmd_accept_paused_total [1-9]' <<<"$(curl -s --max-time 30 http://127.0.0.1:14446/metrics)" &&
    pass "EMFILE: pauses counted" || fail "EMFILE: pauses counted"
kill $D; wait $D 2>/dev/null

# Metrics.
bg_start $EPMD -port $P_METRICS -metrics_address 127.0.0.1:$P_HTTP
D=$LAST_PID
wait_port $P_METRICS || exit 1
wait_port $P_HTTP || exit 1
cat >"$EPMD_TMP/meter.py" <<'PYEOF'
import signal, sys
from epmdlib import Alive, exchange, port_please
port = int(sys.argv[1])
a = Alive(port, "metered", port=4000)
port_please(port, "metered")
port_please(port, "nobody")
exchange(port, b"\x00\x00")
exchange(port, b"\x00\x04afoo")
b = Alive(port, "metered", port=4001)
print("ready", flush=True)
signal.pause()
PYEOF
bg_start "$PY" "$EPMD_TMP/meter.py" $P_METRICS >"$EPMD_TMP/meter.out"
for _ in $(seq 1 300); do grep -q ready "$EPMD_TMP/meter.out" && break; sleep 0.1; done
M=$(curl -s --max-time 30 http://127.0.0.1:$P_HTTP/metrics)
for want in 'epmd_registered_nodes 1' 'epmd_requests_total{type="port_please2"} 2' \
    'epmd_requests_total{type="alive2"} 2' 'epmd_requests_total{type="unknown"} 1' \
    'epmd_refusals_total{reason="zero_length"} 1' 'epmd_refusals_total{reason="unknown_type"} 1' \
    'epmd_refusals_total{reason="name_taken"} 1' 'epmd_registrations_total 1'; do
    if grep -qxF "$want" <<<"$M"; then pass "metrics: $want"; else fail "metrics: $want"; fi
done
grep -q '^epmd_connections_total [1-9]' <<<"$M" && pass "metrics: connections counted" || fail "metrics: connections"
CODE=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 http://127.0.0.1:$P_HTTP/other)
expect_eq "metrics: other paths are 404" 404 "$CODE"
kill $D; wait $D 2>/dev/null
# Off by default: nothing listens for HTTP.
bg_start $EPMD -port $P_METRICS
D=$LAST_PID
wait_port $P_METRICS || exit 1
if ss -Hltnp | grep "pid=$D," | grep -vq ":$P_METRICS "; then
    fail "metrics off by default"; ss -Hltnp | grep "pid=$D,"
else
    pass "metrics off by default"
fi
kill $D; wait $D 2>/dev/null

# systemd socket activation and readiness.
bg_start "$PY" "$EPMD_TEST_LIB/epmd_sysd_launch.py" $P_SYSD "$EPMD_TMP/notify" $EPMD -systemd >"$EPMD_TMP/sysd.out"
L=$LAST_PID
wait_port $P_SYSD || exit 1
for _ in $(seq 1 100); do grep -q '^notify' "$EPMD_TMP/sysd.out" && break; sleep 0.1; done
SPID=$(sed -n 's/^pid //p' "$EPMD_TMP/sysd.out")
grep -q "^notify READY=1|STATUS=Processing port mapping requests...|MAINPID=$SPID\$" "$EPMD_TMP/sysd.out" &&
    pass "READY=1 sent to NOTIFY_SOCKET with MAINPID" || { fail "READY=1 notification"; cat "$EPMD_TMP/sysd.out"; }
OUT=$($EPMD -port $P_SYSD -names)
# NAMES reports the configured port (4369 here), not the passed socket's,
# exactly as OTP's epmd does under -systemd.
expect_eq "serves on the passed socket" "epmd: up and running on port 4369 with data:" "$OUT"
kill "$SPID"
wait $L
timeout 20 $EPMD -systemd -port $P_SYSD 2>"$EPMD_TMP/err"
expect_eq "-systemd without sockets: exit 1" 1 "$?"
grep -q "systemd provides no sockets" "$EPMD_TMP/err" && pass "says systemd provides no sockets" || fail "no-sockets message"

# Bind as root, then run as nobody.
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
    bg_start $EPMD -port $P_USER -user nobody
    D=$LAST_PID
    wait_port $P_USER || exit 1
    UIDS=$(awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/$D/status)
    N=$(id -u nobody)
    expect_eq "runs as nobody after binding" "$N $N $N $N" "$UIDS"
    OUT=$($EPMD -port $P_USER -names)
    expect_eq "and still serves" "epmd: up and running on port $P_USER with data:" "$OUT"
    kill $D; wait $D 2>/dev/null
else
    fail "privilege drop test needs root and a nobody user"
fi
finish
