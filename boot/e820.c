#include "boot/e820.h"

#include <errno.h>
#include <string.h>

#include "boot/layout.h"
#include "vmm/log.h"

/* Address ranges that are never RAM to the guest, even where a memory
 * region covers them: the EBDA/VGA/BIOS hole below 1 MiB and the MMIO gap. */
static const struct {
	uint64_t start, end;
} e820_holes[] = {
	{ LAYOUT_EBDA_START, LAYOUT_HIMEM_START },
	{ LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END },
};

void e820_init(struct e820_map *map)
{
	memset(map, 0, sizeof(*map));
}

int e820_add(struct e820_map *map, uint64_t addr, uint64_t size, uint32_t type)
{
	uint64_t end;

	if (size == 0 || __builtin_add_overflow(addr, size, &end))
		return err_fail(-EINVAL, "bad range 0x%llx+0x%llx", (unsigned long long)addr,
				(unsigned long long)size);
	if (map->nr >= E820_MAX)
		return err_fail(-ENOSPC, "more than %d memory map entries", E820_MAX);
	map->entries[map->nr++] = (struct e820_entry){ addr, size, type };
	return 0;
}

/* Adds RAM [start, end) minus the holes, which are sorted and disjoint. */
static int e820_add_ram(struct e820_map *map, uint64_t start, uint64_t end)
{
	uint64_t cur = start;
	int ret;

	for (size_t i = 0; i < sizeof(e820_holes) / sizeof(e820_holes[0]); i++) {
		uint64_t hs = e820_holes[i].start, he = e820_holes[i].end;

		if (he <= cur)
			continue;
		if (hs >= end)
			break;
		if (hs > cur) {
			ret = e820_add(map, cur, hs - cur, E820_RAM);
			if (ret)
				return ret;
		}
		cur = he;
	}
	if (cur < end)
		return e820_add(map, cur, end - cur, E820_RAM);
	return 0;
}

static void e820_sort(struct e820_map *map)
{
	for (unsigned i = 1; i < map->nr; i++) {
		struct e820_entry e = map->entries[i];
		unsigned j = i;

		for (; j > 0 && map->entries[j - 1].addr > e.addr; j--)
			map->entries[j] = map->entries[j - 1];
		map->entries[j] = e;
	}
}

int e820_build(const struct guest_mem *mem, struct e820_map *map)
{
	int ret;

	e820_init(map);
	/* guest_mem regions are disjoint and cannot wrap, so neither can these. */
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		ret = e820_add_ram(map, r->gpa, r->gpa + r->size);
		if (ret)
			return ret;
	}
	ret = e820_add(map, LAYOUT_EBDA_START, LAYOUT_EBDA_END - LAYOUT_EBDA_START, E820_RESERVED);
	if (!ret)
		ret = e820_add(map, LAYOUT_BIOS_START, LAYOUT_BIOS_END - LAYOUT_BIOS_START,
			       E820_RESERVED);
	if (ret)
		return ret;
	e820_sort(map);
	return 0;
}
