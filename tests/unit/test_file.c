/* vmm/file: reading user-named files with limits, dropping the pages of a
 * buffer the loader is done with, and telling two spellings of a file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Two spellings of one file, whether it exists yet or not: "./a",
 * "sub/../a", a symlink or a hard link are all "a"; another name is not. */
static void test_same_file_by_identity(void **state)
{
	char dir[] = "/tmp/ember-same.XXXXXX", a[96], other[96], alias[96], sub[96], link_[96], hard[96];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(other, sizeof(other), "%s/b", dir);
	snprintf(alias, sizeof(alias), "%s/./a", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	/* Not there yet: the spellings are compared through their directory. */
	assert_true(file_same(a, alias));
	snprintf(alias, sizeof(alias), "%s/sub/../a", dir);
	assert_true(file_same(a, alias));
	assert_false(file_same(a, other));
	assert_false(file_same(a, "/nonexistent-dir/a"));
	assert_non_null(f = fopen(a, "w"));
	fclose(f);
	assert_true(file_same(alias, a));
	snprintf(link_, sizeof(link_), "%s/sub/link", dir);
	assert_int_equal(symlink(a, link_), 0);
	assert_true(file_same(link_, a));
	snprintf(hard, sizeof(hard), "%s/hard", dir);
	assert_int_equal(link(a, hard), 0);
	assert_true(file_same(hard, a));
	assert_false(file_same(other, a));
	unlink(hard);
	unlink(link_);
	unlink(a);
	rmdir(sub);
	rmdir(dir);
}

/* Whether a path lies inside a directory once both are resolved: names
 * that climb out with "..", or a symlink inside that points outside, are
 * outside; files not there yet count by their directory. */
static void test_within_a_directory(void **state)
{
	char dir[] = "/tmp/ember-within.XXXXXX", p[128];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/new.sock", dir);
	assert_true(file_within(dir, p));
	snprintf(p, sizeof(p), "%s/../x", dir);
	assert_false(file_within(dir, p));
	assert_false(file_within(dir, "/etc/passwd"));
	assert_false(file_within(dir, dir));
	snprintf(p, sizeof(p), "%s/out", dir);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	assert_false(file_within(dir, p));
	/* "/tmp/ember-within.XXXXXXx" shares the prefix but is a sibling. */
	snprintf(p, sizeof(p), "%sx/f", dir);
	assert_false(file_within(dir, p));
	assert_true(file_within("/", "/etc/passwd"));
	snprintf(p, sizeof(p), "%s/out", dir);
	unlink(p);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_range_zeroes_only_whole_inner_pages),
		cmocka_unit_test(test_read_all_limits),
		cmocka_unit_test(test_same_file_by_identity),
		cmocka_unit_test(test_within_a_directory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
