#!/usr/bin/env bash
# The main job: our epmd as a daemon, then the gateway in the foreground,
# with an echo mailbox, the seeds' recorder and a printing inbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/bin
host=$(hostname -s)
"$bin/epmd" -daemon
for _ in $(seq 50); do "$bin/epmd" -names >/dev/null 2>&1 && break; sleep 0.1; done
"$bin/epmd" -names
cat <<TXT
Ping the gateway from Erlang (same cookie as ~/.erlang.cookie):
  erl -sname a -eval "io:format(\"~p~n\", [net_adm:ping('gw@$host')])"
Or from the shell:  $bin/distgw ping gw@$host
TXT
exec "$bin/distgw" serve -sname gw -echo echo -recorder msg -mailbox inbox \
  -print "$@"
