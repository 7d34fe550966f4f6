#!/usr/bin/env bash
# Structure checks of the built test guests, on the host (no KVM, no QEMU):
# the PVH note, the plain ELF64's lack of it, and the bzImage setup header.
#   tests/guest/check_images.sh GUEST_DIR      (e.g. build/guest)
# Needs readelf and od. Prints "guest images: N passed, N failed".
set -u
dir=${1:?usage: $0 GUEST_DIR}
passed=0 failed=0

ok() { passed=$((passed + 1)); printf '  ok   %s\n' "$1"; }
bad() { failed=$((failed + 1)); printf '  FAIL %s\n' "$1"; }
expect() { # NAME COND...
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
rd() { od -An -t "u$3" -j "$2" -N "$3" "$1" | tr -d ' \n'; } # FILE OFFSET SIZE
sym() { readelf -sW "$1" | awk -v s="$2" '$8 == s { print "0x" $2; exit }'; }

# Whether ADDR lies in an executable PT_LOAD of ELF file F, with vaddr == paddr.
in_exec_load() {
	readelf -lW "$1" | awk -v a=$(($2)) '
		$1 == "LOAD" { fl = ""; for (i = 7; i < NF; i++) fl = fl $i
			v = strtonum_($3); p = strtonum_($4); m = strtonum_($6)
			if (fl ~ /E/ && v == p && a >= p && a < p + m) f = 1 }
		function strtonum_(h,   i, n, c) { n = 0; h = tolower(substr(h, 3))
			for (i = 1; i <= length(h); i++) { c = index("0123456789abcdef", substr(h, i, 1)) - 1; n = n * 16 + c }
			return n }
		END { exit !f }'
}

echo "guest images in $dir:"

# ---- PVH ELF ----
f=$dir/pvh_guest.elf
hdr=$(readelf -hW "$f")
expect "pvh: ELF64 x86-64 executable" grep -q 'Class:.*ELF64' <<<"$hdr"
expect "pvh: machine x86-64" grep -q 'Machine:.*X86-64' <<<"$hdr"
notes=$(readelf -nW "$f")
entry_note=$(sed -n 's/^ *Xen *0x00000004.*(0x00000012).*description data: \(..\) \(..\) \(..\) \(..\) *$/\4\3\2\1/p' <<<"$notes")
entry_sym=$(sym "$f" pvh_entry)
expect "pvh: Xen note type 18 (PHYS32_ENTRY), 4-byte desc" test -n "$entry_note"
expect "pvh: PHYS32_ENTRY = pvh_entry ($entry_sym)" test "$((0x${entry_note:-0}))" = "$((${entry_sym:-1}))"
expect "pvh: entry in an executable PT_LOAD, vaddr == paddr" in_exec_load "$f" "${entry_sym:-0}"
expect "pvh: other notes precede the entry note (build-id, Xen GUEST_OS)" \
	test "$(grep -cE '^ +(GNU|Xen) ' <<<"$notes")" = 3
expect "pvh: a PT_NOTE segment" grep -q '^ *NOTE ' <<<"$(readelf -lW "$f")"

# ---- plain ELF64 ----
f=$dir/elf64_guest.elf
notes=$(readelf -nW "$f")
expect "elf64: no Xen note type 18" test -z "$(grep -E 'Xen .*\(0x00000012\)' <<<"$notes")"
expect "elf64: has a Xen note of another type (GUEST_OS)" grep -qE 'Xen .*\(0x00000006\)' <<<"$notes"
entry=$(readelf -hW "$f" | awk '/Entry point/ { print $4 }')
expect "elf64: e_entry = entry64 ($entry)" test "$((entry))" = "$(($(sym "$f" entry64)))"
expect "elf64: e_entry in an executable PT_LOAD, vaddr == paddr" in_exec_load "$f" "$entry"
expect "elf64: a .bss beyond the file (p_memsz > p_filesz)" \
	awk '$1 == "LOAD" && $5 != $6 { f = 1 } END { exit !f }' <<<"$(readelf -lW "$f")"

# ---- bzImage ----
f=$dir/bz_guest.bin
elf=$dir/bz_guest.elf
size=$(stat -c %s "$f")
setup=$(rd "$f" $((0x1f1)) 1)
syssize=$(rd "$f" $((0x1f4)) 4)
pref=$(rd "$f" $((0x258)) 8)
init_size=$(rd "$f" $((0x260)) 4)
align=$(rd "$f" $((0x230)) 4)
expect "bz: boot_flag 0xaa55 at 0x1fe" test "$(rd "$f" $((0x1fe)) 2)" = $((0xaa55))
expect "bz: \"HdrS\" at 0x202" test "$(dd if="$f" bs=1 skip=$((0x202)) count=4 2>/dev/null)" = HdrS
expect "bz: version >= 0x020c" test "$(rd "$f" $((0x206)) 2)" -ge $((0x020c))
expect "bz: jump at 0x200 spans the header to 0x268" test "$(rd "$f" $((0x200)) 1)-$(rd "$f" $((0x201)) 1)" = "235-$((0x268 - 0x202))"
expect "bz: sentinel 0xff at 0x1ef" test "$(rd "$f" $((0x1ef)) 1)" = 255
expect "bz: loadflags LOADED_HIGH" test $(($(rd "$f" $((0x211)) 1) & 1)) = 1
expect "bz: relocatable_kernel = 1" test "$(rd "$f" $((0x234)) 1)" = 1
expect "bz: xloadflags XLF_KERNEL_64" test $(($(rd "$f" $((0x236)) 2) & 1)) = 1
expect "bz: kernel_alignment a power of two, pref_address aligned" \
	test $((align & (align - 1))) = 0 -a $((pref % align)) = 0
expect "bz: pref_address 16 MiB" test "$pref" = $((0x1000000))
expect "bz: cmdline_size 2047" test "$(rd "$f" $((0x238)) 4)" = 2047
expect "bz: file = (setup_sects + 1) * 512 + syssize * 16 ($size)" test "$size" = $(((setup + 1) * 512 + syssize * 16))
expect "bz: init_size page-aligned and covers the payload with .bss" \
	test $((init_size % 4096)) = 0 -a "$init_size" -ge "$((syssize * 16))" -a \
	"$((pref + init_size))" -ge "$(($(sym "$elf" _image_end)))"
expect "bz: entry64 linked at pref_address + 0x200" test "$(($(sym "$elf" entry64)))" = $((pref + 0x200))
payload=$(((setup + 1) * 512))
expect "bz: payload + 0x200 holds entry64's code" \
	test "$(od -An -tx1 -j $((payload + 0x200)) -N 16 "$f")" = \
	"$(objcopy -O binary -j .text "$elf" /dev/stdout | od -An -tx1 -j $((0x200)) -N 16)"

echo "guest images: $passed passed, $failed failed"
[ "$failed" = 0 ]
