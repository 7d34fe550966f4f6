#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "boot/cmdline.h"
#include "boot_fixture.h"
#include "vmm/log.h"

static void test_written_with_nul(void **state)
{
	struct boot_fixture f;
	uint64_t size = 0;

	(void)state;
	boot_fixture_init(&f, 0x100000, 0);
	memset(f.low + 0x20000, 0xff, 64);
	assert_int_equal(cmdline_write(&f.mem, "console=ttyS0 quiet", 2047, &size), 0);
	assert_int_equal(size, 20);
	assert_memory_equal(fix_at(&f, 0x20000), "console=ttyS0 quiet", 20); /* with NUL */
	assert_int_equal(f.low[0x20014], 0xff);
	assert_int_equal(f.low[0x1ffff], 0);
	/* NULL is the empty command line: just the NUL. */
	assert_int_equal(cmdline_write(&f.mem, NULL, 2047, &size), 0);
	assert_int_equal(size, 1);
	assert_int_equal(f.low[0x20000], 0);
	boot_fixture_free(&f);
}

static void test_kernel_limit(void **state)
{
	struct boot_fixture f;
	char line[300];
	uint64_t size = 0;

	(void)state;
	boot_fixture_init(&f, 0x100000, 0);
	memset(line, 'a', 255);
	line[255] = '\0';
	assert_int_equal(cmdline_write(&f.mem, line, 255, &size), 0);
	assert_int_equal(size, 256);
	line[255] = 'b';
	line[256] = '\0';
	err_clear();
	assert_int_equal(cmdline_write(&f.mem, line, 255, &size), -E2BIG);
	assert_non_null(strstr(err_last(), "command line"));
	assert_non_null(strstr(err_last(), "255"));
	/* A kernel that takes no command line still takes the empty one. */
	assert_int_equal(cmdline_write(&f.mem, "", 0, &size), 0);
	assert_int_equal(cmdline_write(&f.mem, "x", 0, &size), -E2BIG);
	boot_fixture_free(&f);
}

static void test_layout_cap(void **state)
{
	struct boot_fixture f;
	char *line = malloc(0x10001);
	uint64_t size = 0;

	(void)state;
	assert_non_null(line);
	boot_fixture_init(&f, 0x100000, 0);
	/* The area at 0x20000 holds 64 KiB including the NUL, whatever the kernel says. */
	memset(line, 'c', 0x10000);
	line[0xffff] = '\0';
	assert_int_equal(cmdline_write(&f.mem, line, UINT64_MAX, &size), 0);
	assert_int_equal(size, 0x10000);
	assert_int_equal(f.low[0x2fffe], 'c');
	assert_int_equal(f.low[0x2ffff], 0);
	line[0xffff] = 'c';
	line[0x10000] = '\0';
	assert_int_equal(cmdline_write(&f.mem, line, UINT64_MAX, &size), -E2BIG);
	assert_int_equal(f.low[0x30000], 0); /* nothing written past the area */
	free(line);
	boot_fixture_free(&f);
}

static void test_outside_memory(void **state)
{
	struct boot_fixture f;
	uint64_t size = 0;

	(void)state;
	boot_fixture_init(&f, 0x20004, 0);
	assert_int_equal(cmdline_write(&f.mem, "abc", 100, &size), 0);
	assert_int_equal(cmdline_write(&f.mem, "abcd", 100, &size), -EFAULT);
	boot_fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_written_with_nul),
		cmocka_unit_test(test_kernel_limit),
		cmocka_unit_test(test_layout_cap),
		cmocka_unit_test(test_outside_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
