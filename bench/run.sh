#!/usr/bin/env bash
# Load every peer server and `eddy serve` with wrk on 127.0.0.1 and print a
# table: server CPU ns per request, req/s, latencies, per load.
#
#   ./bench/run.sh                      # build, 3 rounds x 8 s, all servers
#   ROUNDS=1 DURATION=3 ./bench/run.sh  # quick look
#   ONLY='c-epoll-sr tokio-ct c129 eddy' ROUNDS=9 DURATION=4 ./bench/run.sh
#
# Builds first (lib.sh): the C peer (gcc -O2) and its c129 variant
# (-DEDDY_REPLY: eddy's 129-byte reply), the Rust peers (cargo release, fat
# LTO, into CARGO_TARGET_DIR, /tmp/anchors-target), and eddy's release
# binary from this repository (into EDDY_TARGET_DIR, /tmp/eddy-bench-target;
# EDDY=/path/to/eddy measures that binary instead; NO_EDDY=1 leaves it out).
#
# Env: ROUNDS (3), DURATION seconds per wrk run (8), EXTRA=0 to skip the
# --short-read variants and c129, NO_BUILD=1 to reuse binaries, OUT (results
# folder), BASE_PORT (18100), RETRIES (2), NOISE_PTS (15),
# SERVERS_ADD: more servers to measure beside the peers, one per line, each
#   "name|command" where the word PORT in the command is replaced by the port
#   (the server must answer GET / on 127.0.0.1:PORT with HTTP/1.1 200),
# ONLY: space-separated server names to keep (default: all),
# LOADS: space-separated load names to keep (c128 c16 pipe16-c128).
#
# A run is "noisy" when either core was busy more than NOISE_PTS points beyond
# what the server (core 0) or wrk (core 1) used, or steal exceeded 5%: some
# other process was competing. Noisy runs are retried up to RETRIES times and
# left out of the medians when a clean run of the same cell exists.
#
# Each round visits every server in turn (rotating the starting server per
# round); per server: start it with `taskset -c 0`, wait until it answers
# HTTP, run three wrk loads with `taskset -c 1`, kill it by PID. Every wrk run
# is wrapped in `timeout`, so the whole script is bounded in time.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
BASE_PORT=${BASE_PORT:-18100}
RETRIES=${RETRIES:-2}
NOISE_PTS=${NOISE_PTS:-15}
OUT=${OUT:-/tmp/anchors-results/$(date +%Y%m%d-%H%M%S)}
SERVER_CPU=0
CLIENT_CPU=1

need wrk taskset gcc cargo timeout
mkdir -p "$OUT"
build_peers
[[ ${NO_EDDY:-0} == 1 ]] || build_eddy
default_servers
add_and_filter_servers
default_loads
filter_loads

trap stop_server EXIT

# Busy, steal and total jiffies of one CPU from /proc/stat
# (user nice system idle iowait irq softirq steal; busy excludes steal).
cpu_ticks() {
    awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6 - $9, $9, t }' /proc/stat
}
# utime + stime (all threads) of a process, in clock ticks.
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# wrk latency ("812.00us", "1.23ms", "2.00s") -> microseconds
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") m = 1; else if (u == "ms") m = 1000; else if (u == "s") m = 1e6;
        else if (u == "m") m = 6e7; else m = -1
        if (m < 0 || v == "") print "NA"; else printf "%.0f\n", n * m }'
}

# One wrk run against $port / $SPID; sets the globals printed below.
measure() { # load pre post log
    local load=$1 pre=$2 post=$3 log=$4 b0 st0 t0 b1 st1 t1 b0e st0e t0e b1e st1e t1e s0 s1 wu ws wr
    read -r b0 st0 t0 < <(cpu_ticks "$SERVER_CPU")
    read -r b1 st1 t1 < <(cpu_ticks "$CLIENT_CPU")
    s0=$(proc_ticks "$SPID")
    # shellcheck disable=SC2086
    { TIMEFORMAT='%U %S %R'; time timeout $((DURATION + 30)) \
        taskset -c "$CLIENT_CPU" wrk -t1 $pre -d"${DURATION}s" --latency \
        "http://127.0.0.1:$port/" $post >"$log" 2>&1; } 2>"$log.time" || true
    s1=$(proc_ticks "$SPID" 2>/dev/null || echo "$s0")
    read -r b0e st0e t0e < <(cpu_ticks "$SERVER_CPU")
    read -r b1e st1e t1e < <(cpu_ticks "$CLIENT_CPU")
    read -r wu ws wr <"$log.time"

    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$log")
    p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$log")")
    p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$log")")
    errs=$(awk '/Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
                /Non-2xx/ { e += $NF } END { print e + 0 }' "$log")
    pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", b ? 100 * a / b : 0 }'; }
    c0=$(pct "$((b0e - b0))" "$((t0e - t0))")
    c1=$(pct "$((b1e - b1))" "$((t1e - t1))")
    steal=$(pct "$((st0e - st0 + st1e - st1))" "$((t0e - t0 + t1e - t1))")
    sc=$(awk -v d="$((s1 - s0))" -v hz="$HZ" -v r="$wr" 'BEGIN { printf "%.0f", 100 * d / hz / r }')
    wc=$(awk -v u="$wu" -v s="$ws" -v r="$wr" 'BEGIN { printf "%.0f", 100 * (u + s) / r }')
    nreq=$(awk '/ requests in / { print $1 }' "$log")
    nreq=${nreq:-0}
    # Server process CPU time (all threads) per completed request.
    nspr=$(awk -v d="$((s1 - s0))" -v hz="$HZ" -v n="$nreq" 'BEGIN { printf "%.0f", n ? 1e9 * d / hz / n : 0 }')
    # Busy time on either core that neither the server nor wrk accounts for
    # (or hypervisor steal) means something else ran on the machine: noisy.
    noisy=$(awk -v c0="$c0" -v sc="$sc" -v c1="$c1" -v wc="$wc" -v st="$steal" -v lim="$NOISE_PTS" \
        'BEGIN { print (c0 - sc > lim || c1 - wc > lim || st > 5) ? 1 : 0 }')
}

RESULTS=$OUT/results.tsv
printf "round\tserver\tload\treq_s\tp50_us\tp99_us\terrors\tcpu0_busy\tcpu1_busy\tserver_cpu\twrk_cpu\trequests\tsrv_ns_per_req\tsteal\tnoisy\ttry\n" >"$RESULTS"

nserv=${#SERVERS[@]}
for ((round = 1; round <= ROUNDS; round++)); do
    for ((k = 0; k < nserv; k++)); do
        idx=$(((k + round - 1) % nserv))
        IFS='|' read -r name cmd <<<"${SERVERS[$idx]}"
        port=$((BASE_PORT + 100 * round + idx))
        read -r -a argv <<<"${cmd//PORT/$port}"

        start_server "$port" "$OUT/$name.r$round.server.log" 100 "${argv[@]}" || continue

        for w in "${WORKLOADS[@]}"; do
            IFS='|' read -r load pre post <<<"$w"
            for ((try = 1; try <= 1 + RETRIES; try++)); do
                sleep 1
                measure "$load" "$pre" "$post" "$OUT/$name.$load.r$round.t$try.wrk.txt"
                printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$round" "$name" \
                    "$load" "${rps:-0}" "$p50" "$p99" "$errs" "$c0" "$c1" "$sc" "$wc" "$nreq" "$nspr" \
                    "$steal" "$noisy" "$try" | tee -a "$RESULTS" >&2
                [[ $noisy == 0 ]] && break
                echo "   (noisy: other load on the machine; retrying after a pause)" >&2
                sleep 5
            done
        done

        stop_server
    done
done

# Median over rounds per (server, load); ratio of req/s to the first server.
order=$(for s in "${SERVERS[@]}"; do printf "%s " "${s%%|*}"; done)
loads=$(for w in "${WORKLOADS[@]}"; do printf "%s " "${w%%|*}"; done)
awk -F'\t' -v order="$order" -v loads="$loads" -v rounds="$ROUNDS" -v retries="$RETRIES" '
# (max - min) / median of req/s over the rounds kept, in %.
function spread(key,    n, i, lo, hi, v) {
    n = cnt[key]; lo = hi = val[key, 4, 1] + 0
    for (i = 2; i <= n; i++) { v = val[key, 4, i] + 0; if (v < lo) lo = v; if (v > hi) hi = v }
    return median(key, 4) > 0 ? 100 * (hi - lo) / median(key, 4) : 0
}
function median(key, col,    n, i, j, v, a) {
    n = (key in cnt) ? cnt[key] : 0  # (reading cnt[key] would create it)
    for (i = 1; i <= n; i++) a[i] = val[key, col, i] + 0
    for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
    if (n == 0) return -1
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
# Keep the last try of each (round, server, load); its clean status decides.
NR > 1 { last[$1 SUBSEP $2 SUBSEP $3] = $0 }
END {
    for (rk in last) {
        split(last[rk], F, "\t"); key = F[2] SUBSEP F[3]
        if (F[15] == 1) { noisy[key]++; continue }
        c = ++cnt[key]; for (f = 4; f <= 13; f++) val[key, f, c] = F[f]; errsum[key] += F[7]
    }
    ns = split(order, S, " "); nl = split(loads, L, " ")
    printf "\nMedian of %d round(s); ratio = req/s vs %s on the same load.\n", rounds, S[1]
    printf "cpu0/cpu1 = busy %% of the server/wrk core; srv/wrk = process CPU %% (user+sys);\n"
    printf "spread = (max - min) / median of req/s over the rounds kept, in %%.\n"
    printf "ns/req = server process CPU time per completed request; noisy = rounds left out\n"
    printf "(still disturbed by other load on the machine after %s retries).\n", retries
    printf "Pipelined loads: wrk records one latency per 16-request batch and its coordinated-\n"
    printf "omission correction then breaks the percentiles (p75+ print 0), so none are shown.\n"
    for (l = 1; l <= nl; l++) {
        printf "\n[%s]\n%-12s %10s %6s %6s %8s %8s %5s %5s %5s %5s %7s %6s %5s\n", L[l], "server", "req/s",
               "spread", "ratio", "p50(us)", "p99(us)", "cpu0", "cpu1", "srv", "wrk", "ns/req", "errors", "noisy"
        ref = median(S[1] SUBSEP L[l], 4)
        pipe = (L[l] ~ /^pipe/)
        for (s = 1; s <= ns; s++) {
            key = S[s] SUBSEP L[l]
            if (!(key in cnt)) { if (key in noisy) printf "%-12s all %d round(s) noisy\n", S[s], noisy[key]; continue }
            r = median(key, 4)
            p50 = pipe ? "-" : sprintf("%.0f", median(key, 5))
            p99 = pipe ? "-" : sprintf("%.0f", median(key, 6))
            printf "%-12s %10.0f %5.0f%% %6.2f %8s %8s %5.0f %5.0f %5.0f %5.0f %7.0f %6d %5d\n", S[s], r,
                   spread(key), (ref > 0 ? r / ref : 0), p50, p99, median(key, 8), median(key, 9),
                   median(key, 10), median(key, 11), median(key, 13), errsum[key], noisy[key]
        }
    }
}' "$RESULTS" | tee "$OUT/summary.txt"
echo "raw results: $RESULTS" >&2
