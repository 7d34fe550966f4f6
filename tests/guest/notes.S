/* An ELF note that is not the PVH entry: XEN_ELFNOTE_GUEST_OS (type 6).
 * Linked into the PVH guest (before the PHYS32_ENTRY note, so a VMM has to
 * walk past it) and into the plain ELF64 guest (which must still boot through
 * its 64-bit e_entry: a Xen note alone does not make an image PVH). With the
 * GNU build-id note the linker adds, the PT_NOTE segment holds several notes
 * with names and descriptors of different padded lengths. */
#define XEN_ELFNOTE_GUEST_OS 6

	.section .note.Xen.guestos, "a", @note
	.balign 4
	.long 4                         /* namesz: "Xen\0" */
	.long 2f - 1f                   /* descsz, not a multiple of 4 */
	.long XEN_ELFNOTE_GUEST_OS
	.asciz "Xen"
	.balign 4
1:	.asciz "ember-test"
2:	.balign 4
