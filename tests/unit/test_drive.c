/* --drive specs and opening drives: parsing, read-only mode, ids, and the
 * lock that keeps a second writer off a disk. */
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

#include "vmm/drive.h"
#include "vmm/log.h"

static void test_parse_good_specs(void **state)
{
	struct spec_drive d;

	(void)state;
	assert_int_equal(drive_parse("path=/tmp/a.img", "drive0", &d), 0);
	assert_string_equal(d.path_on_host, "/tmp/a.img");
	assert_string_equal(d.drive_id, "drive0");
	assert_false(d.is_read_only);
	assert_int_equal(drive_parse("ro=on,id=root_1,path=x=y.img", "drive3", &d), 0);
	assert_string_equal(d.path_on_host, "x=y.img");
	assert_string_equal(d.drive_id, "root_1");
	assert_true(d.is_read_only);
	assert_int_equal(drive_parse("path=p,ro=off", NULL, &d), 0);
	assert_false(d.is_read_only);
	assert_string_equal(d.drive_id, "");
	assert_int_equal(drive_parse("path=p,ro=true,id=abcdefghij0123456789", NULL, &d), 0);
	assert_true(d.is_read_only);
	assert_string_equal(d.drive_id, "abcdefghij0123456789");
}

static void expect_bad(const char *spec, const char *what)
{
	struct spec_drive d;

	assert_int_equal(drive_parse(spec, "drive0", &d), -EINVAL);
	if (!strstr(err_last(), what))
		fail_msg("'%s': error \"%s\" lacks \"%s\"", spec, err_last(), what);
}

static void test_parse_rejects(void **state)
{
	(void)state;
	expect_bad("", "path= is required");
	expect_bad("ro=on", "path= is required");
	expect_bad("/tmp/a.img", "not key=value");
	expect_bad("path=a,,ro=on", "not key=value");
	expect_bad("path=", "path must be");
	expect_bad("path=a,path=b", "path given twice");
	expect_bad("path=a,ro=yes", "not on or off");
	expect_bad("path=a,ro=on,ro=off", "ro given twice");
	expect_bad("path=a,id=", "id must be");
	expect_bad("path=a,id=abcdefghij0123456789x", "id must be");
	expect_bad("path=a,id=a b", "letters, digits");
	expect_bad("path=a,id=x,id=y", "id given twice");
	expect_bad("path=a,cache=none", "unknown key 'cache'");
	expect_bad("path=a,averyveryverylongkey=1", "unknown key");
}

static void make_file(char *path, size_t size)
{
	int fd;

	strcpy(path, "/tmp/ember-drive-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static void test_open_locks_against_a_second_writer(void **state)
{
	struct spec_drive rw, ro;
	int fd1, fd2, fd3;
	uint64_t size;
	char path[64], spec[128];

	(void)state;
	make_file(path, 1000 * 512);
	snprintf(spec, sizeof(spec), "path=%s", path);
	assert_int_equal(drive_parse(spec, "d", &rw), 0);
	snprintf(spec, sizeof(spec), "path=%s,ro=on", path);
	assert_int_equal(drive_parse(spec, "d", &ro), 0);

	assert_int_equal(drive_open(&rw, &fd1, &size), 0);
	assert_int_equal(size, 1000 * 512);
	assert_int_equal(drive_open(&rw, &fd2, &size), -EBUSY);
	assert_non_null(strstr(err_last(), "in use by another process"));
	assert_int_equal(drive_open(&ro, &fd2, &size), -EBUSY);
	close(fd1);
	/* Readers share; a writer waits until they are gone. */
	assert_int_equal(drive_open(&ro, &fd1, &size), 0);
	assert_int_equal(drive_open(&ro, &fd2, &size), 0);
	assert_int_equal(drive_open(&rw, &fd3, &size), -EBUSY);
	close(fd1);
	close(fd2);
	assert_int_equal(drive_open(&rw, &fd3, &size), 0);
	close(fd3);
	unlink(path);
}

static void test_open_errors(void **state)
{
	struct spec_drive d;
	int fd;
	uint64_t size;
	char path[64];

	(void)state;
	assert_int_equal(drive_parse("path=/nonexistent/disk.img", "d", &d), 0);
	assert_int_equal(drive_open(&d, &fd, &size), -ENOENT);
	assert_non_null(strstr(err_last(), "/nonexistent/disk.img"));
	assert_int_equal(drive_parse("path=/tmp", "d", &d), 0);
	d.is_read_only = true;
	assert_int_equal(drive_open(&d, &fd, &size), -EINVAL);
	assert_non_null(strstr(err_last(), "not a regular file"));
	/* An odd size opens (with a warning); the device exposes whole sectors. */
	make_file(path, 1000);
	snprintf(d.path_on_host, sizeof(d.path_on_host), "%s", path);
	assert_int_equal(drive_open(&d, &fd, &size), 0);
	assert_int_equal(size, 1000);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good_specs),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_open_locks_against_a_second_writer),
		cmocka_unit_test(test_open_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
