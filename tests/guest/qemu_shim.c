/* qemu_shim: a PVH image that lets QEMU (TCG, no KVM needed) run the
 * 64-bit test guests before or without ember. QEMU boots PVH ELF kernels
 * but enters a bzImage through 16-bit setup code and does not take a plain
 * ELF64, so the shim plays the VMM loader inside the guest:
 *
 *   qemu-system-x86_64 -kernel qemu_shim.elf -initrd INITRD -append CMDLINE \
 *       -device loader,file=bz_guest.bin,addr=0x2000000,force-raw=on ...
 *
 * It finds the image QEMU placed at SHIM_BLOB (bzImage or ELF64), loads it
 * (payload to pref_address; or PT_LOAD segments to p_paddr with .bss zeroed),
 * builds boot_params from QEMU's hvm_start_info (setup header copied from
 * the image, type_of_loader 0xff, cmd_line_ptr, ramdisk, E820 from the PVH
 * memmap) and jumps to the 64-bit entry with %rsi = boot_params, still on
 * the shim's GDT (0x08 64-bit code, 0x10 data) and 4 GiB identity map.
 *
 * "shim.fault=NAME" on the command line makes the shim a deliberately broken
 * loader, so the self-test can show that each guest check catches its bug:
 *   entry0       jump to the bzImage payload + 0 instead of + 0x200
 *   misload      load the bzImage payload 2 MiB above pref_address
 *   loader_type  leave type_of_loader 0
 *   sentinel     copy the image from 0x1ef (with its sentinel), not 0x1f1
 *   no_header    do not copy the setup header
 *   e820_overlap repeat an E820 entry
 *   initrd_shift point ramdisk_image one page past the initrd
 *   initrd_short report the initrd one byte short
 *   no_initrd    hand over no initrd
 *   cmdline_skew point cmd_line_ptr one byte into the command line
 *   bss_dirty    leave junk in the ELF image's .bss
 * Test tooling only; not used with ember. */
#include "guest.h"

#define SHIM_BLOB 0x2000000ULL /* 32 MiB: clear of the guests (1, 16 MiB), the shim (8 MiB), the initrd (top) */
#define SHIM_BLOB_MAX 0x1000000ULL

struct hvm_start_info {
	u32 magic, version, flags, nr_modules;
	u64 modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	u32 memmap_entries, reserved;
};
struct hvm_modlist_entry {
	u64 paddr, size, cmdline_paddr, reserved;
};
struct hvm_memmap_entry {
	u64 addr, size;
	u32 type, reserved;
};

struct elf64_ehdr {
	u8 ident[16];
	u16 type, machine;
	u32 version;
	u64 entry, phoff, shoff;
	u32 flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf64_phdr {
	u32 type, flags;
	u64 offset, vaddr, paddr, filesz, memsz, align;
};

static u8 zero_page[4096] __attribute__((aligned(4096)));
static const char *fault = "";

static int faulty(const char *name)
{
	size_t n = strnlen(name, 32);
	return !memcmp(fault, name, n) && (fault[n] == 0 || fault[n] == ' ');
}

static void put32(u32 off, u32 v) { memcpy(zero_page + off, &v, 4); }

__attribute__((noreturn)) static void die(const char *what)
{
	check(0, "qemu_shim", "%s", what);
	finish();
}

static u64 load_bzimage(const u8 *img)
{
	u32 setup_sects = img[0x1f1] ? img[0x1f1] : 4, syssize, hdr_len = 0x202 + img[0x201] - 0x1f1;
	u64 pref;
	u16 version;
	memcpy(&syssize, img + 0x1f4, 4);
	memcpy(&pref, img + 0x258, 8);
	memcpy(&version, img + 0x206, 2);
	if (version < 0x020c || !(img[0x236] & 1))
		die("bzImage lacks protocol 2.12 / XLF_KERNEL_64");
	u64 off = (u64)(setup_sects + 1) * 512, len = (u64)syssize * 16;
	if (off + len > SHIM_BLOB_MAX)
		die("bzImage payload too large");
	pr("info qemu_shim: bzImage v%x, setup_sects %u, payload %u bytes -> %x, entry +0x200\n", (u64)version,
	   (u64)setup_sects, len, pref);
	u64 at = faulty("misload") ? pref + 0x200000 : pref;
	memcpy((void *)at, img + off, len);
	if (faulty("sentinel"))
		memcpy(zero_page + 0x1ef, img + 0x1ef, hdr_len + 2);
	else if (!faulty("no_header"))
		memcpy(zero_page + 0x1f1, img + 0x1f1, hdr_len); /* the setup header only */
	return faulty("entry0") ? at : at + 0x200;
}

static u64 load_elf64(const u8 *img)
{
	const struct elf64_ehdr *eh = (const void *)img;
	if (eh->ident[4] != 2 || eh->machine != 62)
		die("not an x86-64 ELF64");
	for (u32 i = 0; i < eh->phnum; i++) {
		const struct elf64_phdr *ph = (const void *)(img + eh->phoff + (u64)i * eh->phentsize);
		if (ph->type != 1)
			continue;
		pr("info qemu_shim: PT_LOAD %x+%x (file %x) -> %x\n", ph->paddr, ph->memsz, ph->filesz, ph->paddr);
		memcpy((void *)ph->paddr, img + ph->offset, ph->filesz);
		memset((void *)(ph->paddr + ph->filesz), faulty("bss_dirty") ? 0x5a : 0, ph->memsz - ph->filesz);
	}
	return eh->entry;
}

void guest_main(struct entry_state *st)
{
	const struct hvm_start_info *si = (const void *)st->boot_reg;
	const u8 *img = (const u8 *)SHIM_BLOB;
	u64 entry;

	if (si->magic != 0x336ec578)
		die("no PVH start_info");
	const char *cmdline = (const char *)si->cmdline_paddr;
	if (cmdline && cmd_value(cmdline, "shim.fault"))
		fault = cmd_value(cmdline, "shim.fault");
	if (!memcmp(img + 0x202, "HdrS", 4))
		entry = load_bzimage(img);
	else if (!memcmp(img, "\x7f" "ELF", 4))
		entry = load_elf64(img);
	else
		die("no bzImage or ELF at 0x2000000 (-device loader,file=...,addr=0x2000000,force-raw=on)");

	zero_page[0x210] = faulty("loader_type") ? 0 : 0xff; /* type_of_loader: undefined */
	u64 cl = si->cmdline_paddr + (faulty("cmdline_skew") ? 1 : 0);
	put32(0x228, (u32)cl);
	put32(0x0c8, (u32)(cl >> 32));
	if (si->nr_modules && !faulty("no_initrd")) {
		const struct hvm_modlist_entry *mod = (const void *)si->modlist_paddr;
		u64 addr = mod->paddr + (faulty("initrd_shift") ? 4096 : 0);
		u64 size = mod->size - (faulty("initrd_short") ? 1 : 0);
		put32(0x218, (u32)addr);
		put32(0x0c0, (u32)(addr >> 32));
		put32(0x21c, (u32)size);
		put32(0x0c4, (u32)(size >> 32));
	}
	const struct hvm_memmap_entry *m = (const void *)si->memmap_paddr;
	u32 n = si->memmap_entries < 127 ? si->memmap_entries : 127, k = 0;
	for (u32 i = 0; i < n; i++) {
		u32 reps = (i == 1 && faulty("e820_overlap")) ? 2 : 1;
		while (reps--) {
			u8 *e = zero_page + 0x2d0 + k++ * 20;
			memcpy(e, &m[i].addr, 8);
			memcpy(e + 8, &m[i].size, 8);
			memcpy(e + 16, &m[i].type, 4);
		}
	}
	zero_page[0x1e8] = (u8)k;
	if (*fault)
		pr("info qemu_shim: injecting fault %s\n", fault);
	pr("info qemu_shim: jumping to %x with rsi=%x\n", entry, (u64)zero_page);
	__asm__ volatile("cli; jmp *%0" : : "r"(entry), "S"(zero_page) : "memory");
	__builtin_unreachable();
}
