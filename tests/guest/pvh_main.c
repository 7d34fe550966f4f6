/* pvh_guest: checks what a VMM hands a PVH kernel (Xen PVH boot ABI,
 * struct hvm_start_info version 1). The entry state was recorded in 32-bit
 * mode by pvh_entry.S; the checks run after our own switch to long mode. */
#include "guest.h"

#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
	u32 magic, version, flags, nr_modules;
	u64 modlist_paddr, cmdline_paddr, rsdp_paddr;
	u64 memmap_paddr; /* version >= 1 */
	u32 memmap_entries, reserved;
};
struct hvm_modlist_entry {
	u64 paddr, size, cmdline_paddr, reserved;
};
struct hvm_memmap_entry {
	u64 addr, size;
	u32 type, reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry");
_Static_assert(sizeof(struct hvm_memmap_entry) == 24, "hvm_memmap_entry");

#define RFLAGS_TF (1 << 8)
#define RFLAGS_IF (1 << 9)
#define RFLAGS_VM (1 << 17)

static struct region map[MAP_MAX];

void guest_main(struct entry_state *st)
{
	print_entry_state("pvh_guest", st);

	/* Machine state required by the PVH ABI. */
	check((st->cr0 & CR0_PE) && !(st->cr0 & CR0_PG), "pvh_cr0", "cr0=%x: want PE=1 PG=0", st->cr0);
	check(st->cr4 == 0, "pvh_cr4", "cr4=%x: want 0", st->cr4);
	check(!(st->rflags & (RFLAGS_TF | RFLAGS_IF | RFLAGS_VM)), "pvh_eflags", "eflags=%x: want IF=TF=VM=0",
	      st->rflags);
	check_code_seg("pvh_cs", st, 32);
	check_data_segs("pvh_data_segs", st, 32);
	check(!st->bss_dirty, "bss_zero", ".bss not zero-filled by the ELF loader");

	/* start_info */
	u64 si_addr = st->boot_reg;
	if (!check(si_addr && safe_range(si_addr, sizeof(struct hvm_start_info)), "start_info_ptr",
		   "ebx=%x: not a usable address", si_addr))
		finish();
	const struct hvm_start_info *si = (const void *)si_addr;
	if (!check(si->magic == HVM_START_MAGIC, "start_info_magic", "magic %x, want %x", (u64)si->magic,
		   (u64)HVM_START_MAGIC))
		finish();
	check(si->version >= 1, "start_info_version", "version %u, want >= 1 (memmap)", (u64)si->version);

	/* Command line first: it carries the expectations. */
	const char *cmdline = "";
	if (check_cmdline(si->cmdline_paddr, 65536) >= 0)
		cmdline = (const char *)si->cmdline_paddr;
	u64 mem_mib = cmd_u64(cmdline, "ember.mem", 0);

	/* Memory map */
	u32 n = 0;
	if (si->version >= 1 && si->memmap_paddr && si->memmap_entries &&
	    safe_range(si->memmap_paddr, (u64)si->memmap_entries * sizeof(struct hvm_memmap_entry))) {
		const struct hvm_memmap_entry *m = (const void *)si->memmap_paddr;
		n = si->memmap_entries;
		for (u32 i = 0; i < n && i < MAP_MAX; i++) {
			map[i].addr = m[i].addr;
			map[i].size = m[i].size;
			map[i].type = m[i].type;
		}
	}
	pr("info memmap at %x, %u entries\n", si->memmap_paddr, (u64)si->memmap_entries);
	check_memory_map("memmap", map, n, mem_mib);
	u64 img = (u64)_image_start, img_len = (u64)(_image_end - _image_start);
	check(in_ram(map, n, img, img_len), "kernel_in_ram", "image [%x, %x) is not inside one RAM entry", img,
	      img + img_len);

	/* initrd = module 0 */
	int present = si->nr_modules > 0;
	u64 ird = 0, ird_len = 0;
	if (present) {
		if (si->modlist_paddr && safe_range(si->modlist_paddr, sizeof(struct hvm_modlist_entry))) {
			const struct hvm_modlist_entry *mod = (const void *)si->modlist_paddr;
			ird = mod->paddr;
			ird_len = mod->size;
		}
		pr("info modules %u, modlist at %x, module 0 at %x, %u bytes\n", (u64)si->nr_modules,
		   si->modlist_paddr, ird, ird_len);
	}
	if (check_initrd(cmdline, present, ird, ird_len)) {
		u64 cl = si->cmdline_paddr, cl_len = strnlen(cmdline, 65536) + 1;
		check(si->nr_modules == 1 && !(ird & 4095) && in_ram(map, n, ird, ird_len) &&
			      !overlaps(ird, ird_len, img, img_len) &&
			      !overlaps(ird, ird_len, si_addr, sizeof(struct hvm_start_info)) &&
			      !overlaps(ird, ird_len, cl, cl_len),
		      "initrd_placement",
		      "initrd [%x, +%x), modules %u: want one page-aligned module in RAM, clear of the image "
		      "[%x, %x), start_info and cmdline",
		      ird, ird_len, (u64)si->nr_modules, img, img + img_len);
	}

	if (si->rsdp_paddr)
		check_rsdp(si->rsdp_paddr);
	finish();
}
