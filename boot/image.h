/* What a kernel-format loader (bzimage, elf) tells boot_load about the
 * kernel it placed, so that the common steps (command line, initrd, memory
 * map, boot structures) need not know the format. */
#ifndef EMBER_BOOT_IMAGE_H
#define EMBER_BOOT_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
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

/* Told when a range of the kernel image has been copied into guest memory
 * and will not be read again, so the caller may drop those pages: a 50 MB
 * vmlinux need not stay resident next to its copy. fn NULL: not told. */
struct boot_release {
	void (*fn)(void *ctx, size_t offset, size_t len);
	void *ctx;
};

static inline void boot_release_range(const struct boot_release *rel, size_t offset, size_t len)
{
	if (rel && rel->fn && len)
		rel->fn(rel->ctx, offset, len);
}

/* End of the RAM every loader places things in: the region at 0, which
 * never reaches into the MMIO gap. */
static inline uint64_t boot_low_limit(const struct guest_mem *mem)
{
	uint64_t end = guest_mem_low_end(mem);

	return end < LAYOUT_MMIO_GAP_START ? end : LAYOUT_MMIO_GAP_START;
}

/* The guest memory size, in whole MiB, that puts `end` inside low memory:
 * what a "does not fit" message tells the user to ask for. */
static inline unsigned long long boot_mib_to_hold(uint64_t end)
{
	return (unsigned long long)((end >> 20) + ((end & ((1ULL << 20) - 1)) != 0));
}

#endif
