/* A PVH guest that never ends by itself: it says "SPIN" on COM1 and parks
 * with interrupts off in HLT. KVM keeps such a vCPU blocked in the kernel,
 * so only the VMM kicking its vCPU thread (SIGTERM path) stops the VM. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.Xen.entry, "a", @note
	.balign 4
	.long 4, 4, XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long spin_entry

	.text
	.code32
	.globl spin_entry
spin_entry:
	mov $0x3f8, %dx
	mov $'S', %al
	out %al, %dx
	mov $'P', %al
	out %al, %dx
	mov $'I', %al
	out %al, %dx
	mov $'N', %al
	out %al, %dx
	mov $'\n', %al
	out %al, %dx
1:	cli
	hlt
	jmp 1b
