#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/bootparams.h"
#include "boot_fixture.h"

/* Offsets below are spelled out from boot.rst / zero-page.rst on purpose,
 * rather than taken from bootparams.h. */
#define ZP 0x7000

static void test_synthesized_header(void **state)
{
	uint8_t zp[4096];

	(void)state;
	memset(zp, 0xee, sizeof(zp));
	bootparams_synthesize(zp);
	assert_int_equal(fix_le16(zp + 0x1fe), 0xaa55);
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(fix_le16(zp + 0x206), 0x020c);
	assert_int_equal(fix_le32(zp + 0x230), 0x1000000); /* kernel_alignment */
	assert_int_equal(fix_le32(zp + 0x238), 0xffff);    /* cmdline_size */
	assert_int_equal(zp[0x211], 0x01);                 /* LOADED_HIGH */
	assert_int_equal(zp[0], 0);
	assert_int_equal(fix_le64(zp + 0x250), 0);
	assert_int_equal(zp[0xfff], 0);
}

static void test_loader_fields(void **state)
{
	struct boot_fixture f;
	struct boot_info info = {
		.cmdline_addr = 0x20000, .cmdline_size = 10,
		.initrd_addr = 0x123456000ULL, .initrd_size = 0x100000042ULL,
	};
	struct e820_map map;
	uint8_t zp[4096];
	const uint8_t *p;

	(void)state;
	boot_fixture_init(&f, 0x100000, 0);
	memset(f.low + ZP, 0xcc, 0x1000);
	memset(zp, 0, sizeof(zp));
	zp[0x211] = 0x21; /* LOADED_HIGH | QUIET_FLAG from the kernel: kept */
	e820_init(&map);
	assert_int_equal(e820_add(&map, 0, 0x9fc00, 1), 0);
	assert_int_equal(e820_add(&map, 0x9fc00, 0x400, 2), 0);
	assert_int_equal(e820_add(&map, 0x100000000ULL, 0x76543210ULL, 1), 0);
	assert_int_equal(bootparams_write(&f.mem, zp, &info, &map), 0);
	p = fix_at(&f, ZP);
	assert_int_equal(p[0x210], 0xff);         /* type_of_loader */
	assert_int_equal(p[0x211], 0xa1);         /* + CAN_USE_HEAP */
	assert_int_equal(fix_le16(p + 0x224), 0xfe00);
	assert_int_equal(fix_le32(p + 0x228), 0x20000);
	assert_int_equal(fix_le32(p + 0x0c8), 0);
	assert_int_equal(fix_le32(p + 0x218), 0x23456000);
	assert_int_equal(fix_le32(p + 0x0c0), 0x1);
	assert_int_equal(fix_le32(p + 0x21c), 0x00000042);
	assert_int_equal(fix_le32(p + 0x0c4), 0x1);
	assert_int_equal(p[0x1e8], 3);
	/* e820_table: packed 20-byte entries {u64 addr, u64 size, u32 type}. */
	assert_int_equal(fix_le64(p + 0x2d0), 0);
	assert_int_equal(fix_le64(p + 0x2d8), 0x9fc00);
	assert_int_equal(fix_le32(p + 0x2e0), 1);
	assert_int_equal(fix_le64(p + 0x2e4), 0x9fc00);
	assert_int_equal(fix_le64(p + 0x2ec), 0x400);
	assert_int_equal(fix_le32(p + 0x2f4), 2);
	assert_int_equal(fix_le64(p + 0x2f8), 0x100000000ULL);
	assert_int_equal(fix_le64(p + 0x300), 0x76543210ULL);
	assert_int_equal(fix_le32(p + 0x308), 1);
	assert_int_equal(fix_le64(p + 0x30c), 0); /* unused slots are zero */
	/* The whole page is ours: stale bytes are gone. */
	assert_int_equal(p[0xfff], 0);
	assert_int_equal(p[0x100], 0);
	boot_fixture_free(&f);
}

static void test_no_initrd_full_map(void **state)
{
	struct boot_fixture f;
	struct boot_info info = { .cmdline_addr = 0x20000, .cmdline_size = 1 };
	struct e820_map map;
	uint8_t zp[4096] = { 0 };
	const uint8_t *p;

	(void)state;
	boot_fixture_init(&f, 0x100000, 0);
	e820_init(&map);
	for (unsigned i = 0; i < 128; i++)
		assert_int_equal(e820_add(&map, (uint64_t)i << 24, 0x1000 + i, 1 + i % 2), 0);
	assert_int_equal(bootparams_write(&f.mem, zp, &info, &map), 0);
	p = fix_at(&f, ZP);
	assert_int_equal(fix_le32(p + 0x218), 0);
	assert_int_equal(fix_le32(p + 0x21c), 0);
	assert_int_equal(p[0x1e8], 128);
	assert_int_equal(fix_le64(p + 0x2d0 + 127 * 20), 127ULL << 24);
	assert_int_equal(fix_le64(p + 0x2d8 + 127 * 20), 0x1000 + 127);
	assert_int_equal(fix_le32(p + 0x2e0 + 127 * 20), 2);
	assert_int_equal(fix_le32(p + 0xcd0), 0); /* past the table */
	boot_fixture_free(&f);
}

static void test_outside_memory(void **state)
{
	struct boot_fixture f;
	struct boot_info info = { 0 };
	struct e820_map map;
	uint8_t zp[4096] = { 0 };

	(void)state;
	boot_fixture_init(&f, 0x7800, 0);
	e820_init(&map);
	assert_int_equal(bootparams_write(&f.mem, zp, &info, &map), -EFAULT);
	boot_fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synthesized_header),
		cmocka_unit_test(test_loader_fields),
		cmocka_unit_test(test_no_initrd_full_map),
		cmocka_unit_test(test_outside_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
