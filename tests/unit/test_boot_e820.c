#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/e820.h"
#include "vmm/guest_mem.h"

/* e820_build only describes regions, it never touches their bytes, so large
 * guest layouts can be described with a small dummy host buffer. */
static uint8_t dummy[16];

static void expect_entry(const struct e820_map *m, unsigned i, uint64_t addr, uint64_t size,
			 uint32_t type)
{
	assert_true(i < m->nr);
	assert_int_equal(m->entries[i].addr, addr);
	assert_int_equal(m->entries[i].size, size);
	assert_int_equal(m->entries[i].type, type);
}

static void test_low_memory_only(void **state)
{
	struct guest_mem mem;
	struct e820_map map;

	(void)state;
	guest_mem_init(&mem);
	assert_int_equal(guest_mem_add_region(&mem, 0, 32 << 20, dummy), 0);
	assert_int_equal(e820_build(&mem, &map), 0);
	assert_int_equal(map.nr, 4);
	expect_entry(&map, 0, 0, 0x9fc00, 1);
	expect_entry(&map, 1, 0x9fc00, 0x400, 2);     /* EBDA */
	expect_entry(&map, 2, 0xe0000, 0x20000, 2);   /* BIOS area up to 1 MiB */
	expect_entry(&map, 3, 0x100000, (32 << 20) - 0x100000, 1);
}

static void test_high_memory_and_gap(void **state)
{
	struct guest_mem mem;
	struct e820_map map;

	(void)state;
	guest_mem_init(&mem);
	/* Given high first: the map must still come out sorted. */
	assert_int_equal(guest_mem_add_region(&mem, 0x100000000ULL, 0x40000000ULL, dummy), 0);
	assert_int_equal(guest_mem_add_region(&mem, 0, 0xc0000000ULL, dummy), 0);
	assert_int_equal(e820_build(&mem, &map), 0);
	assert_int_equal(map.nr, 5);
	expect_entry(&map, 0, 0, 0x9fc00, 1);
	expect_entry(&map, 3, 0x100000, 0xc0000000ULL - 0x100000, 1);
	expect_entry(&map, 4, 0x100000000ULL, 0x40000000ULL, 1);
	for (unsigned i = 1; i < map.nr; i++)
		assert_true(map.entries[i - 1].addr + map.entries[i - 1].size <= map.entries[i].addr);
}

static void test_ram_never_in_holes(void **state)
{
	struct guest_mem mem;
	struct e820_map map;

	(void)state;
	/* A low region reaching into the MMIO gap is cut at 3 GiB; the part of
	 * it past 4 GiB is RAM again. */
	guest_mem_init(&mem);
	assert_int_equal(guest_mem_add_region(&mem, 0, 0x110000000ULL, dummy), 0);
	assert_int_equal(e820_build(&mem, &map), 0);
	assert_int_equal(map.nr, 5);
	expect_entry(&map, 3, 0x100000, 0xc0000000ULL - 0x100000, 1);
	expect_entry(&map, 4, 0x100000000ULL, 0x10000000ULL, 1);
	for (unsigned i = 0; i < map.nr; i++) {
		const struct e820_entry *e = &map.entries[i];

		if (e->type != 1)
			continue;
		assert_false(e->addr < 0x100000 && e->addr + e->size > 0x9fc00);
		assert_false(e->addr < 0x100000000ULL && e->addr + e->size > 0xc0000000ULL);
	}
}

static void test_small_low_memory(void **state)
{
	struct guest_mem mem;
	struct e820_map map;

	(void)state;
	guest_mem_init(&mem);
	assert_int_equal(guest_mem_add_region(&mem, 0, 0x80000, dummy), 0);
	assert_int_equal(e820_build(&mem, &map), 0);
	assert_int_equal(map.nr, 3);
	expect_entry(&map, 0, 0, 0x80000, 1);
	expect_entry(&map, 1, 0x9fc00, 0x400, 2);
	expect_entry(&map, 2, 0xe0000, 0x20000, 2);
}

static void test_region_inside_legacy_hole(void **state)
{
	struct guest_mem mem;
	struct e820_map map;

	(void)state;
	/* RAM between 640 KiB and 1 MiB is never reported as RAM. */
	guest_mem_init(&mem);
	assert_int_equal(guest_mem_add_region(&mem, 0xa0000, 0x20000, dummy), 0);
	assert_int_equal(e820_build(&mem, &map), 0);
	assert_int_equal(map.nr, 2);
	expect_entry(&map, 0, 0x9fc00, 0x400, 2);
}

static void test_add_rejects(void **state)
{
	struct e820_map map;

	(void)state;
	e820_init(&map);
	assert_int_equal(map.nr, 0);
	assert_int_equal(e820_add(&map, 0x1000, 0, 1), -EINVAL);
	assert_int_equal(e820_add(&map, UINT64_MAX - 10, 0x100, 1), -EINVAL);
	assert_int_equal(map.nr, 0);
	for (unsigned i = 0; i < 128; i++)
		assert_int_equal(e820_add(&map, (uint64_t)i << 20, 0x1000, 1), 0);
	assert_int_equal(e820_add(&map, 1ULL << 40, 0x1000, 1), -ENOSPC);
	assert_int_equal(map.nr, 128);
	expect_entry(&map, 127, 127ULL << 20, 0x1000, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_low_memory_only),
		cmocka_unit_test(test_high_memory_and_gap),
		cmocka_unit_test(test_ram_never_in_holes),
		cmocka_unit_test(test_small_low_memory),
		cmocka_unit_test(test_region_inside_legacy_hole),
		cmocka_unit_test(test_add_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
