#!/usr/bin/env bash
# make bench: benchmarks that print numbers (never pass/fail on speed).
# Real-KVM ones run inside the nested runner when the host has no
# hardware KVM; their absolute times are inflated there by emulation, so
# the Linux boot is compared against QEMU microvm measured in the same run.
# BENCH_RUNS (start-up runs, 20) and BENCH_BOOTS (boot rounds, 5).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
make --no-print-directory BUILD="$build" "$build/ember" guests debian-image >/dev/null
tests/deps.sh qemu-system-x86
mkdir -p "$build/bench"
for b in startup boot; do
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$build/bench/$b" "tests/bench/$b.c"
done
head -c 4096 /dev/zero > "$build/bench/initrd.bin"
exec tests/integration/runner/run-in-kvm.sh --smp "${EMBER_RUNNER_SMP:-1}" -- \
	tests/bench/suite.sh "$build" "${BENCH_RUNS:-20}" "${BENCH_BOOTS:-5}"
