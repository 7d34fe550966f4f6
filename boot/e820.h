/* The guest's physical memory map, as E820 entries.
 *
 * One table feeds both boot paths: boot_params' e820_table (at most 128
 * entries) and the PVH memmap, which uses the same type numbers. */
#ifndef EMBER_BOOT_E820_H
#define EMBER_BOOT_E820_H

#include <stdint.h>

#include "vmm/guest_mem.h"

#define E820_MAX 128 /* boot_params.e820_table has room for this many */
#define E820_RAM 1
#define E820_RESERVED 2

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct e820_map {
	unsigned nr;
	struct e820_entry entries[E820_MAX];
};

void e820_init(struct e820_map *map);
/* Appends [addr, addr+size). Rejects empty or wrapping ranges (-EINVAL) and
 * a full table (-ENOSPC). */
int e820_add(struct e820_map *map, uint64_t addr, uint64_t size, uint32_t type);
/* Describes `mem`: its RAM minus the legacy hole [EBDA, 1 MiB) and the MMIO
 * gap, plus the reserved EBDA and BIOS areas, sorted by address. */
int e820_build(const struct guest_mem *mem, struct e820_map *map);

#endif
