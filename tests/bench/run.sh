#!/usr/bin/env bash
# make bench: benchmarks that print numbers (never pass/fail on speed).
# Real-KVM ones run inside the nested runner when the host has no
# hardware KVM; their absolute times are inflated there by emulation.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
runs=${BENCH_RUNS:-20}
make --no-print-directory BUILD="$build" "$build/ember" guests >/dev/null
mkdir -p "$build/bench"
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$build/bench/startup" tests/bench/startup.c
head -c 4096 /dev/zero > "$build/bench/initrd.bin"
exec tests/integration/runner/run-in-kvm.sh --smp "${EMBER_RUNNER_SMP:-1}" -- "$build/bench/startup" "$runs" "$build/ember" \
	--kernel "$build/guest/pvh_guest.elf" --initrd "$build/bench/initrd.bin" --mem 128 \
	--cmdline "console=ttyS0 ember.test=bench ember.initrd=4096 ember.mem=128"
