/* Exit sites: counting by port / MMIO page, overflow into 'other', merging
 * per-vCPU tables, and the busiest-first format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/exit_sites.h"

static void test_counts_io_ports_exactly_and_mmio_by_page(void **state)
{
	struct exit_sites s = { 0 };
	char buf[256];

	(void)state;
	for (int i = 0; i < 3; i++)
		exit_sites_count(&s, EXIT_SITE_IO, 0x3f8);
	exit_sites_count(&s, EXIT_SITE_IO, 0x3f9);
	exit_sites_count(&s, EXIT_SITE_MMIO, 0xd0000050);
	exit_sites_count(&s, EXIT_SITE_MMIO, 0xd0000ffc);
	/* Port 0x3f8 and MMIO page 0x3000 must not be confused. */
	exit_sites_count(&s, EXIT_SITE_MMIO, 0x3f8);
	exit_sites_format(&s, 10, buf, sizeof(buf));
	assert_string_equal(buf, "io:0x3f8=3 mmio:0xd0000000=2 io:0x3f9=1 mmio:0x0=1");
}

static void test_full_table_sums_the_rest_in_other(void **state)
{
	struct exit_sites s = { 0 };
	char buf[2048];

	(void)state;
	for (uint64_t port = 0; port < EXIT_SITES_MAX + 5; port++)
		exit_sites_count(&s, EXIT_SITE_IO, port);
	exit_sites_count(&s, EXIT_SITE_IO, 0); /* an existing site still counts */
	assert_int_equal(s.other, 5);
	exit_sites_format(&s, 1, buf, sizeof(buf));
	/* top 1 shown; the other 31 sites plus the 5 overflowed ones summed */
	assert_string_equal(buf, "io:0x0=2 other=36");
}

static void test_merge_adds_matching_sites(void **state)
{
	struct exit_sites a = { 0 }, b = { 0 };
	char buf[256];

	(void)state;
	exit_sites_count(&a, EXIT_SITE_IO, 0x70);
	exit_sites_count(&b, EXIT_SITE_IO, 0x70);
	exit_sites_count(&b, EXIT_SITE_IO, 0x71);
	b.other = 4;
	exit_sites_merge(&a, &b);
	exit_sites_format(&a, 8, buf, sizeof(buf));
	assert_string_equal(buf, "io:0x70=2 io:0x71=1 other=4");
}

static void test_format_truncates_safely_and_reports_full_length(void **state)
{
	struct exit_sites s = { 0 };
	char buf[8], full[64];
	int n;

	(void)state;
	exit_sites_count(&s, EXIT_SITE_IO, 0x3f8);
	exit_sites_count(&s, EXIT_SITE_IO, 0x3f9);
	n = exit_sites_format(&s, 8, buf, sizeof(buf));
	exit_sites_format(&s, 8, full, sizeof(full));
	assert_int_equal(n, (int)strlen(full));
	assert_string_equal(buf, "io:0x3f");
	assert_int_equal(exit_sites_format(&(struct exit_sites){ 0 }, 8, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_io_ports_exactly_and_mmio_by_page),
		cmocka_unit_test(test_full_table_sums_the_rest_in_other),
		cmocka_unit_test(test_merge_adds_matching_sites),
		cmocka_unit_test(test_format_truncates_safely_and_reports_full_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
