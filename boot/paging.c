#include "boot/paging.h"

#include <string.h>

#include "boot/layout.h"
#include "boot/le.h"
#include "vmm/log.h"

#define PAGING_ENTRIES 512
#define PAGING_PAGE 0x1000
#define PAGING_2MiB_SHIFT 21

_Static_assert(LAYOUT_PD_PAGES == 4, "four page directories map 4 GiB with 2 MiB pages");

static int paging_write_page(const struct guest_mem *mem, uint64_t gpa, const uint64_t *entries)
{
	uint8_t page[PAGING_PAGE];

	for (unsigned i = 0; i < PAGING_ENTRIES; i++)
		le64_write(page + 8 * i, entries[i]);
	return guest_mem_write(mem, gpa, page, sizeof(page));
}

int paging_write(const struct guest_mem *mem)
{
	uint64_t entries[PAGING_ENTRIES];
	int ret;

	memset(entries, 0, sizeof(entries));
	entries[0] = LAYOUT_PDPT_ADDR | PAGING_PRESENT | PAGING_WRITABLE;
	ret = paging_write_page(mem, LAYOUT_PML4_ADDR, entries);
	memset(entries, 0, sizeof(entries));
	for (unsigned i = 0; i < LAYOUT_PD_PAGES; i++)
		entries[i] = (LAYOUT_PD_ADDR + i * PAGING_PAGE) | PAGING_PRESENT | PAGING_WRITABLE;
	if (!ret)
		ret = paging_write_page(mem, LAYOUT_PDPT_ADDR, entries);
	for (unsigned pd = 0; pd < LAYOUT_PD_PAGES && !ret; pd++) {
		for (unsigned i = 0; i < PAGING_ENTRIES; i++) {
			uint64_t page = (uint64_t)pd * PAGING_ENTRIES + i;

			entries[i] = (page << PAGING_2MiB_SHIFT) | PAGING_PRESENT | PAGING_WRITABLE |
				     PAGING_LARGE;
		}
		ret = paging_write_page(mem, LAYOUT_PD_ADDR + pd * PAGING_PAGE, entries);
	}
	if (ret)
		return err_wrap(ret, "writing the boot page tables");
	return 0;
}
