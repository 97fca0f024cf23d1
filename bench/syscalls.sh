#!/usr/bin/env bash
# Noise-free companion to run.sh: syscalls per request and requests per
# epoll_wait of each server, counted with perf tracepoints (needs `perf`:
# apt-get install -y linux-perf). Timings on a shared VM vary by +-15% run
# to run; these counts do not.
#
#   ./bench/syscalls.sh                  # 3 s per load, every server
#   ONLY='c-epoll-sr tokio-ct eddy' DURATION=5 ./bench/syscalls.sh
#
# Builds what run.sh builds (NO_BUILD=1 reuses it); EDDY, NO_EDDY,
# SERVERS_ADD, ONLY and LOADS work as in run.sh ("name|command PORT ...").
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
DURATION=${DURATION:-3}
PORT=${PORT:-18900}
need perf wrk taskset gcc cargo timeout
build_peers
[[ ${NO_EDDY:-0} == 1 ]] || build_eddy
default_servers
add_and_filter_servers
default_loads
filter_loads
EVENTS=raw_syscalls:sys_enter,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_futex,context-switches

PPID_=
cleanup() {
    if [[ -n $PPID_ ]]; then kill "$PPID_" 2>/dev/null || true; wait "$PPID_" 2>/dev/null || true; fi
    stop_server
    rm -rf "${tmp:-}"
}
trap cleanup EXIT
tmp=$(mktemp -d)

printf "%-12s %-12s %9s %9s %10s %8s %8s\n" server load req/s sys/req req/epoll futex/req cs/req
for s in "${SERVERS[@]}"; do
    IFS='|' read -r name cmd <<<"$s"
    PORT=$((PORT + 1))
    read -r -a argv <<<"${cmd//PORT/$PORT}"
    start_server "$PORT" /dev/null 100 "${argv[@]}" || continue
    for w in "${WORKLOADS[@]}"; do
        IFS='|' read -r load pre post <<<"$w"
        sleep 1
        # perf stat -p follows threads created later (std-threads' per-connection ones).
        perf stat -x, -e "$EVENTS" -p "$SPID" -o "$tmp/perf" &
        PPID_=$!
        sleep 0.2
        # shellcheck disable=SC2086
        timeout $((DURATION + 30)) taskset -c 1 wrk -t1 $pre -d"${DURATION}s" \
            "http://127.0.0.1:$PORT/" $post >"$tmp/wrk" 2>&1 || true
        kill -INT "$PPID_"; wait "$PPID_" 2>/dev/null || true; PPID_=
        n=$(awk '/ requests in / { print $1 }' "$tmp/wrk")
        rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$tmp/wrk")
        awk -F, -v n="${n:-0}" -v name="$name" -v load="$load" -v rps="${rps:-0}" '
            $3 == "raw_syscalls:sys_enter" { sc = $1 }
            $3 ~ /epoll_(p)?wait$/ { ep += $1 }
            $3 == "syscalls:sys_enter_futex" { fx = $1 }
            $3 == "context-switches" { cs = $1 }
            END {
                if (n == 0) { printf "%-12s %-12s no requests\n", name, load; exit }
                printf "%-12s %-12s %9d %9.2f %10.1f %8.3f %8.3f\n", name, load, rps,
                       sc / n, ep ? n / ep : 0, fx / n, cs / n
            }' "$tmp/perf"
    done
    stop_server
done
echo "(perf tracing itself slows the server, so req/s here is not a benchmark figure)"
