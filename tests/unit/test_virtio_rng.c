/* virtio-rng through the transport with a scripted entropy source. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/virtio/rng.h"
#include "tests/virtio/mmio_driver.h"
#include "tests/virtio/racer.h"
#include "tests/virtio/vq_driver.h"

static unsigned source_calls;
static size_t source_chunk; /* 0: fail */

static ssize_t fake_source(void *buf, size_t len)
{
	source_calls++;
	if (!source_chunk)
		return -EIO;
	if (len > source_chunk)
		len = source_chunk;
	memset(buf, 0xa5, len);
	return (ssize_t)len;
}

static struct virtio_mmio *bring_up(struct vq_driver *d, rng_source_fn fn)
{
	struct virtio_mmio *t;

	assert_int_equal(vq_driver_init(d, 1 << 20, 16), 0);
	assert_int_equal(rng_create(&d->mem, fn, NULL, &t), 0);
	assert_int_equal(mmio_driver_bring_up(t, d, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 0xf);
	return t;
}

static uint32_t ask(struct vq_driver *d, struct virtio_mmio *t, struct vq_seg *segs, unsigned n)
{
	uint32_t id, len = 0;

	vq_driver_post(d, vq_driver_chain(d, segs, n));
	mmio_driver_kick(t, 0);
	assert_true(vq_driver_take_used(d, &id, &len));
	return len;
}

static void test_fills_every_writable_segment(void **state)
{
	struct vq_driver d;
	struct virtio_mmio *t;
	struct vq_seg segs[] = { { 0, 10, true }, { 0, 30, true } };

	(void)state;
	source_chunk = 7, source_calls = 0;
	t = bring_up(&d, fake_source);
	assert_int_equal(mmio_driver_read(t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	assert_int_equal(ask(&d, t, segs, 2), 40);
	assert_int_equal(((uint8_t *)vq_driver_host(&d, segs[1].addr))[29], 0xa5);
	assert_int_equal(source_calls, 2 + 5); /* 10 = 7+3, 30 = 7*4+2 */
	t->dev.ops->destroy(&t->dev);
	vq_driver_fini(&d);
}

static void test_request_is_capped(void **state)
{
	struct vq_driver d;
	struct virtio_mmio *t;
	struct vq_seg seg = { 0, VIRTIO_RNG_MAX_REQUEST + 4096, true };

	(void)state;
	source_chunk = 1 << 20;
	t = bring_up(&d, fake_source);
	assert_int_equal(ask(&d, t, &seg, 1), VIRTIO_RNG_MAX_REQUEST);
	t->dev.ops->destroy(&t->dev);
	vq_driver_fini(&d);
}

static void test_source_failure_returns_what_it_has(void **state)
{
	struct vq_driver d;
	struct virtio_mmio *t;
	struct vq_seg seg = { 0, 64, true };

	(void)state;
	source_chunk = 0;
	t = bring_up(&d, fake_source);
	assert_int_equal(ask(&d, t, &seg, 1), 0);
	assert_true(virtio_mmio_live(t)); /* a host failure is not the driver's fault */
	t->dev.ops->destroy(&t->dev);
	vq_driver_fini(&d);
}

static void test_readable_only_chain_gets_nothing(void **state)
{
	struct vq_driver d;
	struct virtio_mmio *t;
	struct vq_seg seg = { 0, 64, false };

	(void)state;
	source_chunk = 64;
	t = bring_up(&d, fake_source);
	assert_int_equal(ask(&d, t, &seg, 1), 0);
	t->dev.ops->destroy(&t->dev);
	vq_driver_fini(&d);
}

static void test_getrandom_default(void **state)
{
	struct vq_driver d;
	struct virtio_mmio *t;
	struct vq_seg seg = { 0, 256, true };
	const uint8_t *p;
	unsigned nonzero = 0;

	(void)state;
	t = bring_up(&d, NULL);
	assert_int_equal(ask(&d, t, &seg, 1), 256);
	p = vq_driver_host(&d, seg.addr);
	for (int i = 0; i < 256; i++)
		nonzero += p[i] != 0;
	assert_true(nonzero > 200); /* 256 zero-or-not draws: ~255 expected */
	t->dev.ops->destroy(&t->dev);
	vq_driver_fini(&d);
}

static void test_stats(void **state)
{
	struct vq_driver d;
	struct virtio_mmio *t;
	struct vq_seg segs[] = { { 0, 10, true }, { 0, 30, true } };
	struct vq_seg one = { 0, 64, true };
	struct rng_stats st;

	(void)state;
	source_chunk = 7;
	t = bring_up(&d, fake_source);
	rng_get_stats(t, &st);
	for (unsigned i = 0; i < RNG_STAT_COUNT; i++)
		assert_int_equal(st.v[i], 0);
	assert_int_equal(ask(&d, t, segs, 2), 40);
	assert_int_equal(ask(&d, t, &one, 1), 64);
	vq_driver_recycle(&d);
	source_chunk = 0; /* the host source fails: counted, no bytes */
	assert_int_equal(ask(&d, t, &one, 1), 0);
	rng_get_stats(t, &st);
	assert_int_equal(st.v[RNG_STAT_BYTES], 104);
	assert_int_equal(st.v[RNG_STAT_EVENT_COUNT], 3);
	assert_int_equal(st.v[RNG_STAT_HOST_RNG_FAILS], 1);
	assert_string_equal(rng_stat_names[RNG_STAT_BYTES], "entropy_bytes");
	assert_string_equal(rng_stat_names[RNG_STAT_EVENT_COUNT], "entropy_event_count");
	assert_string_equal(rng_stat_names[RNG_STAT_HOST_RNG_FAILS], "host_rng_fails");
	t->dev.ops->destroy(&t->dev);
	vq_driver_fini(&d);
}

/* A guest that posts the chain again each time the device reads entropy for
 * it (as a vCPU refilling the ring while the event loop serves it): one
 * turn serves at most the transport's budget and asks to be run again, so
 * no guest can keep the event loop to itself. The source stops refilling
 * after 100,000 posts, so a missing budget fails here instead of hanging. */
static struct vq_driver *race_d;
static uint16_t race_head;
static unsigned race_posts, race_kicks;

static ssize_t refilling_source(void *buf, size_t len)
{
	if (race_posts < 100000) {
		vq_driver_post(race_d, race_head);
		race_posts++;
	}
	memset(buf, 0x5a, len);
	return (ssize_t)len;
}

static void count_kick(void *opaque, unsigned q)
{
	(void)opaque;
	assert_int_equal(q, 0);
	race_kicks++;
}

static void test_a_refilling_guest_gets_one_budget_per_turn(void **state)
{
	static struct vq_driver d;
	struct virtio_mmio *t;
	struct virtio_mmio_hooks hooks = { .kick = count_kick };
	struct vq_seg seg = { 0, 16, true };

	(void)state;
	race_d = &d, race_posts = race_kicks = 0;
	assert_int_equal(vq_driver_init(&d, 1 << 20, 16), 0);
	assert_int_equal(rng_create(&d.mem, refilling_source, &hooks, &t), 0);
	assert_int_equal(mmio_driver_bring_up(t, &d, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 0xf);
	race_head = vq_driver_chain(&d, &seg, 1);
	vq_driver_post(&d, race_head);
	virtio_mmio_notify(t, 0);
	assert_int_equal(race_posts, VIRTIO_CHAINS_PER_TURN);
	assert_int_equal(race_kicks, 1);
	assert_int_equal(vq_driver_used_idx(&d), VIRTIO_CHAINS_PER_TURN);
	/* The next turn carries on where this one stopped. */
	virtio_mmio_notify(t, 0);
	assert_int_equal(race_posts, 2 * VIRTIO_CHAINS_PER_TURN);
	assert_int_equal(race_kicks, 2);
	t->dev.ops->destroy(&t->dev);
	vq_driver_fini(&d);
}

/* The racing guest rewrites rings, descriptors and registers while the
 * device serves it: no crash, hang or write outside guest RAM, the
 * walker's bound holds, and after a reset the device serves again. */
static void test_survives_a_racing_guest(void **state)
{
	struct vq_driver d;
	struct virtio_mmio *t;
	struct vq_seg seg = { 0, 64, true };
	struct racer r = { 0 };

	(void)state;
	source_chunk = 1 << 20;
	t = bring_up(&d, fake_source);
	for (unsigned i = 0; i < 16; i++)
		vq_driver_post(&d, vq_driver_chain(&d, &seg, 1));
	r = (struct racer){ .ram = d.ram, .len = VQ_DRIVER_DATA + 4096, .regs = t };
	assert_int_equal(racer_start(&r), 0);
	assert_true(racer_serve(&r, t, 3000, 30000));
	assert_true(racer_stop(&r) >= 30000);
	mmio_driver_write(t, VIRTIO_MMIO_STATUS, 0);
	vq_driver_clear(&d);
	assert_int_equal(mmio_driver_bring_up(t, &d, VIRTIO_BIT(VIRTIO_F_VERSION_1)), 0xf);
	seg.addr = 0;
	assert_int_equal(ask(&d, t, &seg, 1), 64);
	assert_int_equal(((uint8_t *)vq_driver_host(&d, seg.addr))[63], 0xa5);
	t->dev.ops->destroy(&t->dev);
	vq_driver_fini(&d);
}

int main(void)

{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fills_every_writable_segment),
		cmocka_unit_test(test_a_refilling_guest_gets_one_budget_per_turn),
		cmocka_unit_test(test_request_is_capped),
		cmocka_unit_test(test_source_failure_returns_what_it_has),
		cmocka_unit_test(test_readable_only_chain_gets_nothing),
		cmocka_unit_test(test_getrandom_default),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_survives_a_racing_guest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
