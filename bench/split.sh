#!/usr/bin/env bash
# User and system time per request of each server: how much of a request
# is the kernel's (the floor no server making the same syscalls goes
# under) and how much is the server's own code.
#
#   ./bench/split.sh                             # c-epoll-sr tokio-ct c129 eddy, 5 rounds x 4 s
#   ROUNDS=1 DURATION=2 LOADS=c128 ./bench/split.sh
#
# Per round and server (one after the other, the starting one rotating):
# start it on core 0, wait until it answers, and per load read its
# utime and stime (/proc/PID/stat fields 14 and 15, every thread, in clock
# ticks) before and after one bounded `taskset -c 1 wrk -t1 -d DURATION`;
# (after - before) / wrk's requests. Prints the median of the rounds per
# column (so user + system is not exactly the total's median).
#
# Builds and server list as run.sh (EDDY, NO_BUILD, NO_EDDY, SERVERS_ADD);
# ONLY (default "c-epoll-sr tokio-ct c129 eddy"), LOADS (c128 c16
# pipe16-c128), ROUNDS (5), DURATION (4), PORT (19100), OUT.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-4}
PORT=${PORT:-19100}
ONLY=${ONLY:-c-epoll-sr tokio-ct c129 eddy}
OUT=${OUT:-/tmp/anchors-results/split-$(date +%Y%m%d-%H%M%S)}
need wrk taskset gcc cargo timeout
mkdir -p "$OUT"
build_peers
[[ ${NO_EDDY:-0} == 1 ]] || build_eddy
default_servers
add_and_filter_servers
default_loads
filter_loads
trap stop_server EXIT
HZ=$(getconf CLK_TCK)

RESULTS=$OUT/split.tsv
printf "round\tserver\tload\trequests\tuser_ns\tsys_ns\ttotal_ns\n" >"$RESULTS"
nserv=${#SERVERS[@]}
for ((round = 1; round <= ROUNDS; round++)); do
    for ((k = 0; k < nserv; k++)); do
        IFS='|' read -r name cmd <<<"${SERVERS[$(((k + round - 1) % nserv))]}"
        PORT=$((PORT + 1))
        read -r -a argv <<<"${cmd//PORT/$PORT}"
        start_server "$PORT" "$OUT/$name.r$round.server.log" 100 "${argv[@]}" || continue
        for w in "${WORKLOADS[@]}"; do
            IFS='|' read -r load pre post <<<"$w"
            sleep 1
            read -r u0 s0 < <(cut -d' ' -f14,15 "/proc/$SPID/stat")
            # shellcheck disable=SC2086
            timeout $((DURATION + 30)) taskset -c 1 wrk -t1 $pre -d"${DURATION}s" \
                "http://127.0.0.1:$PORT/" $post >"$OUT/$name.$load.r$round.wrk.txt" 2>&1 || true
            read -r u1 s1 < <(cut -d' ' -f14,15 "/proc/$SPID/stat")
            n=$(awk '/ requests in / { print $1 }' "$OUT/$name.$load.r$round.wrk.txt")
            awk -v r="$round" -v s="$name" -v l="$load" -v n="${n:-0}" -v hz="$HZ" \
                -v u="$((u1 - u0))" -v y="$((s1 - s0))" 'BEGIN {
                    if (n == 0) exit
                    printf "%s\t%s\t%s\t%d\t%.0f\t%.0f\t%.0f\n", r, s, l, n,
                        1e9 * u / hz / n, 1e9 * y / hz / n, 1e9 * (u + y) / hz / n }' | tee -a "$RESULTS" >&2
        done
        stop_server
    done
done

order=$(for s in "${SERVERS[@]}"; do printf "%s " "${s%%|*}"; done)
loads=$(for w in "${WORKLOADS[@]}"; do printf "%s " "${w%%|*}"; done)
awk -F'\t' -v order="$order" -v loads="$loads" -v rounds="$ROUNDS" '
function median(key, col,    n, i, j, v, a) {
    n = (key in cnt) ? cnt[key] : 0
    for (i = 1; i <= n; i++) a[i] = val[key, col, i]
    for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
    return n == 0 ? 0 : (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
NR > 1 { key = $2 SUBSEP $3; c = ++cnt[key]; for (f = 5; f <= 7; f++) val[key, f, c] = $f + 0 }
END {
    ns = split(order, S, " "); nl = split(loads, L, " ")
    printf "\nserver CPU per request, ns: medians of %d round(s); kernel = system / total\n", rounds
    printf "%-12s %-12s %7s %7s %7s %7s %9s\n", "load", "server", "user", "system", "total", "kernel", "vs first"
    for (l = 1; l <= nl; l++) {
        ref = median(S[1] SUBSEP L[l], 7)
        for (s = 1; s <= ns; s++) {
            key = S[s] SUBSEP L[l]
            if (!(key in cnt)) continue
            t = median(key, 7)
            printf "%-12s %-12s %7.0f %7.0f %7.0f %6.0f%% %9.2f\n", L[l], S[s], median(key, 5), median(key, 6),
                   t, t ? 100 * median(key, 6) / t : 0, ref ? t / ref : 0
        }
    }
}' "$RESULTS" | tee "$OUT/summary.txt"
echo "raw results: $RESULTS" >&2
