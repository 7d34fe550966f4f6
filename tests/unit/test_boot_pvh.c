#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/pvh.h"
#include "boot_fixture.h"

/* Offsets from xen/include/public/arch-x86/hvm/start_info.h, spelled out. */
#define SI 0x6000

static void four_entries(struct e820_map *map)
{
	e820_init(map);
	assert_int_equal(e820_add(map, 0, 0x9fc00, 1), 0);
	assert_int_equal(e820_add(map, 0x9fc00, 0x400, 2), 0);
	assert_int_equal(e820_add(map, 0xe0000, 0x20000, 2), 0);
	assert_int_equal(e820_add(map, 0x100000, 0x1f00000, 1), 0);
}

static void test_start_info_with_initrd(void **state)
{
	struct boot_fixture f;
	struct boot_info info = {
		.boot_arg = SI, .cmdline_addr = 0x20000, .cmdline_size = 5,
		.initrd_addr = 0x1ff0000, .initrd_size = 0x1234,
	};
	struct e820_map map;
	const uint8_t *p;

	(void)state;
	boot_fixture_init(&f, 0x100000, 0);
	memset(f.low + SI, 0xcc, 0x1100);
	four_entries(&map);
	assert_int_equal(pvh_write(&f.mem, &info, &map), 0);
	p = fix_at(&f, SI);
	assert_memory_equal(p, "\x78\xc5\x6e\x33", 4); /* XEN_HVM_START_MAGIC_VALUE */
	assert_int_equal(fix_le32(p + 4), 1);          /* version 1: has memmap */
	assert_int_equal(fix_le32(p + 8), 0);          /* flags */
	assert_int_equal(fix_le32(p + 12), 1);         /* nr_modules */
	assert_int_equal(fix_le64(p + 16), 0x6040);    /* modlist_paddr */
	assert_int_equal(fix_le64(p + 24), 0x20000);   /* cmdline_paddr */
	assert_int_equal(fix_le64(p + 32), 0);         /* rsdp_paddr */
	assert_int_equal(fix_le64(p + 40), 0x6060);    /* memmap_paddr */
	assert_int_equal(fix_le32(p + 48), 4);         /* memmap_entries */
	assert_int_equal(fix_le32(p + 52), 0);
	/* hvm_modlist_entry: paddr, size, cmdline_paddr, reserved. */
	assert_int_equal(fix_le64(p + 0x40), 0x1ff0000);
	assert_int_equal(fix_le64(p + 0x48), 0x1234);
	assert_int_equal(fix_le64(p + 0x50), 0);
	assert_int_equal(fix_le64(p + 0x58), 0);
	/* hvm_memmap_table_entry: addr, size, type, reserved (24 bytes). */
	assert_int_equal(fix_le64(p + 0x60), 0);
	assert_int_equal(fix_le64(p + 0x68), 0x9fc00);
	assert_int_equal(fix_le32(p + 0x70), 1);
	assert_int_equal(fix_le32(p + 0x74), 0);
	assert_int_equal(fix_le64(p + 0x78), 0x9fc00);
	assert_int_equal(fix_le64(p + 0x80), 0x400);
	assert_int_equal(fix_le32(p + 0x88), 2);
	assert_int_equal(fix_le64(p + 0xa8), 0x100000);
	assert_int_equal(fix_le64(p + 0xb0), 0x1f00000);
	assert_int_equal(fix_le32(p + 0xb8), 1);
	assert_int_equal(fix_le64(p + 0xc0), 0); /* past the last entry */
	/* The whole page is rewritten; the zero page after it is not touched. */
	assert_int_equal(p[0xfff], 0);
	assert_int_equal(p[0x1000], 0xcc);
	boot_fixture_free(&f);
}

static void test_no_initrd_and_full_map(void **state)
{
	struct boot_fixture f;
	struct boot_info info = { .boot_arg = SI, .cmdline_addr = 0x20000, .cmdline_size = 1 };
	struct e820_map map;
	const uint8_t *p;

	(void)state;
	boot_fixture_init(&f, 0x100000, 0);
	memset(f.low + SI, 0xcc, 0x1000);
	e820_init(&map);
	for (unsigned i = 0; i < 128; i++)
		assert_int_equal(e820_add(&map, (uint64_t)i << 30, 0x1000 + i, 1 + (i & 1)), 0);
	assert_int_equal(pvh_write(&f.mem, &info, &map), 0);
	p = fix_at(&f, SI);
	assert_int_equal(fix_le32(p + 12), 0);
	assert_int_equal(fix_le64(p + 16), 0);
	assert_int_equal(fix_le64(p + 0x40), 0);
	assert_int_equal(fix_le32(p + 48), 128);
	assert_int_equal(fix_le64(p + 0x60 + 127 * 24), 127ULL << 30);
	assert_int_equal(fix_le64(p + 0x68 + 127 * 24), 0x1000 + 127);
	assert_int_equal(fix_le32(p + 0x70 + 127 * 24), 2);
	assert_int_equal(fix_le32(p + 0x74 + 127 * 24), 0);
	boot_fixture_free(&f);
}

static void test_outside_memory(void **state)
{
	struct boot_fixture f;
	struct boot_info info = { 0 };
	struct e820_map map;

	(void)state;
	boot_fixture_init(&f, 0x6800, 0);
	four_entries(&map);
	assert_int_equal(pvh_write(&f.mem, &info, &map), -EFAULT);
	boot_fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_info_with_initrd),
		cmocka_unit_test(test_no_initrd_and_full_map),
		cmocka_unit_test(test_outside_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
