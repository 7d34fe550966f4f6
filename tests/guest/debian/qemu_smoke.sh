#!/usr/bin/env bash
# Boots the Debian guest image under QEMU -M microvm (TCG: no KVM needed)
# and checks the agent: every scenario that ends the VM, nproc with 1 and 2
# vCPUs, the command line byte for byte, bzImage and PVH vmlinux.
# Usage: tests/guest/debian/qemu_smoke.sh [DIR]   (default build/debian)
set -uo pipefail
D=${1:-build/debian}
command -v qemu-system-x86_64 >/dev/null || "$(dirname "$0")/../../deps.sh" qemu-system-x86
BASE="console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
# Under TCG the guest TSC is the host's, and its calibration against the
# emulated PIT fails now and then on a busy host ("Unable to calibrate
# against PIT", then a hang): tell the guest the host's TSC rate instead.
khz=$(awk -F': *' '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
[[ -n $khz && $khz != 0 ]] && BASE+=" tsc_early_khz=$khz"
fail=0 log=$(mktemp)
trap 'rm -f "$log"' EXIT
boot() { # kernel smp scenario
	timeout 60 qemu-system-x86_64 -M microvm,rtc=on -accel tcg -m 512 -smp "$2" -nographic \
		-no-reboot -kernel "$1" -initrd "$D/initramfs.cpio" \
		-append "$BASE ember.scenario=$3" >"$log" 2>&1 </dev/null
}
check() { # name condition...
	local name=$1
	shift
	if "$@"; then echo "ok   $name"; else echo "FAIL $name"; tail -n 15 "$log" | sed 's/^/     | /'; fail=1; fi
}
has() { grep -qxF -- "$1" <(tr -d '\r' <"$log"); }
hasre() { grep -qE -- "$1" <(tr -d '\r' <"$log"); }
for k in bzImage vmlinux; do
	for n in 1 2; do
		boot "$D/$k" "$n" info
		rc=$?
		check "$k smp=$n info (rc=$rc)" eval '[[ $rc == 0 ]] && has "nproc=$n" &&
			has "cmdline=$BASE ember.scenario=info" && hasre "^EMBER-AGENT [0-9.]+ info-done$" &&
			hasre "^EMBER-AGENT [0-9.]+ modules-loaded n=[0-9]+ failed=0$"'
		t=$(tr -d '\r' <"$log" | awk '$1 == "EMBER-AGENT" && $3 == "init-started" { print $2 }')
		echo "     init-started at ${t:-?} s guest time"
	done
done
for s in poweroff reboot panic; do
	boot "$D/vmlinux" 1 "$s"
	rc=$?
	case $s in
	poweroff) check "$s (rc=$rc)" eval '[[ $rc == 0 ]] && hasre "^EMBER-AGENT [0-9.]+ poweroff$" && hasre "reboot: Power down"' ;;
	reboot) check "$s (rc=$rc)" eval '[[ $rc == 0 ]] && hasre "^EMBER-AGENT [0-9.]+ reboot$" && hasre "reboot: Restarting system"' ;;
	panic) check "$s (rc=$rc)" eval '[[ $rc == 0 ]] && hasre "^EMBER-AGENT [0-9.]+ panic$" && hasre "Kernel panic - not syncing"' ;;
	esac
done
# shell: type into the console once the prompt is up; exit powers off
fifo=$(mktemp -u) && mkfifo "$fifo"
timeout 60 qemu-system-x86_64 -M microvm,rtc=on -accel tcg -m 512 -nographic -no-reboot \
	-kernel "$D/vmlinux" -initrd "$D/initramfs.cpio" -append "$BASE" <"$fifo" >"$log" 2>&1 &
qpid=$!
exec 9>"$fifo"
for ((i = 0; i < 300; i++)); do grep -q 'ember:/# ' "$log" && break; sleep 0.1; done
printf 'echo sum=$((40+2)); sleep 30 &\njobs\nexit\n' >&9
wait $qpid
rc=$?
exec 9>&-
rm -f "$fifo"
check "shell (rc=$rc)" eval '[[ $rc == 0 ]] && has "sum=42" && hasre "^\[1\]\+ +Running +sleep 30" &&
	hasre "^EMBER-AGENT [0-9.]+ shell-exited$" && ! hasre "job control turned off"'
exit $fail
