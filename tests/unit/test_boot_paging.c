#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/paging.h"
#include "boot_fixture.h"

static void test_identity_map_4g(void **state)
{
	struct boot_fixture f;

	(void)state;
	boot_fixture_init(&f, 0x100000, 0);
	memset(f.low + 0x9000, 0xcc, 0x6000); /* stale bytes must not survive */
	assert_int_equal(paging_write(&f.mem), 0);
	/* PML4[0] -> PDPT at 0xa000, present + writable; the rest empty. */
	assert_int_equal(fix_le64(fix_at(&f, 0x9000)), 0xa003);
	for (unsigned i = 1; i < 512; i++)
		assert_int_equal(fix_le64(fix_at(&f, 0x9000 + 8 * i)), 0);
	/* PDPT[0..3] -> the four page directories. */
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(fix_le64(fix_at(&f, 0xa000 + 8 * i)), 0xb003 + 0x1000 * i);
	for (unsigned i = 4; i < 512; i++)
		assert_int_equal(fix_le64(fix_at(&f, 0xa000 + 8 * i)), 0);
	/* 2048 2 MiB pages: present, writable, PS. */
	for (uint64_t i = 0; i < 2048; i++)
		assert_int_equal(fix_le64(fix_at(&f, 0xb000 + 8 * i)), (i << 21) | 0x83);
	assert_int_equal(fix_le64(fix_at(&f, 0xc000)), 0x40000083);
	assert_int_equal(fix_le64(fix_at(&f, 0xeff8)), 0xffe00083);
	assert_int_equal(f.low[0xf000], 0);
	boot_fixture_free(&f);
}

static void test_outside_memory(void **state)
{
	struct boot_fixture f;

	(void)state;
	boot_fixture_init(&f, 0xe000, 0); /* the last page directory is missing */
	assert_int_equal(paging_write(&f.mem), -EFAULT);
	boot_fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_map_4g),
		cmocka_unit_test(test_outside_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
