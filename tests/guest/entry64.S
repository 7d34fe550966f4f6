/* 64-bit entry (Linux 64-bit boot protocol, and plain ELF64 entry): the
 * VMM enters in long mode with identity paging and %rsi = boot_params.
 * We record that state and call guest_main() in C on our own stack, using
 * the VMM's GDT and page tables as they are (the checks inspect them).
 *
 * Until the load address is known to be right, only RIP-relative
 * addressing is used, so a misplaced image can still say what went wrong. */
#include "guest.h"

	/* bzImage payload offset 0 is the 32-bit entry in Linux; this image
	 * has none. A VMM that jumps here instead of +0x200 is told so. */
	.section .text.head, "ax"
	.code64
	.globl payload_head
payload_head:
	leaq msg_head(%rip), %rsi
	jmp early_fail

	.section .text.entry64, "ax"
	.globl entry64
entry64:
	movq %rsp, %r8
	leaq stack_top(%rip), %rsp
	pushfq
	popq %r9
	cli
	cld
	leaq entry64(%rip), %rax
	movq $entry64, %rcx
	cmpq %rcx, %rax
	jne wrong_place

	movq %r8, entry_state + ES_SP(%rip)
	movq %r9, entry_state + ES_RFLAGS(%rip)
	movq %rsi, entry_state + ES_BOOT_REG(%rip)
	movq %rax, entry_state + ES_ENTRY(%rip)
	movq %cr0, %rax
	movq %rax, entry_state + ES_CR0(%rip)
	movq %cr3, %rax
	movq %rax, entry_state + ES_CR3(%rip)
	movq %cr4, %rax
	movq %rax, entry_state + ES_CR4(%rip)
	movl $MSR_EFER, %ecx
	rdmsr
	movl %eax, entry_state + ES_EFER(%rip)
	movl %edx, entry_state + ES_EFER + 4(%rip)
	movw %cs, entry_state + ES_CS(%rip)
	movw %ds, entry_state + ES_DS(%rip)
	movw %es, entry_state + ES_ES(%rip)
	movw %ss, entry_state + ES_SS(%rip)
	str entry_state + ES_TR(%rip)
	sgdt gdtr_scratch(%rip)
	movzwl gdtr_scratch(%rip), %eax
	movq %rax, entry_state + ES_GDT_LIMIT(%rip)
	movq gdtr_scratch + 2(%rip), %rax
	movq %rax, entry_state + ES_GDT_BASE(%rip)
	movq $64, entry_state + ES_MODE(%rip)

	/* .bss: note whether the loader left it zeroed, then clear it. */
	xorl %eax, %eax
	leaq bss_probe_first(%rip), %rsi
	movl $(BSS_PROBE_SIZE / 8), %ecx
1:	orq (%rsi), %rax
	addq $8, %rsi
	loop 1b
	leaq bss_probe_last(%rip), %rsi
	movl $(BSS_PROBE_SIZE / 8), %ecx
2:	orq (%rsi), %rax
	addq $8, %rsi
	loop 2b
	movq %rax, entry_state + ES_BSS_DIRTY(%rip)
	leaq _bss_start(%rip), %rdi
	leaq _bss_end(%rip), %rcx
	subq %rdi, %rcx
	shrq $3, %rcx
	xorl %eax, %eax
	rep stosq

	leaq entry_state(%rip), %rdi
	call guest_main
	jmp reset_and_halt

	/* %rax = where entry64 actually is. */
wrong_place:
	movq %rax, %rbx
	leaq msg_place(%rip), %rsi
	call early_puts
	movq %rbx, %rax
	call early_hex
	leaq msg_place2(%rip), %rsi
	call early_puts
	movq $entry64, %rax
	call early_hex
	leaq msg_place_end(%rip), %rsi
	/* fall through */

	/* Prints the string at %rsi, then resets. */
early_fail:
	call early_puts
	movb $0xfe, %al
	outb %al, $I8042_CMD
3:	cli
	hlt
	jmp 3b

	/* Prints the NUL-terminated string at %rsi. Clobbers rax rcx rdx rsi. */
early_puts:
	movb (%rsi), %al
	testb %al, %al
	jz 5f
	call early_putc
	incq %rsi
	jmp early_puts
5:	ret

	/* Prints %rax as 0x + 16 hex digits. Clobbers rax rcx rdx rdi. */
early_hex:
	movq %rax, %rdi
	movb $'0', %al
	call early_putc
	movb $'x', %al
	call early_putc
	movl $16, %ecx
6:	rolq $4, %rdi
	movl %edi, %eax
	andl $15, %eax
	cmpl $10, %eax
	jb 7f
	addl $('a' - '0' - 10), %eax
7:	addl $'0', %eax
	pushq %rcx
	call early_putc
	popq %rcx
	loop 6b
	ret

	/* Writes %al to COM1 after (bounded) polling LSR.THRE. Clobbers rcx rdx. */
early_putc:
	movb %al, %ah
	movw $(COM1 + 5), %dx
	movl $1000, %ecx
8:	inb %dx, %al
	testb $0x20, %al
	jnz 9f
	loop 8b
9:	movb %ah, %al
	movw $COM1, %dx
	outb %al, %dx
	ret

	.section .rodata
msg_head:
	.asciz "FAIL entry_offset: entered at payload offset 0; the 64-bit entry is at load address + 0x200\nDONE 0/1\n"
msg_place:
	.asciz "FAIL load_addr: entry64 runs at "
msg_place2:
	.asciz " but is linked at "
msg_place_end:
	.asciz " (load the image at its preferred address)\nDONE 0/1\n"

	.data
	.balign 16
	.globl entry_state
entry_state:
	.fill ES_SIZE, 1, 0
gdtr_scratch:
	.fill 16, 1, 0

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
