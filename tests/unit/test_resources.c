#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "boot/layout.h"
#include "vmm/resources.h"

static void test_windows_and_lines_are_distinct_and_free(void **state)
{
	struct resources r;
	uint64_t base, seen_base[RESOURCES_MAX_VIRTIO];
	uint32_t gsi, used = 0;

	(void)state;
	resources_init(&r);
	for (unsigned i = 0; i < RESOURCES_MAX_VIRTIO; i++) {
		assert_int_equal(resources_alloc_virtio(&r, &base, &gsi), 0);
		assert_int_equal(base, LAYOUT_VIRTIO_MMIO_BASE + i * LAYOUT_VIRTIO_MMIO_STRIDE);
		assert_true(base + LAYOUT_VIRTIO_MMIO_STRIDE <= LAYOUT_IOAPIC_ADDR);
		assert_true(gsi >= 5 && gsi < 24);
		assert_true(gsi != LAYOUT_RTC_IRQ && gsi != LAYOUT_COM1_IRQ && gsi != LAYOUT_I8042_IRQ);
		assert_false(used & (1u << gsi));
		used |= 1u << gsi;
		seen_base[i] = base;
	}
	assert_int_equal(seen_base[0], 0xd0000000);
	assert_int_equal(resources_alloc_virtio(&r, &base, &gsi), -ENOSPC);
	/* Same order every time: a restored VM finds its devices in place. */
	resources_init(&r);
	assert_int_equal(resources_alloc_virtio(&r, &base, &gsi), 0);
	assert_int_equal(gsi, 5);
	assert_int_equal(resources_alloc_virtio(&r, &base, &gsi), 0);
	assert_int_equal(gsi, 6);
	assert_int_equal(resources_alloc_virtio(&r, &base, &gsi), 0);
	assert_int_equal(resources_alloc_virtio(&r, &base, &gsi), 0);
	assert_int_equal(gsi, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_windows_and_lines_are_distinct_and_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
