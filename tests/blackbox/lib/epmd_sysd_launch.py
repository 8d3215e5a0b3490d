"""Start epmd the way systemd's socket activation does, without systemd.

usage: epmd_sysd_launch.py PORT NOTIFY_PATH EPMD [ARGS...]
Binds 127.0.0.1:PORT, passes it as fd 3 with LISTEN_FDS=1 and LISTEN_PID
set to epmd's own PID, listens on NOTIFY_PATH as NOTIFY_SOCKET, prints
every notification it gets (one per line, newlines as '|'), and exits
when epmd does, with its status.
"""
import os
import socket
import sys

port, notify, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("127.0.0.1", port))
lsock.listen(128)
nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
nsock.bind(notify)

pid = os.fork()
if pid == 0:
    os.dup2(lsock.fileno(), 3)
    os.set_inheritable(3, True)
    env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()),
               NOTIFY_SOCKET=notify)
    os.execve(argv[0], argv, env)
lsock.close()
print("pid %d" % pid, flush=True)
nsock.settimeout(0.2)
while True:
    try:
        msg = nsock.recv(4096)
        print("notify " + msg.decode().replace("\n", "|"), flush=True)
    except socket.timeout:
        pass
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        sys.exit(os.waitstatus_to_exitcode(status))
