#!/usr/bin/env bash
# The virtio-blk benchmark (tests/bench/blk_guest.sh): ember vs QEMU microvm,
# measured inside the Debian guest, in one start of the nested runner
# (--smp 1) when the host has no hardware KVM. Prints numbers, never
# pass/fail on speed. BENCH_ROUNDS (3), BENCH_BLK_MIB (64), BENCH_BLK_SECS (5).
# usage: tests/bench/run_blk.sh [BUILD]     (default build)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
make --no-print-directory BUILD="$build" "$build/ember" debian-image >/dev/null
tests/deps.sh qemu-system-x86
exec env EMBER_RUNNER_TIMEOUT="${EMBER_RUNNER_TIMEOUT:-3600}" \
	tests/integration/runner/run-in-kvm.sh --smp 1 -- tests/bench/blk_guest.sh "$build"
