#include "boot_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void boot_fixture_init(struct boot_fixture *f, uint64_t low_size, uint64_t high_size)
{
	memset(f, 0, sizeof(*f));
	guest_mem_init(&f->mem);
	f->low = calloc(1, low_size);
	assert_non_null(f->low);
	f->low_size = low_size;
	assert_int_equal(guest_mem_add_region(&f->mem, 0, low_size, f->low), 0);
	if (high_size) {
		f->high = calloc(1, high_size);
		assert_non_null(f->high);
		f->high_size = high_size;
		assert_int_equal(guest_mem_add_region(&f->mem, 0x100000000ULL, high_size, f->high), 0);
	}
}

void boot_fixture_free(struct boot_fixture *f)
{
	free(f->low);
	free(f->high);
	memset(f, 0, sizeof(*f));
}

uint8_t *fix_at(const struct boot_fixture *f, uint64_t gpa)
{
	assert_true(gpa < f->low_size);
	return f->low + gpa;
}

uint16_t fix_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t fix_le32(const uint8_t *p)
{
	return fix_le16(p) | (uint32_t)fix_le16(p + 2) << 16;
}

uint64_t fix_le64(const uint8_t *p)
{
	return fix_le32(p) | (uint64_t)fix_le32(p + 4) << 32;
}

void fix_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void fix_put32(uint8_t *p, uint32_t v)
{
	fix_put16(p, (uint16_t)v);
	fix_put16(p + 2, (uint16_t)(v >> 16));
}

void fix_put64(uint8_t *p, uint64_t v)
{
	fix_put32(p, (uint32_t)v);
	fix_put32(p + 4, (uint32_t)(v >> 32));
}

uint8_t fix_pattern(size_t i)
{
	return (uint8_t)(i * 7 + 3) | 1;
}

size_t fix_bzimage(uint8_t *buf, size_t cap, unsigned setup_sects, size_t payload_len)
{
	size_t setup = ((setup_sects ? setup_sects : 4) + 1) * 512;
	size_t len = setup + payload_len;

	if (len > cap || setup_sects > 255)
		return 0;
	memset(buf, 0, setup);
	buf[0x1f1] = (uint8_t)setup_sects;
	fix_put32(buf + 0x1f4, (uint32_t)(payload_len / 16)); /* syssize, as ZO__edata / 16 */
	fix_put16(buf + 0x1fe, 0xaa55);
	buf[0x200] = 0xeb;              /* jmp short: header ends at 0x202 + disp */
	buf[0x201] = 0x6a;              /* -> 0x26c, the 2.15 header end */
	memcpy(buf + 0x202, "HdrS", 4);
	fix_put16(buf + 0x206, 0x020f);
	buf[0x211] = 0x01;              /* LOADED_HIGH */
	fix_put32(buf + 0x214, 0x100000); /* code32_start */
	fix_put32(buf + 0x22c, 0x7fffffff);
	fix_put32(buf + 0x230, 0x200000);
	buf[0x234] = 1;
	buf[0x235] = 21;
	fix_put16(buf + 0x236, 0x0001); /* XLF_KERNEL_64 */
	fix_put32(buf + 0x238, 2047);
	fix_put64(buf + 0x258, 0x1000000);
	fix_put32(buf + 0x260, (uint32_t)(payload_len + 0x10000));
	for (size_t i = 0; i < payload_len; i++)
		buf[setup + i] = fix_pattern(i);
	return len;
}

static void put_note(uint8_t *p, uint32_t namesz, uint32_t descsz, uint32_t type, const char *name)
{
	fix_put32(p, namesz);
	fix_put32(p + 4, descsz);
	fix_put32(p + 8, type);
	memcpy(p + 12, name, namesz);
}

size_t fix_elf_build(uint8_t *buf, size_t cap, const struct fix_elf *spec)
{
	unsigned nph = spec->nr_segs + (spec->pvh_note ? 1 : 0);
	size_t off = FIX_ELF_DATA, notes_len = 0;

	for (unsigned i = 0; i < spec->nr_segs; i++)
		off += spec->segs[i].filesz;
	if (off > cap || nph > 5)
		return 0;
	memset(buf, 0, off);
	memcpy(buf, "\x7f" "ELF", 4);
	buf[4] = 2; /* ELFCLASS64 */
	buf[5] = 1; /* ELFDATA2LSB */
	buf[6] = 1; /* EV_CURRENT */
	fix_put16(buf + 16, 2);  /* ET_EXEC */
	fix_put16(buf + 18, 62); /* EM_X86_64 */
	fix_put32(buf + 20, 1);
	fix_put64(buf + 24, spec->entry);
	fix_put64(buf + 32, 64); /* e_phoff */
	fix_put16(buf + 52, 64); /* e_ehsize */
	fix_put16(buf + 54, 56); /* e_phentsize */
	fix_put16(buf + 56, (uint16_t)nph);
	if (spec->pvh_note) {
		uint8_t *n = buf + FIX_ELF_NOTES;

		if (spec->other_note_first) {
			put_note(n, 4, 16, 3, "GNU"); /* NT_GNU_BUILD_ID, 20-byte note */
			memset(n + 16, 0xab, 16);
			notes_len = 12 + 4 + 16;
		}
		put_note(n + notes_len, 4, spec->note_descsz, 18, "Xen");
		uint8_t desc[8];

		fix_put64(desc, spec->note_desc);
		memcpy(n + notes_len + 16, desc, spec->note_descsz < 8 ? spec->note_descsz : 8);
		notes_len += 16 + ((spec->note_descsz + 3) & ~3u);
	}
	off = FIX_ELF_DATA;
	for (unsigned i = 0; i < spec->nr_segs; i++) {
		const struct fix_seg *s = &spec->segs[i];
		uint8_t *ph = buf + FIX_ELF_PHDR(i);

		fix_put32(ph, 1);     /* PT_LOAD */
		fix_put32(ph + 4, 7); /* RWX */
		fix_put64(ph + 8, off);
		fix_put64(ph + 16, s->vaddr ? s->vaddr : s->paddr);
		fix_put64(ph + 24, s->paddr);
		fix_put64(ph + 32, s->filesz);
		fix_put64(ph + 40, s->memsz);
		fix_put64(ph + 48, 0x1000);
		for (uint64_t j = 0; j < s->filesz; j++)
			buf[off + j] = fix_pattern(j + i);
		off += s->filesz;
	}
	if (spec->pvh_note) {
		uint8_t *ph = buf + FIX_ELF_PHDR(spec->nr_segs);

		fix_put32(ph, 4); /* PT_NOTE */
		fix_put64(ph + 8, FIX_ELF_NOTES);
		fix_put64(ph + 32, notes_len);
		fix_put64(ph + 40, notes_len);
		fix_put64(ph + 48, 4);
	}
	return off;
}

size_t fix_elf_pvh(uint8_t *buf, size_t cap)
{
	struct fix_elf spec = {
		.nr_segs = 1,
		.segs = { { .paddr = 0x1000000, .filesz = 0x3000, .memsz = 0x5000 } },
		.entry = 0x1000000,
		.pvh_note = true,
		.note_descsz = 8,
		.note_desc = 0x1000040,
	};

	return fix_elf_build(buf, cap, &spec);
}
