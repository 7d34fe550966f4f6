/* The virtio-mmio transport through its registers, with an echo backend
 * that copies each chain's readable bytes into its writable part. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio/mmio.h"
#include "tests/unit/device_access.h"
#include "tests/virtio/mmio_driver.h"
#include "tests/virtio/vq_driver.h"
#include "vmm/log.h"

#define ECHO_FEATURES (VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(3))
#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)

struct echo {
	struct virtio_mmio t;
	uint8_t config[8];
	unsigned processed, resets, interrupts, kicks, last_kick;
	int activate_ret;
	struct virtq_chain chain;
};

static void echo_config_read(struct virtio_mmio *t, uint32_t off, uint8_t *data, uint32_t len)
{
	memcpy(data, ((struct echo *)t)->config + off, len);
}

static void echo_config_write(struct virtio_mmio *t, uint32_t off, const uint8_t *data, uint32_t len)
{
	memcpy(((struct echo *)t)->config + off, data, len);
}

static int echo_activate(struct virtio_mmio *t)
{
	struct echo *e = (struct echo *)t;

	return e->activate_ret ? err_set(e->activate_ret, "echo: refused") : 0;
}

static void echo_process(struct virtio_mmio *t, unsigned q)
{
	struct echo *e = (struct echo *)t;
	uint8_t buf[256];

	while (virtio_mmio_pop(t, q, &e->chain) > 0) {
		size_t n = virtq_chain_read(&e->chain, 0, buf, sizeof(buf));

		virtio_mmio_push(t, q, e->chain.head, (uint32_t)virtq_chain_write(&e->chain, 0, buf, n));
		e->processed++;
	}
	virtio_mmio_flush(t, q);
}

static void echo_reset(struct virtio_mmio *t)
{
	((struct echo *)t)->resets++;
}

static void echo_save(struct virtio_mmio *t, struct state_writer *w)
{
	state_put_bytes(w, ((struct echo *)t)->config, 8);
}

static void echo_restore(struct virtio_mmio *t, struct state_reader *r)
{
	uint8_t c[8];

	state_get_bytes(r, c, 8);
	if (!state_reader_error(r) && c[7] == 0xee)
		state_reader_reject(r, "echo: poisoned config");
	if (!state_reader_error(r))
		memcpy(((struct echo *)t)->config, c, 8);
}

static void echo_on_event(struct virtio_mmio *t)
{
	((struct echo *)t)->resets += 100;
}

static void echo_destroy(struct virtio_mmio *t)
{
	free(t);
}

static const struct virtio_backend_ops echo_ops = {
	.kind = "echo", .device_id = 42, .config_len = 8,
	.config_read = echo_config_read, .config_write = echo_config_write,
	.activate = echo_activate, .process = echo_process, .reset = echo_reset,
	.save = echo_save, .restore = echo_restore, .destroy = echo_destroy, .on_event = echo_on_event,
};

static void on_interrupt(void *opaque)
{
	((struct echo *)opaque)->interrupts++;
}

static void on_kick(void *opaque, unsigned q)
{
	struct echo *e = opaque;

	e->kicks++;
	e->last_kick = q;
}

struct fx {
	struct vq_driver d;
	struct echo *e;
	struct virtio_mmio *t;
};

static int setup(void **state)
{
	static struct fx fx;
	struct virtio_mmio_hooks hooks = { on_interrupt, NULL, NULL };

	memset(&fx, 0, sizeof(fx));
	if (vq_driver_init(&fx.d, 1 << 20, 16))
		return -1;
	fx.e = calloc(1, sizeof(*fx.e));
	hooks.opaque = fx.e;
	if (!fx.e || virtio_mmio_init(&fx.e->t, &echo_ops, &fx.d.mem, ECHO_FEATURES, 2, 16, &hooks))
		return -1;
	fx.t = &fx.e->t;
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	fx->t->dev.ops->destroy(&fx->t->dev);
	vq_driver_fini(&fx->d);
	return 0;
}

/* Posts one echo request and returns its head. */
static uint16_t post_echo(struct fx *fx, const char *text, struct vq_seg segs[2])
{
	uint16_t head;

	segs[0] = (struct vq_seg){ 0, (uint32_t)strlen(text), false };
	segs[1] = (struct vq_seg){ 0, 64, true };
	head = vq_driver_chain(&fx->d, segs, 2);
	memcpy(vq_driver_host(&fx->d, segs[0].addr), text, strlen(text));
	vq_driver_post(&fx->d, head);
	return head;
}

static void test_identity_registers(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_VERSION_REG), 2);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_DEVICE_ID), 42);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	assert_int_equal(mmio_driver_device_features(fx->t), ECHO_FEATURES | V1);
	mmio_driver_write(fx->t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	assert_int_equal(mmio_driver_read(fx->t, 0x0f0), 0); /* unknown register */
}

static void test_narrow_register_access_is_ignored(void **state)
{
	struct fx *fx = *state;
	uint8_t b = 1;

	assert_int_equal(device_test_read8(&fx->t->dev, VIRTIO_MMIO_MAGIC_VALUE), 0);
	pthread_mutex_lock(&fx->t->dev.lock);
	fx->t->dev.ops->write(&fx->t->dev, VIRTIO_MMIO_STATUS, &b, 1);
	pthread_mutex_unlock(&fx->t->dev.lock);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS), 0);
}

static void test_feature_negotiation(void **state)
{
	struct fx *fx = *state;

	assert_true(mmio_driver_negotiate(fx->t, V1 | VIRTIO_BIT(3)) & VIRTIO_STATUS_FEATURES_OK);
	assert_true(virtio_mmio_has_feature(fx->t, 3));
	assert_false(virtio_mmio_has_feature(fx->t, VIRTIO_F_EVENT_IDX));
	assert_false(virtio_mmio_has_feature(fx->t, 99));
	/* Once FEATURES_OK is set the features are frozen. */
	mmio_driver_write(fx->t, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	assert_true(virtio_mmio_has_feature(fx->t, 3));
	/* Legacy drivers (no VERSION_1) and unoffered bits are refused. */
	assert_false(mmio_driver_negotiate(fx->t, VIRTIO_BIT(3)) & VIRTIO_STATUS_FEATURES_OK);
	assert_false(mmio_driver_negotiate(fx->t, V1 | VIRTIO_BIT(5)) & VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(fx->e->resets, 3);
}

static void test_queue_features_follow_negotiation(void **state)
{
	struct fx *fx = *state;

	mmio_driver_negotiate(fx->t, V1 | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_true(fx->t->queues[0].event_idx && fx->t->queues[1].event_idx);
	assert_false(fx->t->queues[0].indirect);
	mmio_driver_negotiate(fx->t, V1 | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	assert_false(fx->t->queues[1].event_idx);
	assert_true(fx->t->queues[1].indirect);
}

static void test_status_cannot_drop_bits_without_reset(void **state)
{
	struct fx *fx = *state;

	mmio_driver_write(fx->t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mmio_driver_write(fx->t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS), 3);
	mmio_driver_write(fx->t, VIRTIO_MMIO_STATUS, 0x7700 | 3); /* only the low byte counts */
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS), 3);
}

static void test_driver_ok_before_features_ok_needs_reset(void **state)
{
	struct fx *fx = *state;

	mmio_driver_write(fx->t, VIRTIO_MMIO_STATUS, 3 | VIRTIO_STATUS_DRIVER_OK);
	assert_true(mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	assert_int_equal(fx->e->interrupts, 1);
	assert_false(virtio_mmio_live(fx->t));
}

static void test_activate_refusal_needs_reset(void **state)
{
	struct fx *fx = *state;

	fx->e->activate_ret = -EIO;
	assert_true(mmio_driver_bring_up(fx->t, &fx->d, V1) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_queue_registers(void **state)
{
	struct fx *fx = *state;

	/* Before FEATURES_OK queue layout writes are ignored. */
	mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_NUM, 8);
	assert_int_equal(fx->t->queues[0].size, 16);
	mmio_driver_negotiate(fx->t, V1);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_SEL, 1);
	mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_NUM, 8);
	mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0x12);
	mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x3400);
	assert_int_equal(fx->t->queues[1].size, 8);
	assert_int_equal(fx->t->queues[1].desc, 0x1200003400ULL);
	/* A queue that does not exist reads as absent and ignores writes. */
	mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_QUEUE_READY), 0);
	/* A live queue's layout cannot move. */
	mmio_driver_setup_queue(fx->t, 0, &fx->d);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_QUEUE_READY), 1);
	mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x8000);
	assert_int_equal(fx->t->queues[0].desc, VQ_DRIVER_DESC);
	mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_QUEUE_READY), 0);
}

static void test_bad_queue_layout_needs_reset(void **state)
{
	struct fx *fx = *state;

	mmio_driver_negotiate(fx->t, V1);
	mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_NUM, 16);
	mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0xfffff000); /* outside RAM */
	mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_non_null(strstr(err_last(), "descriptor ring"));
}

/* A driver that breaks its device, resets it and breaks it again in a
 * loop gets LOG_LIMIT_BURST lines into the host's log, not one per round
 * (a guest could fill the host's disk); it still gets NEEDS_RESET each
 * time. */
static void test_a_failure_loop_is_logged_a_burst_only(void **state)
{
	struct fx *fx = *state;
	char buf[16384] = { 0 };
	unsigned lines = 0, broken = 0;
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	log_set_fd(fds[1]);
	for (unsigned i = 0; i < 1000; i++) {
		mmio_driver_write(fx->t, VIRTIO_MMIO_STATUS, 0);
		mmio_driver_negotiate(fx->t, V1);
		mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_NUM, 16);
		mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_DESC_LOW, 0xfffff000);
		mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_READY, 1);
		broken += (mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET) != 0;
	}
	log_set_fd(STDERR_FILENO);
	close(fds[1]);
	assert_true(read(fds[0], buf, sizeof(buf) - 1) > 0);
	close(fds[0]);
	for (char *p = buf; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(broken, 1000);
	assert_int_equal(lines, LOG_LIMIT_BURST);
	assert_non_null(strstr(buf, "the device needs a reset"));
}

static void test_echo_end_to_end_with_interrupt_ack(void **state)
{
	struct fx *fx = *state;
	struct vq_seg segs[2];
	uint32_t id, len;
	uint16_t head;

	assert_int_equal(mmio_driver_bring_up(fx->t, &fx->d, V1), 0xf);
	head = post_echo(fx, "hello", segs);
	mmio_driver_kick(fx->t, 0);
	assert_int_equal(fx->e->processed, 1);
	assert_true(vq_driver_take_used(&fx->d, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 5);
	assert_memory_equal(vq_driver_host(&fx->d, segs[1].addr), "hello", 5);
	assert_int_equal(fx->e->interrupts, 1);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_USED_RING);
	mmio_driver_write(fx->t, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED_RING);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(fx->t->requests, 1);
	/* Kicks of queues that do not exist or are not ready do nothing. */
	post_echo(fx, "x", segs);
	mmio_driver_kick(fx->t, 7);
	mmio_driver_kick(fx->t, 1);
	assert_int_equal(fx->e->processed, 1);
}

static void test_kick_hook_defers_to_event_loop(void **state)
{
	struct fx *fx = *state;
	struct vq_seg segs[2];

	fx->t->hooks.kick = on_kick;
	mmio_driver_bring_up(fx->t, &fx->d, V1);
	post_echo(fx, "later", segs);
	mmio_driver_kick(fx->t, 0);
	assert_int_equal(fx->e->kicks, 1);
	assert_int_equal(fx->e->last_kick, 0);
	assert_int_equal(fx->e->processed, 0);
	virtio_mmio_notify(fx->t, 0);
	assert_int_equal(fx->e->processed, 1);
	virtio_mmio_notify(fx->t, 9); /* out of range: nothing */
	assert_int_equal(fx->e->processed, 1);
}

static void test_notify_before_driver_ok_does_nothing(void **state)
{
	struct fx *fx = *state;
	struct vq_seg segs[2];

	mmio_driver_negotiate(fx->t, V1);
	mmio_driver_setup_queue(fx->t, 0, &fx->d);
	post_echo(fx, "early", segs);
	virtio_mmio_notify(fx->t, 0);
	assert_int_equal(fx->e->processed, 0);
}

static void test_broken_chain_needs_reset_then_reset_recovers(void **state)
{
	struct fx *fx = *state;
	struct vq_seg bad = { 1u << 20, 16, false }; /* just past RAM */
	struct vq_seg segs[2];

	mmio_driver_bring_up(fx->t, &fx->d, V1);
	vq_driver_post(&fx->d, vq_driver_chain(&fx->d, &bad, 1));
	mmio_driver_kick(fx->t, 0);
	assert_int_equal(fx->e->processed, 0);
	assert_true(mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(mmio_driver_read(fx->t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	post_echo(fx, "ignored", segs);
	virtio_mmio_notify(fx->t, 0);
	assert_int_equal(fx->e->processed, 0);

	mmio_driver_write(fx->t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_false(fx->t->queues[0].ready);
	assert_int_equal(fx->t->queues[0].last_avail, 0);
	/* A fresh ring after the reset works again. */
	vq_driver_fini(&fx->d);
	assert_int_equal(vq_driver_init(&fx->d, 1 << 20, 16), 0);
	fx->t->mem = &fx->d.mem;
	for (unsigned i = 0; i < fx->t->nr_queues; i++)
		fx->t->queues[i].mem = &fx->d.mem;
	mmio_driver_bring_up(fx->t, &fx->d, V1);
	post_echo(fx, "again", segs);
	mmio_driver_kick(fx->t, 0);
	assert_int_equal(fx->e->processed, 1);
}

static void test_config_space(void **state)
{
	struct fx *fx = *state;
	uint8_t b;

	mmio_driver_write(fx->t, VIRTIO_MMIO_CONFIG + 4, 0xa1b2c3d4);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_CONFIG + 4), 0xa1b2c3d4);
	assert_int_equal(device_test_read8(&fx->t->dev, VIRTIO_MMIO_CONFIG + 5), 0xc3);
	/* Past the end: reads zero, writes dropped. */
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_CONFIG + 6), 0);
	mmio_driver_write(fx->t, VIRTIO_MMIO_CONFIG + 6, 0xffffffff);
	b = fx->e->config[6];
	assert_int_equal(b, 0xb2);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_CONFIG_GENERATION), 0);
	virtio_mmio_config_changed(fx->t);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_CONFIG_GENERATION), 1);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
}

static void test_device_reset_op(void **state)
{
	struct fx *fx = *state;

	mmio_driver_bring_up(fx->t, &fx->d, V1);
	pthread_mutex_lock(&fx->t->dev.lock);
	fx->t->dev.ops->reset(&fx->t->dev);
	pthread_mutex_unlock(&fx->t->dev.lock);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS), 0);
	assert_false(fx->t->queues[0].ready);
}

static void test_save_restore_round_trip_and_hostile_records(void **state)
{
	struct fx *fx = *state;
	struct vq_seg segs[2];
	struct state_writer w;
	size_t left;
	struct echo *e2;
	struct virtio_mmio_hooks hooks = { on_interrupt, NULL, NULL };
	uint32_t id, len;

	mmio_driver_bring_up(fx->t, &fx->d, V1 | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	memcpy(fx->e->config, "abcdefgh", 8);
	post_echo(fx, "one", segs);
	mmio_driver_kick(fx->t, 0);
	assert_int_equal(device_test_save(&fx->t->dev, &w), 0);

	e2 = calloc(1, sizeof(*e2));
	hooks.opaque = e2;
	assert_int_equal(virtio_mmio_init(&e2->t, &echo_ops, &fx->d.mem, ECHO_FEATURES, 2, 16, &hooks), 0);
	/* Truncated anywhere: refused, and the device keeps its reset state. */
	for (size_t n = 0; n < w.len; n++) {
		assert_int_not_equal(device_test_restore(&e2->t.dev, w.buf, n, NULL), 0);
		assert_int_equal(e2->t.status, 0);
		assert_false(e2->t.queues[0].ready);
		assert_int_equal(e2->config[0], 0);
	}
	assert_int_equal(device_test_restore(&e2->t.dev, w.buf, w.len, &left), 0);
	assert_int_equal(left, 0);
	assert_int_equal(e2->t.status, 0xf);
	assert_true(virtio_mmio_has_feature(&e2->t, VIRTIO_F_EVENT_IDX));
	assert_true(e2->t.queues[0].ready && e2->t.queues[0].event_idx);
	assert_int_equal(e2->t.queues[0].last_avail, 1);
	assert_int_equal(e2->t.interrupt_status, VIRTIO_INT_USED_RING);
	assert_memory_equal(e2->config, "abcdefgh", 8);
	/* The restored device carries on where the first left off. */
	assert_true(vq_driver_take_used(&fx->d, &id, &len));
	post_echo(fx, "two", segs);
	virtio_mmio_notify(&e2->t, 0);
	assert_true(vq_driver_take_used(&fx->d, &id, &len));
	assert_int_equal(len, 3);

	/* Hostile fields: each rejected with the device untouched. */
	struct { size_t off; uint8_t val; } pokes[] = {
		{ 0, 9 },       /* version */
		{ 4, 41 },      /* device id */
		{ 8, 0 },       /* device features changed */
		{ 16 + 1, 0xff }, /* driver features not offered */
		{ 48, 0x7 },    /* interrupt status bits */
		{ 56, 3 },      /* queue count */
		{ w.len - 1, 0xee }, /* backend refuses: must roll the transport back */
	};
	for (size_t i = 0; i < sizeof(pokes) / sizeof(pokes[0]); i++) {
		uint8_t *copy = malloc(w.len);

		memcpy(copy, w.buf, w.len);
		copy[pokes[i].off] = pokes[i].val;
		mmio_driver_write(&e2->t, VIRTIO_MMIO_STATUS, 0);
		assert_int_equal(device_test_restore(&e2->t.dev, copy, w.len, NULL), -EINVAL);
		assert_int_equal(e2->t.status, 0);
		assert_false(e2->t.queues[0].ready);
		free(copy);
	}
	e2->t.dev.ops->destroy(&e2->t.dev);
	state_writer_free(&w);
}

static void test_backend_event_runs_under_the_lock(void **state)
{
	struct fx *fx = *state;

	virtio_mmio_backend_event(fx->t);
	assert_int_equal(fx->e->resets, 100);
	assert_int_equal(pthread_mutex_trylock(&fx->t->dev.lock), 0);
	pthread_mutex_unlock(&fx->t->dev.lock);
}

static void test_init_rejects_bad_shapes(void **state)
{
	struct virtio_mmio t;

	(void)state;
	assert_int_equal(virtio_mmio_init(&t, &echo_ops, NULL, 0, 0, 16, NULL), -EINVAL);
	assert_int_equal(virtio_mmio_init(&t, &echo_ops, NULL, 0, VIRTIO_MAX_QUEUES + 1, 16, NULL), -EINVAL);
	assert_int_equal(virtio_mmio_init(&t, &echo_ops, NULL, 0, 1, 12, NULL), -EINVAL);
	assert_int_equal(virtio_mmio_init(&t, &echo_ops, NULL, 0, 1, 512, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_failure_loop_is_logged_a_burst_only, setup, teardown),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_identity_registers),
		T(test_narrow_register_access_is_ignored),
		T(test_feature_negotiation),
		T(test_queue_features_follow_negotiation),
		T(test_status_cannot_drop_bits_without_reset),
		T(test_driver_ok_before_features_ok_needs_reset),
		T(test_activate_refusal_needs_reset),
		T(test_queue_registers),
		T(test_bad_queue_layout_needs_reset),
		T(test_echo_end_to_end_with_interrupt_ack),
		T(test_kick_hook_defers_to_event_loop),
		T(test_notify_before_driver_ok_does_nothing),
		T(test_broken_chain_needs_reset_then_reset_recovers),
		T(test_config_space),
		T(test_device_reset_op),
		T(test_save_restore_round_trip_and_hostile_records),
		T(test_backend_event_runs_under_the_lock),
		cmocka_unit_test(test_init_rejects_bad_shapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
