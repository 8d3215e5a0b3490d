# Shared by interop/etf_corpus.sh and bench/etf_bench/run.sh: make an OTP
# corpus with etf_corpus.escript on a private epmd. Source it, then call
# etf_corpus_gen DIR [N [SEED]]. The caller's EXIT trap must call
# etf_corpus_cleanup, which stops only the epmd this file started.

etf_corpus_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
etf_corpus_epmd_pid=

# Start epmd on a free port in 16000-16099 and export ERL_EPMD_PORT.
etf_corpus_start_epmd() {
    local port tries
    for tries in 1 2 3 4 5 6 7 8; do
        port=$((16000 + (RANDOM % 100)))
        epmd -port "$port" >/dev/null 2>&1 &
        etf_corpus_epmd_pid=$!
        sleep 0.3
        if kill -0 "$etf_corpus_epmd_pid" 2>/dev/null; then
            export ERL_EPMD_PORT=$port
            return 0
        fi
        etf_corpus_epmd_pid=
    done
    echo "etf_corpus: cannot start epmd on a port in 16000-16099" >&2
    return 1
}

etf_corpus_cleanup() {
    if [ -n "$etf_corpus_epmd_pid" ]; then
        kill "$etf_corpus_epmd_pid" 2>/dev/null || true
        wait "$etf_corpus_epmd_pid" 2>/dev/null || true
        etf_corpus_epmd_pid=
    fi
}

# etf_corpus_gen DIR [N [SEED]]: run the generator as a distributed node.
etf_corpus_gen() {
    local dir=$1 n=${2:-10000} seed=${3:-1}
    if [ -z "$etf_corpus_epmd_pid" ]; then
        etf_corpus_start_epmd || return 1
    fi
    ETF_CORPUS_NODE="etfcorpus$$" \
        escript "$etf_corpus_lib/etf_corpus.escript" gen "$dir" "$n" "$seed"
}
