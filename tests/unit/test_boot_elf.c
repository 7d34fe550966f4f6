#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "boot/elf.h"
#include "boot/le.h"
#include "boot_fixture.h"
#include "vmm/log.h"

#define MiB FIX_MiB
#define IMG_CAP 0x20000
#define PH0 FIX_ELF_PHDR(0)
#define PH1 FIX_ELF_PHDR(1)
#define NOTE FIX_ELF_NOTES

static uint8_t img[IMG_CAP];

static int setup(void **state)
{
	static struct boot_fixture f;

	boot_fixture_init(&f, 32 * MiB, 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	boot_fixture_free(*state);
	return 0;
}

static int load(struct boot_fixture *f, size_t len, struct boot_image *bi)
{
	memset(bi, 0, sizeof(*bi));
	return elf_load(&f->mem, img, len, NULL, bi);
}

static void test_probe(void **state)
{
	size_t len = fix_elf_pvh(img, IMG_CAP);

	(void)state;
	assert_true(elf_probe(img, len));
	assert_true(elf_probe(img, 4));
	assert_false(elf_probe(img, 3));
	img[3] = 'f';
	assert_false(elf_probe(img, len));
}

static void test_pvh_load(void **state)
{
	struct boot_fixture *f = *state;
	size_t len = fix_elf_pvh(img, IMG_CAP);
	struct boot_image bi;

	memset(f->low + 16 * MiB, 0xaa, 0x6000);
	assert_int_equal(load(f, len, &bi), 0);
	assert_true(bi.pvh);
	assert_int_equal(bi.entry, 0x1000040);
	assert_int_equal(bi.kernel_start, 16 * MiB);
	assert_int_equal(bi.kernel_end, 16 * MiB + 0x5000);
	assert_int_equal(bi.cmdline_max, 0xffff);
	assert_int_equal(bi.initrd_limit, 32 * MiB);
	assert_memory_equal(f->low + 16 * MiB, img + 0x1000, 0x3000);
	/* memsz beyond filesz is zeroed (bss); nothing past memsz is touched. */
	for (uint64_t a = 16 * MiB + 0x3000; a < 16 * MiB + 0x5000; a++)
		assert_int_equal(f->low[a], 0);
	assert_int_equal(f->low[16 * MiB + 0x5000], 0xaa);
}

static void test_note_descriptor_sizes(void **state)
{
	struct boot_fixture *f = *state;
	struct fix_elf spec = {
		.nr_segs = 1,
		.segs = { { .paddr = 16 * MiB, .filesz = 0x1000, .memsz = 0x1000 } },
		.entry = 16 * MiB,
		.pvh_note = true,
		.note_descsz = 4,
		.note_desc = 16 * MiB + 0x80,
	};
	struct boot_image bi;
	size_t len = fix_elf_build(img, IMG_CAP, &spec);
	uint32_t entry = 0;

	assert_int_equal(load(f, len, &bi), 0);
	assert_int_equal(bi.entry, 16 * MiB + 0x80);
	/* An 8-byte descriptor: only the low 32 bits are the entry. */
	spec.note_descsz = 8;
	spec.note_desc = 0xdeadbeef00000000ULL | (16 * MiB + 0x100);
	spec.other_note_first = true;
	len = fix_elf_build(img, IMG_CAP, &spec);
	assert_int_equal(load(f, len, &bi), 0);
	assert_true(bi.pvh);
	assert_int_equal(bi.entry, 16 * MiB + 0x100);
	assert_int_equal(elf_find_pvh_entry(img, len, &entry), 1);
	assert_int_equal(entry, 16 * MiB + 0x100);
}

/* Notes in a PT_NOTE with p_align 8 are padded to 8 bytes. */
static void test_note_alignment_8(void **state)
{
	struct boot_fixture *f = *state;
	struct fix_elf spec = {
		.nr_segs = 1,
		.segs = { { .paddr = 16 * MiB, .filesz = 0x1000, .memsz = 0x1000 } },
		.entry = 16 * MiB,
		.pvh_note = true,
		.note_descsz = 4,
	};
	size_t len = fix_elf_build(img, IMG_CAP, &spec);
	uint8_t *n = img + NOTE;
	struct boot_image bi;

	/* Note 1: "Xen" type 1, 4-byte desc (24 bytes with 8-byte padding). */
	fix_put32(n, 4);
	fix_put32(n + 4, 4);
	fix_put32(n + 8, 1);
	memcpy(n + 12, "Xen", 4);
	fix_put32(n + 16, 0x11111111);
	fix_put32(n + 20, 0x22222222); /* padding under align 8, a note header under 4 */
	/* Note 2 at +24: the PVH entry. */
	fix_put32(n + 24, 4);
	fix_put32(n + 28, 4);
	fix_put32(n + 32, 18);
	memcpy(n + 36, "Xen", 4);
	fix_put32(n + 40, 16 * MiB + 0x200);
	fix_put64(img + PH1 + 32, 48);
	fix_put64(img + PH1 + 48, 8);
	assert_int_equal(load(f, len, &bi), 0);
	assert_true(bi.pvh);
	assert_int_equal(bi.entry, 16 * MiB + 0x200);
}

static void test_no_note_physical_entry(void **state)
{
	struct boot_fixture *f = *state;
	struct fix_elf spec = {
		.nr_segs = 1,
		.segs = { { .paddr = 16 * MiB, .filesz = 0x1000, .memsz = 0x2000 } },
		.entry = 16 * MiB + 0x10,
	};
	struct boot_image bi;
	size_t len = fix_elf_build(img, IMG_CAP, &spec);
	uint32_t entry = 0;

	assert_int_equal(load(f, len, &bi), 0);
	assert_false(bi.pvh);
	assert_int_equal(bi.entry, 16 * MiB + 0x10);
	assert_int_equal(elf_find_pvh_entry(img, len, &entry), 0);
	/* Notes that are not the Xen PHYS32_ENTRY one do not make it PVH. */
	spec.pvh_note = true;
	spec.note_descsz = 4;
	spec.note_desc = 16 * MiB + 0x20;
	spec.other_note_first = true;
	len = fix_elf_build(img, IMG_CAP, &spec);
	fix_put32(img + NOTE + 32 + 8, 17); /* the Xen note's type: not 18 */
	assert_int_equal(load(f, len, &bi), 0);
	assert_false(bi.pvh);
	assert_int_equal(bi.entry, 16 * MiB + 0x10);
	fix_put32(img + NOTE + 32 + 8, 18);
	memcpy(img + NOTE + 32 + 12, "Xem", 4); /* right type, wrong owner */
	assert_int_equal(load(f, len, &bi), 0);
	assert_false(bi.pvh);
	fix_put32(img + NOTE + 32, 3);          /* namesz 3: "Xe" is not "Xen" */
	assert_int_equal(load(f, len, &bi), 0);
	assert_false(bi.pvh);
}

static void test_virtual_entry_translated(void **state)
{
	struct boot_fixture *f = *state;
	struct fix_elf spec = {
		.nr_segs = 2,
		.segs = {
			{ .paddr = 16 * MiB, .vaddr = 0xffffffff81000000ULL, .filesz = 0x1000, .memsz = 0x1000 },
			{ .paddr = 18 * MiB, .vaddr = 0xffffffff81200000ULL, .filesz = 0x800, .memsz = 0x3000 },
		},
		.entry = 0xffffffff81200020ULL,
	};
	struct boot_image bi;
	size_t len = fix_elf_build(img, IMG_CAP, &spec);

	assert_int_equal(load(f, len, &bi), 0);
	assert_int_equal(bi.entry, 18 * MiB + 0x20);
	assert_int_equal(bi.kernel_start, 16 * MiB);
	assert_int_equal(bi.kernel_end, 18 * MiB + 0x3000);
	assert_memory_equal(f->low + 16 * MiB, img + 0x1000, 0x1000);
	assert_memory_equal(f->low + 18 * MiB, img + 0x2000, 0x800);
}

static void test_entry_outside_segments(void **state)
{
	struct boot_fixture *f = *state;
	struct fix_elf spec = {
		.nr_segs = 1,
		.segs = { { .paddr = 16 * MiB, .filesz = 0x1000, .memsz = 0x1000 } },
		.entry = 16 * MiB + 0x1000,
	};
	struct boot_image bi;
	size_t len = fix_elf_build(img, IMG_CAP, &spec);

	err_clear();
	assert_int_equal(load(f, len, &bi), -ENOEXEC);
	assert_non_null(strstr(err_last(), "entry"));
	spec.entry = 16 * MiB;
	spec.pvh_note = true;
	spec.note_descsz = 4;
	spec.note_desc = 20 * MiB;
	len = fix_elf_build(img, IMG_CAP, &spec);
	err_clear();
	assert_int_equal(load(f, len, &bi), -ENOEXEC);
	assert_non_null(strstr(err_last(), "PVH entry"));
}

static void test_empty_segments_ignored(void **state)
{
	struct boot_fixture *f = *state;
	struct fix_elf spec = {
		.nr_segs = 2,
		.segs = {
			{ .paddr = 0, .filesz = 0, .memsz = 0 },
			{ .paddr = 16 * MiB, .filesz = 0x100, .memsz = 0x100 },
		},
		.entry = 16 * MiB,
	};
	struct boot_image bi;
	size_t len = fix_elf_build(img, IMG_CAP, &spec);

	assert_int_equal(load(f, len, &bi), 0);
	assert_int_equal(bi.kernel_start, 16 * MiB);
	assert_int_equal(bi.kernel_end, 16 * MiB + 0x100);
}

struct released {
	unsigned n;
	size_t off[4], len[4];
};

static void record_release(void *ctx, size_t offset, size_t len)
{
	struct released *r = ctx;

	assert_true(r->n < 4);
	r->off[r->n] = offset;
	r->len[r->n++] = len;
}

static void test_segments_released_after_copy(void **state)
{
	struct boot_fixture *f = *state;
	struct fix_elf spec = {
		.nr_segs = 3,
		.segs = {
			{ .paddr = 16 * MiB, .filesz = 0x2000, .memsz = 0x3000 },
			{ .paddr = 17 * MiB, .filesz = 0x800, .memsz = 0x800 },
			{ .paddr = 18 * MiB, .filesz = 0x100, .memsz = 0x100 },
		},
		.entry = 16 * MiB,
	};
	struct released r = { 0 };
	struct boot_release rel = { record_release, &r };
	struct boot_image bi;
	size_t len = fix_elf_build(img, IMG_CAP, &spec);

	assert_int_equal(elf_load(&f->mem, img, len, &rel, &bi), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.off[0], FIX_ELF_DATA);
	assert_int_equal(r.len[0], 0x2000);
	assert_int_equal(r.off[1], FIX_ELF_DATA + 0x2000);
	assert_int_equal(r.len[1], 0x800);
	assert_int_equal(r.off[2], FIX_ELF_DATA + 0x2800);
	assert_int_equal(r.len[2], 0x100);

	/* Segment 0's file bytes also feed segment 1 (a hostile but legal
	 * layout): they must not be given up before segment 1 is copied. */
	le64_write(img + FIX_ELF_PHDR(1) + 8, FIX_ELF_DATA + 0x1000);
	memset(&r, 0, sizeof(r));
	assert_int_equal(elf_load(&f->mem, img, len, &rel, &bi), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.off[0], FIX_ELF_DATA + 0x1000);
	assert_int_equal(r.off[1], FIX_ELF_DATA + 0x2800);
	assert_memory_equal(f->low + 17 * MiB, img + FIX_ELF_DATA + 0x1000, 0x800);

	/* A failed load releases nothing. */
	memset(&r, 0, sizeof(r));
	assert_int_not_equal(elf_load(&f->mem, img, len - 1, &rel, &bi), 0);
	assert_int_equal(r.n, 0);
}

static void test_truncated_every_prefix(void **state)
{
	struct boot_fixture *f = *state;
	size_t len = fix_elf_pvh(img, IMG_CAP);
	struct boot_image bi;

	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(load(f, cut, &bi), -ENOEXEC);
	assert_int_equal(load(f, len, &bi), 0);
}

struct mutation {
	size_t off;
	unsigned width;
	uint64_t value;
	int err;
	const char *msg;
};

static void test_hostile_headers(void **state)
{
	static const struct mutation muts[] = {
		{ 1, 1, 'X', -ENOEXEC, "magic" },
		{ 4, 1, 1, -ENOEXEC, "ELFCLASS64" },
		{ 5, 1, 2, -ENOEXEC, "little-endian" },
		{ 6, 1, 0, -ENOEXEC, "version" },
		{ 16, 2, 1, -ENOEXEC, "ET_EXEC" },
		{ 18, 2, 3, -ENOEXEC, "x86-64" },
		{ 54, 2, 32, -ENOEXEC, "e_phentsize" },
		{ 56, 2, 0, -ENOEXEC, "program headers" },
		{ 56, 2, 65, -ENOEXEC, "program headers" },
		{ 56, 2, 0xffff, -ENOEXEC, "program headers" },
		{ 32, 8, 0xffffffffffffffc0ULL, -ENOEXEC, "program headers" },
		{ 32, 8, 0x3fa0, -ENOEXEC, "program headers" },
		{ PH0 + 8, 8, 0xfffffffffffff000ULL, -ENOEXEC, "outside the file" },
		{ PH0 + 32, 8, 0xffffffffffffffffULL, -ENOEXEC, "outside the file" },
		{ PH0 + 32, 8, 0x3001, -ENOEXEC, "outside the file" },
		{ PH0 + 40, 8, 0x1000, -ENOEXEC, "p_memsz" },
		{ PH0 + 40, 8, 0xffffffffffffffffULL, -ENOEXEC, "wraps" },
		{ PH0 + 40, 8, 16 * MiB + 1, -ENOMEM, "outside low memory" },
		{ PH0 + 24, 8, 0x7000, -ENOEXEC, "below 1 MiB" },
		{ PH0 + 24, 8, 0xfffffffffffff000ULL, -ENOEXEC, "wraps" },
		{ PH0 + 24, 8, 32 * MiB - 0x1000, -ENOMEM, "outside low memory" },
		{ PH0 + 24, 8, 0x100000000ULL, -ENOMEM, "outside low memory" },
		{ PH0, 4, 6, -ENOEXEC, "no PT_LOAD" }, /* only PT_PHDR + PT_NOTE */
		{ PH1 + 8, 8, 0xffffffffffffff00ULL, -ENOEXEC, "outside the file" },
		{ PH1 + 32, 8, 0x100000, -ENOEXEC, "outside the file" },
		{ NOTE, 4, 0xffffffff, -ENOEXEC, "note" },
		{ NOTE + 4, 4, 0xffffffff, -ENOEXEC, "note" },
		{ NOTE + 4, 4, 0xfffffffd, -ENOEXEC, "note" },
		{ NOTE + 4, 4, 2, -ENOEXEC, "descriptor" },
		{ NOTE + 4, 4, 0, -ENOEXEC, "descriptor" },
		{ NOTE + 16, 4, 0x100000, -ENOEXEC, "PVH entry" },
	};
	struct boot_fixture *f = *state;
	struct boot_image bi;

	for (size_t i = 0; i < sizeof(muts) / sizeof(muts[0]); i++) {
		size_t len = fix_elf_pvh(img, IMG_CAP);
		uint8_t v[8];

		fix_put64(v, muts[i].value);
		memcpy(img + muts[i].off, v, muts[i].width);
		err_clear();
		if (load(f, len, &bi) != muts[i].err || !strstr(err_last(), muts[i].msg))
			fail_msg("mutation %zu (0x%zx): got '%s'", i, muts[i].off, err_last());
	}
}

static void test_overlapping_segments(void **state)
{
	struct boot_fixture *f = *state;
	struct fix_elf spec = {
		.nr_segs = 2,
		.segs = {
			{ .paddr = 16 * MiB, .filesz = 0x1000, .memsz = 0x2000 },
			{ .paddr = 16 * MiB + 0x1fff, .filesz = 0x10, .memsz = 0x10 },
		},
		.entry = 16 * MiB,
	};
	struct boot_image bi;
	size_t len = fix_elf_build(img, IMG_CAP, &spec);

	err_clear();
	assert_int_equal(load(f, len, &bi), -ENOEXEC);
	assert_non_null(strstr(err_last(), "overlap"));
	/* Touching is not overlapping. */
	spec.segs[1].paddr = 16 * MiB + 0x2000;
	len = fix_elf_build(img, IMG_CAP, &spec);
	assert_int_equal(load(f, len, &bi), 0);
	/* The second segment entirely before the first overlaps too. */
	spec.segs[1].paddr = 16 * MiB - 0x8;
	len = fix_elf_build(img, IMG_CAP, &spec);
	assert_int_equal(load(f, len, &bi), -ENOEXEC);
}

static void test_memory_too_small(void **state)
{
	struct boot_fixture f;
	size_t len = fix_elf_pvh(img, IMG_CAP);
	struct boot_image bi;

	(void)state;
	boot_fixture_init(&f, 16 * MiB, 0);
	err_clear();
	assert_int_equal(load(&f, len, &bi), -ENOMEM);
	assert_non_null(strstr(err_last(), "outside low memory"));
	/* It says how much memory would hold the kernel: more than it has. */
	const char *hint = strstr(err_last(), "give the guest at least ");
	unsigned long long mib = 0;

	assert_non_null(hint);
	assert_int_equal(sscanf(hint, "give the guest at least %llu MiB", &mib), 1);
	assert_true(mib >= 16 && mib < 4096);
	boot_fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),
		cmocka_unit_test_setup_teardown(test_pvh_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_note_descriptor_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_note_alignment_8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_note_physical_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtual_entry_translated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_outside_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_segments_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_segments_released_after_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_every_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlapping_segments, setup, teardown),
		cmocka_unit_test(test_memory_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
