#!/bin/bash
# shellcheck disable=SC2317 # the predicates are called through wait_for
# Chaos on the simulated swarm (interop/lib/swarm.sh): five hosts h1..h5
# with our epmd and an OTP 25 node each (the seeds' flags and a msg
# process that journals, then acks, every message), a gateway host hg
# running `distgw serve -discover tasks.svc -recorder msg`, and a test
# host hc whose hidden node `ctl` sends a sequence-numbered message to
# every msg process every 50 ms and counts the acks. For a bounded
# number of rounds it SIGKILLs a victim chosen by a seeded RNG (each
# block of three rounds has one OTP node, one epmd and the gateway, in
# random order, on random hosts; an epmd may be the gateway host's), in some rounds also unplugs a host's
# link for two seconds, and brings the victim back as Swarm's restart
# policy would (same host, same hostname, same command). Every round
# checks: while the victim is down the other nodes answer `distgw ping`;
# after the restart the name is back in its host's EPMD and answers
# `distgw ping` within $BOUND s (the time to recover); every node pongs
# every other; every message ctl saw acked is in its node's journal
# exactly once; the gateway reconnects to all nodes. At the end every
# msg's {get, Pid} answer matches its journal; after every round no
# epmd, gateway or dnsmasq has grown past 2x its size after its first
# round (+1 MB); a table is printed; lost must be 0.
# usage: chaos.sh [--long] BIN_DIR   (CHAOS_ROUNDS=N, CHAOS_SEED=S)
set -u
ROUNDS=${CHAOS_ROUNDS:-6}
if [ "${1:-}" = --long ]; then
    ROUNDS=${CHAOS_ROUNDS:-60}
    shift
fi
BIN=$(cd "${1:?usage: $0 [--long] BIN_DIR}" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/swarm.sh
. "$HERE/lib/swarm.sh"

N=5
BOUND=10 # seconds a restarted name may take to be back and answer
SEED=${CHAOS_SEED:-$(($(date +%s) % 100000))}
RANDOM=$SEED

sw_require

sw_start chaos
cd "$TMP" || exit 1
export ERL_CRASH_DUMP=$TMP/erl_crash.dump
echo "chaos: $ROUNDS rounds, seed $SEED (CHAOS_SEED=$SEED to replay)"

COOKIE=chaos$$
declare -A PID RSS0 RSSN
ms() { echo $(($(date +%s%N) / 1000000)); }

# --- the swarm -----------------------------------------------------------
sw_swarm "$N" "$TMP" || end
PID[dnsmasq]=$SW_LAST

# The commands Swarm would restart, by victim.
start_epmd() { # HOST
    sw_bg "$1" "$TMP/epmd.$1.log" "$BIN/epmd"
    PID[epmd.$1]=$SW_LAST
}
start_node() { # I
    sw_bg "h$1" "$TMP/atomvm_node$1.log" erl -noshell -noinput \
        -sname "atomvm_node$1" -setcookie "$COOKIE" -start_epmd false \
        -kernel inet_dist_listen_min 9100 -kernel inet_dist_listen_max 9200 \
        -pa "$TMP" -run swarm_msg start "$TMP/journal.h$1"
    PID[node.h$1]=$SW_LAST
}
start_gw() {
    sw_bg hg "$TMP/gw.log" "$BIN/distgw" serve -sname gw -setcookie "$COOKIE" \
        -recorder msg -discover tasks.svc -discover-interval 2 \
        -start_epmd false -http off -d
    PID[gw]=$SW_LAST
}
for h in $(seq -f 'h%g' 1 "$N") hg hc; do start_epmd "$h"; done
sleep 0.3
for i in $(seq 1 "$N"); do start_node "$i"; done

# registered HOST NAME: NAME is in HOST's EPMD.
registered() {
    sw_run "$1" "$BIN/epmd" -names 2>/dev/null | grep -q "^name $2 at port "
}
# answers NODE: `distgw ping NODE` from hc says pong.
answers() {
    [ "$(sw_run hc timeout 8 "$BIN/distgw" ping -setcookie "$COOKIE" \
        -timeout 5 "$1" 2>/dev/null)" = pong ]
}
# has_msg I: node I's msg process is registered.
has_msg() {
    sw_run hc timeout 8 "$BIN/distgw" rpc -setcookie "$COOKIE" -timeout 5 \
        "atomvm_node$1@h$1" erlang whereis '[msg]' 2>/dev/null | grep -q '^<'
}
node_up() { # I
    registered "h$1" "atomvm_node$1" && answers "atomvm_node$1@h$1" && has_msg "$1"
}
gw_conns() { # connections the gateway logged since line $1
    tail -n +"$1" "$TMP/gw.log" | grep -o 'connected to atomvm_node[0-9]*@h[0-9]* .*found by discover' |
        awk '{print $3}' | sort -u | wc -l
}
gw_reconnected() { # LINE NODE: the gateway connected to NODE since LINE
    tail -n +"$1" "$TMP/gw.log" | grep -q "connected to $2 "
}
gw_registered() { # the gateway is in hg's EPMD again and answers
    registered hg gw && answers gw@hg
}
gw_up() { # LINE: registered, answers, connected to all nodes since LINE
    registered hg gw && answers gw@hg && [ "$(gw_conns "$1")" -eq "$N" ]
}
# wait_for SECONDS CMD...: poll CMD until true; the ms it took in WAITED.
wait_for() {
    local limit=$(($(ms) + $1 * 1000)) t0
    t0=$(ms)
    shift
    while ! "$@"; do
        if [ "$(ms)" -ge "$limit" ]; then
            WAITED=$(($(ms) - t0))
            return 1
        fi
        sleep 0.05
    done
    WAITED=$(($(ms) - t0))
}

all_nodes_up() {
    local i
    for i in $(seq 1 "$N"); do node_up "$i" || return 1; done
}
if wait_for 30 all_nodes_up; then
    pass "$N OTP nodes up: registered with our epmd, answering, msg registered"
else
    fail "OTP nodes did not come up"
    end
fi
: >"$TMP/gw.log"
start_gw
if wait_for 20 gw_up 1; then
    pass "gateway up on hg, connected to all $N through tasks.svc"
else
    fail "gateway did not come up"
    cat "$TMP/gw.log"
    end
fi

targets=()
for i in $(seq 1 "$N"); do targets+=("atomvm_node$i@h$i=$TMP/journal.h$i"); done
sw_bg hc "$TMP/ctl.log" erl -noshell -noinput -sname ctl -hidden \
    -setcookie "$COOKIE" -start_epmd false -pa "$TMP" \
    -run swarm_msg chaos "$TMP" 50 "${targets[@]}"
PID[ctl]=$SW_LAST
sleep 2

# --- rounds -------------------------------------------------------------------
declare -A KILLS=([node]=0 [epmd]=0 [gateway]=0 [link]=0)
RECOVERED=0
TIMES=()
kinds=()
NCOUNT=0
counts() { # ARRAY: the acks so far per node, in node order, into ARRAY
    NCOUNT=$((NCOUNT + 1))
    touch "$TMP/count.$NCOUNT"
    wait_for 10 test -e "$TMP/count.$NCOUNT.out"
    read -r -a "$1" <"$TMP/count.$NCOUNT.out"
}
sample_rss() { # the epmds', the gateway's and dnsmasq's RSS, baseline per PID
    local k p r
    for k in epmd.h1 epmd.h2 epmd.h3 epmd.h4 epmd.h5 epmd.hg epmd.hc gw dnsmasq; do
        p=${PID[$k]}
        r=$(sw_rss "$p")
        [ -n "$r" ] || continue
        [ -n "${RSS0[$k.$p]:-}" ] || RSS0[$k.$p]=$r
        RSSN[$k.$p]=$r
    done
}
for r in $(seq 1 "$ROUNDS"); do
    if [ "${#kinds[@]}" -eq 0 ]; then
        # A block of three rounds: each kind once, in a random order.
        kinds=(node epmd gateway)
        for i in 2 1; do
            j=$((RANDOM % (i + 1)))
            t=${kinds[$i]}
            kinds[i]=${kinds[$j]}
            kinds[j]=$t
        done
    fi
    kind=${kinds[0]}
    kinds=("${kinds[@]:1}")
    vi=$((RANDOM % N + 1))
    case $kind in
    node) victim="atomvm_node$vi@h$vi" vp=${PID[node.h$vi]} ;;
    epmd)
        # The gateway's host too: distgw must register again.
        vi=$((RANDOM % (N + 1) + 1))
        vh=h$vi
        [ "$vi" -gt "$N" ] && vh=hg
        victim="epmd on $vh" vp=${PID[epmd.$vh]}
        ;;
    gateway) victim="gw@hg" vp=${PID[gw]} ;;
    esac
    cut=""
    if [ $((RANDOM % 2)) -eq 0 ]; then
        ci=$((RANDOM % (N + 1) + 1))
        if [ "$ci" -gt "$N" ]; then cut=hg; else cut=h$ci; fi
    fi
    down_ms=$((500 + RANDOM % 1500))
    echo "round $r: SIGKILL $kind $victim (pid $vp), down ${down_ms} ms${cut:+, link of $cut cut 2 s}"
    gwline=$(($(wc -l <"$TMP/gw.log") + 1))
    sw_kill "$vp" KILL
    KILLS[$kind]=$((KILLS[$kind] + 1))
    if [ -n "$cut" ]; then
        sw_link "$cut" down
        KILLS[link]=$((KILLS[link] + 1))
    fi
    counts c0
    # While it is down, the nodes it does not take with it still answer
    # (those on a cut host cannot, until it is plugged in again).
    survivors_ok=1
    for i in $(seq 1 "$N"); do
        # A node whose host lost its epmd cannot be looked up until the
        # epmd is back: not a survivor for new connections.
        [ "$kind" != gateway ] && [ "$i" -eq "$vi" ] && continue
        [ "$cut" = "h$i" ] && continue
        answers "atomvm_node$i@h$i" || {
            survivors_ok=0
            echo "  atomvm_node$i@h$i does not answer"
        }
    done
    [ "$survivors_ok" -eq 1 ] && pass "round $r: with $victim down, the others answer"
    [ "$survivors_ok" -eq 1 ] || fail "round $r: survivors"
    sleep "$(printf '%d.%03d' $((down_ms / 1000)) $((down_ms % 1000)))"
    # And their msg processes kept acking over the connections they had
    # (the node whose epmd died too: a running connection needs none).
    counts c1
    stalled=""
    for i in $(seq 1 "$N"); do
        [ "$kind" = node ] && [ "$i" -eq "$vi" ] && continue
        [ "$cut" = "h$i" ] && continue
        [ "${c1[$((i - 1))]:-0}" -gt "${c0[$((i - 1))]:-0}" ] ||
            stalled="$stalled atomvm_node$i(${c0[$((i - 1))]:-?}->${c1[$((i - 1))]:-?})"
    done
    if [ -z "$stalled" ]; then
        pass "round $r: while it was down the others kept acking (${c0[*]} -> ${c1[*]})"
    else
        fail "round $r: no acks while down from:$stalled"
    fi
    [ -n "$cut" ] && { sleep 1; sw_link "$cut" up; }
    # Swarm's restart: same host, same hostname, same command.
    case $kind in
    node) start_node "$vi" && ok_cmd=(node_up "$vi") ;;
    epmd)
        start_epmd "$vh"
        if [ "$vh" = hg ]; then ok_cmd=(gw_registered); else ok_cmd=(node_up "$vi"); fi
        ;;
    gateway) start_gw && ok_cmd=(gw_up "$gwline") ;;
    esac
    if wait_for "$BOUND" "${ok_cmd[@]}"; then
        RECOVERED=$((RECOVERED + 1))
        TIMES+=("$WAITED")
        pass "round $r: $victim back in EPMD and answering in $WAITED ms"
    else
        fail "round $r: $victim not back within $BOUND s"
    fi
    if [ "$kind" = node ]; then
        if wait_for "$BOUND" gw_reconnected "$gwline" "atomvm_node$vi@h$vi"; then
            pass "round $r: the gateway reconnected to atomvm_node$vi@h$vi"
        else
            fail "round $r: the gateway did not reconnect to atomvm_node$vi@h$vi"
        fi
    fi
    [ -n "$cut" ] && ! wait_for "$BOUND" answers "$( [ "$cut" = hg ] && echo gw@hg || echo "atomvm_node${cut#h}@$cut")" &&
        fail "round $r: $cut does not answer after its link is back"
    # The checks of the round: every node pongs every other, and every
    # acked message is in its journal exactly once.
    touch "$TMP/check.$r"
    wait_for 30 test -e "$TMP/check.$r.out"
    out=$(cat "$TMP/check.$r.out" 2>/dev/null)
    want="pongs [$(for _ in $(seq 1 "$N"); do echo $((N - 1)); done | paste -sd,)]"
    if [ "$(head -n 1 <<<"$out")" = "$want" ] &&
        grep -q ' lost 0 dup 0 dupacks 0$' <<<"$out"; then
        pass "round $r: mesh pongs $N x $((N - 1)); $(tail -n 1 <<<"$out")"
    else
        fail "round $r: checks: $out"
    fi
    sample_rss
    grown=""
    for k in "${!RSSN[@]}"; do
        [ "${RSSN[$k]}" -gt $((2 * RSS0[$k] + 1024)) ] &&
            grown="$grown $k:${RSS0[$k]}->${RSSN[$k]}kB"
    done
    gwk=gw.${PID[gw]}
    if [ -z "$grown" ]; then
        pass "round $r: no epmd, gateway or dnsmasq past 2x its first RSS + 1 MB (gateway ${RSSN[$gwk]:-?} kB)"
    else
        fail "round $r: grew:$grown"
    fi
done

# --- the end ------------------------------------------------------------------
touch "$TMP/stop"
wait_for 60 test -e "$TMP/final"
final=$(cat "$TMP/final" 2>/dev/null)
read -r _ sent _ acked _ lost _ dup _ dupacks _ getbad <<<"$final"
if [ -n "$final" ] && [ "$lost" -eq 0 ] && [ "$dup" -eq 0 ] && [ "$dupacks" -eq 0 ] &&
    [ "$getbad" = "[]" ] && [ "$acked" -gt 0 ]; then
    pass "every acked message kept exactly once; every msg's {get, Pid} matches its journal"
else
    fail "final check: ${final:-none}"
fi
median=0 max=0
if [ "${#TIMES[@]}" -gt 0 ]; then
    mapfile -t sorted < <(printf '%s\n' "${TIMES[@]}" | sort -n)
    median=${sorted[$((${#sorted[@]} / 2))]}
    max=${sorted[-1]}
fi
echo
echo "chaos (seed $SEED)"
printf '  %-32s %s\n' \
    rounds "$ROUNDS" \
    "kills: OTP node" "${KILLS[node]}" \
    "kills: epmd" "${KILLS[epmd]}" \
    "kills: gateway" "${KILLS[gateway]}" \
    "links cut" "${KILLS[link]}" \
    recoveries "$RECOVERED" \
    "recovery after restart, median" "$median ms" \
    "recovery after restart, max" "$max ms" \
    "messages sent" "${sent:-?}" \
    "messages acknowledged" "${acked:-?}" \
    "messages lost" "${lost:-?}" \
    "duplicates" "${dup:-?}"
echo
end
