/* vmm/file: reading user-named files with limits, and dropping the pages of
 * a buffer the loader is done with. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/file.h"

static void test_drop_range_zeroes_only_whole_inner_pages(void **state)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *buf = aligned_alloc(page, 4 * page);

	(void)state;
	assert_non_null(buf);
	memset(buf, 0xab, 4 * page);
	/* [100, 100 + 3 pages): only pages 1 and 2 lie wholly inside. */
	file_drop_range(buf, 100, 3 * page);
	for (size_t i = 0; i < 4 * page; i++)
		assert_int_equal(buf[i], (i >= page && i < 3 * page) ? 0 : 0xab);
	/* Less than a page: nothing to drop. */
	memset(buf, 0xab, 4 * page);
	file_drop_range(buf, 1, page);
	file_drop_range(buf, 0, 0);
	for (size_t i = 0; i < 4 * page; i++)
		assert_int_equal(buf[i], 0xab);
	free(buf);
}

static void test_read_all_limits(void **state)
{
	char path[] = "/tmp/ember-test-file.XXXXXX";
	int fd = mkstemp(path);
	uint8_t *data = NULL;
	size_t len = 0;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "kernel", 6), 6);
	close(fd);
	assert_int_equal(file_read_all(path, 64, &data, &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(data, "kernel", 6);
	free(data);
	data = NULL;
	assert_int_equal(file_read_all(path, 5, &data, &len), -EFBIG);
	assert_null(data);
	assert_int_equal(file_read_all("/tmp", 64, &data, &len) < 0, 1);
	unlink(path);
	assert_int_equal(file_read_all(path, 64, &data, &len), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_range_zeroes_only_whole_inner_pages),
		cmocka_unit_test(test_read_all_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
