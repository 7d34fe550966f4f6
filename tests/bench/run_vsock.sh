#!/usr/bin/env bash
# The virtio-vsock benchmark (tests/bench/vsock_guest.sh): host-to-guest echo
# throughput and connection set-up latency, ember (Firecracker's Unix-socket
# host side) vs QEMU microvm with vhost-vsock, in one start of the nested
# runner (--smp 1) when the host has no hardware KVM. Prints numbers, never
# pass/fail on speed. BENCH_ROUNDS (3), BENCH_VSOCK_MIB (64),
# BENCH_VSOCK_CONNS (50), BENCH_VSOCK_VMMS ("ember qemu").
# usage: tests/bench/run_vsock.sh [BUILD]     (default build)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
make --no-print-directory BUILD="$build" "$build/ember" debian-image >/dev/null
tests/deps.sh qemu-system-x86
exec env EMBER_RUNNER_TIMEOUT="${EMBER_RUNNER_TIMEOUT:-3600}" \
	tests/integration/runner/run-in-kvm.sh --smp 1 -- tests/bench/vsock_guest.sh "$build"
