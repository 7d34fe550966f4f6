#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "snapshot/state.h"
#include "vmm/log.h"

static void write_sample(struct state_writer *w)
{
	state_put_u8(w, 0x12);
	state_put_u16(w, 0x3456);
	state_put_u32(w, 0x789abcde);
	state_put_u64(w, 0x0123456789abcdefULL);
	state_put_blob(w, "abc", 3);
	state_put_bytes(w, "xy", 2);
}

static void test_little_endian_layout(void **state)
{
	static const uint8_t expect[] = { 0x12, 0x56, 0x34, 0xde, 0xbc, 0x9a, 0x78, 0xef, 0xcd, 0xab,
					  0x89, 0x67, 0x45, 0x23, 0x01, 3, 0, 0, 0, 'a', 'b', 'c', 'x', 'y' };
	struct state_writer w;

	(void)state;
	state_writer_init(&w);
	write_sample(&w);
	assert_int_equal(state_writer_error(&w), 0);
	assert_int_equal(w.len, sizeof(expect));
	assert_memory_equal(w.buf, expect, sizeof(expect));
	state_writer_free(&w);
}

static void test_round_trip(void **state)
{
	struct state_writer w;
	struct state_reader r;
	char blob[8] = { 0 }, tail[2];

	(void)state;
	state_writer_init(&w);
	write_sample(&w);
	state_reader_init(&r, w.buf, w.len);
	assert_int_equal(state_get_u8(&r), 0x12);
	assert_int_equal(state_get_u16(&r), 0x3456);
	assert_int_equal(state_get_u32(&r), 0x789abcde);
	assert_true(state_get_u64(&r) == 0x0123456789abcdefULL);
	assert_int_equal(state_get_blob(&r, blob, sizeof(blob)), 3);
	assert_string_equal(blob, "abc");
	state_get_bytes(&r, tail, 2);
	assert_memory_equal(tail, "xy", 2);
	assert_int_equal(state_reader_remaining(&r), 0);
	assert_int_equal(state_reader_finish(&r), 0);
	state_writer_free(&w);
}

static void test_every_truncation_fails(void **state)
{
	struct state_writer w;

	(void)state;
	state_writer_init(&w);
	write_sample(&w);
	for (size_t cut = 0; cut < w.len; cut++) {
		struct state_reader r;
		char blob[8], tail[2];

		state_reader_init(&r, w.buf, cut);
		state_get_u8(&r);
		state_get_u16(&r);
		state_get_u32(&r);
		state_get_u64(&r);
		state_get_blob(&r, blob, sizeof(blob));
		state_get_bytes(&r, tail, 2);
		assert_int_equal(state_reader_finish(&r), -EINVAL);
	}
	state_writer_free(&w);
}

static void test_sticky_error_zeroes_later_reads(void **state)
{
	const uint8_t two[] = { 1, 2 };
	struct state_reader r;
	uint8_t out[4] = { 9, 9, 9, 9 };

	(void)state;
	state_reader_init(&r, two, sizeof(two));
	assert_int_equal(state_get_u32(&r), 0);
	assert_int_equal(state_reader_error(&r), -EINVAL);
	assert_non_null(strstr(err_last(), "truncated"));
	/* After a failure even bytes that exist are not handed out. */
	assert_int_equal(state_get_u8(&r), 0);
	state_get_bytes(&r, out, 4);
	assert_memory_equal(out, "\0\0\0\0", 4);
}

static void test_hostile_blob_length(void **state)
{
	/* Blob claims 4 GiB - 1 bytes; only 2 follow. */
	const uint8_t hostile[] = { 0xff, 0xff, 0xff, 0xff, 'h', 'i' };
	const uint8_t too_big[] = { 9, 0, 0, 0, '1', '2', '3', '4', '5', '6', '7', '8', '9' };
	struct state_reader r;
	char small[8];

	(void)state;
	state_reader_init(&r, hostile, sizeof(hostile));
	assert_int_equal(state_get_blob(&r, small, sizeof(small)), 0);
	assert_int_equal(state_reader_error(&r), -EINVAL);

	state_reader_init(&r, too_big, sizeof(too_big));
	assert_int_equal(state_get_blob(&r, small, sizeof(small)), 0);
	assert_non_null(strstr(err_last(), "exceeds its limit"));
}

static void test_trailing_bytes_and_reject(void **state)
{
	const uint8_t buf[] = { 1, 2, 3 };
	struct state_reader r;

	(void)state;
	state_reader_init(&r, buf, sizeof(buf));
	state_get_u16(&r);
	assert_int_equal(state_reader_error(&r), 0);
	assert_int_equal(state_reader_finish(&r), -EINVAL);
	assert_non_null(strstr(err_last(), "trailing"));
	state_reader_reject(&r, "fifo count 99 > 64");
	assert_int_equal(state_reader_error(&r), -EINVAL);
	assert_non_null(strstr(err_last(), "fifo count"));
	state_reader_init(&r, NULL, 10);
	assert_int_equal(state_reader_remaining(&r), 0);
}

static void test_writer_limit(void **state)
{
	struct state_writer w;
	static uint8_t chunk[1 << 20];

	(void)state;
	state_writer_init(&w);
	for (unsigned i = 0; i < STATE_MAX_RECORD / sizeof(chunk); i++)
		state_put_bytes(&w, chunk, sizeof(chunk));
	assert_int_equal(state_writer_error(&w), 0);
	state_put_u8(&w, 1);
	assert_int_equal(state_writer_error(&w), -EOVERFLOW);
	/* Sticky: later puts do not grow the record. */
	state_put_u64(&w, 1);
	assert_int_equal(w.len, STATE_MAX_RECORD);
	state_writer_free(&w);
	state_writer_init(&w);
	state_put_blob(&w, chunk, (size_t)UINT32_MAX + 1);
	assert_int_equal(state_writer_error(&w), -EOVERFLOW);
	state_writer_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_little_endian_layout),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_every_truncation_fails),
		cmocka_unit_test(test_sticky_error_zeroes_later_reads),
		cmocka_unit_test(test_hostile_blob_length),
		cmocka_unit_test(test_trailing_bytes_and_reject),
		cmocka_unit_test(test_writer_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
