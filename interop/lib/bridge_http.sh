# For interop/dist_bridge.sh (sourced, bash, after dist_common.sh): HTTP
# requests to the bridge with curl and exact checks of the JSON replies
# with jq.
# Needs H (http://127.0.0.1:PORT) and TMP.

need_tools() {
    local t
    for t in curl jq; do
        if ! command -v "$t" >/dev/null 2>&1; then
            echo "$t not installed: skipped"
            exit 77
        fi
    done
}

# http METHOD PATH [curl args...]: STATUS, BODY (and HEADERS) of the reply.
http() {
    local method=$1 path=$2
    shift 2
    STATUS=$(curl -s -m 30 -D "$TMP/headers" -o "$TMP/body" -w '%{http_code}' \
        -X "$method" "$@" "$H$path")
    BODY=$(cat "$TMP/body")
    HEADERS=$(tr -d '\r' <"$TMP/headers")
}

# post PATH JSON [curl args...]
post() {
    local path=$1 json=$2
    shift 2
    http POST "$path" -H 'Content-Type: application/json' --data-binary "$json" "$@"
}

# expect WHAT STATUS [JQ_FILTER EXPECTED]...: the last reply had STATUS and
# each filter (jq -c) printed exactly EXPECTED.
expect() {
    local what=$1 status=$2 got ok=1 why=""
    shift 2
    if [ "$STATUS" != "$status" ]; then
        ok=0
        why="status $STATUS, want $status"
    fi
    while [ $# -ge 2 ]; do
        got=$(jq -c "$1" <<<"$BODY" 2>&1)
        if [ "$got" != "$2" ]; then
            ok=0
            why="$why; $1 is $got, want $2"
        fi
        shift 2
    done
    if [ $ok = 1 ]; then
        pass "$what"
    else
        fail "$what: $why; body: $(head -c 400 <<<"$BODY")"
    fi
}

# expect_error WHAT STATUS ERROR [DETAIL]: {"error": ERROR, "detail": DETAIL}.
expect_error() {
    if [ $# -ge 4 ]; then
        expect "$1" "$2" .error "\"$3\"" .detail "$(jq -c -n --arg d "$4" '$d')"
    else
        expect "$1" "$2" .error "\"$3\""
    fi
}

# check WHAT COMMAND...: pass if the command succeeds.
check() {
    local what=$1
    shift
    if "$@"; then
        pass "$what"
    else
        fail "$what"
    fi
}
