#!/usr/bin/env bash
# make run: boots the default guest and shows its console. Until the Debian
# guest image lands this is the built-in PVH test guest, which checks its
# boot state, prints the results and resets. Without hardware KVM on the
# host it runs inside the nested KVM runner.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
make --no-print-directory BUILD="$build" "$build/ember" guests >/dev/null
printf 'ember run\n' > "$build/guest/run-initrd.bin"
exec tests/integration/runner/run-in-kvm.sh --smp "${EMBER_RUNNER_SMP:-1}" -- "$build/ember" --kernel "$build/guest/pvh_guest.elf" \
	--initrd "$build/guest/run-initrd.bin" --mem 64 --cmdline "console=ttyS0 ember.run=1"
