#!/usr/bin/env bash
# The virtio-net benchmark (tests/bench/net_guest.sh): TCP throughput host to
# guest and guest to host with iperf3, ember vs QEMU microvm, in one start
# of the nested runner (--smp 1) when the host has no hardware KVM. Prints
# numbers, never pass/fail on speed. BENCH_ROUNDS (3), BENCH_NET_SECS (10).
# usage: tests/bench/run_net.sh [BUILD]     (default build)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
make --no-print-directory BUILD="$build" "$build/ember" debian-image >/dev/null
tests/deps.sh qemu-system-x86 iperf3
exec env EMBER_RUNNER_TIMEOUT="${EMBER_RUNNER_TIMEOUT:-3600}" \
	tests/integration/runner/run-in-kvm.sh --smp 1 -- tests/bench/net_guest.sh "$build"
