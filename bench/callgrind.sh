#!/usr/bin/env bash
# User-space instructions per request of a server's loop thread, counted by
# valgrind's callgrind: exact, and immune to the machine's load (the time
# figures of run.sh are not).
#
#   ./bench/callgrind.sh                          # eddy and c-epoll-sr, c128 and pipe16
#   ONLY=eddy LOADS=pipe16 DURATION=2 ./bench/callgrind.sh
#   SERVERS_ADD='mine|/path/to/server --port PORT' ONLY=mine ./bench/callgrind.sh
#
# Per server and load: start the server under
# `valgrind --tool=callgrind --separate-threads=yes` on core 0, wait until it
# answers, zero its counters (`callgrind_control -z`), run one bounded wrk
# load on core 1 (`-t1 -d DURATION`, wrapped in `timeout`), dump the counters
# (`callgrind_control -d`), kill the server by PID. The figure is the
# instructions (Ir) of the busiest thread of that dump, the loop thread,
# divided by the requests wrk completed. Zeroing after start-up leaves out
# the server's set-up; the 128 connects and accepts of the load are in it,
# spread over all its requests; requests in flight when wrk stops (at most
# one batch per connection) are served but not counted, which is well
# under 1 % of a load of DURATION seconds.
#
# Loads: c128 (wrk -c128) and pipe16 (wrk -c128 -s pipeline.lua -- 16), as
# in run.sh. Servers: the default list of run.sh (eddy built from this
# repository unless EDDY names a binary; NO_BUILD=1 reuses the last build),
# filtered by ONLY (default: "eddy c-epoll-sr"); SERVERS_ADD adds more.
# Env: DURATION seconds per load (5), PORT (18950), OUT (results folder),
# LOADS ("c128 pipe16").
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
DURATION=${DURATION:-5}
PORT=${PORT:-18950}
ONLY=${ONLY:-eddy c-epoll-sr}
OUT=${OUT:-/tmp/anchors-results/callgrind-$(date +%Y%m%d-%H%M%S)}
need valgrind callgrind_control wrk taskset gcc cargo timeout
mkdir -p "$OUT"
build_peers
[[ ${NO_EDDY:-0} == 1 ]] || build_eddy
default_servers
add_and_filter_servers
WORKLOADS=(
    "c128|-c128|"
    "pipe16|-c128 -s $BENCH/pipeline.lua|-- 16"
)
filter_loads
trap stop_server EXIT

printf "%-12s %-8s %10s %14s %10s %8s\n" server load requests "Ir loop thread" Ir/req threads
for s in "${SERVERS[@]}"; do
    IFS='|' read -r name cmd <<<"$s"
    for w in "${WORKLOADS[@]}"; do
        IFS='|' read -r load pre post <<<"$w"
        PORT=$((PORT + 1))
        dir=$OUT/$name.$load
        mkdir -p "$dir"
        read -r -a argv <<<"${cmd//PORT/$PORT}"
        # Start-up under valgrind takes seconds: wait up to 60 s.
        start_server "$PORT" "$dir/server.log" 1200 \
            valgrind --tool=callgrind --separate-threads=yes \
            --callgrind-out-file="$dir/callgrind.out" "${argv[@]}" || continue
        callgrind_control -z "$SPID" >/dev/null 2>&1
        # shellcheck disable=SC2086
        timeout $((DURATION + 60)) taskset -c 1 wrk -t1 $pre -d"${DURATION}s" --timeout 10s \
            "http://127.0.0.1:$PORT/" $post >"$dir/wrk.txt" 2>&1 || true
        callgrind_control -d "$SPID" >/dev/null 2>&1
        stop_server
        n=$(awk '/ requests in / { print $1 }' "$dir/wrk.txt")
        # The dump made on request is callgrind.out.1-TID, one file per thread.
        for f in "$dir"/callgrind.out.1-*; do
            awk '/^totals:/ { print $2 }' "$f"
        done | sort -n | awk -v n="${n:-0}" -v name="$name" -v load="$load" '
            { t++; max = $1 }
            END {
                if (n == 0 || t == 0) { printf "%-12s %-8s no requests or no dump\n", name, load; exit }
                printf "%-12s %-8s %10d %14d %10.0f %8d\n", name, load, n, max, max / n, t
            }' | tee -a "$OUT/summary.txt"
    done
done
echo "callgrind files and wrk output: $OUT (callgrind_annotate FILE shows where the instructions go)" >&2
