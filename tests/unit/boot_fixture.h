/* Guest memory and synthesized kernel images for the boot/ unit tests.
 * Images are built field by field from the specs' byte offsets so the
 * tests do not share structs with the code under test. */
#ifndef EMBER_TEST_BOOT_FIXTURE_H
#define EMBER_TEST_BOOT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

#define FIX_MiB 0x100000ULL

struct boot_fixture {
	struct guest_mem mem;
	uint8_t *low;
	uint64_t low_size;
	uint8_t *high; /* RAM at 4 GiB, NULL if none */
	uint64_t high_size;
};

/* calloc-backed guest memory: [0, low_size) and, if high_size, [4 GiB, +high_size). */
void boot_fixture_init(struct boot_fixture *f, uint64_t low_size, uint64_t high_size);
void boot_fixture_free(struct boot_fixture *f);
/* Host pointer for guest address `gpa` in low memory (the test fails if outside). */
uint8_t *fix_at(const struct boot_fixture *f, uint64_t gpa);

uint16_t fix_le16(const uint8_t *p);
uint32_t fix_le32(const uint8_t *p);
uint64_t fix_le64(const uint8_t *p);
void fix_put16(uint8_t *p, uint16_t v);
void fix_put32(uint8_t *p, uint32_t v);
void fix_put64(uint8_t *p, uint64_t v);

/* Byte i of a synthesized payload; distinct from zero so copies are visible. */
uint8_t fix_pattern(size_t i);

/* A bzImage with protocol 2.15, relocatable, XLF_KERNEL_64, pref_address
 * 16 MiB, alignment 2 MiB, cmdline_size 2047, initrd_addr_max 0x7fffffff,
 * init_size = payload_len + 64 KiB, and `payload_len` pattern bytes after
 * (setup_sects + 1) * 512 bytes of setup (setup_sects 0 means 4). Returns
 * the image length or 0 if `cap` is too small. */
size_t fix_bzimage(uint8_t *buf, size_t cap, unsigned setup_sects, size_t payload_len);

struct fix_seg {
	uint64_t paddr;
	uint64_t vaddr; /* 0: same as paddr */
	uint64_t filesz;
	uint64_t memsz;
};

struct fix_elf {
	unsigned nr_segs;
	struct fix_seg segs[4];
	uint64_t entry;    /* e_entry */
	bool pvh_note;     /* add a PT_NOTE with a Xen PHYS32_ENTRY note */
	uint32_t note_descsz; /* 4 or 8 */
	uint64_t note_desc;   /* descriptor value (low descsz bytes are written) */
	bool other_note_first; /* put an unrelated GNU note before the Xen note */
};

/* Layout: ELF header, program headers (loads then the note), notes at
 * 0x200, segment data from 0x1000 in order, each filesz pattern bytes; the
 * last segment's data ends the file. Returns the length or 0. */
size_t fix_elf_build(uint8_t *buf, size_t cap, const struct fix_elf *spec);
/* Offset of program header `i` and of the note segment in a fix_elf image. */
#define FIX_ELF_PHDR(i) (64 + 56 * (size_t)(i))
#define FIX_ELF_NOTES 0x200
#define FIX_ELF_DATA 0x1000

/* A one-segment PVH vmlinux: 0x3000 file bytes, 0x5000 in memory at
 * 16 MiB, entry 16 MiB + 0x40 in an 8-byte note. */
size_t fix_elf_pvh(uint8_t *buf, size_t cap);

#endif
