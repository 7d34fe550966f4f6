/* Dirty-page tracking of VMM-side guest writes (for diff snapshots): the
 * bitmap arithmetic at page, word and region edges, take-and-clear, the
 * pages the virtqueue walker marks, and no bit lost between threads. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/virtio/queue.h"
#include "tests/virtio/vq_driver.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"

#define PAGE 0x1000ULL
#define LOW_PAGES 200 /* spans four bitmap words */
#define WORDS(pages) (((pages) + 63) / 64)

static uint8_t low[LOW_PAGES * PAGE];
static uint8_t high[2 * PAGE];

static void setup_adjacent(struct guest_mem *mem)
{
	guest_mem_init(mem);
	assert_int_equal(guest_mem_add_region(mem, 0, sizeof(low), low), 0);
	assert_int_equal(guest_mem_add_region(mem, sizeof(low), sizeof(high), high), 0);
	assert_int_equal(guest_mem_track_dirty(mem, true), 0);
}

/* Takes region `index` and checks that exactly pages[0, n) were dirty. */
static void expect_pages(struct guest_mem *mem, unsigned index, const uint64_t *pages, unsigned n)
{
	uint64_t got[WORDS(LOW_PAGES)] = { 0 }, want[WORDS(LOW_PAGES)] = { 0 };
	size_t words = guest_mem_dirty_words(mem, index);

	assert_true(words <= WORDS(LOW_PAGES));
	for (unsigned i = 0; i < n; i++)
		want[pages[i] / 64] |= 1ULL << (pages[i] % 64);
	assert_int_equal(guest_mem_take_dirty(mem, index, got, words), 0);
	for (size_t w = 0; w < words; w++)
		if (got[w] != want[w])
			fail_msg("region %u word %zu: dirty 0x%016llx, expected 0x%016llx", index, w,
				 (unsigned long long)got[w], (unsigned long long)want[w]);
}

static void expect_clean(struct guest_mem *mem)
{
	for (unsigned i = 0; i < mem->nr_regions; i++)
		expect_pages(mem, i, NULL, 0);
}

static void test_off_marks_nothing(void **state)
{
	struct guest_mem mem;
	uint64_t out[WORDS(LOW_PAGES)] = { 0 };

	(void)state;
	guest_mem_init(&mem);
	assert_int_equal(guest_mem_add_region(&mem, 0, sizeof(low), low), 0);
	guest_mem_mark_dirty(&mem, 0, sizeof(low));
	assert_int_equal(guest_mem_write(&mem, 0x10, "x", 1), 0);
	assert_null(mem.regions[0].dirty);
	assert_int_equal(guest_mem_take_dirty(&mem, 0, out, 4), -ENOENT);
	assert_non_null(strstr(err_last(), "off"));

	/* Stopping keeps the bitmap (a racing marker may hold it) but marks
	 * nothing more; starting again begins clean. */
	assert_int_equal(guest_mem_track_dirty(&mem, true), 0);
	guest_mem_mark_dirty(&mem, 0, 1);
	assert_int_equal(guest_mem_track_dirty(&mem, false), 0);
	assert_non_null(mem.regions[0].dirty);
	guest_mem_mark_dirty(&mem, 5 * PAGE, 1);
	assert_int_equal(guest_mem_take_dirty(&mem, 0, out, 4), -ENOENT);
	assert_int_equal(guest_mem_track_dirty(&mem, true), 0);
	expect_clean(&mem);
	guest_mem_fini(&mem);
	assert_int_equal(mem.nr_regions, 0);
}

static void test_page_and_word_edges(void **state)
{
	struct guest_mem mem;
	static const uint64_t straddle[] = { 0, 1 }, exact[] = { 3 }, last[] = { LOW_PAGES - 1 };
	uint64_t across_words[130 - 60 + 1];

	(void)state;
	setup_adjacent(&mem);
	guest_mem_mark_dirty(&mem, PAGE - 1, 2);
	expect_pages(&mem, 0, straddle, 2);
	guest_mem_mark_dirty(&mem, 3 * PAGE, PAGE);
	expect_pages(&mem, 0, exact, 1);
	guest_mem_mark_dirty(&mem, sizeof(low) - 1, 1);
	expect_pages(&mem, 0, last, 1);
	for (unsigned i = 0; i < sizeof(across_words) / sizeof(*across_words); i++)
		across_words[i] = 60 + i;
	guest_mem_mark_dirty(&mem, 60 * PAGE + 7, 70 * PAGE);
	expect_pages(&mem, 0, across_words, sizeof(across_words) / sizeof(*across_words));
	guest_mem_mark_dirty(&mem, 8 * PAGE, 0);
	expect_clean(&mem);
	guest_mem_fini(&mem);
}

static void test_region_edges(void **state)
{
	struct guest_mem mem;
	static const uint64_t low_last[] = { LOW_PAGES - 1 }, high_both[] = { 0, 1 };

	(void)state;
	setup_adjacent(&mem);
	guest_mem_mark_dirty(&mem, sizeof(low) - 1, PAGE + 2);
	expect_pages(&mem, 0, low_last, 1);
	expect_pages(&mem, 1, high_both, 2);
	/* Outside every region, or wrapping past 2^64: nothing, no crash. */
	guest_mem_mark_dirty(&mem, sizeof(low) + sizeof(high), PAGE);
	guest_mem_mark_dirty(&mem, UINT64_MAX - 10, 100);
	expect_clean(&mem);
	guest_mem_mark_dirty(&mem, sizeof(low) + 1, UINT64_MAX);
	expect_pages(&mem, 1, high_both, 2);
	guest_mem_fini(&mem);
}

static void test_unaligned_region_counts_from_its_start(void **state)
{
	struct guest_mem mem;
	static uint8_t odd[PAGE + 16];
	static const uint64_t second[] = { 1 };

	(void)state;
	guest_mem_init(&mem);
	assert_int_equal(guest_mem_add_region(&mem, 0x100008, sizeof(odd), odd), 0);
	assert_int_equal(guest_mem_track_dirty(&mem, true), 0);
	assert_int_equal(guest_mem_dirty_words(&mem, 0), 1);
	assert_int_equal(guest_mem_dirty_words(&mem, 1), 0);
	assert_int_equal(guest_mem_fill(&mem, 0x100008 + PAGE, 0xaa, 16), 0);
	expect_pages(&mem, 0, second, 1);
	guest_mem_fini(&mem);
}

static void test_take_ors_clears_and_checks(void **state)
{
	struct guest_mem mem;
	uint64_t out[WORDS(LOW_PAGES)] = { 1ULL << 63, 0, 0, 0 };

	(void)state;
	setup_adjacent(&mem);
	assert_int_equal(guest_mem_dirty_words(&mem, 0), WORDS(LOW_PAGES));
	assert_int_equal(guest_mem_write(&mem, 2 * PAGE, "ember", 5), 0);
	assert_int_equal(guest_mem_take_dirty(&mem, 0, out, 4), 0);
	assert_int_equal(out[0], (1ULL << 63) | (1ULL << 2));
	/* Taken means clear: a second take adds nothing. */
	memset(out, 0, sizeof(out));
	assert_int_equal(guest_mem_take_dirty(&mem, 0, out, 4), 0);
	assert_int_equal(out[0], 0);

	assert_int_equal(guest_mem_take_dirty(&mem, 0, out, 3), -EINVAL);
	assert_non_null(strstr(err_last(), "4-word"));
	assert_int_equal(guest_mem_take_dirty(&mem, 2, out, 4), -EINVAL);
	/* A failed write touched nothing and marks nothing. */
	assert_int_equal(guest_mem_write(&mem, sizeof(low) - 2, "1234", 4), -EFAULT);
	assert_int_equal(guest_mem_fill(&mem, sizeof(low) + sizeof(high), 0, 1), -EFAULT);
	expect_clean(&mem);
	guest_mem_fini(&mem);
}

static void test_region_added_while_tracking(void **state)
{
	struct guest_mem mem;
	static const uint64_t first[] = { 0 };

	(void)state;
	guest_mem_init(&mem);
	assert_int_equal(guest_mem_track_dirty(&mem, true), 0);
	assert_int_equal(guest_mem_add_region(&mem, 0, sizeof(high), high), 0);
	assert_int_equal(guest_mem_write(&mem, 0, "a", 1), 0);
	expect_pages(&mem, 0, first, 1);
	/* No process can hold a bitmap for a region near 2^64 bytes. */
	assert_int_equal(guest_mem_add_region(&mem, 0x10000, UINT64_MAX - 0x10000, high), -ENOMEM);
	assert_non_null(strstr(err_last(), "dirty bitmap"));
	assert_int_equal(mem.nr_regions, 1);
	guest_mem_fini(&mem);
}

static void test_start_fails_without_memory(void **state)
{
	struct guest_mem mem;

	(void)state;
	guest_mem_init(&mem);
	assert_int_equal(guest_mem_add_region(&mem, 0, UINT64_MAX, high), 0);
	assert_int_equal(guest_mem_track_dirty(&mem, true), -ENOMEM);
	assert_false(mem.tracking);
	guest_mem_fini(&mem);
}

/* The walker, through a synthetic driver over 1 MiB of fake RAM. */
struct vq_fx {
	struct vq_driver d;
	struct virtq q;
	struct virtq_chain c;
};

static int vq_setup(void **state)
{
	static struct vq_fx fx;

	memset(&fx, 0, sizeof(fx));
	if (vq_driver_init(&fx.d, 1 << 20, 16) || guest_mem_track_dirty(&fx.d.mem, true))
		return -1;
	vq_driver_attach(&fx.d, &fx.q, false, true);
	*state = &fx;
	return 0;
}

static int vq_teardown(void **state)
{
	struct vq_fx *fx = *state;

	guest_mem_fini(&fx->d.mem);
	vq_driver_fini(&fx->d);
	return 0;
}

static const uint64_t used_page[] = { VQ_DRIVER_USED / PAGE };

static void test_walker_marks_writable_buffers_and_used_ring(void **state)
{
	struct vq_fx *fx = *state;
	struct vq_seg segs[] = { { 0x30000, 16, false }, { 0x40000, 0x3000, false },
				 { 0x20ff0, 0x20, true }, { 0x50000, 1, true } };
	static const uint64_t in_pages[] = { 0x20, 0x21, 0x50 };

	/* The driver's own ring setup is the guest's write, not ours. */
	expect_clean(&fx->d.mem);
	vq_driver_post(&fx->d, vq_driver_chain(&fx->d, segs, 4));
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	expect_pages(&fx->d.mem, 0, in_pages, 3);
	assert_int_equal(virtq_push(&fx->q, fx->c.head, 33), 0);
	expect_pages(&fx->d.mem, 0, used_page, 1);
	/* Nothing new posted: a pop writes nothing without EVENT_IDX. */
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 0);
	expect_clean(&fx->d.mem);
}

static void test_walker_readable_chain_marks_nothing(void **state)
{
	struct vq_fx *fx = *state;
	struct vq_seg segs[] = { { 0x30000, 0x2000, false }, { 0x40000, 8, false } };

	vq_driver_post(&fx->d, vq_driver_chain(&fx->d, segs, 2));
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	expect_clean(&fx->d.mem);
	assert_int_equal(virtq_push(&fx->q, fx->c.head, 0), 0);
	expect_pages(&fx->d.mem, 0, used_page, 1);
}

static void test_walker_marks_indirect_and_avail_event(void **state)
{
	struct vq_fx *fx = *state;
	struct vq_seg segs[] = { { 0x30000, 16, false }, { 0x61000, 0x1000, true } };
	static const uint64_t in_and_used[] = { VQ_DRIVER_USED / PAGE, 0x61 };

	vq_driver_attach(&fx->d, &fx->q, true, true);
	vq_driver_post(&fx->d, vq_driver_chain_indirect(&fx->d, segs, 2));
	/* With EVENT_IDX the pop also writes avail_event into the used area. */
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	expect_pages(&fx->d.mem, 0, in_and_used, 2);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 0);
	expect_pages(&fx->d.mem, 0, used_page, 1);
}

/* Threads mark interleaved pages of the same words, each page once, while
 * another thread keeps taking: the union of what was taken is every page. */
#define MARKERS 4
#define RACE_PAGES (1u << 20) /* 4 GiB of view, so the threads overlap */

static uint8_t race_ram[1]; /* marking never touches the bytes */
static struct guest_mem race_mem;
static int markers_done;
static int take_failed;
static pthread_barrier_t race_start;

static void *marker(void *arg)
{
	uintptr_t t = (uintptr_t)arg;

	pthread_barrier_wait(&race_start);
	for (uint64_t p = t; p < RACE_PAGES; p += MARKERS)
		guest_mem_mark_dirty(&race_mem, p * PAGE + p % PAGE, 1);
	__atomic_fetch_add(&markers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *taker(void *arg)
{
	uint64_t *seen = arg;

	pthread_barrier_wait(&race_start);
	/* cmocka cannot fail from another thread: count, check in the test. */
	while (__atomic_load_n(&markers_done, __ATOMIC_ACQUIRE) < MARKERS)
		take_failed += guest_mem_take_dirty(&race_mem, 0, seen, RACE_PAGES / 64) != 0;
	return NULL;
}

static void test_concurrent_marking_loses_no_bit(void **state)
{
	static uint64_t seen[RACE_PAGES / 64];
	pthread_t th[MARKERS + 1];

	(void)state;
	guest_mem_init(&race_mem);
	assert_int_equal(guest_mem_add_region(&race_mem, 0, RACE_PAGES * PAGE, race_ram), 0);
	assert_int_equal(guest_mem_track_dirty(&race_mem, true), 0);
	markers_done = take_failed = 0;
	assert_int_equal(pthread_barrier_init(&race_start, NULL, MARKERS + 1), 0);
	assert_int_equal(pthread_create(&th[MARKERS], NULL, taker, seen), 0);
	for (uintptr_t t = 0; t < MARKERS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, marker, (void *)t), 0);
	for (unsigned t = 0; t <= MARKERS; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&race_start);
	assert_int_equal(take_failed, 0);
	assert_int_equal(guest_mem_take_dirty(&race_mem, 0, seen, RACE_PAGES / 64), 0);
	for (unsigned w = 0; w < RACE_PAGES / 64; w++)
		if (seen[w] != ~0ULL)
			fail_msg("word %u lost bits: 0x%016llx", w, (unsigned long long)seen[w]);
	guest_mem_fini(&race_mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_marks_nothing),
		cmocka_unit_test(test_page_and_word_edges),
		cmocka_unit_test(test_region_edges),
		cmocka_unit_test(test_unaligned_region_counts_from_its_start),
		cmocka_unit_test(test_take_ors_clears_and_checks),
		cmocka_unit_test(test_region_added_while_tracking),
		cmocka_unit_test(test_start_fails_without_memory),
		cmocka_unit_test_setup_teardown(test_walker_marks_writable_buffers_and_used_ring, vq_setup,
						vq_teardown),
		cmocka_unit_test_setup_teardown(test_walker_readable_chain_marks_nothing, vq_setup, vq_teardown),
		cmocka_unit_test_setup_teardown(test_walker_marks_indirect_and_avail_event, vq_setup, vq_teardown),
		cmocka_unit_test(test_concurrent_marking_loses_no_bit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
