/* The split-virtqueue walker against a synthetic driver: good chains,
 * indirect tables, event-index suppression, and every hostile shape the
 * walker must refuse without crashing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio/queue.h"
#include "tests/virtio/racer.h"
#include "tests/virtio/vq_driver.h"
#include "vmm/log.h"

#define RAM (1u << 20)
#define QSIZE 16

struct fx {
	struct vq_driver d;
	struct virtq q;
	struct virtq_chain c;
};

static int setup(void **state)
{
	static struct fx fx;

	memset(&fx, 0, sizeof(fx));
	if (vq_driver_init(&fx.d, RAM, QSIZE))
		return -1;
	vq_driver_attach(&fx.d, &fx.q, false, true);
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	vq_driver_fini(&fx->d);
	return 0;
}

static void expect_broken(struct fx *fx, const char *what)
{
	assert_int_equal(virtq_pop(&fx->q, &fx->c), -EINVAL);
	if (!strstr(err_last(), what))
		fail_msg("error \"%s\" does not mention \"%s\"", err_last(), what);
}

static void test_empty_queue_pops_nothing(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(virtq_pop(&fx->q, &fx->c), 0);
	assert_int_equal(fx->q.last_avail, 0);
}

static void test_chain_splits_readable_and_writable(void **state)
{
	struct fx *fx = *state;
	struct vq_seg segs[] = { { 0, 16, false }, { 0, 512, false }, { 0, 1, true } };
	uint16_t head = vq_driver_chain(&fx->d, segs, 3);
	uint32_t id, len;

	vq_driver_post(&fx->d, head);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	assert_int_equal(fx->c.head, head);
	assert_int_equal(fx->c.nr_out, 2);
	assert_int_equal(fx->c.nr_in, 1);
	assert_int_equal(fx->c.out_len, 528);
	assert_int_equal(fx->c.in_len, 1);
	assert_ptr_equal(fx->c.iov[0].iov_base, vq_driver_host(&fx->d, segs[0].addr));
	assert_ptr_equal(fx->c.iov[2].iov_base, vq_driver_host(&fx->d, segs[2].addr));
	assert_int_equal(fx->c.iov[1].iov_len, 512);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 0);

	assert_int_equal(virtq_push(&fx->q, head, 1), 0);
	assert_true(vq_driver_take_used(&fx->d, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 1);
	assert_false(vq_driver_take_used(&fx->d, &id, &len));
}

static void test_chain_read_write_cross_segments(void **state)
{
	struct fx *fx = *state;
	struct vq_seg segs[] = { { 0, 3, false }, { 0, 5, false }, { 0, 4, true }, { 0, 4, true } };
	uint8_t buf[16];

	vq_driver_post(&fx->d, vq_driver_chain(&fx->d, segs, 4));
	memcpy(vq_driver_host(&fx->d, segs[0].addr), "abc", 3);
	memcpy(vq_driver_host(&fx->d, segs[1].addr), "defgh", 5);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	assert_int_equal(virtq_chain_read(&fx->c, 1, buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "bcdefgh", 7);
	assert_int_equal(virtq_chain_read(&fx->c, 8, buf, 1), 0);
	assert_int_equal(virtq_chain_write(&fx->c, 2, "WXYZ1234", 8), 6);
	assert_memory_equal(vq_driver_host(&fx->d, segs[2].addr), "\0\0WX", 4);
	assert_memory_equal(vq_driver_host(&fx->d, segs[3].addr), "YZ12", 4);
}

static void test_readable_after_writable_is_broken(void **state)
{
	struct fx *fx = *state;
	struct vq_seg segs[] = { { 0, 16, true }, { 0, 16, false } };

	vq_driver_post(&fx->d, vq_driver_chain(&fx->d, segs, 2));
	expect_broken(fx, "readable");
}

static void test_buffer_outside_memory_is_broken(void **state)
{
	struct fx *fx = *state;
	struct vq_seg segs[] = { { RAM - 8, 16, false } };

	vq_driver_post(&fx->d, vq_driver_chain(&fx->d, segs, 1));
	expect_broken(fx, "outside guest memory");
}

static void test_buffer_address_wrapping_is_broken(void **state)
{
	struct fx *fx = *state;
	struct vq_seg segs[] = { { UINT64_MAX - 7, 64, false } };

	vq_driver_post(&fx->d, vq_driver_chain(&fx->d, segs, 1));
	expect_broken(fx, "outside guest memory");
}

static void test_descriptor_loop_is_cut(void **state)
{
	struct fx *fx = *state;
	uint64_t buf = vq_driver_alloc(&fx->d, 16);

	vq_driver_set_desc(&fx->d, 0, buf, 16, VIRTQ_DESC_F_NEXT, 1);
	vq_driver_set_desc(&fx->d, 1, buf, 16, VIRTQ_DESC_F_NEXT, 0);
	vq_driver_post(&fx->d, 0);
	expect_broken(fx, "longer than the queue");
}

static void test_head_and_next_out_of_range_are_broken(void **state)
{
	struct fx *fx = *state;
	uint64_t buf = vq_driver_alloc(&fx->d, 16);

	vq_driver_post(&fx->d, QSIZE);
	expect_broken(fx, "descriptor 16");

	teardown(state);
	setup(state);
	fx = *state;
	vq_driver_set_desc(&fx->d, 0, buf, 16, VIRTQ_DESC_F_NEXT, 0xffff);
	vq_driver_post(&fx->d, 0);
	expect_broken(fx, "descriptor 65535");
}

static void test_avail_index_jump_is_broken(void **state)
{
	struct fx *fx = *state;

	vq_driver_set_avail_idx(&fx->d, QSIZE + 1);
	expect_broken(fx, "avail index");
	/* Exactly a full ring is legal. */
	fx->q.last_avail = 1;
	for (uint16_t i = 0; i < QSIZE; i++)
		vq_driver_set_desc(&fx->d, i, vq_driver_alloc(&fx->d, 8), 8, 0, 0);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
}

static void test_indices_wrap_at_16_bits(void **state)
{
	struct fx *fx = *state;
	struct vq_seg seg = { 0, 8, true };
	uint32_t id, len;

	fx->q.last_avail = fx->q.next_used = 0xffff;
	fx->d.avail_idx = fx->d.used_seen = 0xffff;
	for (int i = 0; i < 2; i++) {
		uint16_t head = vq_driver_chain(&fx->d, &seg, 1);

		seg.addr = 0;
		vq_driver_post(&fx->d, head);
		assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
		assert_int_equal(fx->c.head, head);
		assert_int_equal(virtq_push(&fx->q, head, 8), 0);
		assert_true(vq_driver_take_used(&fx->d, &id, &len));
		assert_int_equal(id, head);
	}
	assert_int_equal(fx->q.last_avail, 1);
	assert_int_equal(vq_driver_used_idx(&fx->d), 1);
}

static void test_indirect_chain(void **state)
{
	struct fx *fx = *state;
	struct vq_seg segs[] = { { 0, 16, false }, { 0, 4096, true }, { 0, 1, true } };
	uint16_t head = vq_driver_chain_indirect(&fx->d, segs, 3);

	vq_driver_post(&fx->d, head);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	assert_int_equal(fx->c.head, head);
	assert_int_equal(fx->c.nr_out, 1);
	assert_int_equal(fx->c.nr_in, 2);
	assert_int_equal(fx->c.in_len, 4097);
	assert_ptr_equal(fx->c.iov[1].iov_base, vq_driver_host(&fx->d, segs[1].addr));
}

static void test_indirect_without_feature_is_broken(void **state)
{
	struct fx *fx = *state;
	struct vq_seg segs[] = { { 0, 16, false } };

	fx->q.indirect = false;
	vq_driver_post(&fx->d, vq_driver_chain_indirect(&fx->d, segs, 1));
	expect_broken(fx, "not negotiated");
}

static void hostile_indirect(void **state, uint64_t table, uint32_t len, uint16_t flags, const char *what)
{
	struct fx *fx = *state;

	vq_driver_set_desc(&fx->d, 0, table, len, flags, 1);
	vq_driver_post(&fx->d, 0);
	expect_broken(fx, what);
}

static void test_indirect_table_hostile_shapes(void **state)
{
	struct fx *fx;
	uint64_t table;

	fx = *state;
	table = vq_driver_alloc(&fx->d, 64);
	hostile_indirect(state, table, 24, VIRTQ_DESC_F_INDIRECT, "indirect table");
	teardown(state), setup(state), fx = *state;
	hostile_indirect(state, table, 0, VIRTQ_DESC_F_INDIRECT, "indirect table");
	teardown(state), setup(state), fx = *state;
	hostile_indirect(state, table, (VIRTQ_MAX_SIZE + 1) * VIRTQ_DESC_SIZE, VIRTQ_DESC_F_INDIRECT,
			 "indirect table");
	teardown(state), setup(state), fx = *state;
	hostile_indirect(state, RAM - 16, 32, VIRTQ_DESC_F_INDIRECT, "outside guest memory");
	teardown(state), setup(state), fx = *state;
	hostile_indirect(state, table, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, "NEXT");
	teardown(state), setup(state), fx = *state;
	/* An indirect descriptor inside an indirect table. */
	{
		struct vq_seg inner[] = { { 0, 16, false } };
		uint16_t head = vq_driver_chain_indirect(&fx->d, inner, 1);
		uint64_t tbl;
		uint16_t fl = VIRTQ_DESC_F_INDIRECT;

		memcpy(&tbl, (uint8_t *)vq_driver_host(&fx->d, VQ_DRIVER_DESC) + head * 16, 8);
		memcpy((uint8_t *)vq_driver_host(&fx->d, tbl) + 12, &fl, 2);
		vq_driver_post(&fx->d, head);
		expect_broken(fx, "nested");
	}
	/* Indirect loops: entry 0 points at itself. */
	teardown(state), setup(state), fx = *state;
	{
		uint64_t t = vq_driver_alloc(&fx->d, 32);
		uint8_t *p = vq_driver_host(&fx->d, t);
		uint64_t buf = vq_driver_alloc(&fx->d, 8);
		uint32_t len = 8;
		uint16_t fl = VIRTQ_DESC_F_NEXT, nx = 0;

		for (int i = 0; i < 2; i++) {
			memcpy(p + i * 16, &buf, 8);
			memcpy(p + i * 16 + 8, &len, 4);
			memcpy(p + i * 16 + 12, &fl, 2);
			memcpy(p + i * 16 + 14, &nx, 2);
		}
		hostile_indirect(state, t, 32, VIRTQ_DESC_F_INDIRECT, "longer than");
	}
	teardown(state), setup(state), fx = *state;
	/* next pointing past the end of the table */
	{
		uint64_t t = vq_driver_alloc(&fx->d, 16);
		uint8_t *p = vq_driver_host(&fx->d, t);
		uint64_t buf = vq_driver_alloc(&fx->d, 8);
		uint32_t len = 8;
		uint16_t fl = VIRTQ_DESC_F_NEXT, nx = 1;

		memcpy(p, &buf, 8), memcpy(p + 8, &len, 4), memcpy(p + 12, &fl, 2), memcpy(p + 14, &nx, 2);
		hostile_indirect(state, t, 16, VIRTQ_DESC_F_INDIRECT, "descriptor 1");
	}
}

/* An INDIRECT descriptor whose table is the descriptor table itself: each
 * entry is that same INDIRECT descriptor again. The walk must end (it
 * looped forever once); the alarm turns a hang into a failure. */
static void test_indirect_into_the_descriptor_table_is_broken(void **state)
{
	struct fx *fx = *state;

	alarm(5);
	for (uint16_t i = 0; i < QSIZE; i++)
		vq_driver_set_desc(&fx->d, i, VQ_DRIVER_DESC, QSIZE * VIRTQ_DESC_SIZE, VIRTQ_DESC_F_INDIRECT, 0);
	vq_driver_post(&fx->d, 0);
	expect_broken(fx, "nested");
	alarm(0);
}

/* A driver never has more chains out than the queue has entries; one that
 * keeps republishing avail->idx while the device holds them all (it sees
 * last_avail through avail_event) is broken, and the walker says so before
 * a device's per-queue arrays could overflow. */
static void test_more_chains_out_than_the_queue_holds_is_broken(void **state)
{
	struct fx *fx = *state;
	struct vq_seg seg = { 0, 8, true };
	uint16_t heads[QSIZE];

	for (unsigned i = 0; i < QSIZE; i++) {
		heads[i] = vq_driver_chain(&fx->d, &seg, 1);
		vq_driver_post(&fx->d, heads[i]);
	}
	for (unsigned i = 0; i < QSIZE; i++)
		assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	/* The same head posted once more, with all sixteen still out. */
	vq_driver_post(&fx->d, heads[0]);
	expect_broken(fx, "outstanding");
	/* Returning one makes room for exactly one. */
	teardown(state), setup(state), fx = *state;
	for (unsigned i = 0; i < QSIZE; i++) {
		heads[i] = vq_driver_chain(&fx->d, &seg, 1);
		vq_driver_post(&fx->d, heads[i]);
	}
	for (unsigned i = 0; i < QSIZE; i++)
		assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	assert_int_equal(virtq_push(&fx->q, heads[3], 8), 0);
	vq_driver_post(&fx->d, heads[3]);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	assert_int_equal(fx->c.head, heads[3]);
	vq_driver_post(&fx->d, heads[3]);
	expect_broken(fx, "outstanding");
}

/* The driver stopped the queue (QueueReady=0) and shrank it (QueueNum=0)
 * while a request was in flight: its completion is dropped, never indexed
 * by the new size (that divided by zero once). */
static void test_completion_on_a_stopped_queue_is_dropped(void **state)
{
	struct fx *fx = *state;
	struct vq_seg seg = { 0, 8, true };
	uint16_t head = vq_driver_chain(&fx->d, &seg, 1);

	vq_driver_post(&fx->d, head);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	fx->q.ready = false;
	fx->q.size = 0;
	assert_int_equal(virtq_push(&fx->q, head, 8), 0);
	assert_int_equal(vq_driver_used_idx(&fx->d), 0);
	assert_int_equal(fx->q.next_used, 0);
}

static void test_event_idx_suppresses_interrupts(void **state)
{
	struct fx *fx = *state;
	struct vq_seg seg = { 0, 8, true };
	uint16_t heads[3];

	fx->q.event_idx = true;
	for (int i = 0; i < 3; i++) {
		seg.addr = 0;
		heads[i] = vq_driver_chain(&fx->d, &seg, 1);
		vq_driver_post(&fx->d, heads[i]);
	}
	/* The driver wants an interrupt once used idx passes 1 (i.e. reaches 2). */
	vq_driver_set_used_event(&fx->d, 1);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	assert_int_equal(virtq_push(&fx->q, heads[0], 0), 0);
	assert_true(virtq_needs_interrupt(&fx->q)); /* the first one always goes */
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	assert_int_equal(virtq_push(&fx->q, heads[1], 0), 0);
	assert_true(virtq_needs_interrupt(&fx->q)); /* used idx 2 crosses event 1 */
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	assert_int_equal(virtq_push(&fx->q, heads[2], 0), 0);
	assert_false(virtq_needs_interrupt(&fx->q)); /* 3 does not cross 1 again */
	/* Popping an empty queue publishes avail_event = where we are. */
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 0);
	assert_int_equal(vq_driver_avail_event(&fx->d), 3);
}

static void test_no_interrupt_flag_without_event_idx(void **state)
{
	struct fx *fx = *state;
	struct vq_seg seg = { 0, 8, true };
	uint16_t head = vq_driver_chain(&fx->d, &seg, 1);

	vq_driver_post(&fx->d, head);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	assert_int_equal(virtq_push(&fx->q, head, 0), 0);
	vq_driver_set_avail_flags(&fx->d, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_false(virtq_needs_interrupt(&fx->q));
	vq_driver_set_avail_flags(&fx->d, 0);
	assert_true(virtq_needs_interrupt(&fx->q));
}

static void test_push_refuses_bad_head(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(virtq_push(&fx->q, QSIZE, 0), -EINVAL);
	assert_int_equal(vq_driver_used_idx(&fx->d), 0);
}

static void test_validate(void **state)
{
	struct fx *fx = *state;
	struct virtq q = fx->q;

	assert_int_equal(virtq_validate(&q), 0);
	q.size = 12;
	assert_int_equal(virtq_validate(&q), -EINVAL);
	q.size = 0;
	assert_int_equal(virtq_validate(&q), -EINVAL);
	q.size = 32; /* above max_size 16 */
	assert_int_equal(virtq_validate(&q), -EINVAL);
	q = fx->q, q.desc = VQ_DRIVER_DESC + 8;
	assert_int_equal(virtq_validate(&q), -EINVAL);
	q = fx->q, q.avail = VQ_DRIVER_AVAIL + 1;
	assert_int_equal(virtq_validate(&q), -EINVAL);
	q = fx->q, q.used = VQ_DRIVER_USED + 2;
	assert_int_equal(virtq_validate(&q), -EINVAL);
	q = fx->q, q.used = RAM - 8;
	assert_int_equal(virtq_validate(&q), -EINVAL);
	assert_non_null(strstr(err_last(), "used"));
	q = fx->q, q.desc = RAM - 16 * 8;
	assert_int_equal(virtq_validate(&q), -EINVAL);
	q = fx->q, q.avail = UINT64_MAX - 1;
	assert_int_equal(virtq_validate(&q), -EINVAL);
	/* With EVENT_IDX the rings grow by their event words. */
	q = fx->q, q.event_idx = true, q.used = RAM - (4 + 8 * QSIZE);
	assert_int_equal(virtq_validate(&q), -EINVAL);
	q.event_idx = false;
	assert_int_equal(virtq_validate(&q), 0);
}

static void test_not_ready_pops_nothing(void **state)
{
	struct fx *fx = *state;
	struct vq_seg seg = { 0, 8, true };

	vq_driver_post(&fx->d, vq_driver_chain(&fx->d, &seg, 1));
	fx->q.ready = false;
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 0);
}

static void test_save_restore_round_trip(void **state)
{
	struct fx *fx = *state;
	struct state_writer w;
	struct state_reader r;
	struct virtq back;

	fx->q.last_avail = 7, fx->q.next_used = 5, fx->q.signalled_used = 4;
	fx->q.signalled_valid = true, fx->q.event_idx = true;
	state_writer_init(&w);
	virtq_save(&fx->q, &w);
	assert_int_equal(state_writer_error(&w), 0);
	virtq_init(&back, &fx->d.mem, QSIZE);
	state_reader_init(&r, w.buf, w.len);
	virtq_restore(&back, &r);
	assert_int_equal(state_reader_finish(&r), 0);
	assert_int_equal(back.size, QSIZE);
	assert_true(back.ready && back.event_idx && back.indirect && back.signalled_valid);
	assert_int_equal(back.desc, VQ_DRIVER_DESC);
	assert_int_equal(back.avail, VQ_DRIVER_AVAIL);
	assert_int_equal(back.used, VQ_DRIVER_USED);
	assert_int_equal(back.last_avail, 7);
	assert_int_equal(back.next_used, 5);
	assert_int_equal(back.signalled_used, 4);

	/* Every truncation fails cleanly. */
	for (size_t n = 0; n < w.len; n++) {
		virtq_init(&back, &fx->d.mem, QSIZE);
		state_reader_init(&r, w.buf, n);
		virtq_restore(&back, &r);
		assert_int_not_equal(state_reader_error(&r), 0);
		assert_false(back.ready);
	}
	/* A live queue whose rings lie outside memory is refused. */
	fx->q.used = RAM;
	state_writer_free(&w);
	state_writer_init(&w);
	virtq_save(&fx->q, &w);
	virtq_init(&back, &fx->d.mem, QSIZE);
	state_reader_init(&r, w.buf, w.len);
	virtq_restore(&back, &r);
	assert_int_equal(state_reader_error(&r), -EINVAL);
	assert_false(back.ready);
	state_writer_free(&w);
}

/* The walker under a racing guest: while a second thread rewrites the
 * descriptor table, the avail ring and its index, and the indirect tables
 * the chains point at, every chain the walker hands out lies in guest RAM
 * and within the segment limit, no more chains are out than the queue
 * holds, and every pop returns (a broken queue says so). */
static void test_walker_under_a_racing_guest(void **state)
{
	struct fx *fx = *state;
	struct vq_seg segs[3] = { { 0, 64, false }, { 0, 64, true }, { 0, 1, true } };
	struct racer r = { .ram = fx->d.ram, .len = VQ_DRIVER_DATA + 8192 };
	unsigned popped = 0, broken = 0;
	uint16_t out = 0;

	vq_driver_attach(&fx->d, &fx->q, true, true);
	for (unsigned i = 0; i < QSIZE / 2; i++) /* 4 direct (12 descriptors) and 4 indirect */
		vq_driver_post(&fx->d, i % 2 ? vq_driver_chain_indirect(&fx->d, segs, 3) : vq_driver_chain(&fx->d, segs, 3));
	assert_int_equal(racer_start(&r), 0);
	for (unsigned i = 0; i < 20000 || (racer_steps(&r) < 30000 && i < 20000000); i++) {
		int ret;

		if (i % 64 == 0)
			sched_yield();
		ret = virtq_pop(&fx->q, &fx->c);

		if (ret < 0) {
			broken++;
			vq_driver_attach(&fx->d, &fx->q, true, true); /* a reset, as the transport does */
			out = 0;
			continue;
		}
		if (ret == 0)
			continue;
		popped++;
		assert_true(fx->c.nr_out + fx->c.nr_in <= VIRTQ_MAX_SIZE);
		for (unsigned k = 0; k < fx->c.nr_out + fx->c.nr_in; k++) {
			const uint8_t *b = fx->c.iov[k].iov_base;

			assert_true(b >= fx->d.ram && b + fx->c.iov[k].iov_len <= fx->d.ram + RAM);
		}
		/* Hold every other chain a while, as an asynchronous device does. */
		if (++out > 1 || i % 2) {
			virtq_push(&fx->q, fx->c.head, 0);
			out--;
		}
		assert_true((uint16_t)(fx->q.last_avail - fx->q.next_used) <= fx->q.size);
	}
	assert_true(racer_stop(&r) >= 30000);
	/* The storm was real: chains were served and hostile ones refused. */
	assert_true(popped > 0);
	assert_true(broken > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_empty_queue_pops_nothing),
		T(test_chain_splits_readable_and_writable),
		T(test_chain_read_write_cross_segments),
		T(test_readable_after_writable_is_broken),
		T(test_buffer_outside_memory_is_broken),
		T(test_buffer_address_wrapping_is_broken),
		T(test_descriptor_loop_is_cut),
		T(test_head_and_next_out_of_range_are_broken),
		T(test_avail_index_jump_is_broken),
		T(test_indices_wrap_at_16_bits),
		T(test_indirect_chain),
		T(test_indirect_without_feature_is_broken),
		T(test_indirect_table_hostile_shapes),
		T(test_indirect_into_the_descriptor_table_is_broken),
		T(test_more_chains_out_than_the_queue_holds_is_broken),
		T(test_completion_on_a_stopped_queue_is_dropped),
		T(test_event_idx_suppresses_interrupts),
		T(test_no_interrupt_flag_without_event_idx),
		T(test_push_refuses_bad_head),
		T(test_validate),
		T(test_not_ready_pops_nothing),
		T(test_save_restore_round_trip),
		T(test_walker_under_a_racing_guest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
