#!/usr/bin/env bash
# Two eddy binaries beside c-epoll-sr in one run.sh run, and the ratio of
# their server CPU per request: is a change faster or slower?
#
#   EDDY_BEFORE=/tmp/eddy-before ./bench/before-after.sh
#   EDDY_BEFORE=/tmp/eddy-before EDDY_AFTER=/tmp/eddy-after ROUNDS=9 DURATION=4 ./bench/before-after.sh
#   EDDY_BEFORE=/tmp/eddy-before ROUNDS=1 DURATION=2 LOADS=c128 ./bench/before-after.sh   # smoke test
#
# Make the "before" binary from the commit to compare against, e.g.
#   git worktree add /tmp/eddy-base main && (cd /tmp/eddy-base &&
#     CARGO_TARGET_DIR=/tmp/eddy-base-target cargo build --release --bin eddy) &&
#     cp /tmp/eddy-base-target/release/eddy /tmp/eddy-before
#
# Env: EDDY_BEFORE (required), EDDY_AFTER (default: the release build of
# this repository, built now), ROUNDS (9), DURATION (4), LOADS, OUT, and
# everything run.sh takes. Each round runs the three servers one after the
# other (the starting one rotates), so a change of the machine's load falls
# on all three alike; the ratio after/before is given two ways: of the
# medians over the rounds, and the median of the per-round ratios.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
[[ -n ${EDDY_BEFORE:-} && -x ${EDDY_BEFORE:-} ]] || {
    echo "EDDY_BEFORE must name an eddy binary (e.g. EDDY_BEFORE=/tmp/eddy-before)" >&2
    exit 1
}
if [[ -z ${EDDY_AFTER:-} ]]; then
    EDDY=
    build_eddy
    EDDY_AFTER=$EDDY
fi
[[ -x $EDDY_AFTER ]] || { echo "EDDY_AFTER=$EDDY_AFTER is not an executable" >&2; exit 1; }

export OUT=${OUT:-/tmp/anchors-results/before-after-$(date +%Y%m%d-%H%M%S)}
export ROUNDS=${ROUNDS:-9} DURATION=${DURATION:-4}
echo "before: $EDDY_BEFORE" >&2
echo "after:  $EDDY_AFTER" >&2

SERVERS_ADD="before|$EDDY_BEFORE serve --addr 127.0.0.1:PORT
after|$EDDY_AFTER serve --addr 127.0.0.1:PORT" \
    ONLY='c-epoll-sr before after' NO_EDDY=1 "$BENCH/run.sh" >/dev/null

# results.tsv: round server load ... srv_ns_per_req(13) ... noisy(15) try(16);
# the last try of each (round, server, load) counts. Noisy rounds are left
# out, unless a server has no clean round on a load: then its noisy ones
# are used and the line is marked "noisy".
awk -F'\t' '
function median(arr, n,    i, j, v, a) {
    for (i = 1; i <= n; i++) a[i] = arr[i]
    for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
    return n == 0 ? 0 : (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
NR > 1 { last[$1 SUBSEP $2 SUBSEP $3] = $0; if (!($3 in seen)) { seen[$3] = 1; order[++nl] = $3 } }
END {
    for (k in last) {
        split(last[k], F, "\t")
        if (F[13] + 0 == 0) continue
        all[F[3], F[2], F[1]] = F[13] + 0; rounds[F[1]] = 1
        if (F[15] == 1) noisy[F[3], F[2], F[1]] = 1; else clean[F[3], F[2]] = 1
    }
    # ns[load, server, round]: the clean values, or all of them if none is clean.
    for (k in all) {
        split(k, K, SUBSEP)
        if (!((K[1], K[2], K[3]) in noisy) || !((K[1], K[2]) in clean)) ns[k] = all[k]
    }
    printf "\nserver CPU per request (ns/req): medians over the rounds; ratios of the medians,\n"
    printf "and in [ ] the median of the per-round ratios (rounds with all three measured)\n\n"
    printf "%-12s %10s %10s %10s %14s %17s %16s\n", "load", "c-epoll-sr", "before", "after",
           "after/before", "before/c-epoll-sr", "after/c-epoll-sr"
    for (l = 1; l <= nl; l++) {
        L = order[l]; nc = nb = na = nr = 0; mark = ""
        delete c; delete b; delete a; delete r1; delete r2; delete r3
        for (rd in rounds) {
            if ((L, "c-epoll-sr", rd) in ns) c[++nc] = ns[L, "c-epoll-sr", rd]
            if ((L, "before", rd) in ns) b[++nb] = ns[L, "before", rd]
            if ((L, "after", rd) in ns) a[++na] = ns[L, "after", rd]
            if ((L, "c-epoll-sr", rd) in ns && (L, "before", rd) in ns && (L, "after", rd) in ns) {
                nr++
                r1[nr] = ns[L, "after", rd] / ns[L, "before", rd]
                r2[nr] = ns[L, "before", rd] / ns[L, "c-epoll-sr", rd]
                r3[nr] = ns[L, "after", rd] / ns[L, "c-epoll-sr", rd]
            }
        }
        if (!((L, "c-epoll-sr") in clean) || !((L, "before") in clean) || !((L, "after") in clean)) mark = "  noisy"
        mc = median(c, nc); mb = median(b, nb); ma = median(a, na)
        printf "%-12s %10.0f %10.0f %10.0f %6.3f [%5.3f] %9.3f [%5.3f] %8.3f [%5.3f]%s\n", L, mc, mb, ma,
               mb ? ma / mb : 0, median(r1, nr), mc ? mb / mc : 0, median(r2, nr), mc ? ma / mc : 0, median(r3, nr), mark
    }
    printf "\n(after/before < 1: the after binary costs less CPU per request. On a shared\n"
    printf "machine trust differences beyond about 5 %%, and only when the two ratios agree;\n"
    printf "\"noisy\": some server had no clean round on that load, its noisy ones were used.)\n"
}' "$OUT/results.tsv" | tee "$OUT/before-after.txt"
echo "raw results: $OUT/results.tsv; run.sh's table: $OUT/summary.txt" >&2
