#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/guest_mem.h"
#include "vmm/log.h"

static uint8_t low[0x10000];
static uint8_t high[0x1000];

static void setup_two_regions(struct guest_mem *mem)
{
	guest_mem_init(mem);
	assert_int_equal(guest_mem_add_region(mem, 0, sizeof(low), low), 0);
	assert_int_equal(guest_mem_add_region(mem, 0x100000000ULL, sizeof(high), high), 0);
}

static void test_ptr_inside_and_edges(void **state)
{
	struct guest_mem mem;

	(void)state;
	setup_two_regions(&mem);
	assert_ptr_equal(guest_mem_ptr(&mem, 0, 1), low);
	assert_ptr_equal(guest_mem_ptr(&mem, 0xfff0, 0x10), low + 0xfff0);
	assert_null(guest_mem_ptr(&mem, 0xfff0, 0x11));
	assert_null(guest_mem_ptr(&mem, 0x10000, 1));
	assert_ptr_equal(guest_mem_ptr(&mem, 0x100000fffULL, 1), high + 0xfff);
	assert_null(guest_mem_ptr(&mem, 0x100001000ULL, 1));
	/* Zero length still needs a valid address. */
	assert_non_null(guest_mem_ptr(&mem, 0x10, 0));
	assert_null(guest_mem_ptr(&mem, 0x20000, 0));
	assert_int_equal(guest_mem_total(&mem), sizeof(low) + sizeof(high));
	assert_int_equal(guest_mem_low_end(&mem), sizeof(low));
}

static void test_no_access_across_regions_or_wrapping(void **state)
{
	struct guest_mem mem;
	uint8_t adj[16];

	(void)state;
	guest_mem_init(&mem);
	assert_int_equal(guest_mem_add_region(&mem, 0, sizeof(low), low), 0);
	assert_int_equal(guest_mem_add_region(&mem, sizeof(low), sizeof(adj), adj), 0);
	/* Adjacent regions are separate allocations: one access cannot span both. */
	assert_null(guest_mem_ptr(&mem, sizeof(low) - 4, 8));
	assert_null(guest_mem_ptr(&mem, UINT64_MAX, 2));
	assert_null(guest_mem_ptr(&mem, 8, UINT64_MAX));
	assert_null(guest_mem_ptr(&mem, 0, UINT64_MAX));
}

static void test_add_region_rejects(void **state)
{
	struct guest_mem mem;
	uint8_t buf[16];

	(void)state;
	setup_two_regions(&mem);
	assert_int_equal(guest_mem_add_region(&mem, 0x8000, 0x10000, buf), -EEXIST);
	assert_non_null(strstr(err_last(), "overlaps"));
	assert_int_equal(guest_mem_add_region(&mem, 0xffffffffffffff00ULL, 0x200, buf), -EINVAL);
	assert_int_equal(guest_mem_add_region(&mem, 0x200000, 0, buf), -EINVAL);
	assert_int_equal(guest_mem_add_region(&mem, 0x200000, 16, NULL), -EINVAL);
	for (unsigned i = mem.nr_regions; i < GUEST_MEM_MAX_REGIONS; i++)
		assert_int_equal(guest_mem_add_region(&mem, 0x200000000ULL + i * 0x1000, 16, buf), 0);
	assert_int_equal(guest_mem_add_region(&mem, 0x300000000ULL, 16, buf), -ENOSPC);
}

static void test_read_write_fill(void **state)
{
	struct guest_mem mem;
	uint8_t out[8];

	(void)state;
	setup_two_regions(&mem);
	assert_int_equal(guest_mem_write(&mem, 0x100, "ember!", 6), 0);
	assert_memory_equal(low + 0x100, "ember!", 6);
	assert_int_equal(guest_mem_read(&mem, 0x100, out, 6), 0);
	assert_memory_equal(out, "ember!", 6);
	assert_int_equal(guest_mem_fill(&mem, 0x100000000ULL, 0x5a, 8), 0);
	assert_int_equal(high[7], 0x5a);
	assert_int_equal(guest_mem_write(&mem, 0xfffc, "12345678", 8), -EFAULT);
	assert_non_null(strstr(err_last(), "0xfffc"));
	assert_int_equal(guest_mem_read(&mem, 0x10000, out, 1), -EFAULT);
	assert_int_equal(guest_mem_fill(&mem, 0x100000ffcULL, 0, 8), -EFAULT);
	assert_int_equal(guest_mem_low_end(&(struct guest_mem){ 0 }), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ptr_inside_and_edges),
		cmocka_unit_test(test_no_access_across_regions_or_wrapping),
		cmocka_unit_test(test_add_region_rejects),
		cmocka_unit_test(test_read_write_fill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
