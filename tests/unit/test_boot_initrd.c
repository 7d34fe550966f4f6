#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/initrd.h"
#include "boot_fixture.h"
#include "vmm/log.h"

#define MiB FIX_MiB

static void test_top_of_memory_page_aligned(void **state)
{
	uint64_t addr = 0;

	(void)state;
	assert_int_equal(initrd_place(0x1234, 32 * MiB, 16 * MiB, 17 * MiB, &addr), 0);
	assert_int_equal(addr, 32 * MiB - 0x2000);
	/* An unaligned limit still gives an aligned start and an end below it. */
	assert_int_equal(initrd_place(0x1000, 0x7fffffff + 1ULL - 0x800, 16 * MiB, 17 * MiB, &addr), 0);
	assert_int_equal(addr, 0x7fffe000);
	/* Exactly filling the space above the kernel is fine. */
	assert_int_equal(initrd_place(15 * MiB, 32 * MiB, 16 * MiB, 17 * MiB, &addr), 0);
	assert_int_equal(addr, 17 * MiB);
	/* There is no fallback below the kernel: the initrd lives above it. */
	assert_int_equal(initrd_place(2 * MiB, 32 * MiB, 31 * MiB, 32 * MiB, &addr), -ENOMEM);
}

static void test_overlap_with_kernel(void **state)
{
	uint64_t addr = 0;

	(void)state;
	err_clear();
	assert_int_equal(initrd_place(15 * MiB + 1, 32 * MiB, 16 * MiB, 17 * MiB, &addr), -ENOMEM);
	assert_non_null(strstr(err_last(), "overlaps the kernel"));
	err_clear();
	assert_int_equal(initrd_place(0x1000, 32 * MiB, 16 * MiB, 32 * MiB, &addr), -ENOMEM);
	assert_non_null(strstr(err_last(), "overlaps the kernel"));
}

static void test_does_not_fit(void **state)
{
	uint64_t addr = 0;

	(void)state;
	err_clear();
	/* Larger than all of memory: must not wrap into a huge address. */
	assert_int_equal(initrd_place(64 * MiB, 32 * MiB, 16 * MiB, 17 * MiB, &addr), -ENOMEM);
	assert_non_null(strstr(err_last(), "does not fit"));
	/* Would reach down into the boot structures below 1 MiB. */
	assert_int_equal(initrd_place(4 * MiB, 4 * MiB, 8 * MiB, 9 * MiB, &addr), -ENOMEM);
	assert_int_equal(initrd_place(3 * MiB, 4 * MiB, 8 * MiB, 9 * MiB, &addr), 0);
	assert_int_equal(addr, 1 * MiB);
	assert_int_equal(initrd_place(UINT64_MAX, 32 * MiB, 16 * MiB, 17 * MiB, &addr), -ENOMEM);
	assert_int_equal(initrd_place(0, 32 * MiB, 16 * MiB, 17 * MiB, &addr), -EINVAL);
}

static void test_load_copies(void **state)
{
	struct boot_fixture f;
	uint8_t data[5000];
	uint64_t addr = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = fix_pattern(i);
	boot_fixture_init(&f, 4 * MiB, 0);
	assert_int_equal(initrd_load(&f.mem, data, sizeof(data), 4 * MiB, 2 * MiB, 3 * MiB, &addr), 0);
	assert_int_equal(addr, 4 * MiB - 0x2000);
	assert_memory_equal(f.low + addr, data, sizeof(data));
	/* A limit beyond guest memory is caught by the bounded write. */
	assert_int_equal(initrd_load(&f.mem, data, sizeof(data), 8 * MiB, 2 * MiB, 3 * MiB, &addr),
			 -EFAULT);
	assert_int_equal(initrd_load(&f.mem, data, sizeof(data), 4 * MiB, 1 * MiB, 4 * MiB, &addr),
			 -ENOMEM);
	boot_fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top_of_memory_page_aligned),
		cmocka_unit_test(test_overlap_with_kernel),
		cmocka_unit_test(test_does_not_fit),
		cmocka_unit_test(test_load_copies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
