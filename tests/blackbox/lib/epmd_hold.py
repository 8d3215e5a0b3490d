"""Register names with an epmd and hold the registrations until killed.

usage: epmd_hold.py PORT [HOST] NAME[=NODEPORT]...
Prints "ready" once every registration was accepted; exits 1 otherwise.
"""
import signal
import sys

from epmdlib import Alive

port = int(sys.argv[1])
args = sys.argv[2:]
host = "127.0.0.1"
if args and (args[0][0].isdigit() or ":" in args[0]) and "=" not in args[0]:
    host = args.pop(0)
held = []
for i, a in enumerate(args):
    name, _, p = a.partition("=")
    reg = Alive(port, name, host=host, port=int(p) if p else 30000 + i)
    if not reg.ok:
        print("refused: %s %r" % (name, reg.reply), flush=True)
        sys.exit(1)
    held.append(reg)
print("ready", flush=True)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    signal.pause()
