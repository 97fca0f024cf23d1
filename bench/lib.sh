# Shared by the bench/ scripts (sourced, not run): where things are, the
# builds, the server list, and starting and stopping one server by PID.
#
# Env (every script):
#   CARGO_TARGET_DIR   the peers' build (/tmp/anchors-target)
#   EDDY_TARGET_DIR    eddy's release build from this repository (/tmp/eddy-bench-target)
#   EDDY               an eddy binary to measure instead of building one
#   NO_BUILD=1         build nothing; reuse what the last build left
#   NO_EDDY=1          leave `eddy serve` out of the default servers
#   SERVERS_ADD        more servers, one per line, "name|command", where the
#                      word PORT in the command is replaced by the port
#   ONLY, LOADS        space-separated names of the servers / loads to keep

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-/tmp/anchors-target}
EDDY_TARGET=${EDDY_TARGET_DIR:-/tmp/eddy-bench-target}
export CARGO_TARGET_DIR=$TARGET

need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || {
            echo "missing: $tool (apt-get install -y wrk linux-perf valgrind)" >&2
            exit 1
        }
    done
}

# The peers: the C server twice (its own 78-byte reply, and c129 with
# eddy's 129-byte reply: -DEDDY_REPLY), and the three Rust peers.
build_peers() {
    [[ ${NO_BUILD:-0} == 1 ]] && return
    echo "== building the peers into $TARGET" >&2
    mkdir -p "$TARGET"
    gcc -O2 -Wall -o "$TARGET/c-epoll-server" "$BENCH/peers/c-epoll/server.c"
    gcc -O2 -Wall -DEDDY_REPLY -o "$TARGET/c129-server" "$BENCH/peers/c-epoll/server.c"
    local crate
    for crate in mio-server tokio-server std-threads-server; do
        cargo build --release --quiet --manifest-path "$BENCH/peers/$crate/Cargo.toml"
    done
}

# Sets EDDY to the eddy binary to measure: $EDDY if given, else the release
# build of this repository (whichever workspace package holds the `eddy`
# binary: `--workspace --bin eddy` finds it).
build_eddy() {
    if [[ -n ${EDDY:-} ]]; then
        [[ -x $EDDY ]] || { echo "EDDY=$EDDY is not an executable" >&2; exit 1; }
        return
    fi
    EDDY=$EDDY_TARGET/release/eddy
    if [[ ${NO_BUILD:-0} != 1 ]]; then
        echo "== building eddy (release) from $REPO into $EDDY_TARGET" >&2
        CARGO_TARGET_DIR=$EDDY_TARGET cargo build --release --quiet \
            --manifest-path "$REPO/Cargo.toml" --workspace --bin eddy
    fi
    [[ -x $EDDY ]] || { echo "no eddy binary at $EDDY (build it, or set EDDY)" >&2; exit 1; }
}

# SERVERS: name|command, PORT substituted at start. The first is the
# reference for run.sh's req/s ratios.
default_servers() {
    SERVERS=(
        "c-epoll|$TARGET/c-epoll-server PORT"
        "mio|$TARGET/release/mio-server PORT"
        "tokio-ct|$TARGET/release/tokio-server PORT --current-thread"
        "tokio-mt2|$TARGET/release/tokio-server PORT --multi-thread"
        "std-threads|$TARGET/release/std-threads-server PORT"
    )
    if [[ ${EXTRA:-1} == 1 ]]; then
        SERVERS+=(
            "c-epoll-sr|$TARGET/c-epoll-server PORT --short-read"
            "mio-sr|$TARGET/release/mio-server PORT --short-read"
            "c129|$TARGET/c129-server PORT --short-read"
        )
    fi
    if [[ ${NO_EDDY:-0} != 1 ]]; then
        SERVERS+=("eddy|$EDDY serve --addr 127.0.0.1:PORT")
    fi
}

# Appends SERVERS_ADD, then keeps only the names in ONLY (if set), in
# ONLY's order (so the first of ONLY is the reference of the ratios).
add_and_filter_servers() {
    local line s n kept=()
    while IFS= read -r line; do
        [[ -n $line ]] && SERVERS+=("$line")
    done <<<"${SERVERS_ADD:-}"
    if [[ -n ${ONLY:-} ]]; then
        for n in $ONLY; do
            for s in "${SERVERS[@]}"; do [[ ${s%%|*} == "$n" ]] && kept+=("$s"); done
        done
        SERVERS=("${kept[@]}")
    fi
    ((${#SERVERS[@]})) || { echo "no server left to measure (ONLY='${ONLY:-}')" >&2; exit 1; }
}

# WORKLOADS: name|wrk arguments before the URL|arguments after it.
default_loads() {
    WORKLOADS=(
        "c128|-c128|"
        "c16|-c16|"
        "pipe16-c128|-c128 -s $BENCH/pipeline.lua|-- 16"
    )
}

filter_loads() {
    local w kept=()
    if [[ -n ${LOADS:-} ]]; then
        for w in "${WORKLOADS[@]}"; do [[ " $LOADS " == *" ${w%%|*} "* ]] && kept+=("$w"); done
        WORKLOADS=("${kept[@]}")
    fi
    ((${#WORKLOADS[@]})) || { echo "no load left (LOADS='${LOADS:-}')" >&2; exit 1; }
}

# Succeeds once the server returns an HTTP 200 on 127.0.0.1:$1.
answers() {
    timeout 1 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" >&3
        head -c 12 <&3 | grep -q "^HTTP/1.1 200"' _ "$1" 2>/dev/null
}

# The PID of the server being measured; killed on exit.
SPID=
stop_server() {
    if [[ -n $SPID ]]; then
        kill "$SPID" 2>/dev/null || true
        wait "$SPID" 2>/dev/null || true
        SPID=
    fi
}

# start_server PORT LOG TRIES CMD...: starts CMD on core 0, waits (TRIES x
# 0.05 s at most) until it answers on PORT. Fails if it never does.
start_server() {
    local port=$1 log=$2 tries=$3 i
    shift 3
    taskset -c 0 "$@" >"$log" 2>&1 &
    SPID=$!
    for ((i = 0; i < tries; i++)); do
        answers "$port" && return 0
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.05
    done
    echo "!! did not come up on port $port: $*" >&2
    stop_server
    return 1
}
