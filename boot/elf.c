#include "boot/elf.h"

#include <errno.h>
#include <string.h>

#include "boot/layout.h"
#include "boot/le.h"
#include "vmm/log.h"

/* ELF64 header and program header offsets (System V gABI). */
#define EH_SIZE 64
#define EH_CLASS 4
#define EH_DATA 5
#define EH_IDVERSION 6
#define EH_TYPE 16
#define EH_MACHINE 18
#define EH_ENTRY 24
#define EH_PHOFF 32
#define EH_PHENTSIZE 54
#define EH_PHNUM 56
#define PH_SIZE 56
#define PH_TYPE 0
#define PH_OFFSET 8
#define PH_VADDR 16
#define PH_PADDR 24
#define PH_FILESZ 32
#define PH_MEMSZ 40
#define PH_ALIGN 48
#define NOTE_HDR 12

#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define ET_EXEC 2
#define EM_X86_64 62
#define PT_LOAD 1
#define PT_NOTE 4

struct elf_seg {
	uint64_t offset, filesz, paddr, vaddr, memsz;
};

bool elf_probe(const uint8_t *buf, size_t len)
{
	return len >= 4 && memcmp(buf, "\x7f" "ELF", 4) == 0;
}

static int elf_check_header(const uint8_t *buf, size_t len)
{
	uint64_t phoff, phnum;

	if (len < EH_SIZE)
		return err_fail(-ENOEXEC, "truncated ELF: %zu bytes, the header needs %d", len,
				EH_SIZE);
	if (!elf_probe(buf, len))
		return err_fail(-ENOEXEC, "bad ELF magic");
	if (buf[EH_CLASS] != ELFCLASS64)
		return err_fail(-ENOEXEC, "ELF class %u: need ELFCLASS64", buf[EH_CLASS]);
	if (buf[EH_DATA] != ELFDATA2LSB)
		return err_fail(-ENOEXEC, "ELF data encoding %u: need little-endian", buf[EH_DATA]);
	if (buf[EH_IDVERSION] != EV_CURRENT)
		return err_fail(-ENOEXEC, "ELF version %u: need 1", buf[EH_IDVERSION]);
	if (le16_read(buf + EH_TYPE) != ET_EXEC)
		return err_fail(-ENOEXEC, "ELF type %u: need ET_EXEC", le16_read(buf + EH_TYPE));
	if (le16_read(buf + EH_MACHINE) != EM_X86_64)
		return err_fail(-ENOEXEC, "ELF machine %u: need x86-64", le16_read(buf + EH_MACHINE));
	if (le16_read(buf + EH_PHENTSIZE) != PH_SIZE)
		return err_fail(-ENOEXEC, "e_phentsize %u: need %d", le16_read(buf + EH_PHENTSIZE),
				PH_SIZE);
	phoff = le64_read(buf + EH_PHOFF);
	phnum = le16_read(buf + EH_PHNUM);
	if (phnum == 0 || phnum > ELF_MAX_PHDRS)
		return err_fail(-ENOEXEC, "%llu program headers: need 1 to %d",
				(unsigned long long)phnum, ELF_MAX_PHDRS);
	/* phnum * PH_SIZE is at most 64 * 56: only phoff can overflow. */
	if (phoff > len || phnum * PH_SIZE > len - phoff)
		return err_fail(-ENOEXEC, "program headers at 0x%llx run outside the file",
				(unsigned long long)phoff);
	return 0;
}

static const uint8_t *elf_phdr(const uint8_t *buf, unsigned i)
{
	return buf + le64_read(buf + EH_PHOFF) + (uint64_t)i * PH_SIZE;
}

static unsigned elf_phnum(const uint8_t *buf)
{
	return le16_read(buf + EH_PHNUM);
}

static bool in_file(uint64_t offset, uint64_t size, size_t len)
{
	return offset <= len && size <= len - offset;
}

static uint64_t align_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

/* Walks the notes of one PT_NOTE segment; see elf_find_pvh_entry. Name and
 * descriptor are padded to `align` from the start of the note. */
static int elf_scan_notes(const uint8_t *buf, uint64_t off, uint64_t end, uint64_t align,
			  uint32_t *entry)
{
	while (end - off >= NOTE_HDR) {
		const uint8_t *note = buf + off;
		uint64_t namesz = le32_read(note), descsz = le32_read(note + 4);
		/* 32-bit sizes in 64-bit arithmetic: these cannot overflow. */
		uint64_t desc_off = align_up(NOTE_HDR + namesz, align);
		uint64_t next = align_up(desc_off + descsz, align);

		if (desc_off + descsz > end - off)
			return err_fail(-ENOEXEC, "ELF note (name %llu, descriptor %llu bytes) "
				"overruns its segment", (unsigned long long)namesz,
				(unsigned long long)descsz);
		if (le32_read(note + 8) == ELF_NOTE_PHYS32_ENTRY && namesz == 4 &&
		    memcmp(note + NOTE_HDR, "Xen", 4) == 0) {
			/* 4 bytes in newer kernels, 8 in older: the entry is the low 32 bits. */
			if (descsz < 4)
				return err_fail(-ENOEXEC, "PVH note descriptor is %llu bytes, need 4",
						(unsigned long long)descsz);
			*entry = le32_read(note + desc_off);
			return 1;
		}
		/* The last note's trailing padding may be cut off by the segment. */
		off += next < end - off ? next : end - off;
	}
	return 0;
}

int elf_find_pvh_entry(const uint8_t *buf, size_t len, uint32_t *entry)
{
	for (unsigned i = 0; i < elf_phnum(buf); i++) {
		const uint8_t *ph = elf_phdr(buf, i);
		uint64_t off = le64_read(ph + PH_OFFSET), size = le64_read(ph + PH_FILESZ);
		int ret;

		if (le32_read(ph + PH_TYPE) != PT_NOTE)
			continue;
		if (!in_file(off, size, len))
			return err_fail(-ENOEXEC, "PT_NOTE at 0x%llx+0x%llx is outside the file",
					(unsigned long long)off, (unsigned long long)size);
		ret = elf_scan_notes(buf, off, off + size, le64_read(ph + PH_ALIGN) == 8 ? 8 : 4,
				     entry);
		if (ret)
			return ret;
	}
	return 0;
}

static int elf_check_seg(const struct guest_mem *mem, const struct elf_seg *s, size_t len)
{
	uint64_t end, limit = boot_low_limit(mem);

	if (!in_file(s->offset, s->filesz, len))
		return err_fail(-ENOEXEC, "segment at file offset 0x%llx+0x%llx is outside the file",
				(unsigned long long)s->offset, (unsigned long long)s->filesz);
	if (s->memsz < s->filesz)
		return err_fail(-ENOEXEC, "segment p_memsz 0x%llx is below p_filesz 0x%llx",
				(unsigned long long)s->memsz, (unsigned long long)s->filesz);
	if (__builtin_add_overflow(s->paddr, s->memsz, &end))
		return err_fail(-ENOEXEC, "segment 0x%llx+0x%llx wraps the address space",
				(unsigned long long)s->paddr, (unsigned long long)s->memsz);
	if (s->paddr < LAYOUT_HIMEM_START)
		return err_fail(-ENOEXEC, "segment at 0x%llx is below 1 MiB, over the boot structures",
				(unsigned long long)s->paddr);
	if (end > limit || !guest_mem_contains(mem, s->paddr, s->memsz))
		return err_fail(-ENOMEM, "segment 0x%llx-0x%llx is outside low memory (ends 0x%llx): "
				"give the guest at least %llu MiB (--mem, mem_size_mib; booting needs more still)",
				(unsigned long long)s->paddr, (unsigned long long)end,
				(unsigned long long)limit, boot_mib_to_hold(end));
	return 0;
}

/* Collects the non-empty PT_LOAD segments, checked and pairwise disjoint. */
static int elf_collect(const struct guest_mem *mem, const uint8_t *buf, size_t len,
		       struct elf_seg *segs, unsigned *nr)
{
	*nr = 0;
	for (unsigned i = 0; i < elf_phnum(buf); i++) {
		const uint8_t *ph = elf_phdr(buf, i);
		struct elf_seg s = {
			le64_read(ph + PH_OFFSET), le64_read(ph + PH_FILESZ),
			le64_read(ph + PH_PADDR), le64_read(ph + PH_VADDR), le64_read(ph + PH_MEMSZ),
		};
		int ret;

		if (le32_read(ph + PH_TYPE) != PT_LOAD || (s.memsz == 0 && s.filesz == 0))
			continue;
		ret = elf_check_seg(mem, &s, len);
		if (ret)
			return ret;
		for (unsigned j = 0; j < *nr; j++)
			if (s.paddr < segs[j].paddr + segs[j].memsz &&
			    segs[j].paddr < s.paddr + s.memsz)
				return err_fail(-ENOEXEC, "segments at 0x%llx and 0x%llx overlap",
						(unsigned long long)segs[j].paddr,
						(unsigned long long)s.paddr);
		segs[(*nr)++] = s;
	}
	if (*nr == 0)
		return err_fail(-ENOEXEC, "ELF has no PT_LOAD segment");
	return 0;
}

/* The physical entry: e_entry if it lies in a segment's physical range,
 * else translated through the segment whose virtual range holds it (vmlinux
 * links at a virtual address but its e_entry is normally physical). */
static int elf_entry(const uint8_t *buf, const struct elf_seg *segs, unsigned nr,
		     uint64_t *entry)
{
	uint64_t e = le64_read(buf + EH_ENTRY);

	for (unsigned i = 0; i < nr; i++) {
		if (e >= segs[i].paddr && e - segs[i].paddr < segs[i].memsz) {
			*entry = e;
			return 0;
		}
	}
	for (unsigned i = 0; i < nr; i++) {
		if (e >= segs[i].vaddr && e - segs[i].vaddr < segs[i].memsz) {
			*entry = segs[i].paddr + (e - segs[i].vaddr);
			return 0;
		}
	}
	return err_fail(-ENOEXEC, "ELF entry 0x%llx is in no loaded segment", (unsigned long long)e);
}

static bool elf_in_segments(const struct elf_seg *segs, unsigned nr, uint64_t addr)
{
	for (unsigned i = 0; i < nr; i++)
		if (addr >= segs[i].paddr && addr - segs[i].paddr < segs[i].memsz)
			return true;
	return false;
}

/* True if a segment after i reads any byte of segment i's file range. */
static bool elf_file_range_reused(const struct elf_seg *segs, unsigned nr, unsigned i)
{
	for (unsigned j = i + 1; j < nr; j++)
		if (segs[j].offset < segs[i].offset + segs[i].filesz &&
		    segs[i].offset < segs[j].offset + segs[j].filesz)
			return true;
	return false;
}

int elf_load(const struct guest_mem *mem, const uint8_t *buf, size_t len,
	     const struct boot_release *rel, struct boot_image *img)
{
	struct elf_seg segs[ELF_MAX_PHDRS];
	unsigned nr = 0;
	uint32_t pvh_entry = 0;
	int ret;

	ret = elf_check_header(buf, len);
	if (!ret)
		ret = elf_collect(mem, buf, len, segs, &nr);
	if (ret)
		return ret;
	ret = elf_find_pvh_entry(buf, len, &pvh_entry);
	if (ret < 0)
		return ret;
	img->pvh = ret == 1;
	if (img->pvh) {
		if (!elf_in_segments(segs, nr, pvh_entry))
			return err_fail(-ENOEXEC, "PVH entry 0x%x is in no loaded segment", pvh_entry);
		img->entry = pvh_entry;
	} else {
		ret = elf_entry(buf, segs, nr, &img->entry);
		if (ret)
			return ret;
	}
	/* Everything is checked: only now touch guest memory. */
	img->kernel_start = UINT64_MAX;
	img->kernel_end = 0;
	for (unsigned i = 0; i < nr; i++) {
		ret = guest_mem_write(mem, segs[i].paddr, buf + segs[i].offset, segs[i].filesz);
		if (!ret)
			ret = guest_mem_fill(mem, segs[i].paddr + segs[i].filesz, 0,
					     segs[i].memsz - segs[i].filesz);
		if (ret)
			return err_wrap(ret, "loading ELF segment %u", i);
		if (!elf_file_range_reused(segs, nr, i))
			boot_release_range(rel, segs[i].offset, segs[i].filesz);
		if (segs[i].paddr < img->kernel_start)
			img->kernel_start = segs[i].paddr;
		if (segs[i].paddr + segs[i].memsz > img->kernel_end)
			img->kernel_end = segs[i].paddr + segs[i].memsz;
	}
	img->cmdline_max = LAYOUT_CMDLINE_MAX - 1;
	img->initrd_limit = boot_low_limit(mem);
	return 0;
}
