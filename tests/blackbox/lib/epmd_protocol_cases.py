"""Wire-level cases for an epmd on 127.0.0.1:PORT.

usage: epmd_protocol_cases.py PORT [--otp]

The epmd must run with -packet_timeout 2 and -relaxed_command_check. With
--otp the cases that go beyond OTP's limits are skipped, so the same
expectations can be checked against OTP's own epmd.
"""
import socket
import struct
import sys
import time

from epmdlib import (Alive, Fail, alive2_payload, check, connect, exchange,
                     frame, names, port_please, read_all, run_cases,
                     wait_until)

PORT = int(sys.argv[1])
OTP = "--otp" in sys.argv[2:]
seq = [0]


def uniq(prefix):
    seq[0] += 1
    return "%s%d_%d" % (prefix, seq[0], int(time.time() * 1000) % 100000)


def still_serving():
    data, how = exchange(PORT, frame(b"n"))
    check(len(data) >= 4 and how == "eof", "NAMES after the case: %r %s"
          % (data, how))


def no_reply(data, what):
    reply, how = exchange(PORT, data)
    check(reply == b"", "%s: expected no reply, got %r" % (what, reply))
    check(how in ("eof", "reset"), "%s: connection not closed (%s)"
          % (what, how))
    still_serving()


def case_no_data():
    s = connect(PORT)
    s.close()
    still_serving()


def case_no_data_times_out():
    s = connect(PORT)
    reply, how = read_all(s)  # epmd runs with -packet_timeout 2
    s.close()
    check(reply == b"" and how in ("eof", "reset"),
          "idle connection: %r %s" % (reply, how))


def case_one_byte():
    no_reply(b"\x00", "one byte then close")


def case_one_byte_slow_client_times_out():
    s = connect(PORT)
    s.sendall(b"\x00")
    reply, how = read_all(s)
    s.close()
    check(reply == b"" and how in ("eof", "reset"),
          "slow client past -packet_timeout: %r %s" % (reply, how))


def case_two_bytes():
    no_reply(b"\x00\x05", "header only then close")


def case_partial_packet():
    no_reply(b"\x00\x0azab", "partial packet then close")


def case_partial_then_completed():
    name = uniq("part")
    a = Alive(PORT, name, port=4242)
    check(a.ok, "register")
    s = connect(PORT)
    req = frame(b"z" + name.encode())
    for i in range(len(req)):  # one byte at a time
        s.sendall(req[i:i + 1])
        time.sleep(0.02)
    reply, how = read_all(s)
    s.close()
    check(reply[:4] == b"w\x00\x10\x92", "byte-by-byte lookup: %r" % reply)
    a.close()


def case_zero_length():
    no_reply(b"\x00\x00", "zero length")


def case_too_large():
    no_reply(struct.pack(">H", 3058) + b"n" * 100, "length 3058")
    no_reply(b"\xff\xff" + b"n" * 100, "length 65535")


def case_largest_accepted():
    # 3057 is the largest length OTP processes; NAMES ignores the rest.
    s = connect(PORT)
    s.sendall(struct.pack(">H", 3057))
    time.sleep(0.05)
    s.sendall(b"n" * 3057)
    reply, how = read_all(s)
    s.close()
    check(len(reply) >= 4 and struct.unpack(">I", reply[:4])[0] == PORT,
          "length 3057: %r" % reply[:8])


def case_excess_in_first_read():
    no_reply(frame(b"n") + frame(b"n"), "two requests in one write")


def case_unknown_types():
    for t in (b"a", b"p", b"Q", b"\x00", b"\xff", b"y"):
        no_reply(frame(t + b"foo"), "type %r" % t)


def case_alive2_short():
    no_reply(frame(b"x"), "ALIVE2 tag only")
    no_reply(frame(alive2_payload("")), "ALIVE2 of 13 bytes")
    no_reply(frame(alive2_payload("abc", nlen=50)), "name length past end")
    no_reply(frame(alive2_payload("abc", extra=b"e", elen=9)),
             "extra length past end")


def case_name_with_nul_inside():
    no_reply(frame(alive2_payload(b"ab\x00cd")), "NUL inside name")
    no_reply(frame(b"z" + b"ab\x00cd"), "NUL inside lookup name")


def case_name_nul_terminated():
    no_reply(frame(alive2_payload(b"abcd\x00")), "NUL-terminated ALIVE2")


def case_register_lookup_names_free_again():
    name = uniq("life")
    a = Alive(PORT, name, port=5555, extra=b"")
    check(a.ok and a.reply[:1] == b"v", "ALIVE2_X_RESP ok: %r" % a.reply)
    c1 = a.creation
    # A new name's creation is seeded from the clock (OTP: time + 1).
    check(abs(c1 - time.time()) < 24 * 3600,
          "creation %d seeded from the clock (%d)" % (c1, time.time()))
    info = port_please(PORT, name)
    check(info is not None and info["port"] == 5555, "lookup %r" % info)
    check(info["extra"] == b"", "empty extra returned: %r" % info["extra"])
    check(info["high"] == 6 and info["low"] == 5 and info["type"] == 77,
          "fields %r" % info)
    check((name.encode(), 5555) in names(PORT)[1], "in NAMES")
    a.close()
    wait_until(lambda: port_please(PORT, name) is None, "name freed")
    check((name.encode(), 5555) not in names(PORT)[1], "gone from NAMES")
    b = Alive(PORT, name, port=5556)
    check(b.ok, "registered again")
    check(b.creation == c1 + 1, "creation %d after %d" % (b.creation, c1))
    b.close()


def case_lookup_with_trailing_nul():
    name = uniq("tnul")
    a = Alive(PORT, name, port=6001)
    data, how = exchange(PORT, frame(b"z" + name.encode() + b"\x00"))
    check(data[:4] == b"w\x00\x17\x71", "lookup with NUL: %r" % data)
    a.close()


def case_not_found():
    check(port_please(PORT, uniq("nobody")) is None, "not found")


def case_extra_intact():
    name = uniq("extra")
    extra = bytes(range(256)) * 3 + b"\x00end"
    a = Alive(PORT, name, port=7001, extra=extra, ntype=72, proto=9,
              high=7, low=1)
    check(a.ok, "register with extra")
    info = port_please(PORT, name)
    check(info["extra"] == extra, "extra returned intact")
    check(info["type"] == 72 and info["proto"] == 9 and info["high"] == 7
          and info["low"] == 1, "fields stored verbatim %r" % info)
    a.close()


def case_extra_limits():
    ok = Alive(PORT, uniq("e1020"), extra=b"e" * 1020)
    check(ok.ok, "extra of 1020 bytes accepted")
    bad = Alive(PORT, uniq("e1021"), extra=b"e" * 1021)
    check(bad.reply == b"v\x01\x00\x00\x00\x63",
          "extra of 1021 refused: %r" % bad.reply)
    ok.close()
    bad.close()


def case_trailing_after_extra():
    name = uniq("trail")
    s = connect(PORT)
    s.sendall(frame(alive2_payload(name, extra=b"ee") + b"TRAILING"))
    r = s.recv(6)
    check(r[:2] == b"v\x00", "trailing bytes ignored: %r" % r)
    check(port_please(PORT, name)["extra"] == b"ee", "extra without trail")
    s.close()


def case_bytes_after_alive2_packet():
    # Header first, then the body with bytes beyond the packet: OTP reads
    # only the packet, finds the rest on the registration socket and
    # unregisters.
    name = uniq("after")
    s = connect(PORT)
    pkt = frame(alive2_payload(name))
    s.sendall(pkt[:2])
    time.sleep(0.1)
    s.sendall(pkt[2:] + b"JUNK")
    r = s.recv(6)
    check(r[:2] == b"v\x00", "registered first: %r" % r)
    wait_until(lambda: port_please(PORT, name) is None, "unregistered")
    s.close()


def case_old_version_reply():
    name = uniq("old")
    a = Alive(PORT, name, high=5, low=5)
    check(a.reply[:2] == b"y\x00" and len(a.reply) == 4,
          "ALIVE2_RESP for high 5: %r" % a.reply)
    check(1 <= a.creation <= 3, "creation 1..3: %d" % a.creation)
    a.close()


def case_duplicate_refused_socket_kept():
    name = uniq("dup")
    a = Alive(PORT, name, port=8001)
    b = Alive(PORT, name, port=8002)
    check(b.reply == b"v\x01\x00\x00\x00\x63", "duplicate: %r" % b.reply)
    c = Alive(PORT, name, port=8003, high=5)
    check(c.reply == b"y\x01\x00\x63", "duplicate, old: %r" % c.reply)
    check(not b.closed_by_server(0.5), "refused socket kept open")
    check(port_please(PORT, name)["port"] == 8001, "first holder kept")
    b.close()
    c.close()
    time.sleep(0.2)
    check(port_please(PORT, name)["port"] == 8001, "holder survives")
    a.close()


def case_byte_on_alive_socket_unregisters():
    name = uniq("byte")
    a = Alive(PORT, name)
    a.sock.sendall(b"?")
    check(a.closed_by_server(), "server closes the registration")
    check(port_please(PORT, name) is None, "unregistered")


def case_unicode_names():
    n255 = "\u00e5" * 255 + ""  # 255 two-byte characters
    n254 = "\u00e4" * 254
    a = Alive(PORT, n255, port=9255)
    check(a.ok, "255 characters accepted: %r" % a.reply)
    b = Alive(PORT, n254, port=9254)
    check(b.ok, "254 characters accepted")
    c = Alive(PORT, "\u00f6" * 256)
    check(c.reply[:2] == b"v\x01", "256 characters refused: %r" % c.reply)
    d = Alive(PORT, "\U0001F600" * 255, port=9256)
    check(d.ok, "255 four-byte characters (1020 bytes) accepted")
    e = Alive(PORT, b"a" * 1021)
    check(e.reply[:2] == b"v\x01", "1021 bytes refused")
    f = Alive(PORT, b"ab\xff")
    check(f.reply[:2] == b"v\x01", "invalid UTF-8 refused")
    g = Alive(PORT, b"\xed\xa0\x80x")
    check(g.reply[:2] == b"v\x01", "surrogate refused")
    check(port_please(PORT, n254)["port"] == 9254, "254 chars found")
    # OTP's lookup counts the terminating NUL: 255 characters cannot be
    # looked up, the connection is closed without a reply.
    no_reply(frame(b"z" + n255.encode()), "lookup of 255 characters")
    nm = [x for x, _ in names(PORT)[1]]
    check(n255.encode() in nm and d.ok, "255 chars in NAMES")
    for x in (a, b, c, d, e, f, g):
        x.close()


def case_names_newest_first_and_port():
    n1, n2 = uniq("first"), uniq("second")
    a = Alive(PORT, n1, port=1001)
    b = Alive(PORT, n2, port=1002)
    p, lst = names(PORT)
    check(p == PORT, "NAMES port field %d" % p)
    check((n1.encode(), 1001) in lst and (n2.encode(), 1002) in lst,
          "both listed: %r" % lst)
    order = [n for n, _ in lst]
    check(order.index(n2.encode()) < order.index(n1.encode()),
          "newest first: %r" % lst)
    a.close()
    b.close()


def case_dump():
    name = uniq("dump")
    a = Alive(PORT, name, port=2001)
    data, how = exchange(PORT, frame(b"d"))
    check(struct.unpack(">I", data[:4])[0] == PORT, "DUMP port")
    line = b"active name     <" + name.encode() + b"> at port 2001, fd = "
    check(line in data, "DUMP active line in %r" % data[:200])
    i = data.index(line)
    check(data[i:].split(b"\n", 1)[1][:1] == b"\x00", "NUL after line")
    a.close()
    wait_until(lambda: port_please(PORT, name) is None, "unregistered")
    data, how = exchange(PORT, frame(b"d"))
    check(b"old/unused name <" + name.encode() + b">, port = 2001, fd = "
          in data, "DUMP old line")


def case_stop():
    name = uniq("stop")
    a = Alive(PORT, name)
    data, how = exchange(PORT, frame(b"s" + name.encode()))
    check(data == b"STOPPED", "STOP known: %r" % data)
    check(a.closed_by_server(), "registration closed by STOP")
    check(port_please(PORT, name) is None, "stopped name gone")
    data, how = exchange(PORT, frame(b"s" + b"no_such_name"))
    check(data == b"NOEXISTSTOPPED", "STOP unknown: %r" % data)
    no_reply(frame(b"s"), "STOP without a name")


def case_reset_before_reply():
    # Send ALIVE2 and reset at once: whatever the server managed, the name
    # must end up free.
    name = uniq("reset")
    s = connect(PORT)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.sendall(frame(alive2_payload(name)))
    s.close()
    wait_until(lambda: port_please(PORT, name) is None and
               name.encode() not in [n for n, _ in names(PORT)[1]],
               "name free after reset")
    a = Alive(PORT, name)
    check(a.ok, "name registrable after reset")
    a.close()


def case_many_registrations():
    regs = []
    base = uniq("many")
    for i in range(1100):
        a = Alive(PORT, "%s_%d" % (base, i), port=20000 + i)
        check(a.ok, "registration %d: %r" % (i, a.reply))
        regs.append(a)
    lst = names(PORT)[1]
    got = set(n for n, _ in lst)
    for i in range(1100):
        check(("%s_%d" % (base, i)).encode() in got, "name %d in NAMES" % i)
    for i in (0, 1, 499, 1098, 1099):
        info = port_please(PORT, "%s_%d" % (base, i))
        check(info and info["port"] == 20000 + i, "lookup %d" % i)
    for a in regs:
        a.close()
    wait_until(lambda: port_please(PORT, "%s_%d" % (base, 1099)) is None,
               "all unregistered")


CASES = [
    ("no data", case_no_data),
    ("no data, idle past -packet_timeout", case_no_data_times_out),
    ("one byte", case_one_byte),
    ("one byte, slow client past -packet_timeout",
     case_one_byte_slow_client_times_out),
    ("two bytes", case_two_bytes),
    ("partial packet", case_partial_packet),
    ("partial packet completed byte by byte", case_partial_then_completed),
    ("zero length", case_zero_length),
    ("too large", case_too_large),
    ("largest accepted length 3057", case_largest_accepted),
    ("excess bytes with the header", case_excess_in_first_read),
    ("unknown and removed request types", case_unknown_types),
    ("ALIVE2 too short or bad lengths", case_alive2_short),
    ("name with NUL inside", case_name_with_nul_inside),
    ("NUL-terminated name", case_name_nul_terminated),
    ("register, look up, free again on close",
     case_register_lookup_names_free_again),
    ("lookup with a trailing NUL", case_lookup_with_trailing_nul),
    ("lookup of an unknown name", case_not_found),
    ("extra field returned intact", case_extra_intact),
    ("extra field limits", case_extra_limits),
    ("bytes after extra ignored", case_trailing_after_extra),
    ("bytes after the ALIVE2 packet unregister",
     case_bytes_after_alive2_packet),
    ("ALIVE2_RESP for highest version 5", case_old_version_reply),
    ("duplicate refused, socket kept", case_duplicate_refused_socket_kept),
    ("a byte on the ALIVE socket unregisters",
     case_byte_on_alive_socket_unregisters),
    ("long unicode names", case_unicode_names),
    ("NAMES newest first with our port", case_names_newest_first_and_port),
    ("DUMP", case_dump),
    ("STOP", case_stop),
    ("reset before the ALIVE2 reply", case_reset_before_reply),
]
if not OTP:
    CASES.append(("1,100 registrations at once", case_many_registrations))

run_cases(CASES)
