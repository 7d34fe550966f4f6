#include "boot/gdt.h"

#include <string.h>

#include "boot/layout.h"
#include "boot/le.h"
#include "vmm/log.h"

/* Flags in Firecracker's notation (see gdt.h). */
#define GDT_FLAGS_CODE64 0xa09b /* G, L, present, code exec/read accessed */
#define GDT_FLAGS_CODE32 0xc09b /* G, D, present, code exec/read accessed */
#define GDT_FLAGS_DATA 0xc093   /* G, B, present, data read/write accessed */
#define GDT_FLAGS_TSS_BUSY 0x008b /* present, busy TSS: VM entry wants TR busy */
#define GDT_TSS_LIMIT 0x67  /* the architectural minimum TSS size, less one */

uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0x0000ffffu);
}

void gdt_table(enum boot_entry_mode mode, uint64_t table[GDT_ENTRIES])
{
	uint16_t code = mode == BOOT_ENTRY_PVH ? GDT_FLAGS_CODE32 : GDT_FLAGS_CODE64;

	table[GDT_NULL] = 0;
	table[GDT_CODE] = gdt_entry(code, 0, 0xfffff);
	table[GDT_DATA] = gdt_entry(GDT_FLAGS_DATA, 0, 0xfffff);
	table[GDT_TSS] = gdt_entry(GDT_FLAGS_TSS_BUSY, 0, GDT_TSS_LIMIT);
}

void gdt_segment(uint64_t entry, unsigned index, struct kvm_segment *seg)
{
	uint32_t limit = (uint32_t)((entry & 0xffff) | ((entry >> 32) & 0xf0000));

	memset(seg, 0, sizeof(*seg));
	seg->base = ((entry >> 16) & 0xffffff) | ((entry >> 32) & 0xff000000);
	seg->g = (entry >> 55) & 1;
	/* Granular limits count 4 KiB pages; KVM wants the byte limit. */
	seg->limit = seg->g ? (limit << 12) | 0xfff : limit;
	seg->selector = GDT_SELECTOR(index);
	seg->type = (entry >> 40) & 0xf;
	seg->s = (entry >> 44) & 1;
	seg->dpl = (entry >> 45) & 3;
	seg->present = (entry >> 47) & 1;
	seg->avl = (entry >> 52) & 1;
	seg->l = (entry >> 53) & 1;
	seg->db = (entry >> 54) & 1;
	seg->unusable = !seg->present;
}

int gdt_write(const struct guest_mem *mem, enum boot_entry_mode mode)
{
	uint64_t table[GDT_ENTRIES];
	uint8_t bytes[GDT_ENTRIES * 8];
	uint8_t idt[IDT_LIMIT + 1] = { 0 };
	int ret;

	gdt_table(mode, table);
	for (unsigned i = 0; i < GDT_ENTRIES; i++)
		le64_write(bytes + 8 * i, table[i]);
	ret = guest_mem_write(mem, LAYOUT_GDT_ADDR, bytes, sizeof(bytes));
	if (!ret)
		ret = guest_mem_write(mem, LAYOUT_IDT_ADDR, idt, sizeof(idt));
	if (ret)
		return err_wrap(ret, "writing the boot GDT/IDT");
	return 0;
}
