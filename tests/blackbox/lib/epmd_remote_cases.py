"""Cases run from a non-loopback peer (inside a network namespace).

usage: epmd_remote_cases.py HOST PORT
Local-only requests must be closed without a reply; NAMES and
PORT_PLEASE2 must be answered.
"""
import sys

from epmdlib import (Alive, check, exchange, frame, names, port_please,
                     run_cases)

HOST, PORT = sys.argv[1], int(sys.argv[2])


def refused(payload, what):
    data, how = exchange(PORT, frame(payload), HOST)
    check(data == b"" and how in ("eof", "reset"),
          "%s from a remote peer: %r (%s)" % (what, data, how))


def case_alive2():
    a = Alive(PORT, "remote_node", host=HOST)
    check(a.reply == b"", "ALIVE2 answered: %r" % a.reply)
    check(a.closed_by_server(), "ALIVE2 connection closed")
    check(port_please(PORT, "remote_node", HOST) is None, "not registered")


def case_kill():
    refused(b"k", "KILL_REQ")


def case_stop():
    refused(b"slocal_node", "STOP_REQ")


def case_dump():
    refused(b"d", "DUMP_REQ")


def case_names_and_lookup():
    p, lst = names(PORT, HOST)
    check(p == PORT and (b"local_node", 41000) in lst, "NAMES %r" % lst)
    info = port_please(PORT, "local_node", HOST)
    check(info is not None and info["port"] == 41000, "lookup %r" % info)


run_cases([
    ("ALIVE2_REQ refused", case_alive2),
    ("KILL_REQ refused", case_kill),
    ("STOP_REQ refused", case_stop),
    ("DUMP_REQ refused", case_dump),
    ("NAMES and PORT_PLEASE2 answered", case_names_and_lookup),
])
