#!/usr/bin/env bash
# make run: boots the default guest and shows its console. Until the Debian
# guest image lands this is the built-in PVH test guest, which checks its
# boot state, prints the results and resets. Without hardware KVM on the
# host it runs inside the nested KVM runner.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
make --no-print-directory BUILD="$build" "$build/ember" guests >/dev/null
# The guest verifies the initrd byte for byte against this pattern
# (INITRD_BYTE in tests/guest/guest.h) and its size against ember.initrd=.
perl -e 'binmode STDOUT; print map { chr(($_ * 7 + 3 + ($_ >> 8) * 5 + ($_ >> 16) * 11) & 255) } 0 .. 4095' \
	>"$build/guest/run-initrd.bin"
exec tests/integration/runner/run-in-kvm.sh --smp "${EMBER_RUNNER_SMP:-1}" -- "$build/ember" --kernel "$build/guest/pvh_guest.elf" \
	--initrd "$build/guest/run-initrd.bin" --mem 64 --cmdline "console=ttyS0 ember.test=make-run ember.initrd=4096 ember.mem=64"
