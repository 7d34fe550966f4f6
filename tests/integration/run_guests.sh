#!/usr/bin/env bash
# Boots the freestanding test guests (tests/guest/) under ember on a real
# /dev/kvm and checks what they report on COM1.
#
#   tests/integration/run_guests.sh BUILD_DIR           ember + KVM
#   tests/integration/run_guests.sh --qemu BUILD_DIR    self-test, no KVM
#
# Needs BUILD_DIR/ember (ember mode) and BUILD_DIR/guest/{pvh_guest.elf,
# bz_guest.bin,elf64_guest.elf} (plus qemu_shim.elf in --qemu mode).
#
# Each guest prints "ok NAME" / "FAIL NAME: detail" per check, echoes its
# command line as "cmdline: TEXT", ends with "DONE PASSED/TOTAL" and resets
# through the i8042, which ends ember with status 0. A run passes when the
# exit status is 0, DONE says n/n, there is no FAIL, every check the guest
# must run is there, and the command line came through byte for byte.
# Negative runs (truncated, empty, unrecognised or missing files) must make
# ember exit non-zero with a one-line error on stderr.
#
# --qemu runs the same guests under qemu-system-x86_64 (TCG): the PVH guest
# directly, the 64-bit guests through qemu_shim.elf (a loader inside the
# guest), and adds broken-loader runs that must make the guests report the
# matching FAIL. It checks the guests and this script without ember or KVM.
#
# Temporary files go to a mktemp directory under /tmp (the tree may be
# read-only). Prints "integration: N passed, N failed"; exits 1 on failure.
# EMBER_GUEST_TIMEOUT (seconds, default 30) bounds each VM run.
set -u

mode=ember
if [ "${1:-}" = --qemu ]; then
	mode=qemu
	shift
fi
if [ $# -ne 1 ]; then
	echo "usage: $0 [--qemu] BUILD_DIR" >&2
	exit 2
fi
build=$1
gdir=$build/guest
ember=$build/ember
timeout_s=${EMBER_GUEST_TIMEOUT:-30}

need=("$gdir/pvh_guest.elf" "$gdir/bz_guest.bin" "$gdir/elf64_guest.elf")
if [ $mode = ember ]; then need+=("$ember"); else need+=("$gdir/qemu_shim.elf"); fi
for f in "${need[@]}"; do
	if [ ! -f "$f" ]; then
		echo "run_guests: missing $f (build it first: make guests)" >&2
		echo "integration: 0 passed, 1 failed"
		exit 1
	fi
done
if [ $mode = qemu ] && ! command -v qemu-system-x86_64 >/dev/null; then
	echo "run_guests: qemu-system-x86_64 not found" >&2
	echo "integration: 0 passed, 1 failed"
	exit 1
fi

tmp=$(mktemp -d /tmp/ember-guests.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

mem=64
passed=0 failed=0

# ---- helpers ----

# Initrd of $1 bytes: byte i = (i*7 + 3 + (i>>8)*5 + (i>>16)*11) mod 256,
# as INITRD_BYTE() in tests/guest/guest.h.
mkinitrd() {
	perl -e 'binmode STDOUT; my $n = shift; my $s = "";
		for (my $i = 0; $i < $n; $i++) { $s .= chr(($i * 7 + 3 + ($i >> 8) * 5 + ($i >> 16) * 11) & 255) }
		print $s' "$1" >"$2"
}

# Unsigned little-endian integer of $3 bytes at offset $2 of file $1.
rd() { od -An -t "u$3" -j "$2" -N "$3" "$1" | tr -d ' \n'; }

# End of the last PT_LOAD's file data in ELF64 file $1.
elf_load_end() {
	local f=$1 phoff phentsize phnum i b end=0 off size
	phoff=$(rd "$f" 32 8) phentsize=$(rd "$f" 54 2) phnum=$(rd "$f" 56 2)
	for ((i = 0; i < phnum; i++)); do
		b=$((phoff + i * phentsize))
		[ "$(rd "$f" "$b" 4)" = 1 ] || continue
		off=$(rd "$f" $((b + 8)) 8) size=$(rd "$f" $((b + 32)) 8)
		((off + size > end)) && end=$((off + size))
	done
	echo "$end"
}

# Size a bzImage claims: (setup_sects + 1) * 512 + syssize * 16.
bz_claimed_size() {
	local setup sys
	setup=$(rd "$1" $((0x1f1)) 1) sys=$(rd "$1" $((0x1f4)) 4)
	[ "$setup" = 0 ] && setup=4
	echo $(((setup + 1) * 512 + sys * 16))
}

pass() {
	passed=$((passed + 1))
	printf '  PASS %s\n' "$1"
}

fail() {
	local name=$1 why=$2
	failed=$((failed + 1))
	printf '  FAIL %s: %s\n' "$name" "$why"
	if [ -s "$tmp/out" ]; then
		echo "    --- guest output (last 25 lines) ---"
		tail -n 25 "$tmp/out" | sed 's/^/    | /'
	fi
	if [ -s "$tmp/err" ]; then
		echo "    --- stderr (last 10 lines) ---"
		tail -n 10 "$tmp/err" | sed 's/^/    | /'
	fi
}

# run_vm GUEST INITRD CMDLINE VCPUS: boots GUEST (a file under $gdir, or a
# path) and leaves stdout in $tmp/out, stderr in $tmp/err, status in $rc.
# INITRD may be empty for none.
run_vm() {
	local guest=$1 initrd=$2 cmdline=$3 vcpus=$4 kernel cmd
	case $guest in */*) kernel=$guest ;; *) kernel=$gdir/$guest ;; esac
	if [ $mode = ember ]; then
		cmd=("$ember" --kernel "$kernel" --cmdline "$cmdline" --mem "$mem" --vcpus "$vcpus")
		[ -n "$initrd" ] && cmd+=(--initrd "$initrd")
	else
		cmd=(qemu-system-x86_64 -M pc -accel tcg -m "$mem" -smp "$vcpus" -nodefaults -display none
		     -serial stdio -monitor none -no-reboot -append "$cmdline")
		case $guest in
		pvh_guest.elf) cmd+=(-kernel "$kernel") ;;
		*) cmd+=(-kernel "$gdir/qemu_shim.elf" -device "loader,file=$kernel,addr=0x2000000,force-raw=on") ;;
		esac
		[ -n "$initrd" ] && cmd+=(-initrd "$initrd")
	fi
	timeout -k 5 "$timeout_s" "${cmd[@]}" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	tr -d '\r' <"$tmp/out" >"$tmp/out.lf" && mv "$tmp/out.lf" "$tmp/out"
}

# Checks every guest must report (initrd_* only when one is passed).
required_checks() {
	local guest=$1 with_initrd=$2 r
	case $guest in
	pvh_guest.elf)
		r="pvh_cr0 pvh_cr4 pvh_eflags pvh_cs pvh_data_segs bss_zero start_info_ptr start_info_magic
		   start_info_version cmdline memmap_count memmap_low memmap_1mib memmap_sorted memmap_size
		   kernel_in_ram initrd" ;;
	bz_guest.bin)
		r="long_mode rflags gdt_cs64 gdt_data load_addr boot_params_ptr bp_loader_type bp_header
		   bp_sentinel cmdline e820_count e820_low e820_1mib e820_sorted e820_size kernel_in_ram
		   initrd identity_map" ;;
	elf64_guest.elf)
		r="long_mode rflags gdt_cs64 gdt_data bss_zero boot_params_ptr bp_loader_type cmdline
		   e820_count e820_low e820_1mib e820_sorted e820_size kernel_in_ram initrd identity_map" ;;
	esac
	[ "$with_initrd" != 0 ] && r="$r initrd_size initrd_data initrd_placement"
	echo $r
}

# "DONE p/t" of the last run: sets done_pass and done_total, or returns 1.
parse_done() {
	local line
	line=$(grep -E '^DONE [0-9]+/[0-9]+$' "$tmp/out")
	[ "$(printf '%s\n' "$line" | grep -c .)" = 1 ] || return 1
	done_pass=${line#DONE } done_pass=${done_pass%/*}
	done_total=${line#*/}
}

# expect_pass NAME GUEST INITRD_BYTES VCPUS [EXTRA_CMDLINE]
expect_pass() {
	local name=$1 guest=$2 isize=$3 vcpus=$4 extra=${5:-} initrd="" cmdline n_ok c missing=""
	if [ "$isize" != 0 ]; then
		initrd=$tmp/initrd-$isize
		[ -f "$initrd" ] || mkinitrd "$isize" "$initrd"
	fi
	cmdline="ember.test=$name foo=bar quoted=\"a b\" path=/x/y,z=1 ember.initrd=$isize ember.mem=$mem$extra"
	run_vm "$guest" "$initrd" "$cmdline" "$vcpus"

	if [ $rc = 124 ] || [ $rc = 137 ]; then fail "$name" "timed out after ${timeout_s}s"; return; fi
	if [ $rc != 0 ]; then fail "$name" "exit status $rc, want 0 (guest reset)"; return; fi
	if grep -q '^FAIL ' "$tmp/out"; then
		fail "$name" "guest check failed: $(grep '^FAIL ' "$tmp/out" | head -n 3 | tr '\n' ' ')"
		return
	fi
	if ! parse_done; then fail "$name" "no single DONE line"; return; fi
	n_ok=$(grep -c '^ok ' "$tmp/out")
	if [ "$done_pass" != "$done_total" ] || [ "$n_ok" != "$done_total" ]; then
		fail "$name" "DONE $done_pass/$done_total with $n_ok ok lines"
		return
	fi
	for c in $(required_checks "$guest" "$isize"); do
		grep -qx "ok $c" "$tmp/out" || missing="$missing $c"
	done
	if [ -n "$missing" ]; then fail "$name" "checks not run:$missing"; return; fi
	if [ "$(grep -c '^cmdline: ' "$tmp/out")" != 1 ]; then fail "$name" "no single cmdline echo"; return; fi
	if [ "$(grep '^cmdline: ' "$tmp/out")" != "cmdline: $cmdline" ]; then
		fail "$name" "command line changed on the way: sent [$cmdline], guest saw [$(grep '^cmdline: ' "$tmp/out" | cut -c10-)]"
		return
	fi
	pass "$name ($done_total checks)"
}

# expect_guest_fail NAME GUEST INITRD_BYTES CMDLINE CHECK...: the guest runs
# to DONE and reports FAIL for each CHECK (self-test of the checks).
expect_guest_fail() {
	local name=$1 guest=$2 isize=$3 cmdline=$4 initrd="" c missing=""
	shift 4
	if [ "$isize" != 0 ]; then
		initrd=$tmp/initrd-$isize
		[ -f "$initrd" ] || mkinitrd "$isize" "$initrd"
	fi
	run_vm "$guest" "$initrd" "$cmdline" 1
	if [ $rc != 0 ]; then fail "$name" "exit status $rc, want 0"; return; fi
	if ! parse_done || [ "$done_pass" = "$done_total" ]; then fail "$name" "guest did not report a failure"; return; fi
	for c in "$@"; do
		grep -q "^FAIL $c: " "$tmp/out" || missing="$missing $c"
	done
	if [ -n "$missing" ]; then fail "$name" "expected FAIL for:$missing"; return; fi
	pass "$name (caught: $*)"
}

# expect_error NAME KERNEL [INITRD]: ember must refuse with a one-line error.
expect_error() {
	local name=$1 kernel=$2 initrd=${3:-} lines
	run_vm "$kernel" "$initrd" "ember.test=$name" 1
	if [ $rc = 124 ] || [ $rc = 137 ]; then fail "$name" "timed out after ${timeout_s}s"; return; fi
	if [ $rc = 0 ]; then fail "$name" "exit status 0, want an error"; return; fi
	if [ $rc -gt 123 ]; then fail "$name" "exit status $rc (signal or exec failure), want a clean error"; return; fi
	if grep -q '^DONE ' "$tmp/out"; then fail "$name" "the guest ran"; return; fi
	lines=$(grep -c . "$tmp/err")
	if [ "$lines" != 1 ]; then fail "$name" "stderr has $lines lines, want one error line"; return; fi
	pass "$name (exit $rc: $(head -c 100 "$tmp/err"))"
}

# ---- the runs ----
echo "guests ($mode, timeout ${timeout_s}s, ${mem} MiB):"

long=""
for i in $(seq 1 150); do long="$long w$i=$((i * 7919))"; done # ~1400 bytes

for g in pvh_guest.elf bz_guest.bin elf64_guest.elf; do
	n=${g%%_*}
	expect_pass "$n" "$g" 5003 1
	expect_pass "$n-no-initrd" "$g" 0 1
	expect_pass "$n-vcpus2" "$g" 5003 2
	expect_pass "$n-long-cmdline" "$g" 5003 1 "$long"
done
expect_pass pvh-big-initrd pvh_guest.elf 3145733 1
expect_pass bz-big-initrd bz_guest.bin 3145733 1

if [ $mode = ember ]; then
	# Truncated and malformed kernels, missing files.
	for g in pvh_guest.elf elf64_guest.elf; do
		end=$(elf_load_end "$gdir/$g")
		head -c $((end - 1)) "$gdir/$g" >"$tmp/cut-$g"
		expect_error "${g%%_*}-truncated-segment" "$tmp/cut-$g"
		head -c 100 "$gdir/$g" >"$tmp/hdr-$g"
		expect_error "${g%%_*}-truncated-phdrs" "$tmp/hdr-$g"
	done
	size=$(bz_claimed_size "$gdir/bz_guest.bin")
	head -c $((size - 1)) "$gdir/bz_guest.bin" >"$tmp/cut-bz"
	expect_error bz-truncated-payload "$tmp/cut-bz"
	head -c $((0x250)) "$gdir/bz_guest.bin" >"$tmp/hdr-bz"
	expect_error bz-truncated-header "$tmp/hdr-bz"
	: >"$tmp/empty"
	expect_error empty-kernel "$tmp/empty"
	head -c 8192 /dev/zero | tr '\0' '\377' >"$tmp/garbage"
	expect_error unrecognised-kernel "$tmp/garbage"
	expect_error missing-kernel "$tmp/does-not-exist"
	expect_error missing-initrd "$gdir/pvh_guest.elf" "$tmp/does-not-exist"
else
	# The checks themselves: expectations the VMM does not meet...
	std="ember.test=selftest ember.initrd=5003 ember.mem=$mem"
	expect_guest_fail selftest-wrong-initrd-size pvh_guest.elf 5003 "ember.test=x ember.initrd=5004" initrd_size
	expect_guest_fail selftest-wrong-mem pvh_guest.elf 5003 "ember.test=x ember.mem=$((mem * 2))" memmap_size
	expect_guest_fail selftest-unwanted-initrd pvh_guest.elf 5003 "ember.test=x ember.initrd=0" initrd
	expect_guest_fail selftest-missing-initrd elf64_guest.elf 0 "$std" initrd
	expect_guest_fail selftest-no-marker pvh_guest.elf 0 "ember.testx=1 xember.test=2" cmdline
	# ...and a loader that gets one thing wrong (qemu_shim.c, shim.fault=).
	for f in loader_type:bp_loader_type e820_overlap:e820_sorted initrd_shift:initrd_data \
		initrd_short:initrd_size no_initrd:initrd cmdline_skew:cmdline sentinel:bp_sentinel \
		no_header:bp_header entry0:entry_offset misload:load_addr; do
		expect_guest_fail "selftest-bz-${f%%:*}" bz_guest.bin 5003 "$std shim.fault=${f%%:*}" "${f#*:}"
	done
	for f in loader_type:bp_loader_type initrd_shift:initrd_data bss_dirty:bss_zero; do
		expect_guest_fail "selftest-elf64-${f%%:*}" elf64_guest.elf 5003 "$std shim.fault=${f%%:*}" "${f#*:}"
	done
	# QEMU's own bzImage path enters the setup in 16-bit real mode.
	timeout -k 5 "$timeout_s" qemu-system-x86_64 -M pc -accel tcg -m "$mem" -nodefaults -display none \
		-serial stdio -monitor none -no-reboot -kernel "$gdir/bz_guest.bin" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc = 0 ] && grep -q '^FAIL realmode_entry: ' "$tmp/out" && grep -qx 'DONE 0/1' "$tmp/out"; then
		pass "selftest-bz-realmode-entry"
	else
		fail selftest-bz-realmode-entry "exit $rc, no FAIL realmode_entry"
	fi
fi

echo "integration: $passed passed, $failed failed"
[ "$failed" = 0 ]
