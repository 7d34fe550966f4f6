#!/usr/bin/env bash
# make run: boots the default guest, Debian's cloud kernel with the test
# initramfs (tests/guest/debian), to a busybox shell on the serial console.
# Leaving the shell (exit, Ctrl-D) powers the VM off and ember exits 0;
# Ctrl-A x stops a guest that no longer answers (ember's --console-escape).
# Without hardware KVM on the host it runs inside the nested KVM runner,
# with this terminal forwarded to it.
#
# EMBER_RUN_KERNEL=bzImage|vmlinux picks the boot path (bzImage: Linux boot
# protocol; vmlinux: PVH entry). EMBER_RUN_ARGS adds ember options.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
kernel=${EMBER_RUN_KERNEL:-bzImage}
echo "make run: building ember and the Debian guest image (the first time: packages, a kernel download, ~1 min)" >&2
make --no-print-directory BUILD="$build" "$build/ember" debian-image >/dev/null
# pci=off: ember has no PCI bus, so the kernel need not probe for one.
cmdline="console=ttyS0 reboot=k panic=-1 quiet pci=off i8042.noaux i8042.nomux i8042.dumbkbd"
echo "make run: booting Debian $(cut -d" " -f1 "$build/debian/kernel-version") ($kernel) under ember;" \
	"'exit' powers the VM off, Ctrl-A x stops it if it hangs" >&2
# shellcheck disable=SC2086 # EMBER_RUN_ARGS is a word list on purpose
exec tests/integration/runner/run-in-kvm.sh --stdin --smp 1 -- "$build/ember" --console-escape \
	--kernel "$build/debian/$kernel" --initrd "$build/debian/initramfs.cpio" --mem 256 \
	--cmdline "$cmdline ember.scenario=shell" ${EMBER_RUN_ARGS:-}
