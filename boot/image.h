/* What a kernel-format loader (bzimage, elf) tells boot_load about the
 * kernel it placed, so that the common steps (command line, initrd, memory
 * map, boot structures) need not know the format. */
#ifndef EMBER_BOOT_IMAGE_H
#define EMBER_BOOT_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/layout.h"
#include "vmm/guest_mem.h"

struct boot_image {
	uint64_t entry;
	uint64_t kernel_start; /* [start, end) the kernel occupies, init_size included */
	uint64_t kernel_end;
	uint64_t cmdline_max;  /* longest command line it takes, without the NUL */
	uint64_t initrd_limit; /* the initrd must end at or below this address */
	bool pvh;              /* ELF with XEN_ELFNOTE_PHYS32_ENTRY */
};

/* End of the RAM every loader places things in: the region at 0, which
 * never reaches into the MMIO gap. */
static inline uint64_t boot_low_limit(const struct guest_mem *mem)
{
	uint64_t end = guest_mem_low_end(mem);

	return end < LAYOUT_MMIO_GAP_START ? end : LAYOUT_MMIO_GAP_START;
}

#endif
