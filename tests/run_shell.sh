#!/usr/bin/env bash
# make shell: a root shell on a machine with real KVM, for running ember by
# hand (your own kernel, drives, the API socket and curl, snapshots). Without
# hardware KVM on the host that is the nested KVM runner, with this terminal
# forwarded to it; otherwise a shell here. `exit` leaves it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
echo "make shell: building ember, its tools and the Debian guest image" >&2
make --no-print-directory BUILD="$build" "$build/ember" "$build/ember-rebase-snap" "$build/ember-jailer" \
	debian-image debian-rootfs >/dev/null
out=${EMBER_RUNNER_OUT:-$PWD/build/runner/out}
mkdir -p "$out"
cat >&2 <<MSG
make shell: in the shell, /dev/kvm is real and $PWD is the working directory.
  Without hardware KVM it runs in the nested runner, where the host's / is
  READ-ONLY. Writable: /tmp, /run (empty, lost at exit) and
  $out (shared with the host, kept).
  Guest files: $build/debian/{bzImage,vmlinux,initramfs.cpio,rootfs.ext4}.
  Leave with 'exit'.
MSG
# (env: bash drops PS1 from the environment of the scripts in between)
exec tests/integration/runner/run-in-kvm.sh --stdin -- env 'PS1=ember-shell:\w# ' bash --norc --noprofile -i
