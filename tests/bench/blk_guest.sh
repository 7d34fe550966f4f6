#!/usr/bin/env bash
# Block benchmark, measured inside the guest: Debian's cloud kernel and the
# agent's blk-bench scenario (tests/guest/debian/agent.c) on one virtio-blk
# disk, under ember (--drive) and under QEMU -M microvm (virtio-blk-device
# on the virtio-mmio transport), alternating, BENCH_ROUNDS rounds (3).
# blk-bench uses the raw /dev/vda with O_DIRECT and aligned buffers, queue
# depth 1: sequential 1 MiB reads, then writes, over BENCH_BLK_MIB MiB (64),
# then random 4 KiB reads, then writes, for BENCH_BLK_SECS seconds each (5).
#
# The disk is one 256 MiB raw image, written full of zeros first (not
# sparse), on the runner's /tmp, which is tmpfs: the numbers compare the
# VMMs' virtio-blk paths, not a disk. QEMU runs with its defaults for the
# image (cache=writeback, aio=threads): cache=none needs O_DIRECT, which
# tmpfs on the runner's 6.1 kernel refuses. 256 MiB guest RAM, 1 vCPU.
# Prints one line per boot, medians per VMM and the ember/QEMU ratio per
# metric (above 1: ember faster).
#
# Needs real KVM: run it through tests/integration/runner/run-in-kvm.sh
# (tests/bench/run_blk.sh does). usage: blk_guest.sh BUILD
set -uo pipefail
source "$(dirname "$0")/bench_lib.sh"
build=${1:-build}
rounds=${BENCH_ROUNDS:-3}
mib=${BENCH_BLK_MIB:-64}
secs=${BENCH_BLK_SECS:-5}
img=$build/debian
tmp=$(mktemp -d /tmp/ember-blkbench.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
disk=$tmp/disk.img
cmdline="console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
cmdline+=" ember.scenario=blk-bench ember.mib=$mib ember.secs=$secs"

dd if=/dev/zero of="$disk" bs=1M count=256 status=none || exit 1
echo "blk-bench: $rounds rounds, 256 MiB raw image on $(stat -f -c %T "$(dirname "$disk")"), seq ${mib} MiB in 1 MiB, rand 4 KiB for ${secs} s, QD1, O_DIRECT"
echo "blk-bench: ember $("$build/ember" --version 2>&1 | head -1); $(qemu-system-x86_64 --version | head -1) with cache=writeback,aio=threads (defaults)"

# Sets CMD to the command line of a VMM.
command_for() {
	case $1 in
	ember)
		CMD=("$build/ember" --kernel "$img/bzImage" --initrd "$img/initramfs.cpio" --mem 256
			--vcpus 1 --print-exit-stats --cmdline "$cmdline" --drive "path=$disk,ro=off,id=bench") ;;
	qemu)
		# shellcheck disable=SC2054 # QEMU's option values have commas
		CMD=(qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=on -accel kvm -cpu host
			-m 256 -smp 1 -nodefaults -no-user-config -display none -no-reboot
			-serial stdio -kernel "$img/bzImage" -initrd "$img/initramfs.cpio" -append "$cmdline"
			-drive "id=bench,file=$disk,format=raw,if=none,cache=writeback,aio=threads"
			-device virtio-blk-device,drive=bench) ;;
	esac
}

printf '%-5s %-6s %12s %12s %12s %12s\n' round vmm seq-read seq-write rand-read rand-write
printf '%-5s %-6s %12s %12s %12s %12s\n' "" "" "MB/s" "MB/s" "IOPS" "IOPS"
for r in $(seq 1 "$rounds"); do
	for v in ember qemu; do
		command_for $v
		log=$tmp/$v.$r.log
		timeout -k 5 600 "${CMD[@]}" </dev/null >"$log" 2>&1
		rc=$?
		tr -d '\r' <"$log" >"$log.lf" && mv "$log.lf" "$log"
		val() { sed -nE "s/^EMBER-AGENT [0-9.]+ blk-bench $1 [a-zA-Z]+=([0-9.]+).*/\1/p" "$log" | head -1; }
		sr=$(val seq-read) sw=$(val seq-write) rr=$(val rand-read) rw=$(val rand-write)
		ok=1
		[[ $rc == 0 && -n $sr && -n $sw && -n $rr && -n $rw ]] || ok=0
		printf '%-5s %-6s %12s %12s %12s %12s%s\n' "$r" $v "${sr:--}" "${sw:--}" "${rr:--}" "${rw:--}" \
			"$( ((ok)) || echo "   FAILED (exit $rc)")"
		if ((ok)); then
			echo "$v $sr $sw $rr $rw" >>"$tmp/all"
		else
			grep -vE '^\s*$' "$log" | tail -15 | sed 's/^/    | /'
		fi
	done
done

bench_medians "$tmp/all" "$rounds" 1 qemu "seq-read MB/s|seq-write MB/s|rand-read IOPS|rand-write IOPS" || exit 1
bench_tail "$tmp" "$rounds" 2
