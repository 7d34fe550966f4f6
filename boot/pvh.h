/* The PVH boot structures: struct hvm_start_info (version 1) with its module
 * list and memory map, packed into the page at LAYOUT_PVH_INFO_ADDR. Offsets
 * are from xen/include/public/arch-x86/hvm/start_info.h. */
#ifndef EMBER_BOOT_PVH_H
#define EMBER_BOOT_PVH_H

#include <stdint.h>

#include "boot/e820.h"
#include "boot/loader.h"
#include "vmm/guest_mem.h"

#define PVH_START_MAGIC 0x336ec578
#define PVH_START_VERSION 1 /* adds memmap_paddr/memmap_entries */

#define PVH_MAGIC 0x00
#define PVH_VERSION 0x04
#define PVH_FLAGS 0x08
#define PVH_NR_MODULES 0x0c
#define PVH_MODLIST_PADDR 0x10
#define PVH_CMDLINE_PADDR 0x18
#define PVH_RSDP_PADDR 0x20
#define PVH_MEMMAP_PADDR 0x28
#define PVH_MEMMAP_ENTRIES 0x30
#define PVH_START_INFO_SIZE 0x38

#define PVH_MODLIST_OFFSET 0x40 /* from LAYOUT_PVH_INFO_ADDR */
#define PVH_MODLIST_ENTRY_SIZE 32
#define PVH_MEMMAP_OFFSET 0x60
#define PVH_MEMMAP_ENTRY_SIZE 24

int pvh_write(const struct guest_mem *mem, const struct boot_info *info,
	      const struct e820_map *map);

#endif
