/* The pvpanic-mmio model: what Linux's pvpanic-mmio driver reads at probe
 * and writes on panic, with and without a crash kernel, unsupported bits,
 * hostile accesses, reset and save/restore. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "device_access.h"

#include "boot/layout.h"
#include "devices/pvpanic.h"
#include "snapshot/state.h"
#include "vmm/log.h"

#define PANICKED 0x01
#define CRASH_LOADED 0x02

struct ctx {
	struct device *dev;
	int panics;
	uint8_t last;
};

static void fake_panic(void *opaque, uint8_t events)
{
	struct ctx *c = opaque;

	c->panics++;
	c->last = events;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct pvpanic_config cfg = { .on_panic = fake_panic, .opaque = c };

	assert_non_null(c);
	assert_int_equal(pvpanic_create(&cfg, &c->dev), 0);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	c->dev->ops->destroy(c->dev);
	free(c);
	return 0;
}

static uint8_t rd(struct ctx *c, uint64_t off)
{
	return device_test_read8(c->dev, off);
}

static void wr(struct ctx *c, uint64_t off, uint8_t v)
{
	device_test_write8(c->dev, off, v);
}

static void test_probe_reads_capability(void **state)
{
	struct ctx *c = *state;

	assert_string_equal(c->dev->ops->kind, "pvpanic");
	assert_int_equal(PVPANIC_RANGE_LEN, LAYOUT_PVPANIC_LEN);
	/* pvpanic_probe: capability = ioread8(base) & supported. */
	assert_int_equal(rd(c, 0), PANICKED | CRASH_LOADED);
	assert_int_equal(rd(c, 0), PVPANIC_SUPPORTED);
	assert_int_equal(pvpanic_events_seen(c->dev), 0);
	assert_int_equal(c->panics, 0);
}

static void test_create_rejects_bad_args(void **state)
{
	struct pvpanic_config cfg = { 0 };
	struct device *dev = NULL;

	(void)state;
	assert_int_equal(pvpanic_create(NULL, &dev), -EINVAL);
	assert_int_equal(pvpanic_create(&cfg, NULL), -EINVAL);
	assert_null(dev);
	/* A NULL callback is allowed: the event is still recorded. */
	assert_int_equal(pvpanic_create(&cfg, &dev), 0);
	pthread_mutex_lock(&dev->lock);
	dev->ops->write(dev, 0, (const uint8_t[]){ PANICKED }, 1);
	pthread_mutex_unlock(&dev->lock);
	assert_int_equal(pvpanic_events_seen(dev), PANICKED);
	dev->ops->destroy(dev);
}

static void test_panic(void **state)
{
	struct ctx *c = *state;

	wr(c, 0, PANICKED); /* logged as an error, which the run shows */
	assert_int_equal(c->panics, 1);
	assert_int_equal(c->last, PANICKED);
	assert_int_equal(pvpanic_events_seen(c->dev), PANICKED);
	assert_int_equal(rd(c, 0), PVPANIC_SUPPORTED); /* reads do not change */
}

static void test_crash_loaded_only_recorded(void **state)
{
	struct ctx *c = *state;

	log_set_level(LOG_ERROR);
	wr(c, 0, CRASH_LOADED);
	assert_int_equal(c->panics, 0);
	assert_int_equal(pvpanic_events_seen(c->dev), CRASH_LOADED);
	log_set_level(LOG_ERROR);
	wr(c, 0, 0xff); /* unknown bits dropped; PANICKED fires */
	log_set_level(LOG_WARN);
	assert_int_equal(c->panics, 1);
	assert_int_equal(c->last, PANICKED | CRASH_LOADED);
	assert_int_equal(pvpanic_events_seen(c->dev), PVPANIC_SUPPORTED);
}

static void test_unsupported_bits_ignored(void **state)
{
	struct ctx *c = *state;

	for (unsigned v = 0; v < 256; v++)
		if (!(v & PVPANIC_SUPPORTED))
			wr(c, 0, (uint8_t)v); /* bit 2 is "shutdown" in newer QEMU */
	assert_int_equal(c->panics, 0);
	assert_int_equal(pvpanic_events_seen(c->dev), 0);
}

static void test_other_offsets_and_widths(void **state)
{
	struct ctx *c = *state;
	static const uint32_t lens[] = { 2, 4, 8 };
	uint8_t buf[8];

	assert_int_equal(rd(c, 1), 0xff);
	assert_int_equal(rd(c, UINT64_MAX), 0xff);
	wr(c, 1, PANICKED);
	wr(c, UINT64_MAX, PANICKED);
	for (unsigned i = 0; i < 3; i++) {
		for (uint64_t off = 0; off < PVPANIC_RANGE_LEN; off++) {
			pthread_mutex_lock(&c->dev->lock);
			memset(buf, 0, sizeof(buf));
			c->dev->ops->read(c->dev, off, buf, lens[i]);
			for (uint32_t k = 0; k < lens[i]; k++)
				assert_int_equal(buf[k], 0xff);
			memset(buf, PANICKED, sizeof(buf));
			c->dev->ops->write(c->dev, off, buf, lens[i]);
			c->dev->ops->read(c->dev, off, buf, 0);
			pthread_mutex_unlock(&c->dev->lock);
		}
	}
	assert_int_equal(c->panics, 0);
	assert_int_equal(pvpanic_events_seen(c->dev), 0);
}

static void test_device_reset(void **state)
{
	struct ctx *c = *state;

	log_set_level(LOG_ERROR);
	wr(c, 0, CRASH_LOADED);
	log_set_level(LOG_WARN);
	pthread_mutex_lock(&c->dev->lock);
	c->dev->ops->reset(c->dev);
	pthread_mutex_unlock(&c->dev->lock);
	assert_int_equal(pvpanic_events_seen(c->dev), 0);
	assert_int_equal(rd(c, 0), PVPANIC_SUPPORTED);
}

static int restore(struct ctx *c, const uint8_t *buf, size_t len)
{
	size_t left;
	int err = device_test_restore(c->dev, buf, len, &left);

	if (!err)
		assert_int_equal(left, 0);
	return err;
}

static void test_save_restore(void **state)
{
	struct ctx *c = *state;
	struct state_writer w;
	uint8_t copy[2];

	log_set_level(LOG_ERROR);
	wr(c, 0, CRASH_LOADED);
	log_set_level(LOG_WARN);
	state_writer_init(&w);
	pthread_mutex_lock(&c->dev->lock);
	assert_int_equal(c->dev->ops->save(c->dev, &w), 0);
	c->dev->ops->reset(c->dev);
	pthread_mutex_unlock(&c->dev->lock);
	assert_int_equal(w.len, 2);
	assert_int_equal(restore(c, w.buf, w.len), 0);
	assert_int_equal(pvpanic_events_seen(c->dev), CRASH_LOADED);
	/* Truncated, bad version, impossible events: rejected, no change. */
	for (size_t len = 0; len < w.len; len++)
		assert_int_equal(restore(c, w.buf, len), -EINVAL);
	memcpy(copy, w.buf, 2);
	copy[0] = 9;
	assert_int_equal(restore(c, copy, 2), -EINVAL);
	copy[0] = w.buf[0];
	copy[1] = 0x04;
	assert_int_equal(restore(c, copy, 2), -EINVAL);
	assert_int_equal(pvpanic_events_seen(c->dev), CRASH_LOADED);
	copy[1] = 0;
	assert_int_equal(restore(c, copy, 2), 0);
	assert_int_equal(pvpanic_events_seen(c->dev), 0);
	assert_int_equal(c->panics, 0); /* restoring never fires a panic */
	state_writer_free(&w);
	state_writer_init(&w);
	w.err = -EOVERFLOW;
	pthread_mutex_lock(&c->dev->lock);
	assert_int_equal(c->dev->ops->save(c->dev, &w), -EOVERFLOW);
	pthread_mutex_unlock(&c->dev->lock);
	state_writer_free(&w);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_probe_reads_capability),
		T(test_create_rejects_bad_args),
		T(test_panic),
		T(test_crash_loaded_only_recorded),
		T(test_unsupported_bits_ignored),
		T(test_other_offsets_and_widths),
		T(test_device_reset),
		T(test_save_restore),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
