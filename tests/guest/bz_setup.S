/* The first two 512-byte sectors of bz_guest.bin: a boot sector and the
 * Linux boot-protocol setup header (Documentation/arch/x86/boot.rst), as
 * a VMM using the 64-bit boot protocol reads it. There is no real 16-bit
 * setup code: a loader that runs the image in real mode (a BIOS, or
 * QEMU's own -kernel path) gets a FAIL line on COM1 and a reset. */
#include "guest.h"

#define LOADED_HIGH 0x01
#define XLF_KERNEL_64 0x01

	.section .bzsetup, "a"
	.code16
bootsect:
	jmp realmode_entry

	.org 0x1ef
sentinel:	.byte 0xff, 0xff        /* a loader must not copy this into boot_params */
	/* ---- setup header: 0x1f1 up to hdr_end ---- */
setup_sects:	.byte 1                 /* = BZ_SETUP_SECTS in bz.ld */
root_flags:	.word 0
syssize:	.long _bz_syssize       /* payload size in 16-byte units */
ram_size:	.word 0
vid_mode:	.word 0xffff
root_dev:	.word 0
boot_flag:	.word 0xaa55
	/* 0x200: the real-mode entry jumps over the header */
	.byte 0xeb, hdr_end - bootsect - 0x202
header:		.ascii "HdrS"
version:	.word 0x020c
realmode_swtch:	.long 0
start_sys_seg:	.word 0x1000
kernel_version:	.word kver - bootsect - 0x200
type_of_loader:	.byte 0
loadflags:	.byte LOADED_HIGH
setup_move_size: .word 0
code32_start:	.long 0x100000
ramdisk_image:	.long 0
ramdisk_size:	.long 0
bootsect_kludge: .long 0
heap_end_ptr:	.word 0
ext_loader_ver:	.byte 0
ext_loader_type: .byte 0
cmd_line_ptr:	.long 0
initrd_addr_max: .long 0x7fffffff
kernel_alignment: .long 0x200000
relocatable_kernel: .byte 1
min_alignment:	.byte 21
xloadflags:	.word XLF_KERNEL_64
cmdline_size:	.long 2047
hardware_subarch: .long 0
hardware_subarch_data: .quad 0
payload_offset:	.long 0
payload_length:	.long 0
setup_data:	.quad 0
pref_address:	.quad _payload_start    /* = BZ_PREF_ADDRESS */
init_size:	.long _bz_init_size
handover_offset: .long 0
hdr_end:

	/* Real-mode entry (boot sector at 0, or setup at 0x200 by a 16-bit
	 * loader): position-independent, prints the message and resets. */
realmode_entry:
	cli
	movw %cs, %ax
	movw %ax, %ds
	call 1f
1:	popw %si
	addw $(rm_msg - 1b), %si
2:	lodsb
	testb %al, %al
	jz 3f
	movw $COM1, %dx
	outb %al, %dx
	jmp 2b
3:	movb $0xfe, %al
	outb %al, $I8042_CMD
4:	hlt
	jmp 4b

rm_msg:
	.ascii "info bz_guest: entered in 16-bit real mode\n"
	.ascii "FAIL realmode_entry: bz_guest.bin supports only the 64-bit boot protocol (entry at load address + 0x200)\n"
	.asciz "DONE 0/1\n"
kver:
	.asciz "ember-test-guest bz_guest (64-bit boot protocol only)"

	.org (1 + 1) * 512, 0
