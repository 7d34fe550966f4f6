/* bz_guest (GUEST_BZ=1) and elf64_guest (GUEST_BZ=0): check what a VMM
 * hands a kernel entered in 64-bit mode with %rsi = struct boot_params
 * (Documentation/arch/x86/boot.rst, "64-bit boot protocol", and
 * zero-page.rst). */
#include "guest.h"

#ifndef GUEST_BZ
#error "build with -DGUEST_BZ=0 or 1"
#endif

#if GUEST_BZ
#define GUEST_NAME "bz_guest"
#else
#define GUEST_NAME "elf64_guest"
#endif

/* boot_params offsets (zero-page.rst, boot.rst) */
#define BP_ACPI_RSDP 0x070     /* u64 */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8  /* u8 */
#define BP_SENTINEL 0x1ef      /* u8 */
#define BP_SETUP_SECTS 0x1f1   /* u8 */
#define BP_SYSSIZE 0x1f4       /* u32 */
#define BP_BOOT_FLAG 0x1fe     /* u16 */
#define BP_HEADER 0x202        /* u32 "HdrS" */
#define BP_VERSION 0x206       /* u16 */
#define BP_TYPE_OF_LOADER 0x210
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_CMD_LINE_PTR 0x228
#define BP_INITRD_ADDR_MAX 0x22c
#define BP_KERNEL_ALIGNMENT 0x230
#define BP_XLOADFLAGS 0x236    /* u16 */
#define BP_CMDLINE_SIZE 0x238
#define BP_PREF_ADDRESS 0x258  /* u64 */
#define BP_INIT_SIZE 0x260
#define BP_E820_TABLE 0x2d0    /* 128 x {u64 addr, u64 size, u32 type} */
#define E820_ENTRY_SIZE 20

#define RFLAGS_TF (1 << 8)
#define RFLAGS_IF (1 << 9)

static struct region map[MAP_MAX];
static const u8 *bp;

static u8 rd8(u32 off) { return bp[off]; }
__attribute__((unused)) static u16 rd16(u32 off) { u16 v; memcpy(&v, bp + off, 2); return v; }
static u32 rd32(u32 off) { u32 v; memcpy(&v, bp + off, 4); return v; }
static u64 rd64(u32 off) { u64 v; memcpy(&v, bp + off, 8); return v; }

#if GUEST_BZ
/* From bz.ld / bz_setup.S: what the image's own header says. */
extern char _bz_init_size[], _bz_syssize[], _payload_start[];
#define HDR_VERSION 0x020c
#define HDR_SETUP_SECTS 1
#define HDR_CMDLINE_SIZE 2047
#define HDR_KERNEL_ALIGNMENT 0x200000
#define HDR_XLOADFLAGS 1
#endif

/* First address in `addrs` that does not map to itself (and, where asked,
 * writably); returns its index + 1 or 0. */
static int identity_fail(u64 cr3, const u64 *addrs, const int *need_w, int n, u64 *got)
{
	for (int i = 0; i < n; i++) {
		int w;
		if (page_walk(cr3, addrs[i], got, &w)) {
			*got = ~0ULL;
			return i + 1;
		}
		if (*got != addrs[i] || (need_w[i] && !w))
			return i + 1;
	}
	return 0;
}

void guest_main(struct entry_state *st)
{
	print_entry_state(GUEST_NAME, st);

	/* CPU state of the 64-bit boot protocol. */
	check((st->efer & EFER_LME) && (st->efer & EFER_LMA) && (st->cr0 & CR0_PG) && (st->cr0 & CR0_PE) &&
		      (st->cr4 & CR4_PAE),
	      "long_mode", "efer=%x cr0=%x cr4=%x: want EFER.LME+LMA, CR0.PG+PE, CR4.PAE", st->efer, st->cr0,
	      st->cr4);
	check(!(st->rflags & (RFLAGS_IF | RFLAGS_TF)), "rflags", "rflags=%x: want IF=0 TF=0", st->rflags);
	check_code_seg("gdt_cs64", st, 64);
	check_data_segs("gdt_data", st, 64);

	/* Where the image runs. A wrong load address never gets here: the
	 * entry code reports it (FAIL load_addr) before touching absolute
	 * addresses. */
#if GUEST_BZ
	u64 kstart = (u64)_payload_start, klen = (u64)_bz_init_size;
	check(st->entry == kstart + 0x200 && !(kstart % HDR_KERNEL_ALIGNMENT), "load_addr",
	      "entered at %x, want pref_address %x + 0x200", st->entry, kstart);
#else
	u64 kstart = (u64)_image_start, klen = (u64)(_image_end - _image_start);
	check(!st->bss_dirty, "bss_zero", ".bss not zero-filled by the ELF loader");
#endif

	/* boot_params */
	u64 bpa = st->boot_reg;
	if (!check(bpa && safe_range(bpa, 4096), "boot_params_ptr", "rsi=%x: not an identity-mapped page", bpa))
		finish();
	bp = (const u8 *)bpa;

	check(rd8(BP_TYPE_OF_LOADER) != 0, "bp_loader_type",
	      "type_of_loader is 0: Linux ignores the initrd unless the loader sets it (0xff: undefined)");
#if GUEST_BZ
	{
		u32 hdr = rd32(BP_HEADER);
		int ok = rd16(BP_BOOT_FLAG) == 0xaa55 && !memcmp(bp + BP_HEADER, "HdrS", 4) &&
			 rd16(BP_VERSION) == HDR_VERSION && rd8(BP_SETUP_SECTS) == HDR_SETUP_SECTS &&
			 rd32(BP_SYSSIZE) == (u64)_bz_syssize && rd16(BP_XLOADFLAGS) == HDR_XLOADFLAGS &&
			 rd32(BP_CMDLINE_SIZE) == HDR_CMDLINE_SIZE && rd64(BP_PREF_ADDRESS) == kstart &&
			 rd32(BP_INIT_SIZE) == klen;
		check(ok, "bp_header",
		      "setup header not copied from the image: boot_flag %x header %x version %x setup_sects %u "
		      "syssize %x xloadflags %x cmdline_size %u pref_address %x init_size %x",
		      (u64)rd16(BP_BOOT_FLAG), (u64)hdr, (u64)rd16(BP_VERSION), (u64)rd8(BP_SETUP_SECTS),
		      (u64)rd32(BP_SYSSIZE), (u64)rd16(BP_XLOADFLAGS), (u64)rd32(BP_CMDLINE_SIZE),
		      rd64(BP_PREF_ADDRESS), (u64)rd32(BP_INIT_SIZE));
	}
	check(rd8(BP_SENTINEL) == 0, "bp_sentinel",
	      "sentinel %x: the loader copied more than the setup header (Linux then discards boot_params fields)",
	      (u64)rd8(BP_SENTINEL));
#endif

	/* Command line first: it carries the expectations. */
	u64 cl = rd32(BP_CMD_LINE_PTR) | (u64)rd32(BP_EXT_CMD_LINE_PTR) << 32;
#if GUEST_BZ
	u64 cl_max = HDR_CMDLINE_SIZE + 1;
#else
	u64 cl_max = 65536;
#endif
	const char *cmdline = "";
	long cl_len = check_cmdline(cl, cl_max);
	if (cl_len >= 0)
		cmdline = (const char *)cl;
	u64 mem_mib = cmd_u64(cmdline, "ember.mem", 0);

	/* E820 */
	u32 n = rd8(BP_E820_ENTRIES);
	for (u32 i = 0; i < n && i < MAP_MAX; i++) {
		const u8 *e = bp + BP_E820_TABLE + i * E820_ENTRY_SIZE;
		memcpy(&map[i].addr, e, 8);
		memcpy(&map[i].size, e + 8, 8);
		memcpy(&map[i].type, e + 16, 4);
	}
	check_memory_map("e820", map, n, mem_mib);
	check(in_ram(map, n, kstart, klen), "kernel_in_ram", "kernel [%x, %x) is not inside one RAM entry", kstart,
	      kstart + klen);

	/* initrd */
	u64 ird = rd32(BP_RAMDISK_IMAGE) | (u64)rd32(BP_EXT_RAMDISK_IMAGE) << 32;
	u64 ird_len = rd32(BP_RAMDISK_SIZE) | (u64)rd32(BP_EXT_RAMDISK_SIZE) << 32;
	if (ird || ird_len)
		pr("info ramdisk_image %x ramdisk_size %u\n", ird, ird_len);
	if (check_initrd(cmdline, ird || ird_len, ird, ird_len)) {
		int ok = !(ird & 4095) && in_ram(map, n, ird, ird_len) && !overlaps(ird, ird_len, kstart, klen) &&
			 !overlaps(ird, ird_len, bpa, 4096) && !overlaps(ird, ird_len, cl, (u64)cl_len + 1);
#if GUEST_BZ
		ok = ok && ird + ird_len - 1 <= rd32(BP_INITRD_ADDR_MAX);
#endif
		check(ok, "initrd_placement",
		      "initrd [%x, +%x): want page-aligned, in RAM, below initrd_addr_max, clear of the kernel "
		      "[%x, %x), boot_params and cmdline",
		      ird, ird_len, kstart, kstart + klen);
	}

	/* Identity mapping of what the kernel touches first: the kernel range
	 * (writable), boot_params, the command line, the initrd. */
	{
		u64 a[8];
		int w[8], k = 0;
		a[k] = kstart, w[k++] = 1;
		a[k] = kstart + klen - 1, w[k++] = 1;
		a[k] = bpa, w[k++] = 0;
		a[k] = bpa + 4095, w[k++] = 0;
		if (cl_len >= 0) {
			a[k] = cl, w[k++] = 0;
			a[k] = cl + (u64)cl_len, w[k++] = 0;
		}
		if (ird_len) {
			a[k] = ird, w[k++] = 0;
			a[k] = ird + ird_len - 1, w[k++] = 0;
		}
		u64 got = 0;
		int bad = identity_fail(st->cr3, a, w, k, &got);
		check(!bad, "identity_map", "cr3=%x: %x maps to %x (writable needed: %u)", st->cr3,
		      bad ? a[bad - 1] : 0, got, (u64)(bad ? w[bad - 1] : 0));
	}

	if (rd64(BP_ACPI_RSDP))
		check_rsdp(rd64(BP_ACPI_RSDP));
	finish();
}
