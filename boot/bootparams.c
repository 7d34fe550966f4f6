#include "boot/bootparams.h"

#include <string.h>

#include "boot/layout.h"
#include "boot/le.h"
#include "vmm/log.h"

_Static_assert(BP_E820_TABLE + E820_MAX * BP_E820_ENTRY_SIZE <= 0xd00,
	       "e820_table ends where eddbuf starts");

#define BP_SYNTH_VERSION 0x020c
/* CONFIG_PHYSICAL_ALIGN of the usual x86-64 configs, as Firecracker passes. */
#define BP_SYNTH_ALIGNMENT 0x1000000

void bootparams_synthesize(uint8_t zp[BP_SIZE])
{
	memset(zp, 0, BP_SIZE);
	le16_write(zp + BP_BOOT_FLAG, BP_BOOT_FLAG_MAGIC);
	le32_write(zp + BP_HEADER, BP_HEADER_MAGIC);
	le16_write(zp + BP_VERSION, BP_SYNTH_VERSION);
	zp[BP_LOADFLAGS] = BP_LOADED_HIGH;
	le32_write(zp + BP_KERNEL_ALIGNMENT, BP_SYNTH_ALIGNMENT);
	le32_write(zp + BP_CMDLINE_SIZE, (uint32_t)(LAYOUT_CMDLINE_MAX - 1));
}

int bootparams_write(const struct guest_mem *mem, uint8_t zp[BP_SIZE],
		     const struct boot_info *info, const struct e820_map *map)
{
	int ret;

	zp[BP_TYPE_OF_LOADER] = BP_LOADER_UNDEFINED;
	zp[BP_LOADFLAGS] |= BP_LOADED_HIGH | BP_CAN_USE_HEAP;
	le16_write(zp + BP_HEAP_END_PTR, BP_HEAP_END);
	/* 64-bit values are split into the 2.x field and its ext_ high half. */
	le32_write(zp + BP_CMD_LINE_PTR, (uint32_t)info->cmdline_addr);
	le32_write(zp + BP_EXT_CMD_LINE_PTR, (uint32_t)(info->cmdline_addr >> 32));
	le32_write(zp + BP_RAMDISK_IMAGE, (uint32_t)info->initrd_addr);
	le32_write(zp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(info->initrd_addr >> 32));
	le32_write(zp + BP_RAMDISK_SIZE, (uint32_t)info->initrd_size);
	le32_write(zp + BP_EXT_RAMDISK_SIZE, (uint32_t)(info->initrd_size >> 32));
	le64_write(zp + BP_ACPI_RSDP_ADDR, info->rsdp_addr);
	zp[BP_E820_ENTRIES] = (uint8_t)map->nr; /* map->nr <= E820_MAX = 128 */
	memset(zp + BP_E820_TABLE, 0, E820_MAX * BP_E820_ENTRY_SIZE);
	for (unsigned i = 0; i < map->nr; i++) {
		uint8_t *e = zp + BP_E820_TABLE + i * BP_E820_ENTRY_SIZE;

		le64_write(e, map->entries[i].addr);
		le64_write(e + 8, map->entries[i].size);
		le32_write(e + 16, map->entries[i].type);
	}
	ret = guest_mem_write(mem, LAYOUT_ZERO_PAGE_ADDR, zp, BP_SIZE);
	if (ret)
		return err_wrap(ret, "writing boot_params");
	return 0;
}
