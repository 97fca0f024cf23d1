#!/usr/bin/env bash
# The whole test suite of eddy, with its own set-up: on a fresh Debian
# machine it installs the real clients the tests drive (curl, wrk, ab,
# h2load, python3 with h11) and cargo-nextest if missing, then runs every
# test of every crate with every feature on (each test in its own process,
# bounded in time) and every doc example.
#
#   ./test.sh                 # everything
#   ./test.sh -p eddy-poll    # extra arguments go to `cargo nextest run`
set -euo pipefail
cd "$(dirname "$0")"

# System packages: command -> Debian package.
declare -A pkg=([curl]=curl [wrk]=wrk [ab]=apache2-utils [h2load]=nghttp2-client [python3]=python3 [ip]=iproute2 [unshare]=util-linux [prlimit]=util-linux)
missing=()
for cmd in "${!pkg[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkg[$cmd]}")
done
if ((${#missing[@]})); then
    echo "== installing ${missing[*]}" >&2
    sudo=""
    [[ $(id -u) == 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python modules: h11, the strict HTTP/1.1 client of the eddy-cli tests
# (tests/util/h11_client.py), from PyPI.
if ! python3 -c "import h11" >/dev/null 2>&1; then
    echo "== installing h11 (pip)" >&2
    if ! python3 -m pip --version >/dev/null 2>&1; then
        sudo=""
        [[ $(id -u) == 0 ]] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
    fi
    # A Debian python3 refuses installs outside a venv unless told.
    python3 -m pip install --quiet h11 2>/dev/null || python3 -m pip install --quiet --break-system-packages h11
fi

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "== installing cargo-nextest" >&2
    cargo install --locked cargo-nextest
fi

# Tests that open thousands of sockets need more than the usual 1024 fds.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# `-p CRATE` narrows the run; without it, every crate.
scope=(--workspace)
for arg in "$@"; do
    [[ $arg == -p || $arg == --package || $arg == --package=* || $arg == -p?* ]] && scope=()
done
# A test whose client (curl, wrk, ab, h2load, python3 and its h11, prlimit) is missing
# fails here, never skips.
export EDDY_REQUIRE_CLIENTS=1
# Every feature of every crate (all are additive): eddy-rt's `hyper`
# feature and its tests (tests/hyper.rs requires it) are part of the suite.
cargo nextest run "${scope[@]}" --all-features --no-fail-fast "$@"
if (($# == 0)); then
    cargo test --workspace --all-features --doc
fi
