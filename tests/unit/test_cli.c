#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/cli.h"

#define ARGV(...) ((char *const[]){ "ember", __VA_ARGS__ })
#define ARGC(...) ((int)(sizeof((char *const[]){ "ember", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(opts, ...) cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (opts))

static void test_defaults(void **state)
{
	struct cli_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--kernel", "vmlinux"), 0);
	assert_string_equal(o.kernel, "vmlinux");
	assert_null(o.initrd);
	assert_int_equal(o.mem_mib, 128);
	assert_int_equal(o.vcpus, 1);
	assert_string_equal(o.cmdline, CLI_DEFAULT_CMDLINE);
	assert_int_equal(o.log_level, LOG_WARN);
	assert_false(o.help || o.version || o.print_startup || o.print_exit_stats);
}

static void test_all_flags_both_forms(void **state)
{
	struct cli_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--kernel=bz", "--initrd", "rd.img", "--cmdline=a=b c", "--mem", "512",
			       "--vcpus=4", "--cpu-template", "t.json", "--log-level", "debug", "--print-startup", "--print-exit-stats"),
			 0);
	assert_string_equal(o.kernel, "bz");
	assert_string_equal(o.initrd, "rd.img");
	assert_string_equal(o.cmdline, "a=b c");
	assert_int_equal(o.mem_mib, 512);
	assert_int_equal(o.vcpus, 4);
	assert_string_equal(o.cpu_template, "t.json");
	assert_int_equal(o.log_level, LOG_DEBUG);
	assert_true(o.print_startup && o.print_exit_stats);
}

static void test_help_and_version_need_no_kernel(void **state)
{
	struct cli_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--help"), 0);
	assert_true(o.help);
	assert_int_equal(PARSE(&o, "-V"), 0);
	assert_true(o.version);
}

static void test_bad_arguments(void **state)
{
	struct cli_options o;

	(void)state;
	assert_int_equal(cli_parse(1, ARGV(NULL), &o), -EINVAL);
	assert_non_null(strstr(err_last(), "--kernel is required"));
	assert_int_equal(PARSE(&o, "--kernel"), -EINVAL);
	assert_non_null(strstr(err_last(), "--kernel needs a value"));
	assert_int_equal(PARSE(&o, "--kernel", "k", "--bogus"), -EINVAL);
	assert_non_null(strstr(err_last(), "unknown argument '--bogus'"));
	assert_int_equal(PARSE(&o, "--kernelx", "k"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--vcpus", "0"), -EINVAL);
	assert_non_null(strstr(err_last(), "out of range"));
	assert_int_equal(PARSE(&o, "--kernel", "k", "--vcpus", "33"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--vcpus", "32"), 0);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--mem", "15"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--mem", "-1"), -EINVAL);
	assert_non_null(strstr(err_last(), "not a number"));
	assert_int_equal(PARSE(&o, "--kernel", "k", "--mem", "12x"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--mem", ""), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--mem", "99999999999999999999999"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--mem", "1048577"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--log-level", "loud"), -EINVAL);
	assert_non_null(strstr(err_last(), "--log-level"));
}

static void test_drives_and_rng(void **state)
{
	static struct cli_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--kernel", "k", "--drive", "path=/a.img,id=root", "--rng",
			       "--drive=path=/b.img,ro=on"), 0);
	assert_int_equal(o.nr_drives, 2);
	assert_string_equal(o.drives[0].path, "/a.img");
	assert_string_equal(o.drives[0].id, "root");
	assert_false(o.drives[0].read_only);
	assert_string_equal(o.drives[1].path, "/b.img");
	assert_string_equal(o.drives[1].id, "drive1");
	assert_true(o.drives[1].read_only);
	assert_true(o.rng);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--drive", "ro=on"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--drive"), -EINVAL);
}

static void test_too_many_drives(void **state)
{
	static struct cli_options o;
	char *argv[2 + 2 * (CLI_MAX_DRIVES + 1)];
	int argc = 0;

	(void)state;
	argv[argc++] = "ember";
	argv[argc++] = "--kernel=k";
	for (int i = 0; i <= CLI_MAX_DRIVES; i++) {
		argv[argc++] = "--drive";
		argv[argc++] = "path=/x.img";
	}
	assert_int_equal(cli_parse(argc, argv, &o), -EINVAL);
	assert_int_equal(o.nr_drives, CLI_MAX_DRIVES);
}

static void test_usage_mentions_every_flag(void **state)
{
	char buf[8192] = { 0 };
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	(void)state;
	assert_non_null(f);
	cli_print_usage(f);
	fclose(f);
	static const char *const flags[] = { "--kernel", "--initrd", "--cmdline", "--mem", "--vcpus",
					     "--cpu-template", "--log-level", "--print-exit-stats", "--print-startup",
					     "--help", "--version", "--drive", "--rng" };
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		assert_non_null(strstr(buf, flags[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_flags_both_forms),
		cmocka_unit_test(test_help_and_version_need_no_kernel),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_drives_and_rng),
		cmocka_unit_test(test_too_many_drives),
		cmocka_unit_test(test_usage_mentions_every_flag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
