#!/usr/bin/env bash
# The benchmarks that need real KVM, in one runner start (tests/bench/run.sh).
# usage: suite.sh BUILD STARTUP_RUNS BOOT_RUNS
set -uo pipefail
build=$1
status=0
echo "== start-up: exec -> first KVM_RUN, test guest ($2 runs)"
"$build/bench/startup" "$2" "$build/ember" \
	--kernel "$build/guest/pvh_guest.elf" --initrd "$build/bench/initrd.bin" --mem 128 \
	--cmdline "console=ttyS0 ember.test=bench ember.initrd=4096 ember.mem=128" || status=1
echo "== start-up without the sandbox (--no-seccomp --no-landlock): what hardening costs ($2 runs)"
"$build/bench/startup" "$2" "$build/ember" --no-seccomp --no-landlock \
	--kernel "$build/guest/pvh_guest.elf" --initrd "$build/bench/initrd.bin" --mem 128 \
	--cmdline "console=ttyS0 ember.test=bench ember.initrd=4096 ember.mem=128" || status=1
echo "== Linux boot to /init: ember vs QEMU microvm ($3 rounds, alternating)"
tests/bench/linux_boot.sh "$build" "$3" || status=1
exit $status
