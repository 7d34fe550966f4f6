#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/log.h"

static void test_err_set_and_wrap(void **state)
{
	(void)state;
	err_clear();
	assert_string_equal(err_last(), "unknown error");
	assert_int_equal(err_fail(-ENOENT, "open %s", "vmlinux"), -ENOENT);
	assert_string_equal(err_last(), "test_err_set_and_wrap: open vmlinux");
	assert_int_equal(err_wrap(-ENOENT, "kernel"), -ENOENT);
	assert_string_equal(err_last(), "kernel: test_err_set_and_wrap: open vmlinux");
	err_clear();
	assert_int_equal(err_wrap(-EACCES, "disk.img"), -EACCES);
	assert_string_equal(err_last(), "disk.img: Permission denied");
}

static void test_level_parse_and_names(void **state)
{
	enum log_level l;

	(void)state;
	assert_int_equal(log_level_parse("Warning", &l), 0);
	assert_int_equal(l, LOG_WARN);
	assert_int_equal(log_level_parse("trace", &l), 0);
	assert_int_equal(l, LOG_TRACE);
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_WARN);
	assert_int_equal(log_level_parse("loud", &l), -EINVAL);
	assert_string_equal(log_level_name(LOG_DEBUG), "Debug");
	assert_string_equal(log_level_name((enum log_level)9), "?");
}

static void test_lines_filtered_by_level(void **state)
{
	int fds[2];
	char buf[4096] = { 0 };
	ssize_t n;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	log_set_fd(fds[1]);
	log_set_level(LOG_INFO);
	assert_int_equal(log_get_level(), LOG_INFO);
	log_info("booted in %d ms", 42);
	log_debug("hidden");
	log_set_level((enum log_level)77); /* ignored */
	assert_int_equal(log_get_level(), LOG_INFO);
	log_set_fd(STDERR_FILENO);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "[ember:Info] test_lines_filtered_by_level: booted in 42 ms\n"));
	assert_null(strstr(buf, "hidden"));
	log_set_level(LOG_WARN);
}

static void test_long_line_is_truncated_whole(void **state)
{
	int fds[2];
	char big[3000];
	char buf[4096] = { 0 };
	ssize_t n;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(pipe(fds), 0);
	log_set_fd(fds[1]);
	log_error("%s", big);
	log_set_fd(STDERR_FILENO);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	assert_true(n > 0 && n <= 1024);
	assert_int_equal(buf[n - 1], '\n');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_set_and_wrap),
		cmocka_unit_test(test_level_parse_and_names),
		cmocka_unit_test(test_lines_filtered_by_level),
		cmocka_unit_test(test_long_line_is_truncated_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
