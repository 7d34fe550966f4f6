#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/bus.h"

/* A device that records the last access and answers reads with its id. */
struct probe {
	struct device dev;
	uint8_t id;
	uint64_t last_offset;
	uint32_t last_len;
	uint8_t last_data[8];
	unsigned reads, writes;
};

static void probe_read(struct device *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct probe *p = (struct probe *)dev;

	p->reads++;
	p->last_offset = offset;
	p->last_len = len;
	memset(data, p->id, len);
}

static void probe_write(struct device *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct probe *p = (struct probe *)dev;

	p->writes++;
	p->last_offset = offset;
	p->last_len = len;
	memcpy(p->last_data, data, len);
}

static const struct device_ops probe_ops = { .kind = "probe", .read = probe_read, .write = probe_write };

static void probe_init(struct probe *p, uint8_t id)
{
	memset(p, 0, sizeof(*p));
	device_init(&p->dev, &probe_ops);
	p->id = id;
}

static void test_dispatch_by_offset(void **state)
{
	struct bus bus;
	struct probe a, b;
	uint8_t buf[4];

	(void)state;
	probe_init(&a, 0xaa);
	probe_init(&b, 0xbb);
	bus_init(&bus, "pio");
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &a.dev), 0);
	assert_int_equal(bus_register(&bus, 0x60, 5, &b.dev), 0);

	assert_int_equal(bus_read(&bus, 0x3fd, buf, 1), 0);
	assert_int_equal(buf[0], 0xaa);
	assert_int_equal(a.last_offset, 5);

	uint8_t v = 0xfe;
	assert_int_equal(bus_write(&bus, 0x64, &v, 1), 0);
	assert_int_equal(b.writes, 1);
	assert_int_equal(b.last_offset, 4);
	assert_int_equal(b.last_data[0], 0xfe);

	/* The last byte of a range is inside, the next one is not. */
	assert_int_equal(bus_read(&bus, 0x3ff, buf, 1), 0);
	assert_int_equal(bus_read(&bus, 0x400, buf, 1), -ENOENT);
	assert_int_equal(buf[0], 0xff);
	assert_int_equal(bus_read(&bus, 0x3f7, buf, 1), -ENOENT);
	bus_fini(&bus);
}

static void test_unmapped_read_is_all_ones(void **state)
{
	struct bus bus;
	uint8_t buf[4] = { 0 };

	(void)state;
	bus_init(&bus, "mmio");
	assert_int_equal(bus_read(&bus, 0xd0000000, buf, 4), -ENOENT);
	assert_memory_equal(buf, "\xff\xff\xff\xff", 4);
	assert_int_equal(bus_write(&bus, 0xd0000000, buf, 4), -ENOENT);
	bus_fini(&bus);
}

static void test_overlap_rejected(void **state)
{
	struct bus bus;
	struct probe a, b;

	(void)state;
	probe_init(&a, 1);
	probe_init(&b, 2);
	bus_init(&bus, "pio");
	assert_int_equal(bus_register(&bus, 0x100, 0x10, &a.dev), 0);
	assert_int_equal(bus_register(&bus, 0x10f, 1, &b.dev), -EEXIST);
	assert_int_equal(bus_register(&bus, 0xf1, 0x10, &b.dev), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x0f0, 0x40, &b.dev), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x104, 2, &b.dev), -EEXIST);
	/* Adjacent on both sides is fine. */
	assert_int_equal(bus_register(&bus, 0x110, 0x10, &b.dev), 0);
	assert_int_equal(bus_register(&bus, 0xf0, 0x10, &b.dev), 0);
	assert_int_equal(bus_nr_ranges(&bus), 3);
	bus_fini(&bus);
}

static void test_bad_ranges_rejected(void **state)
{
	struct bus bus;
	struct probe a;

	(void)state;
	probe_init(&a, 1);
	bus_init(&bus, "mmio");
	assert_int_equal(bus_register(&bus, 0x1000, 0, &a.dev), -EINVAL);
	assert_int_equal(bus_register(&bus, UINT64_MAX - 4, 16, &a.dev), -EINVAL);
	assert_int_equal(bus_register(&bus, 0x1000, 16, NULL), -EINVAL);
	assert_int_equal(bus_nr_ranges(&bus), 0);
	bus_fini(&bus);
}

static void test_access_straddling_range_end(void **state)
{
	struct bus bus;
	struct probe a;
	uint8_t buf[8];

	(void)state;
	probe_init(&a, 0x11);
	bus_init(&bus, "mmio");
	assert_int_equal(bus_register(&bus, 0x1000, 0x100, &a.dev), 0);
	/* 4 bytes at 0x10fe would cross into unmapped space: refused whole. */
	assert_int_equal(bus_read(&bus, 0x10fe, buf, 4), -EINVAL);
	assert_int_equal(a.reads, 0);
	assert_int_equal(bus_write(&bus, 0x10fe, buf, 4), -EINVAL);
	assert_int_equal(a.writes, 0);
	/* Sizes other than 1, 2, 4, 8 are refused. */
	assert_int_equal(bus_read(&bus, 0x1000, buf, 3), -EINVAL);
	assert_int_equal(bus_read(&bus, 0x1000, buf, 0), -EINVAL);
	assert_int_equal(bus_read(&bus, 0x10f8, buf, 8), 0);
	assert_int_equal(a.last_len, 8);
	/* An access at the very top of the address space must not wrap. */
	assert_int_equal(bus_read(&bus, UINT64_MAX - 1, buf, 4), -ENOENT);
	bus_fini(&bus);
}

static void test_many_ranges_sorted_lookup(void **state)
{
	struct bus bus;
	struct probe p[40];
	uint8_t v;

	(void)state;
	bus_init(&bus, "mmio");
	/* Register out of order: lookup must still find each one. */
	for (int i = 0; i < 40; i++) {
		int k = (i * 17) % 40;

		probe_init(&p[k], (uint8_t)k);
		assert_int_equal(bus_register(&bus, 0xd0000000ULL + (uint64_t)k * 0x1000, 0x1000, &p[k].dev), 0);
	}
	for (int k = 0; k < 40; k++) {
		assert_int_equal(bus_read(&bus, 0xd0000000ULL + (uint64_t)k * 0x1000 + 0x70, &v, 1), 0);
		assert_int_equal(v, k);
		assert_int_equal(p[k].last_offset, 0x70);
	}
	bus_fini(&bus);
}

static void test_device_without_write_op(void **state)
{
	static const struct device_ops ro_ops = { .kind = "ro" };
	struct device dev;
	struct bus bus;
	uint8_t v = 1;

	(void)state;
	device_init(&dev, &ro_ops);
	bus_init(&bus, "pio");
	assert_int_equal(bus_register(&bus, 0x80, 1, &dev), 0);
	/* A device may leave ops NULL: reads float high, writes vanish. */
	assert_int_equal(bus_write(&bus, 0x80, &v, 1), 0);
	assert_int_equal(bus_read(&bus, 0x80, &v, 1), 0);
	assert_int_equal(v, 0xff);
	bus_fini(&bus);
	device_fini(&dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch_by_offset),
		cmocka_unit_test(test_unmapped_read_is_all_ones),
		cmocka_unit_test(test_overlap_rejected),
		cmocka_unit_test(test_bad_ranges_rejected),
		cmocka_unit_test(test_access_straddling_range_end),
		cmocka_unit_test(test_many_ranges_sorted_lookup),
		cmocka_unit_test(test_device_without_write_op),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
