"""A small EPMD client for black-box tests: raw bytes in, bytes out.

Every helper takes the port of the epmd under test and talks to it over
loopback (or to a given host). Timeouts are generous upper bounds for hangs,
never measurements.
"""
import os
import socket
import struct
import sys
import time

HANG = 30.0  # seconds: an upper bound for "the server answers or closes"


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def connect(port, host="127.0.0.1", family=None):
    fam = family or (socket.AF_INET6 if ":" in host else socket.AF_INET)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(HANG)
    s.connect((host, port))
    return s


def frame(payload):
    return struct.pack(">H", len(payload)) + payload


def read_all(s):
    """Read until the server closes; returns (bytes, how) where how is
    'eof', 'reset' or 'timeout'."""
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return out, "eof"
            out += b
    except ConnectionResetError:
        return out, "reset"
    except socket.timeout:
        return out, "timeout"


def exchange(port, data, host="127.0.0.1", shutdown=False):
    """Send raw bytes, return (reply, how the connection ended)."""
    s = connect(port, host)
    try:
        if data:
            s.sendall(data)
        if shutdown:
            s.shutdown(socket.SHUT_WR)
        return read_all(s)
    finally:
        s.close()


def alive2_payload(name, port=9100, high=6, low=5, extra=b"", ntype=77,
                   proto=0, nlen=None, elen=None):
    if isinstance(name, str):
        name = name.encode("utf-8")
    nlen = len(name) if nlen is None else nlen
    elen = len(extra) if elen is None else elen
    return (b"x" + struct.pack(">HBBHHH", port, ntype, proto, high, low,
                               nlen) + name + struct.pack(">H", elen) + extra)


class Alive:
    """A registration: the socket stays open for as long as it lives."""

    def __init__(self, epmd_port, name, host="127.0.0.1", **kw):
        self.sock = connect(epmd_port, host)
        self.sock.sendall(frame(alive2_payload(name, **kw)))
        self.reply = b""
        want = 6 if kw.get("high", 6) >= 6 else 4
        while len(self.reply) < want:
            b = self.sock.recv(want - len(self.reply))
            if not b:
                break
            self.reply += b

    @property
    def ok(self):
        return len(self.reply) >= 4 and self.reply[1] == 0

    @property
    def creation(self):
        if self.reply[:1] == b"v":
            return struct.unpack(">I", self.reply[2:6])[0]
        return struct.unpack(">H", self.reply[2:4])[0]

    def closed_by_server(self, wait=HANG):
        """True if the server closes this socket within wait seconds."""
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(HANG)

    def close(self):
        self.sock.close()


def port_please(port, name, host="127.0.0.1"):
    """Returns None if not found, else a dict; raises Fail on no reply."""
    if isinstance(name, str):
        name = name.encode("utf-8")
    data, how = exchange(port, frame(b"z" + name), host)
    check(len(data) >= 2 and data[0:1] == b"w",
          "PORT2_RESP expected, got %r (%s)" % (data, how))
    if data[1] != 0:
        check(data == b"w\x01", "bad not-found reply %r" % data)
        return None
    p, ntype, proto, high, low, nlen = struct.unpack(">HBBHHH", data[2:12])
    nm = data[12:12 + nlen]
    elen = struct.unpack(">H", data[12 + nlen:14 + nlen])[0]
    extra = data[14 + nlen:14 + nlen + elen]
    check(len(data) == 14 + nlen + elen, "PORT2_RESP length %d" % len(data))
    return dict(port=p, type=ntype, proto=proto, high=high, low=low,
                name=nm, extra=extra)


def names(port, host="127.0.0.1"):
    """Returns (port field, [(name bytes, port)]) in reply order."""
    data, how = exchange(port, frame(b"n"), host)
    check(len(data) >= 4, "NAMES reply too short: %r (%s)" % (data, how))
    out = []
    for line in data[4:].split(b"\n")[:-1]:
        check(line.startswith(b"name "), "bad NAMES line %r" % line)
        nm, _, p = line[5:].rpartition(b" at port ")
        out.append((nm, int(p)))
    return struct.unpack(">I", data[:4])[0], out


def wait_until(pred, what, limit=HANG):
    """Poll pred until true; fail after limit seconds (a hang bound)."""
    end = time.time() + limit
    while time.time() < end:
        if pred():
            return
        time.sleep(0.05)
    raise Fail("timed out waiting for " + what)


def wait_listening(port, host="127.0.0.1"):
    def up():
        try:
            connect(port, host).close()
            return True
        except OSError:
            return False
    wait_until(up, "epmd on port %d" % port)


def run_cases(cases):
    """Run (name, fn) cases; print TAP-like lines; exit 1 on any failure."""
    failed = 0
    for name, fn in cases:
        try:
            fn()
            print("ok - %s" % name, flush=True)
        except Exception as e:  # report every failure, keep going
            failed += 1
            print("not ok - %s: %s: %s" % (name, type(e).__name__, e),
                  flush=True)
    print("%d/%d passed" % (len(cases) - failed, len(cases)), flush=True)
    sys.exit(1 if failed else 0)
