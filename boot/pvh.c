#include "boot/pvh.h"

#include <string.h>

#include "boot/layout.h"
#include "boot/le.h"
#include "vmm/log.h"

_Static_assert(PVH_START_INFO_SIZE <= PVH_MODLIST_OFFSET, "modlist after start_info");
_Static_assert(PVH_MODLIST_OFFSET + PVH_MODLIST_ENTRY_SIZE <= PVH_MEMMAP_OFFSET,
	       "one module: the initrd");
_Static_assert(PVH_MEMMAP_OFFSET + E820_MAX * PVH_MEMMAP_ENTRY_SIZE <= LAYOUT_PVH_INFO_SIZE,
	       "a full memory map fits the PVH info page");

int pvh_write(const struct guest_mem *mem, const struct boot_info *info,
	      const struct e820_map *map)
{
	uint8_t page[LAYOUT_PVH_INFO_SIZE];
	int ret;

	memset(page, 0, sizeof(page));
	le32_write(page + PVH_MAGIC, PVH_START_MAGIC);
	le32_write(page + PVH_VERSION, PVH_START_VERSION);
	le64_write(page + PVH_CMDLINE_PADDR, info->cmdline_addr);
	/* 0 without ACPI tables. */
	le64_write(page + PVH_RSDP_PADDR, info->rsdp_addr);
	if (info->initrd_size) {
		uint8_t *mod = page + PVH_MODLIST_OFFSET;

		le32_write(page + PVH_NR_MODULES, 1);
		le64_write(page + PVH_MODLIST_PADDR, LAYOUT_PVH_INFO_ADDR + PVH_MODLIST_OFFSET);
		le64_write(mod, info->initrd_addr);
		le64_write(mod + 8, info->initrd_size);
	}
	le64_write(page + PVH_MEMMAP_PADDR, LAYOUT_PVH_INFO_ADDR + PVH_MEMMAP_OFFSET);
	le32_write(page + PVH_MEMMAP_ENTRIES, map->nr);
	for (unsigned i = 0; i < map->nr; i++) {
		uint8_t *e = page + PVH_MEMMAP_OFFSET + i * PVH_MEMMAP_ENTRY_SIZE;

		le64_write(e, map->entries[i].addr);
		le64_write(e + 8, map->entries[i].size);
		le32_write(e + 16, map->entries[i].type);
	}
	ret = guest_mem_write(mem, LAYOUT_PVH_INFO_ADDR, page, sizeof(page));
	if (ret)
		return err_wrap(ret, "writing the PVH start_info");
	return 0;
}
