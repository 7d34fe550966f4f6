/* Initrd placement: page aligned at the top of low memory, below `limit`
 * (the end of low RAM, or lower if the kernel says so), above the boot
 * structures below 1 MiB, and clear of the kernel. */
#ifndef EMBER_BOOT_INITRD_H
#define EMBER_BOOT_INITRD_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

#define INITRD_ALIGN 0x1000ULL

/* Chooses the address only. -ENOMEM with a message if it does not fit or
 * would overlap the kernel [kernel_start, kernel_end). */
int initrd_place(uint64_t size, uint64_t limit, uint64_t kernel_start, uint64_t kernel_end,
		 uint64_t *addr);
/* initrd_place, then copies the image there. */
int initrd_load(const struct guest_mem *mem, const uint8_t *data, size_t len, uint64_t limit,
		uint64_t kernel_start, uint64_t kernel_end, uint64_t *addr);

#endif
