/* Console wiring: output to an fd, input pushed with backpressure. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/console.h"

/* A UART stand-in that takes at most `room` bytes until drained. */
struct sink {
	uint8_t got[256];
	size_t len;
	size_t room;
};

static size_t sink_push(void *opaque, const uint8_t *buf, size_t len)
{
	struct sink *s = opaque;
	size_t n = len < s->room ? len : s->room;

	memcpy(s->got + s->len, buf, n);
	s->len += n;
	s->room -= n;
	return n;
}

static void test_output_reaches_fd(void **state)
{
	struct event_loop loop;
	struct console con;
	int fds[2];
	char buf[16] = { 0 };

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(console_init(&con, &loop, -1, fds[1]), 0);
	assert_int_equal(console_write(&con, (const uint8_t *)"boot ok", 7), 7);
	/* The event loop writes it out, not the caller (a vCPU). */
	assert_int_equal(event_loop_run_once(&loop, 100), 1);
	assert_int_equal(read(fds[0], buf, sizeof(buf)), 7);
	assert_string_equal(buf, "boot ok");
	close(fds[0]);
	/* A closed reader: output is dropped and counted, nothing blocks or
	 * crashes. */
	assert_int_equal(console_write(&con, (const uint8_t *)"x", 1), 1);
	event_loop_run_once(&loop, 100);
	assert_int_equal(console_write(&con, (const uint8_t *)"y", 1), 0);
	assert_true(console_dropped(&con) >= 1);
	console_fini(&con);
	event_loop_fini(&loop);
	close(fds[1]);
}

static void test_input_backpressure_and_resume(void **state)
{
	struct event_loop loop;
	struct console con;
	struct sink sink = { .room = 4 };
	int in[2];

	(void)state;
	assert_int_equal(pipe(in), 0);
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(console_init(&con, &loop, in[0], STDOUT_FILENO), 0);
	assert_int_equal(console_attach(&con, sink_push, &sink), 0);
	assert_int_equal(write(in[1], "abcdefghij", 10), 10);
	assert_int_equal(event_loop_run_once(&loop, 100), 1);
	assert_int_equal(sink.len, 4);
	/* The UART is full: input is no longer watched, so more typing waits. */
	assert_int_equal(write(in[1], "KL", 2), 2);
	assert_int_equal(event_loop_run_once(&loop, 50), 0);
	assert_int_equal(sink.len, 4);
	/* The guest drained the FIFO: the rest goes in, in order, nothing lost. */
	sink.room = 100;
	console_notify_space(&con);
	assert_int_equal(event_loop_run_once(&loop, 100), 1);
	assert_int_equal(sink.len, 10);
	assert_int_equal(event_loop_run_once(&loop, 100), 1);
	assert_int_equal(sink.len, 12);
	assert_memory_equal(sink.got, "abcdefghijKL", 12);
	/* End of input: the watch goes away, the guest keeps running. */
	close(in[1]);
	assert_int_equal(event_loop_run_once(&loop, 100), 1);
	assert_false(con.input_open);
	console_fini(&con);
	event_loop_fini(&loop);
	close(in[0]);
}

static void test_unpollable_input_is_no_input(void **state)
{
	struct event_loop loop;
	struct console con;
	struct sink sink = { .room = 4 };
	int fd = open("/dev/null", O_RDONLY);

	(void)state;
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(console_init(&con, &loop, fd, STDOUT_FILENO), 0);
	assert_int_equal(console_attach(&con, sink_push, &sink), 0);
	assert_false(con.input_open);
	/* Nothing pending: a space notification is a no-op. */
	console_notify_space(&con);
	assert_int_equal(event_loop_run_once(&loop, 0), 0);
	console_fini(&con);
	event_loop_fini(&loop);
	close(fd);
}

static void on_escape_count(void *opaque)
{
	(*(int *)opaque)++;
}

/* Types `keys` into a console in one write and returns how much the UART
 * got; with `escapes` the escape is on and *escapes counts Ctrl-A x. */
static size_t type_with_escape(const char *keys, size_t len, struct sink *sink, int *escapes)
{
	struct event_loop loop;
	struct console con;
	int in[2];

	assert_int_equal(pipe(in), 0);
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(console_init(&con, &loop, in[0], STDOUT_FILENO), 0);
	if (escapes)
		console_set_escape(&con, on_escape_count, escapes);
	assert_int_equal(console_attach(&con, sink_push, sink), 0);
	assert_int_equal(write(in[1], keys, len), (ssize_t)len);
	while (event_loop_run_once(&loop, 20) > 0)
		;
	console_fini(&con);
	event_loop_fini(&loop);
	close(in[0]);
	close(in[1]);
	return sink->len;
}

static void test_escape_ctrl_a_x_stops_and_is_not_typed(void **state)
{
	struct sink sink = { .room = 100 };
	int escapes = 0;

	(void)state;
	assert_int_equal(type_with_escape("ls\001x", 4, &sink, &escapes), 2);
	assert_int_equal(escapes, 1);
	assert_memory_equal(sink.got, "ls", 2);
}

static void test_escape_ctrl_a_a_sends_one_ctrl_a(void **state)
{
	struct sink sink = { .room = 100 };
	int escapes = 0;

	(void)state;
	/* Ctrl-A a and Ctrl-A Ctrl-A each send one Ctrl-A; Ctrl-A then any
	 * other key sends both, so nothing typed is lost. */
	assert_int_equal(type_with_escape("\001a\001\001\001q", 6, &sink, &escapes), 4);
	assert_int_equal(escapes, 0);
	assert_memory_equal(sink.got, "\001\001\001q", 4);
}

static void test_escape_split_across_reads(void **state)
{
	struct event_loop loop;
	struct console con;
	struct sink sink = { .room = 100 };
	int escapes = 0, in[2];

	(void)state;
	assert_int_equal(pipe(in), 0);
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(console_init(&con, &loop, in[0], STDOUT_FILENO), 0);
	console_set_escape(&con, on_escape_count, &escapes);
	assert_int_equal(console_attach(&con, sink_push, &sink), 0);
	/* A full chunk ending in Ctrl-A: the prefix waits for the next key. */
	char chunk[CONSOLE_CHUNK];
	memset(chunk, 'k', sizeof(chunk));
	chunk[sizeof(chunk) - 1] = 1;
	assert_int_equal(write(in[1], chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
	while (event_loop_run_once(&loop, 20) > 0)
		;
	assert_int_equal(sink.len, CONSOLE_CHUNK - 1);
	assert_int_equal(escapes, 0);
	assert_int_equal(write(in[1], "x", 1), 1);
	assert_int_equal(event_loop_run_once(&loop, 100), 1);
	assert_int_equal(escapes, 1);
	assert_int_equal(sink.len, CONSOLE_CHUNK - 1);
	/* After the escape, keys are plain again. */
	assert_int_equal(write(in[1], "\001z", 2), 2);
	assert_int_equal(event_loop_run_once(&loop, 100), 1);
	assert_int_equal(sink.len, CONSOLE_CHUNK + 1);
	assert_memory_equal(sink.got + CONSOLE_CHUNK - 1, "\001z", 2);
	console_fini(&con);
	event_loop_fini(&loop);
	close(in[0]);
	close(in[1]);
}

static void test_no_escape_passes_ctrl_a_x(void **state)
{
	struct sink sink = { .room = 100 };

	(void)state;
	assert_int_equal(type_with_escape("\001x", 2, &sink, NULL), 2);
	assert_memory_equal(sink.got, "\001x", 2);
}

/* A pipe nobody reads (or a stopped terminal): guest output must never
 * block the vCPU that writes it. It is buffered up to CONSOLE_OUT_RING and
 * the rest dropped and counted; the event loop drains what the reader
 * takes, in order, once it reads again. */
static void test_output_never_blocks_on_a_full_pipe(void **state)
{
	struct event_loop loop;
	struct console con;
	static uint8_t chunk[4096], got[CONSOLE_OUT_RING + 4096];
	size_t taken = 0, total = 0, pipe_cap;
	int fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pipe_cap = (size_t)fcntl(fds[1], F_GETPIPE_SZ);
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(console_init(&con, &loop, -1, fds[1]), 0);
	/* Four times what pipe and ring hold: every call returns at once. */
	alarm(10);
	for (unsigned i = 0; i < 4 * (CONSOLE_OUT_RING + pipe_cap) / sizeof(chunk); i++) {
		memset(chunk, (int)(i & 0x7f), sizeof(chunk));
		total += (size_t)console_write(&con, chunk, sizeof(chunk));
		event_loop_run_once(&loop, 0);
	}
	alarm(0);
	assert_true(total <= CONSOLE_OUT_RING + pipe_cap);
	assert_true(total >= CONSOLE_OUT_RING);
	assert_true(console_dropped(&con) > 0);
	/* The reader comes back: what was taken arrives, in order. */
	assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
	for (unsigned spins = 0; spins < 10000 && taken < total; spins++) {
		ssize_t n = read(fds[0], got + (taken % sizeof(chunk)), sizeof(chunk) - (taken % sizeof(chunk)));

		if (n > 0) {
			for (ssize_t k = 0; k < n; k++)
				assert_int_equal(got[(taken % sizeof(chunk)) + (size_t)k], ((taken + (size_t)k) / sizeof(chunk)) & 0x7f);
			taken += (size_t)n;
		}
		event_loop_run_once(&loop, 10);
	}
	assert_int_equal(taken, total);
	console_fini(&con);
	event_loop_fini(&loop);
	close(fds[0]);
	close(fds[1]);
}

/* What the guest wrote last before the VM stopped is not lost: fini
 * drains the ring (for a bounded time). */
static void test_fini_drains_pending_output(void **state)
{
	struct event_loop loop;
	struct console con;
	char buf[32] = { 0 };
	int fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(console_init(&con, &loop, -1, fds[1]), 0);
	assert_int_equal(console_write(&con, (const uint8_t *)"shell-exited\n", 13), 13);
	console_fini(&con);
	assert_int_equal(read(fds[0], buf, sizeof(buf)), 13);
	assert_string_equal(buf, "shell-exited\n");
	event_loop_fini(&loop);
	close(fds[0]);
	close(fds[1]);
}

/* A reader that never comes back: a flush waits its time, then drops the
 * rest (counted) and stops queueing, so shutdown waits for it only once. */
static void test_flush_gives_up_on_a_reader_that_never_reads(void **state)
{
	struct event_loop loop;
	struct console con;
	static uint8_t chunk[4096];
	uint64_t before;
	struct timespec t0, t1;
	int fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(console_init(&con, &loop, -1, fds[1]), 0);
	for (unsigned i = 0; i < 64; i++) {
		console_write(&con, chunk, sizeof(chunk));
		event_loop_run_once(&loop, 0);
	}
	before = console_dropped(&con);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	console_flush(&con, 300);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(console_dropped(&con) > before);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 2000);
	assert_int_equal(console_write(&con, chunk, 1), 0);
	console_fini(&con);
	event_loop_fini(&loop);
	close(fds[0]);
	close(fds[1]);
}

int main(void)


{
	signal(SIGPIPE, SIG_IGN); /* as ember's main does */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_reaches_fd),
		cmocka_unit_test(test_output_never_blocks_on_a_full_pipe),
		cmocka_unit_test(test_fini_drains_pending_output),
		cmocka_unit_test(test_flush_gives_up_on_a_reader_that_never_reads),
		cmocka_unit_test(test_input_backpressure_and_resume),
		cmocka_unit_test(test_unpollable_input_is_no_input),
		cmocka_unit_test(test_escape_ctrl_a_x_stops_and_is_not_typed),
		cmocka_unit_test(test_escape_ctrl_a_a_sends_one_ctrl_a),
		cmocka_unit_test(test_escape_split_across_reads),
		cmocka_unit_test(test_no_escape_passes_ctrl_a_x),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
