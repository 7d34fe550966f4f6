#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Lines a guest can trigger at will: a burst of LOG_LIMIT_BURST, then one
 * a second; what was held back is counted and said by the next line. */
static void test_limit_burst_then_one_a_second(void **state)
{
	struct log_limit l = { 0 };
	uint64_t t = 5000000000ull;
	unsigned held = 99;

	(void)state;
	for (unsigned i = 0; i < LOG_LIMIT_BURST; i++) {
		assert_true(log_limit_allow(&l, t, &held));
		assert_int_equal(held, 0);
	}
	for (unsigned i = 0; i < 1000; i++)
		assert_false(log_limit_allow(&l, t + i * 1000, &held));
	assert_false(log_limit_allow(&l, t + 999999999ull, &held));
	assert_true(log_limit_allow(&l, t + 1000000000ull, &held));
	assert_int_equal(held, 1001);
	assert_false(log_limit_allow(&l, t + 1500000000ull, &held));
	/* A quiet minute refills the burst, no more. */
	for (unsigned i = 0; i < LOG_LIMIT_BURST; i++)
		assert_true(log_limit_allow(&l, t + 61000000000ull, &held));
	assert_false(log_limit_allow(&l, t + 61000000000ull, &held));
}

static void test_guest_lines_are_limited(void **state)
{
	int fds[2];
	char buf[16384] = { 0 };
	struct log_limit l = { 0 };
	unsigned lines = 0;
	ssize_t n;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	log_set_fd(fds[1]);
	for (unsigned i = 0; i < 5000; i++)
		log_guest(&l, LOG_ERROR, "device %u broken", i);
	/* Below the level: nothing written, nothing spent. */
	log_guest(&l, LOG_DEBUG, "hidden");
	log_set_fd(STDERR_FILENO);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	assert_true(n > 0);
	for (char *p = buf; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, LOG_LIMIT_BURST);
	assert_non_null(strstr(buf, "device 0 broken"));
	assert_null(strstr(buf, "hidden"));
	assert_null(strstr(buf, "device 4999"));
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

/* A scratch directory per test binary run, removed at the end. */
static char tmpdir[] = "/tmp/ember-test-log-XXXXXX";

static void path_in_tmp(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

/* The whole content of a file, NUL-terminated, in a static buffer. */
static const char *slurp(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = 0;
	return buf;
}

static bool matches(const char *re, const char *s)
{
	regex_t r;
	int ret;

	assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	ret = regexec(&r, s, 0, NULL, 0);
	regfree(&r);
	return ret == 0;
}

#define STAMP "^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{9} "

static int fresh_logger(void **state)
{
	(void)state;
	log_reset();
	pthread_setname_np(pthread_self(), "ember");
	return 0;
}

static int restore_logger(void **state)
{
	(void)state;
	log_reset();
	return 0;
}

static void configure_file(const char *name, bool show_level, bool show_origin, const char *id, char *path,
			   size_t size)
{
	struct log_options o = { .level = LOG_INFO, .show_level = show_level, .show_log_origin = show_origin,
				 .instance_id = id };

	path_in_tmp(path, size, name);
	o.path = path;
	assert_int_equal(log_configure(&o), 0);
}

static void test_fc_format_plain(void **state)
{
	char path[256];
	const char *out;

	(void)state;
	configure_file("plain.log", false, false, NULL, path, sizeof(path));
	log_info("booted in %d ms", 7);
	out = slurp(path);
	assert_true(matches(STAMP "\\[anonymous-instance:ember\\] booted in 7 ms\n$", out));
	/* The file is created private. */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_fc_format_level_origin_and_id(void **state)
{
	char path[256];
	const char *out;

	(void)state;
	configure_file("full.log", true, true, "vm-42", path, sizeof(path));
	log_warn("disk %s is slow", "vda");
	log_write(LOG_ERROR, "some_func", "direct");
	log_debug("filtered at Info");
	out = slurp(path);
	assert_true(matches(STAMP "\\[vm-42:ember:WARN:tests/unit/test_log.c:[0-9]+\\] disk vda is slow\n", out));
	/* log_write has no file: the function is the origin. */
	assert_true(matches("\n[^\n]+ \\[vm-42:ember:ERROR:some_func\\] direct\n$", out));
	assert_null(strstr(out, "filtered"));
}

static void test_fc_format_level_only(void **state)
{
	char path[256];
	const char *out;

	(void)state;
	configure_file("level.log", true, false, "", path, sizeof(path));
	log_error("x");
	log_info("y");
	out = slurp(path);
	assert_true(matches(STAMP "\\[anonymous-instance:ember:ERROR\\] x\n[^\n]+:ember:INFO\\] y\n$", out));
}

static void *name_and_log(void *arg)
{
	pthread_setname_np(pthread_self(), "ember-vcpu0");
	log_info("%s", (const char *)arg);
	return NULL;
}

static void test_fc_format_thread_name(void **state)
{
	char path[256];
	pthread_t t;

	(void)state;
	configure_file("thread.log", false, false, NULL, path, sizeof(path));
	assert_int_equal(pthread_create(&t, NULL, name_and_log, "from a vcpu"), 0);
	pthread_join(t, NULL);
	assert_true(matches(STAMP "\\[anonymous-instance:ember-vcpu0\\] from a vcpu\n$", slurp(path)));
}

static void test_timestamp_is_utc_now(void **state)
{
	char path[256], expect[32];
	time_t before = time(NULL);
	struct tm tm;
	const char *out;

	(void)state;
	configure_file("time.log", false, false, NULL, path, sizeof(path));
	log_info("t");
	out = slurp(path);
	/* Compare to the minute; retry the comparison if the minute turned. */
	gmtime_r(&before, &tm);
	strftime(expect, sizeof(expect), "%Y-%m-%dT%H:%M", &tm);
	if (strncmp(out, expect, strlen(expect))) {
		time_t after = time(NULL);

		gmtime_r(&after, &tm);
		strftime(expect, sizeof(expect), "%Y-%m-%dT%H:%M", &tm);
	}
	assert_memory_equal(out, expect, strlen(expect));
}

static void test_off_writes_nothing(void **state)
{
	char path[256];
	struct log_options o = { .off = true };
	uint64_t lines0, lines1, dropped0, dropped1;

	(void)state;
	configure_file("off.log", false, false, NULL, path, sizeof(path));
	log_counters(&lines0, &dropped0);
	assert_int_equal(log_configure(&o), 0); /* path NULL: same file */
	log_error("must not appear");
	log_counters(&lines1, &dropped1);
	assert_string_equal(slurp(path), "");
	assert_int_equal(lines1, lines0);
	assert_int_equal(dropped1, dropped0);
}

static void test_filter_parse(void **state)
{
	enum log_level l = LOG_ERROR;
	bool off = true;

	(void)state;
	assert_int_equal(log_filter_parse("OFF", &l, &off), 0);
	assert_true(off);
	assert_int_equal(log_filter_parse("debug", &l, &off), 0);
	assert_false(off);
	assert_int_equal(l, LOG_DEBUG);
	assert_int_equal(log_filter_parse("none", &l, &off), -EINVAL);
	assert_non_null(strstr(err_last(), "none"));
}

static void test_fifo_without_reader_is_a_clear_error(void **state)
{
	char path[256];
	struct log_options o = { .level = LOG_INFO };
	uint64_t lines0, lines1;

	(void)state;
	path_in_tmp(path, sizeof(path), "noreader.fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	o.path = path;
	err_clear();
	assert_int_equal(log_configure(&o), -ENXIO);
	assert_non_null(strstr(err_last(), "no reader"));
	assert_non_null(strstr(err_last(), path));
	/* Nothing changed: still the unconfigured format on the old sink. */
	int fds[2];
	char buf[512] = { 0 };

	assert_int_equal(pipe(fds), 0);
	log_set_fd(fds[1]);
	log_counters(&lines0, NULL);
	log_warn("still here");
	log_counters(&lines1, NULL);
	log_set_fd(STDERR_FILENO);
	close(fds[1]);
	assert_true(read(fds[0], buf, sizeof(buf) - 1) > 0);
	close(fds[0]);
	assert_non_null(strstr(buf, "[ember:Warning] test_fifo_without_reader_is_a_clear_error: still here\n"));
	assert_int_equal(lines1, lines0 + 1);
	unlink(path);
}

static void test_open_failure_names_the_path(void **state)
{
	struct log_options o = { .level = LOG_INFO, .path = "/nonexistent-dir/x.log" };

	(void)state;
	assert_int_equal(log_configure(&o), -ENOENT);
	assert_non_null(strstr(err_last(), "/nonexistent-dir/x.log"));
}

static void test_fifo_with_reader_and_full_fifo(void **state)
{
	char path[256], buf[LOG_LINE_MAX + 1];
	struct log_options o = { .level = LOG_INFO };
	uint64_t lines0, lines1, dropped0, dropped1;
	int rd, pipe_size, writes = 0;

	(void)state;
	path_in_tmp(path, sizeof(path), "reader.fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	rd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	o.path = path;
	assert_int_equal(log_configure(&o), 0);
	log_info("through the pipe");
	memset(buf, 0, sizeof(buf));
	assert_true(read(rd, buf, sizeof(buf) - 1) > 0);
	assert_true(matches(STAMP "\\[anonymous-instance:ember\\] through the pipe\n$", buf));

	/* Nobody reads now: once the pipe is full, lines are dropped and
	 * counted, and the writer never blocks. */
	pipe_size = fcntl(rd, F_GETPIPE_SZ);
	assert_true(pipe_size > 0);
	log_counters(&lines0, &dropped0);
	for (int i = 0; i < pipe_size / 64 + 16; i++, writes++)
		log_info("%0100d", i);
	log_counters(&lines1, &dropped1);
	assert_true(dropped1 > dropped0);
	assert_int_equal((lines1 - lines0) + (dropped1 - dropped0), (uint64_t)writes);
	/* What made it in is whole lines, as many as were counted written. */
	char *all = calloc(1, (size_t)pipe_size + 1);
	size_t got = 0;
	ssize_t n;
	uint64_t whole = 0;

	assert_non_null(all);
	while ((n = read(rd, all + got, (size_t)pipe_size - got)) > 0)
		got += (size_t)n;
	assert_true(got > 0 && all[got - 1] == '\n');
	for (char *line = all, *nl; (nl = strchr(line, '\n')); line = nl + 1, whole++) {
		*nl = 0;
		assert_true(matches(STAMP "\\[anonymous-instance:ember\\] [0-9]{100}$", line));
	}
	assert_int_equal(whole, lines1 - lines0);
	free(all);
	close(rd);
	log_reset();
	unlink(path);
}

static void test_second_configure_replaces_the_sink(void **state)
{
	char a[256], b[256];

	(void)state;
	configure_file("first.log", false, false, NULL, a, sizeof(a));
	log_info("one");
	configure_file("second.log", true, false, "second", b, sizeof(b));
	log_info("two");
	assert_true(matches("\\] one\n$", slurp(a)));
	assert_true(matches(STAMP "\\[second:ember:INFO\\] two\n$", slurp(b)));
}

static void test_configured_long_line_is_cut_whole(void **state)
{
	char path[256], big[3000];
	const char *out;

	(void)state;
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	configure_file("long.log", true, true, NULL, path, sizeof(path));
	log_error("%s", big);
	log_error("after");
	out = slurp(path);
	assert_int_equal(strchr(out, '\n') - out + 1, LOG_LINE_MAX);
	assert_true(matches("\n[^\n]+\\] after\n$", out));
}

#define THREADS 4
#define LINES_PER_THREAD 500

static void *log_many(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "ember-t%ld", (long)(intptr_t)arg);
	pthread_setname_np(pthread_self(), name);
	for (int i = 0; i < LINES_PER_THREAD; i++)
		log_info("thread %ld line %04d %0200d", (long)(intptr_t)arg, i, 0);
	return NULL;
}

static void test_concurrent_lines_stay_whole(void **state)
{
	char path[256];
	pthread_t t[THREADS];
	int per_thread[THREADS] = { 0 };
	FILE *f;
	char line[2048];
	int total = 0;

	(void)state;
	configure_file("threads.log", true, false, NULL, path, sizeof(path));
	for (long i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, log_many, (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		long id;
		int n;
		char *p = strstr(line, "] thread ");

		/* Each line is one prefix and one message: no other line's
		 * bytes inside it. */
		assert_non_null(p);
		assert_true(matches(STAMP "\\[anonymous-instance:ember-t[0-3]:INFO\\] thread [0-3] line [0-9]{4} 0{200}\n$",
				    line));
		assert_int_equal(sscanf(p, "] thread %ld line %d", &id, &n), 2);
		assert_int_equal(n, per_thread[id]); /* in order within a thread */
		per_thread[id]++;
		total++;
	}
	fclose(f);
	assert_int_equal(total, THREADS * LINES_PER_THREAD);
}

static void test_counters_count_written_and_dropped(void **state)
{
	uint64_t lines0, lines1, dropped0, dropped1;
	int fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	log_set_fd(fds[1]);
	log_counters(&lines0, &dropped0);
	log_warn("a");
	log_debug("filtered, not counted");
	close(fds[0]); /* the reader is gone: EPIPE (SIGPIPE is ignored) */
	log_warn("b");
	log_counters(&lines1, &dropped1);
	log_set_fd(STDERR_FILENO);
	close(fds[1]);
	assert_int_equal(lines1 - lines0, 1);
	assert_int_equal(dropped1 - dropped0, 1);
}

static void test_errno_survives_logging(void **state)
{
	int fds[2];
	char buf[512] = { 0 };

	(void)state;
	assert_int_equal(pipe(fds), 0);
	log_set_fd(fds[1]);
	errno = EACCES;
	log_warn("open: %m");
	assert_int_equal(errno, EACCES);
	log_set_fd(STDERR_FILENO);
	close(fds[1]);
	assert_true(read(fds[0], buf, sizeof(buf) - 1) > 0);
	close(fds[0]);
	assert_non_null(strstr(buf, "open: Permission denied\n"));
}

static int group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN); /* as ember's main does */
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	log_reset();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_set_and_wrap),
		cmocka_unit_test(test_level_parse_and_names),
		cmocka_unit_test(test_lines_filtered_by_level),
		cmocka_unit_test(test_limit_burst_then_one_a_second),
		cmocka_unit_test(test_guest_lines_are_limited),
		cmocka_unit_test(test_long_line_is_truncated_whole),
		cmocka_unit_test_setup_teardown(test_fc_format_plain, fresh_logger, restore_logger),
		cmocka_unit_test_setup_teardown(test_fc_format_level_origin_and_id, fresh_logger, restore_logger),
		cmocka_unit_test_setup_teardown(test_fc_format_level_only, fresh_logger, restore_logger),
		cmocka_unit_test_setup_teardown(test_fc_format_thread_name, fresh_logger, restore_logger),
		cmocka_unit_test_setup_teardown(test_timestamp_is_utc_now, fresh_logger, restore_logger),
		cmocka_unit_test_setup_teardown(test_off_writes_nothing, fresh_logger, restore_logger),
		cmocka_unit_test(test_filter_parse),
		cmocka_unit_test_setup_teardown(test_fifo_without_reader_is_a_clear_error, fresh_logger, restore_logger),
		cmocka_unit_test_setup_teardown(test_open_failure_names_the_path, fresh_logger, restore_logger),
		cmocka_unit_test_setup_teardown(test_fifo_with_reader_and_full_fifo, fresh_logger, restore_logger),
		cmocka_unit_test_setup_teardown(test_second_configure_replaces_the_sink, fresh_logger, restore_logger),
		cmocka_unit_test_setup_teardown(test_configured_long_line_is_cut_whole, fresh_logger, restore_logger),
		cmocka_unit_test_setup_teardown(test_concurrent_lines_stay_whole, fresh_logger, restore_logger),
		cmocka_unit_test_setup_teardown(test_counters_count_written_and_dropped, fresh_logger, restore_logger),
		cmocka_unit_test_setup_teardown(test_errno_survives_logging, fresh_logger, restore_logger),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
