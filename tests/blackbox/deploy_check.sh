#!/bin/bash
# What deploy/ ships, checked as far as this machine can without a
# Docker engine or systemd as PID 1:
# - the Dockerfiles' statements (multi-stage, non-root, exec forms, the
#   health check by our own binary, no `apk add erlang`) and the stack
#   file's fields (dnsrr, 9100-9200, tasks.<service>, a hostname per
#   slot, the msg process), by tests/blackbox/lib/deploy_check.py;
# - the build stage's RUN, on a copy of exactly what it COPYs;
# - the runtime stage: the binaries that build made, with only the
#   libraries ldd lists (each from a package the stage installs), in a
#   root with no shell, run as the image's user with the image's
#   ENTRYPOINT and CMD as PID 1 of its own PID, network and UTS
#   namespaces, like a container: it starts its epmd, the HEALTHCHECK's
#   command answers pong (and not with a wrong cookie), it reaps a
#   killed child, and SIGTERM stops it;
# - the node image: its RUN applied to a copy of Debian 12's OTP 25, erl
#   with the stack's node command starts our epmd, registers, and its
#   msg process answers;
# - the systemd units: systemd-analyze verify (which must also notice a
#   broken copy), then epmd.service's command on epmd.socket's sockets
#   (systemd-socket-activate) and distgw.service's command against it.
# usage: deploy_check.sh BIN_DIR
set -u
BIN=$(cd "${1:?usage: $0 BIN_DIR}" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
DEPLOY=$SRC/deploy
PY=${PYTHON:-python3}

# shellcheck source=../../interop/lib/checks.sh
. "$SRC/interop/lib/checks.sh"
skip() {
    echo "SKIP $*"
}

TMP=$(mktemp -d /tmp/deploy_check.XXXXXX)
NS=dck$$
NS2=dck$$n
ETC_NETNS_MADE=
[ -d /etc/netns ] || ETC_NETNS_MADE=1
PIDS=()
cleanup() {
    local p ns
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    for ns in "$NS" "$NS2"; do
        # erl's epmd -daemon detaches: whatever is left in our namespaces.
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p"; done
        ip netns del "$ns" 2>/dev/null
        rm -rf "/etc/netns/$ns"
    done
    [ -n "$ETC_NETNS_MADE" ] && rmdir /etc/netns 2>/dev/null
    [ "$FAILED" -eq 0 ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'fail "interrupted"; end' INT TERM
cd "$TMP" || exit 1

# py CHECK ARGS...: run one of deploy_check.py's checks, count its lines.
py() {
    local rc line
    DEPLOY_OUT=$TMP "$PY" "$HERE/lib/deploy_check.py" "$@" >"$TMP/py.out" 2>&1
    rc=$?
    while IFS= read -r line; do
        case $line in
        PASS\ *) pass "${line#PASS }" ;;
        FAIL\ *) fail "${line#FAIL }" ;;
        *) echo "$line" ;;
        esac
    done <"$TMP/py.out"
    if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$TMP/py.out"; then
        fail "deploy_check.py $1 exited $rc"
    fi
}

# --- statements ------------------------------------------------------------
py dockerfile "$DEPLOY/Dockerfile" "$TMP"
py node "$DEPLOY/swarm/node.Dockerfile" "$(cat "$TMP/runtime_base" 2>/dev/null)"
py stack "$DEPLOY/swarm/stack.yml"
py units "$DEPLOY/systemd"

# --- the build stage ---------------------------------------------------------
# Its RUN on exactly what it COPYs (a clean build context), with /out
# in our temp dir.
mkdir -p "$TMP/ctx/src"
copied=1
while IFS= read -r p; do
    cp -r "$SRC/$p" "$TMP/ctx/src/" || copied=0
done <"$TMP/copies"
if [ "$copied" -eq 1 ] && [ -s "$TMP/build.sh" ] &&
    (cd "$TMP/ctx/src" &&
        sh -ec "$(sed "s|/out|$TMP/out|g" "$TMP/build.sh")") >"$TMP/build.log" 2>&1 &&
    [ -x "$TMP/out/distgw" ] && [ -x "$TMP/out/epmd" ]; then
    pass "the build stage's RUN builds $(cd "$TMP/out" && echo *) from only what it COPYs"
    OUT=$TMP/out
else
    fail "the build stage's RUN (on $(tr '\n' ' ' <"$TMP/copies")):"
    tail -n 20 "$TMP/build.log"
    OUT=$BIN
fi

# --- the runtime stage in a root of its own ----------------------------------
ROOT=$TMP/root
USR=$(cat "$TMP/user")
UID_=$(cat "$TMP/uid")
mkdir -p "$ROOT/usr/local/bin" "$ROOT/etc" "$ROOT/proc" "$ROOT/tmp" \
    "$ROOT/var/lib/$USR"
chmod 1777 "$ROOT/tmp"
# What a container runtime always gives: /dev/null (epmd -daemon needs it).
mkdir -p "$ROOT/dev" && mknod -m 666 "$ROOT/dev/null" c 1 3
cp "$OUT"/* "$ROOT/usr/local/bin/"
libs_ok=1
missing=""
for b in "$ROOT"/usr/local/bin/*; do
    for lib in $(ldd "$b" | awk '/=> \// {print $3} /^\t\// {print $1}'); do
        mkdir -p "$ROOT$(dirname "$lib")"
        cp -L "$lib" "$ROOT$lib" || libs_ok=0
        # The package it comes from must be one the runtime stage
        # installs (libc6 is in the base image).
        if command -v dpkg >/dev/null 2>&1; then
            pkg=$(dpkg -S "*/$(basename "$lib")" 2>/dev/null | head -n 1 | cut -d: -f1)
            if [ "$pkg" != libc6 ] && ! grep -qx "$pkg" "$TMP/packages"; then
                missing="$missing $(basename "$lib")($pkg)"
            fi
        fi
    done
done
if ! command -v dpkg >/dev/null 2>&1; then
    skip "no dpkg: the runtime stage's packages not matched to ldd"
elif [ -z "$missing" ]; then
    pass "every library ldd lists comes from a package the runtime stage installs ($(tr '\n' ' ' <"$TMP/packages"))"
else
    fail "libraries the runtime stage does not install:$missing"
fi
# The node image's epmd, likewise.
if command -v dpkg >/dev/null 2>&1; then
    missing=""
    for lib in $(ldd "$OUT/epmd" | awk '/=> \// {print $3}'); do
        pkg=$(dpkg -S "*/$(basename "$lib")" 2>/dev/null | head -n 1 | cut -d: -f1)
        if [ "$pkg" != libc6 ] && ! grep -qx "$pkg" "$TMP/node.packages"; then
            missing="$missing $(basename "$lib")($pkg)"
        fi
    done
    if [ -z "$missing" ]; then
        pass "node.Dockerfile installs every library our epmd links"
    else
        fail "node.Dockerfile lacks libraries for epmd:$missing"
    fi
fi
echo "$USR:x:$UID_:$UID_::/var/lib/$USR:/usr/sbin/nologin" >"$ROOT/etc/passwd"
echo "$USR:x:$UID_:" >"$ROOT/etc/group"
printf '127.0.0.1 localhost\n127.0.1.1 ctr\n' >"$ROOT/etc/hosts"
chown "$UID_:$UID_" "$ROOT/var/lib/$USR"
if [ "$libs_ok" -eq 1 ] && [ ! -e "$ROOT/bin/sh" ] && [ ! -e "$ROOT/usr/bin/sh" ] &&
    chroot --userspec="$UID_:$UID_" "$ROOT" /usr/local/bin/distgw -help >"$TMP/help" 2>&1 &&
    grep -q '^usage: distgw serve' "$TMP/help"; then
    pass "in a root with no shell, as $USR (uid $UID_): distgw -help"
else
    fail "distgw -help in the root: $(cat "$TMP/help")"
fi
out=$(unshare --net chroot --userspec="$UID_:$UID_" "$ROOT" /usr/local/bin/epmd -names 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && [ "$out" = "epmd: Cannot connect to local epmd" ]; then
    pass "epmd -names with no epmd: '$out', exit 1"
else
    fail "epmd -names with no epmd (rc $rc): $out"
fi

# The container: ENTRYPOINT + CMD as PID 1, with the image's ENV and a
# cookie as `docker run -e` would give it.
COOKIE=dck$$
mapfile -t ENVV <"$TMP/env"
mapfile -t ARGV < <(cat "$TMP/entrypoint" "$TMP/cmd")
mapfile -t HCMD <"$TMP/healthcheck"
CHROOT=$(command -v chroot)
CENV=(PATH=/usr/local/bin HOME="/var/lib/$USR" ERLANG_COOKIE="$COOKIE" "${ENVV[@]}")
# shellcheck disable=SC2016 # expanded by the inner sh
unshare --net --uts --pid --mount --fork --kill-child sh -c '
    root=$1; shift
    ip link set lo up && hostname ctr && mount -t proc proc "$root/proc" &&
        exec "$@"' sh "$ROOT" env -i "${CENV[@]}" \
    "$CHROOT" --userspec="$UID_:$UID_" "$ROOT" "${ARGV[@]}" >"$TMP/ctr.log" 2>&1 &
UPID=$!
PIDS+=("$UPID")
CPID=
for _ in $(seq 1 50); do
    CPID=$(awk '{print $1}' "/proc/$UPID/task/$UPID/children" 2>/dev/null)
    [ -n "$CPID" ] && [ "$(cat "/proc/$CPID/comm" 2>/dev/null)" = distgw ] && break
    sleep 0.1
done
inctr() { # run in the container's namespaces and root, as its user
    nsenter -t "$CPID" --net --uts env -i "$@"
}
for _ in $(seq 1 100); do
    grep -q 'listening on port' "$TMP/ctr.log" && break
    sleep 0.1
done
UP=0
if [ -n "$CPID" ] && grep -q "^distgw: gw@ctr listening on port 9100\$" "$TMP/ctr.log" &&
    inctr "$CHROOT" --userspec="$UID_:$UID_" "$ROOT" /usr/local/bin/epmd -names |
    grep -q '^name gw at port 9100$'; then
    UP=1
    pass "the ENTRYPOINT as PID 1, as $USR: started its epmd, gw@ctr registered on 9100"
else
    fail "the container did not come up:"
    cat "$TMP/ctr.log"
fi
out=$(inctr "${CENV[@]}" "$CHROOT" --userspec="$UID_:$UID_" "$ROOT" "${HCMD[@]}" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && [ "$out" = pong ]; then
    pass "the HEALTHCHECK's command in the container: pong, exit 0 (${HCMD[*]})"
else
    fail "HEALTHCHECK (rc $rc): $out"
fi
out=$(inctr "${CENV[@]/ERLANG_COOKIE=*/ERLANG_COOKIE=wrong}" \
    "$CHROOT" --userspec="$UID_:$UID_" "$ROOT" "${HCMD[@]}" 2>&1)
rc=$?
if [ "$UP" -eq 1 ] && [ "$rc" -ne 0 ] && [ "${out##*$'\n'}" = pang ]; then
    pass "the HEALTHCHECK fails with a wrong cookie (exit $rc)"
else
    fail "HEALTHCHECK with a wrong cookie (rc $rc, container up: $UP): $out"
fi
# The epmd it started is its child (reparented to PID 1): killed, it is
# reaped, not left a zombie.
EPID=
[ -n "$CPID" ] || CPID=none
# shellcheck disable=SC2013 # PIDs, one word each
for p in $(cat /proc/"$CPID"/task/*/children 2>/dev/null); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = epmd ] && EPID=$p
done
if [ -n "$EPID" ]; then
    kill -KILL "$EPID"
    for _ in $(seq 1 30); do
        [ -e "/proc/$EPID" ] || break
        sleep 0.1
    done
    if [ ! -e "/proc/$EPID" ]; then
        pass "PID 1 reaps its children (its epmd, killed, is not left a zombie)"
    else
        fail "epmd $EPID left as: $(grep State "/proc/$EPID/status")"
    fi
else
    fail "no epmd among PID 1's children"
fi
kill -TERM "$CPID" 2>/dev/null
for _ in $(seq 1 50); do
    kill -0 "$UPID" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$UPID" 2>/dev/null; then
    fail "SIGTERM to PID 1: still running after 5 s"
else
    wait "$UPID"
    rc=$?
    if [ "$rc" -lt 128 ] && grep -q 'signal 15: stopping' "$TMP/ctr.log"; then
        pass "SIGTERM to PID 1: handled, it stops (exit $rc)"
    else
        fail "SIGTERM to PID 1: exit $rc"
        cat "$TMP/ctr.log"
    fi
fi

# --- the node image: its epmd in erl's place, the stack's command ---------------
# On a copy of this machine's OTP 25 (Debian 12's erlang-base, what the
# node image installs), the node image's RUN puts our epmd in erl's
# place; erl, given the stack's node command and no epmd running, starts
# it; msg answers as the seeds' did.
NI=$TMP/nodeimg
if command -v erl >/dev/null 2>&1 && [ -x /usr/lib/erlang/bin/erl ] &&
    [ -s "$TMP/node.link.sh" ] && [ -s "$TMP/node.cmd" ] &&
    ip netns add "$NS2" 2>/dev/null; then
    ip -n "$NS2" link set lo up
    mkdir -p "/etc/netns/$NS2" "$NI/usr/lib" "$NI/usr/local/bin"
    # As Docker writes it: the container's own line apart from localhost's.
    printf '127.0.0.1 localhost\n127.0.1.1 atomvm-1\n' >"/etc/netns/$NS2/hosts"
    cp -a /usr/lib/erlang "$NI/usr/lib/" && cp "$OUT/epmd" "$NI/usr/local/bin/epmd"
    sed -i "s|^\( *ROOTDIR=\)/usr/lib/erlang\$|\1$NI/usr/lib/erlang|" \
        "$NI/usr/lib/erlang/bin/erl" "$NI"/usr/lib/erlang/erts-*/bin/erl
    if sh -ec "$(sed "s|/usr/lib/erlang|$NI/usr/lib/erlang|g; s|/usr/local/bin/epmd|$NI/usr/local/bin/epmd|g" \
        "$TMP/node.link.sh")" >"$TMP/link.log" 2>&1 &&
        [ "$(readlink -f "$NI"/usr/lib/erlang/erts-*/bin/epmd)" = "$NI/usr/local/bin/epmd" ]; then
        pass "the node image's RUN links erl's epmd to ours"
    else
        fail "the node image's RUN: $(cat "$TMP/link.log")"
    fi
    mapfile -t NCMD < <(sed "s/^\${ERLANG_COOKIE:-[^}]*}\$/$COOKIE/" "$TMP/node.cmd")
    # shellcheck disable=SC2016 # expanded by the inner sh
    ip netns exec "$NS2" unshare --uts sh -c 'hostname atomvm-1 && exec "$@"' sh \
        "$NI/usr/lib/erlang/bin/erl" -noshell -noinput "${NCMD[@]}" >"$TMP/node.log" 2>&1 &
    PIDS+=("$!")
    mine=""
    for _ in $(seq 1 100); do
        for p in $(ip netns pids "$NS2"); do
            [ "$(readlink "/proc/$p/exe")" = "$NI/usr/local/bin/epmd" ] && mine=$p
        done
        [ -n "$mine" ] && ip netns exec "$NS2" "$OUT/epmd" -names 2>/dev/null |
            grep -q '^name atomvm_node at port 9[12][0-9][0-9]$' && break
        sleep 0.1
    done
    if [ -n "$mine" ] && ip netns exec "$NS2" "$OUT/epmd" -names 2>/dev/null |
        grep -q '^name atomvm_node at port 9[12][0-9][0-9]$'; then
        pass "erl with the stack's node command started our epmd (pid $mine) and registered atomvm_node on 9100-9200"
    else
        fail "erl did not start our epmd or register:"
        cat "$TMP/node.log"
    fi
    # shellcheck disable=SC2016 # expanded by the inner sh
    out=$(ip netns exec "$NS2" unshare --uts sh -c 'hostname atomvm-1 && exec "$@"' sh \
        timeout 60 erl -noshell -noinput -sname "probe$$" -setcookie "$COOKIE" \
        -start_epmd false -eval "
            N = 'atomvm_node@atomvm-1',
            Up = fun W(0) -> false; W(I) -> case net_adm:ping(N) of pong -> case rpc:call(N, erlang, whereis, [msg]) of P when is_pid(P) -> true; _ -> timer:sleep(200), W(I - 1) end; pang -> timer:sleep(200), W(I - 1) end end,
            Up(100),
            {msg, N} ! {send, self(), hello}, {msg, N} ! {send, self(), {two, 2}},
            {msg, N} ! {get, self()},
            receive R -> io:format(\"~w~n\", [R =:= {msgs, [{self(), hello}, {self(), {two, 2}}]}]) after 5000 -> io:format(\"timeout~n\") end,
            halt()." 2>&1)
    if [ "$out" = true ]; then
        pass "the stack's node: net_adm:ping pong; msg keeps {send, From, Content}, answers {get, Pid} with {msgs, List}"
    else
        fail "the stack's node command: $out"
        cat "$TMP/node.log"
    fi
else
    skip "no erl (Debian's erlang-base) or no network namespaces: the node image's epmd and command not run"
fi

# --- systemd units -----------------------------------------------------------
mkdir -p "$TMP/units"
for u in "$DEPLOY"/systemd/*; do
    sed "s|/usr/local/bin/|$BIN/|g" "$u" >"$TMP/units/$(basename "$u")"
done
if command -v systemd-analyze >/dev/null 2>&1; then
    (cd "$TMP/units" && systemd-analyze verify ./*.socket ./*.service) >"$TMP/verify" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ] && [ ! -s "$TMP/verify" ]; then
        pass "systemd-analyze verify: $(cd "$TMP/units" && echo *): nothing to say"
    else
        fail "systemd-analyze verify (rc $rc):"
        cat "$TMP/verify"
    fi
    # The same check on a broken copy must speak.
    mkdir -p "$TMP/broken"
    sed 's/^Type=notify$/Type=notify\nExecStartPre=nosuch-relative-path/' \
        "$TMP/units/epmd.service" >"$TMP/broken/epmd.service"
    cp "$TMP/units/epmd.socket" "$TMP/broken/"
    (cd "$TMP/broken" && systemd-analyze verify ./epmd.socket ./epmd.service) >"$TMP/verify2" 2>&1
    if [ -s "$TMP/verify2" ]; then
        pass "systemd-analyze verify notices a broken copy: $(head -n 1 "$TMP/verify2")"
    else
        fail "systemd-analyze verify says nothing of a broken unit"
    fi
else
    skip "no systemd-analyze: units checked statically only"
fi
if command -v systemd-socket-activate >/dev/null 2>&1 && ip netns add "$NS" 2>/dev/null; then
    ip -n "$NS" link set lo up
    mkdir -p "/etc/netns/$NS"
    printf '127.0.0.1 localhost ctr\n::1 localhost\n' >"/etc/netns/$NS/hosts"
    LS=()
    while IFS= read -r a; do LS+=(-l "$a"); done < <(sed -n 's/^ListenStream=//p' "$TMP/units/epmd.socket")
    read -r -a EXEC <<<"$(sed -n 's/^ExecStart=//p' "$TMP/units/epmd.service")"
    # shellcheck disable=SC2016 # expanded by the inner sh
    ip netns exec "$NS" unshare --uts sh -c 'hostname ctr && exec "$@"' sh \
        systemd-socket-activate "${LS[@]}" "${EXEC[@]}" >"$TMP/sysd.log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 1 50); do
        grep -q 'Listening on' "$TMP/sysd.log" && [ "$(grep -c 'Listening on' "$TMP/sysd.log")" -eq "${#LS[@]}" ] && break
        sleep 0.1
    done
    sleep 0.2
    out=$(ip netns exec "$NS" "$BIN/epmd" -names 2>&1)
    if [ "$out" = "epmd: up and running on port 4369 with data:" ]; then
        pass "epmd.service's command on epmd.socket's sockets (${LS[*]}): epmd -names answers"
    else
        fail "socket-activated epmd: $out"
        cat "$TMP/sysd.log"
    fi
    # distgw.service's command (continuation lines joined) against it.
    read -r -a GEXEC <<<"$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$TMP/units/distgw.service" | sed -n 's/^ExecStart=//p')"
    mkdir -p "$TMP/gwhome"
    # shellcheck disable=SC2016 # expanded by the inner sh
    ip netns exec "$NS" unshare --uts sh -c 'hostname ctr && exec "$@"' sh \
        env HOME="$TMP/gwhome" ERLANG_COOKIE="$COOKIE" "${GEXEC[@]}" >"$TMP/gwsvc.log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 1 50); do
        grep -q 'listening on port' "$TMP/gwsvc.log" && break
        sleep 0.1
    done
    # shellcheck disable=SC2016 # expanded by the inner sh
    out=$(ip netns exec "$NS" unshare --uts sh -c 'hostname ctr && exec "$@"' sh \
        env ERLANG_COOKIE="$COOKIE" "$BIN/distgw" ping -timeout 5 gw 2>&1)
    if [ "$out" = pong ] && ip netns exec "$NS" "$BIN/epmd" -names | grep -q '^name gw at port 9100$'; then
        pass "distgw.service's command registers with that epmd; distgw ping gw: pong"
    else
        fail "distgw.service's command: ping says '$out'"
        cat "$TMP/gwsvc.log"
    fi
else
    skip "no systemd-socket-activate or no network namespaces: units not run"
fi
end
