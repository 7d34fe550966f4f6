#!/usr/bin/env bash
# virtio-mmio block and rng devices, seen from inside Debian's cloud kernel
# (bzImage, 1 vCPU, the test agent of build/debian/initramfs.cpio):
#   blk-read    a file the test wrote into a fresh ext4 image reads back
#   blk-write   the guest writes a file; after poweroff debugfs sees it and
#               e2fsck finds the file system clean
#   blk-ro      a ro=on drive: the kernel sees it read-only, a write sent to
#               the device anyway (the agent's user-space virtio driver)
#               gets IOERR, reads work, the image is unchanged
#   rootfs      root=/dev/vda: the agent (as an initramfs) switch_roots into an ext4
#               busybox root whose /sbin/init sees / on /dev/vda
#   hwrng       --rng: 64 bytes from /dev/hwrng, not all zero, virtio_rng
#   two-drives  /dev/vda and /dev/vdb, in command-line order, right sizes
#               and read-only flags
#   bad-drives  (ember only) a missing file, a directory, one image twice
#               read-write: refused before the guest runs, one-line error
# Generated images live in a temporary directory that is removed.
# Prints "virtio: N passed, N failed".
#
# usage: test_virtio.sh BUILD     (needs real KVM: run it through the runner)
# Env:   VIRTIO_VMM=ember|qemu    the VMM under test (ember); qemu boots the
#                                 same guest under QEMU -M microvm with
#                                 virtio-blk-device/virtio-rng-device, to check
#                                 the guest side and this script
#        VIRTIO_QEMU_ACCEL=kvm    QEMU's accelerator (tcg works, slowly)
#        EMBER_VIRTIO_TIMEOUT=90  seconds per boot
set -u
build=${1:-build}
img=$build/debian
vmm=${VIRTIO_VMM:-ember}
timeout_s=${EMBER_VIRTIO_TIMEOUT:-90}
PATH=$PATH:/usr/sbin:/sbin
tmp=$(mktemp -d /tmp/ember-virtio.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
. "$(dirname "$0")/kmsg.sh"
base="console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"

for f in "$img/bzImage" "$img/initramfs.cpio"; do
	if [ ! -f "$f" ]; then
		echo "virtio: missing $f (make debian-image)"; echo "virtio: 0 passed, 1 failed"; exit 1
	fi
done
for t in mke2fs debugfs e2fsck; do
	command -v $t >/dev/null || { echo "virtio: $t missing (e2fsprogs)"; echo "virtio: 0 passed, 1 failed"; exit 1; }
done
case $vmm in
ember)
	if ! "$build/ember" --help 2>&1 | grep -q -- '--drive'; then
		echo "virtio: $build/ember has no --drive option yet"; echo "virtio: 0 passed, 1 failed"; exit 1
	fi ;;
qemu) command -v qemu-system-x86_64 >/dev/null || { echo "virtio: qemu-system-x86_64 missing"; exit 1; } ;;
*) echo "virtio: VIRTIO_VMM must be ember or qemu"; exit 2 ;;
esac

fail() {
	echo "  FAIL $1: $2"
	grep -vE '^\s*$' "$tmp/out" | tail -20 | sed 's/^/    | /'
	failed=$((failed + 1))
}
pass() {
	echo "  PASS $1${2:+ ($2)}"
	passed=$((passed + 1))
}
# The detail of the agent's marker line "EMBER-AGENT <t> EVENT DETAIL".
agent() { sed -nE "s/^EMBER-AGENT [0-9.]+ $1 ?//p" "$tmp/out" | head -1; }

# vm CMDLINE_EXTRA RNG DRIVE...: boots the guest; DRIVE is FILE or FILE:ro,
# RNG 1 adds the rng device. Sets rc; the console is in $tmp/out.
vm() {
	local extra=$1 rng=$2 d f ro i=0 cmd
	shift 2
	local cmdline="$base$extra"
	if [ "$vmm" = ember ]; then
		cmd=("$build/ember" --kernel "$img/bzImage" --initrd "$img/initramfs.cpio" --mem 256
			--vcpus 1 --log-level Info --cmdline "$cmdline")
		for d; do
			f=${d%:ro} ro=off
			[ "$f" != "$d" ] && ro=on
			cmd+=(--drive "path=$f,ro=$ro,id=d$i")
			i=$((i + 1))
		done
		[ "$rng" = 1 ] && cmd+=(--rng)
	else
		# shellcheck disable=SC2054 # QEMU's option values have commas
		cmd=(qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=on -accel "${VIRTIO_QEMU_ACCEL:-kvm}"
			-cpu "$([ "${VIRTIO_QEMU_ACCEL:-kvm}" = kvm ] && echo host || echo max)"
			-m 256 -smp 1 -nodefaults -no-user-config -display none -no-reboot -serial stdio
			-kernel "$img/bzImage" -initrd "$img/initramfs.cpio" -append "$cmdline")
		for d; do
			f=${d%:ro} ro=
			[ "$f" != "$d" ] && ro=,readonly=on
			cmd+=(-drive "id=d$i,file=$f,format=raw,if=none$ro" -device "virtio-blk-device,drive=d$i")
			i=$((i + 1))
		done
		# shellcheck disable=SC2054
		[ "$rng" = 1 ] && cmd+=(-object rng-random,id=r0,filename=/dev/urandom -device virtio-rng-device,rng=r0)
	fi
	timeout -k 5 "$timeout_s" "${cmd[@]}" </dev/null >"$tmp/out" 2>&1
	rc=$?
	tr -d '\r' <"$tmp/out" >"$tmp/out.lf" && mv "$tmp/out.lf" "$tmp/out"
}

# Common end-of-boot checks: exit 0 by a guest poweroff. Returns 1 (after
# reporting) when they fail.
ended_ok() {
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then fail "$1" "timed out after ${timeout_s}s"; return 1; fi
	if ! grep -q "EMBER-AGENT .* init-started" "$tmp/out"; then fail "$1" "the agent never started (exit $rc)"; return 1; fi
	if [ "$rc" != 0 ]; then fail "$1" "exit $rc, want 0"; return 1; fi
	if [ "$vmm" = ember ] && ! grep -q "VM stopped: guest shutdown" "$tmp/out"; then
		fail "$1" "want 'VM stopped: guest shutdown'"; return 1
	fi
	if ! grep -q "EMBER-AGENT .* modules-loaded n=[0-9]* failed=0" "$tmp/out"; then
		fail "$1" "the agent failed to load modules"; return 1
	fi
	return 0
}

token() { od -An -N8 -tx1 /dev/urandom | tr -d ' \n'; }
# mkfs IMAGE SIZE [DIR]: a fresh ext4 image, filled from DIR if given.
mkfs() {
	: >"$1" # (mke2fs announces the files it has to create)
	mke2fs -q -t ext4 ${3:+-d "$3"} -F "$1" "$2"
}

echo "virtio ($vmm, Debian $(cut -d' ' -f3 "$img/kernel-version" 2>/dev/null), bzImage, 1 vCPU, 256 MiB):"

# (a) blk-read: a file in a fresh ext4 image, read-only mount in the guest
t_blk_read() {
	local name=blk-read tok got
	tok=token-$(token)
	mkdir -p "$tmp/a/data"
	echo "$tok" >"$tmp/a/data/note.txt"
	echo "second line" >>"$tmp/a/data/note.txt"
	mkfs "$tmp/a.img" 20M "$tmp/a" || { fail $name "mke2fs failed"; return; }
	vm " ember.scenario=blk-read ember.file=/data/note.txt" 0 "$tmp/a.img"
	ended_ok $name || return
	got=$(agent blk-read)
	[ "$got" = "file=/data/note.txt content=$tok" ] || { fail $name "got [$got], want content=$tok"; return; }
	got=$(agent blk-size)
	[ "$got" = "sectors=40960" ] || { fail $name "size: got [$got], want sectors=40960 (20 MiB)"; return; }
	pass $name "$tok, 40960 sectors"
}

# (b) blk-write: the guest writes, the host reads it back after poweroff
t_blk_write() {
	local name=blk-write tok got
	tok=written-$(token)
	mkfs "$tmp/b.img" 16M || { fail $name "mke2fs failed"; return; }
	vm " ember.scenario=blk-write ember.data=$tok" 0 "$tmp/b.img"
	ended_ok $name || return
	[ -n "$(agent blk-write-done)" ] || { fail $name "no blk-write-done marker"; return; }
	got=$(debugfs -R 'cat /written.txt' "$tmp/b.img" 2>/dev/null)
	[ "$got" = "$tok" ] || { fail $name "debugfs on the host reads [$got], want [$tok]"; return; }
	if ! e2fsck -fn "$tmp/b.img" >"$tmp/fsck" 2>&1; then
		cat "$tmp/fsck" >>"$tmp/out"
		fail $name "e2fsck -fn finds the file system damaged"; return
	fi
	pass $name "debugfs reads $tok, e2fsck clean"
}

# (c) blk-ro: a read-only drive. The guest kernel must see it read-only
# (and then refuses writes itself, EPERM); the agent's user-space virtio
# driver sends a write to the device anyway, which must answer IOERR; reads
# work; the image is unchanged.
t_blk_ro() {
	local name=blk-ro got sum
	mkdir -p "$tmp/c"
	echo "read-only" >"$tmp/c/ro.txt"
	mkfs "$tmp/c.img" 16M "$tmp/c" || { fail $name "mke2fs failed"; return; }
	sum=$(sha256sum <"$tmp/c.img")
	vm " ember.scenario=blk-ro" 0 "$tmp/c.img:ro"
	ended_ok $name || return
	got=$(sed -nE 's/^EMBER-AGENT [0-9.]+ blk-ro //p' "$tmp/out" | tr '\n' ' ')
	local want
	for want in "kernel-ro=1" "pwrite=EPERM" "kernel-read=ok" "write=EIO via=device" "read=ok"; do
		grep -qE "^EMBER-AGENT [0-9.]+ blk-ro $want\$" "$tmp/out" || { fail $name "want $want, got [$got]"; return; }
	done
	[ "$(sha256sum <"$tmp/c.img")" = "$sum" ] || { fail $name "the read-only image changed"; return; }
	pass $name "kernel-ro=1, pwrite=EPERM, device write=EIO ($(sed -nE 's/^EMBER-AGENT [0-9.]+ blk-ro raw .* (version=[0-9]+).*/virtio-mmio \1/p' "$tmp/out")), read=ok, image unchanged"
}

# (d) rootfs: switch_root into an ext4 busybox root on /dev/vda
t_rootfs() {
	local name=rootfs got
	tests/guest/debian/mkrootfs.sh "$tmp/d.img" 32 >/dev/null || { fail $name "mkrootfs.sh failed"; return; }
	vm " root=/dev/vda" 0 "$tmp/d.img"
	ended_ok $name || return
	without_kmsg "$tmp/out" | grep -q "EMBER-AGENT .* switch-root /dev/vda$" || { fail $name "the agent did not switch root"; return; }
	grep -q "^EMBER-ROOTFS init-started" "$tmp/out" || { fail $name "the rootfs /sbin/init did not start"; return; }
	got=$(sed -n 's/^EMBER-ROOTFS root=//p' "$tmp/out")
	[ "$got" = /dev/vda ] || { fail $name "/ is on [$got], want /dev/vda"; return; }
	pass $name "$(sed -nE 's/^EMBER-ROOTFS (init-started.*)/\1/p' "$tmp/out"), root=$got"
}

# (e) hwrng: virtio-rng behind /dev/hwrng
t_hwrng() {
	local name=hwrng got cur
	vm " ember.scenario=hwrng" 1
	ended_ok $name || return
	got=$(sed -nE 's/^EMBER-AGENT [0-9.]+ hwrng bytes=//p' "$tmp/out")
	cur=$(sed -nE 's/^EMBER-AGENT [0-9.]+ hwrng current=//p' "$tmp/out")
	[[ $got =~ ^64\ hex=[0-9a-f]{128}$ ]] || { fail $name "want 64 bytes, got [$got]"; return; }
	[[ ${got#64 hex=} =~ [1-9a-f] ]] || { fail $name "64 zero bytes"; return; }
	[[ $cur == virtio_rng* ]] || { fail $name "rng_current is [$cur], want virtio_rng*"; return; }
	pass $name "${got#64 hex=}, $cur"
}

# (f) two drives: /dev/vda then /dev/vdb in command-line order
t_two_drives() {
	local name=two-drives got want
	truncate -s 24M "$tmp/f1.img" && truncate -s 10M "$tmp/f2.img"
	vm " ember.scenario=blk-list" 0 "$tmp/f1.img" "$tmp/f2.img:ro"
	ended_ok $name || return
	got=$(sed -nE 's/^EMBER-AGENT [0-9.]+ blk-list (dev=.*)/\1/p' "$tmp/out" | tr '\n' ';')
	want="dev=vda sectors=49152 ro=0 node=yes;dev=vdb sectors=20480 ro=1 node=yes;"
	[ "$got" = "$want" ] || { fail $name "got [$got], want [$want]"; return; }
	[ "$(agent blk-list-done)" = n=2 ] || { fail $name "want n=2"; return; }
	pass $name "vda 49152 sectors rw, vdb 20480 sectors ro"
}

# (g) bad drives (ember only): a missing file, a directory, and one image
# given twice read-write (ember locks it) end ember before the guest runs,
# with a non-zero exit and a one-line error naming the file.
t_bad_drives() {
	local name=bad-drives args lines
	[ "$vmm" = ember ] || return 0
	truncate -s 1M "$tmp/g.img"
	while IFS='|' read -r args want; do
		# shellcheck disable=SC2086 # args holds several words
		timeout -k 5 30 "$build/ember" --kernel "$img/bzImage" --initrd "$img/initramfs.cpio" \
			--mem 256 --cmdline "$base ember.scenario=poweroff" $args </dev/null >"$tmp/out" 2>&1
		rc=$?
		lines=$(grep -c . "$tmp/out")
		if [ $rc = 0 ] || [ $rc -ge 124 ] || [ "$lines" != 1 ] || ! grep -q -- "$want" "$tmp/out"; then
			fail $name "[$args]: exit $rc, $lines lines, want one line with '$want'"; return
		fi
	done <<EOF_CASES
--drive path=$tmp/missing.img|$tmp/missing.img
--drive path=$tmp|$tmp
--drive path=$tmp/g.img --drive path=$tmp/g.img|$tmp/g.img
EOF_CASES
	pass $name "missing file, directory, one image twice read-write: refused before boot"
}

for t in ${VIRTIO_TESTS:-blk_read blk_write blk_ro rootfs hwrng two_drives bad_drives}; do
	"t_$t"
done
echo "virtio: $passed passed, $failed failed"
[ $failed = 0 ]
