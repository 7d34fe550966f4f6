/* PVH entry: the VMM enters here in 32-bit protected mode with paging off
 * and %ebx = struct hvm_start_info. We record that state, then switch to
 * long mode on our own GDT and page tables and call guest_main() in C.
 *
 * The ELF note XEN_ELFNOTE_PHYS32_ENTRY (type 18, name "Xen") tells the
 * VMM where pvh_entry is; notes.S adds other notes before it so that the
 * VMM's note parser has to walk past them. */
#include "guest.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.Xen.entry, "a", @note
	.balign 4
	.long 4                         /* namesz: "Xen\0" */
	.long 4                         /* descsz: 32-bit physical address */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.balign 4
	.long pvh_entry
	.balign 4

	.section .text.entry, "ax"
	.code32
	.globl pvh_entry
pvh_entry:
	/* Take our own stack first (mov does not touch flags), then record
	 * EFLAGS before anything changes it. */
	movl %esp, entry_state + ES_SP
	movl $stack_top, %esp
	pushfl
	popl entry_state + ES_RFLAGS
	cli
	cld
	movl %ebx, entry_state + ES_BOOT_REG
	call 1f
1:	popl %eax
	subl $(1b - pvh_entry), %eax
	movl %eax, entry_state + ES_ENTRY
	movl %cr0, %eax
	movl %eax, entry_state + ES_CR0
	movl %cr3, %eax
	movl %eax, entry_state + ES_CR3
	movl %cr4, %eax
	movl %eax, entry_state + ES_CR4
	movl $MSR_EFER, %ecx
	rdmsr
	movl %eax, entry_state + ES_EFER
	movl %edx, entry_state + ES_EFER + 4
	movw %cs, entry_state + ES_CS
	movw %ds, entry_state + ES_DS
	movw %es, entry_state + ES_ES
	movw %ss, entry_state + ES_SS
	str entry_state + ES_TR
	sgdt gdtr_scratch
	movzwl gdtr_scratch, %eax
	movl %eax, entry_state + ES_GDT_LIMIT
	movl gdtr_scratch + 2, %eax
	movl %eax, entry_state + ES_GDT_BASE
	movl $32, entry_state + ES_MODE

	/* .bss: note whether the loader left it zeroed, then clear it
	 * (the stack lives there but holds nothing yet). */
	xorl %eax, %eax
	movl $bss_probe_first, %esi
	movl $(BSS_PROBE_SIZE / 4), %ecx
2:	orl (%esi), %eax
	addl $4, %esi
	loop 2b
	movl $bss_probe_last, %esi
	movl $(BSS_PROBE_SIZE / 4), %ecx
3:	orl (%esi), %eax
	addl $4, %esi
	loop 3b
	movl %eax, entry_state + ES_BSS_DIRTY
	movl $_bss_start, %edi
	movl $_bss_end, %ecx
	subl %edi, %ecx
	shrl $2, %ecx
	xorl %eax, %eax
	rep stosl

	/* Long mode: PAE, our 4 GiB identity map, EFER.LME, then paging. */
	movl $pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	lgdt gdt_desc
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ljmp $0x08, $long_mode

	.code64
long_mode:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq $stack_top, %rsp
	movq $entry_state, %rdi
	call guest_main
	jmp reset_and_halt

	.section .rodata
	.balign 16
gdt:
	.quad 0                         /* 0x00 null */
	.quad 0x00af9b000000ffff        /* 0x08 64-bit code */
	.quad 0x00cf93000000ffff        /* 0x10 data, flat */
	.quad 0x00cf9b000000ffff        /* 0x18 32-bit code, flat */
gdt_end:
	.balign 8
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.data
	.balign 16
	.globl entry_state
entry_state:
	.fill ES_SIZE, 1, 0
gdtr_scratch:
	.fill 16, 1, 0

	/* Identity map of [0, 4 GiB) with 2 MiB pages, built at link time. */
	.section .data.pagetables, "aw"
	.balign 4096
pml4:
	.quad pdpt + 0x3
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x0003
	.quad pd + 0x1003
	.quad pd + 0x2003
	.quad pd + 0x3003
	.fill 508, 8, 0
pd:
	.set i, 0
	.rept 2048
	.quad (i << 21) | 0x83          /* present, writable, 2 MiB page */
	.set i, i + 1
	.endr

	.section .probe_first, "aw", @nobits
	.balign 16
bss_probe_first:
	.skip BSS_PROBE_SIZE
	.section .probe_last, "aw", @nobits
bss_probe_last:
	.skip BSS_PROBE_SIZE

	.bss
	.balign 16
stack:
	.skip GUEST_STACK_SIZE
stack_top:
