/* virtio-vsock with host programs on the other end: the CONNECT/OK
 * handshake and data both ways, guest refusals, malformed and slow
 * CONNECT lines, credit both ways (never reading past the guest's credit,
 * RST for a guest past ours, buffering for slow readers, the buffer ring
 * wrapping), CREDIT_REQUEST, and SHUTDOWN flags. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/vsock_fixture.h"
#include "vmm/log.h"

static void test_host_connect_data_both_ways(void **state)
{
	struct fx *fx = vs_fx_new();
	uint8_t *out = vs_pattern(10000, 9), in[10000];
	struct vsock_hdr h;
	uint32_t local, local2;
	int s, s2;

	(void)state;
	s = vs_host_connect(fx, 52, &local);
	s2 = vs_host_connect(fx, 52, &local2);
	assert_true(local != local2); /* two connections to the same guest port */
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_CONNS_ADDED), 2);
	vs_write_all(s, out, 3000);
	vs_rx_post(fx, 1, 8192);
	vs_pump(fx);
	assert_true(vs_rx_take(fx, &h, in, sizeof(in)));
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_int_equal(h.src_port, local);
	assert_int_equal(h.dst_port, 52);
	assert_int_equal(h.len, 3000);
	assert_memory_equal(in, out, 3000);
	vs_guest_send(fx, VSOCK_OP_RW, 52, local2, 0, out, 10000);
	vs_read_exact(s2, in, 10000);
	assert_memory_equal(in, out, 10000);
	/* The host program leaves: the guest hears SHUTDOWN(SEND). */
	close(s);
	vs_rx_post(fx, 1, 4096);
	vs_pump(fx);
	assert_true(vs_rx_take(fx, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VSOCK_SHUTDOWN_SEND);
	assert_int_equal(h.src_port, local);
	/* The guest finishes its side too: both are done, RST. */
	vs_guest_send(fx, VSOCK_OP_SHUTDOWN, 52, local, VSOCK_SHUTDOWN_SEND | VSOCK_SHUTDOWN_RCV, NULL, 0);
	vs_rx_post(fx, 1, 4096);
	vs_expect_op(fx, VSOCK_OP_RST, local, 52);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_CONNS_REMOVED), 1);
	close(s2);
	free(out);
	vs_fx_free(fx);
}

static void test_host_connect_data_after_line(void **state)
{
	struct fx *fx = vs_fx_new();
	int s = vs_unix_connect(fx->uds);
	struct vsock_hdr h;
	uint8_t in[64];
	char ok[32];

	(void)state;
	/* Stream bytes right behind the line belong to the guest. */
	vs_write_all(s, "connect 9\nearly", 15);
	vs_rx_post(fx, 1, 4096);
	vs_pump(fx);
	assert_true(vs_rx_take(fx, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	vs_guest_send(fx, VSOCK_OP_RESPONSE, 9, h.src_port, 0, NULL, 0);
	vs_read_exact(s, ok, 3);
	assert_memory_equal(ok, "OK ", 3);
	vs_rx_post(fx, 1, 4096);
	vs_pump(fx);
	assert_true(vs_rx_take(fx, &h, in, sizeof(in)));
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_int_equal(h.len, 5);
	assert_memory_equal(in, "early", 5);
	close(s);
	vs_fx_free(fx);
}

static void test_host_connect_guest_refuses(void **state)
{
	struct fx *fx = vs_fx_new();
	int s = vs_unix_connect(fx->uds);
	struct vsock_hdr h;

	(void)state;
	vs_write_all(s, "CONNECT 77\n", 11);
	vs_rx_post(fx, 1, 4096);
	vs_pump(fx);
	assert_true(vs_rx_take(fx, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	/* A RESPONSE from the wrong port pair is for nothing: RST. */
	vs_guest_send(fx, VSOCK_OP_RESPONSE, 78, h.src_port, 0, NULL, 0);
	vs_rx_post(fx, 1, 4096);
	vs_expect_op(fx, VSOCK_OP_RST, h.src_port, 78);
	vs_guest_send(fx, VSOCK_OP_RST, 77, h.src_port, 0, NULL, 0);
	vs_expect_closed(s);
	close(s);
	vs_fx_free(fx);
}

static void test_malformed_connect_lines(void **state)
{
	static const char *const lines[] = {
		"HELLO 5\n", "CONNECT\n", "CONNECT \n", "CONNECT 4294967296\n", "CONNECT 12a\n",
		"CONNECT -1\n", "CONNECT 00000000001\n", "CONNECT 1 \n", "0123456789012345678901234567890123",
	};
	struct fx *fx = vs_fx_new_timeout(50);
	uint32_t port;
	int s;

	(void)state;
	for (unsigned i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		s = vs_unix_connect(fx->uds);
		vs_write_all(s, lines[i], strlen(lines[i]));
		vs_pump(fx);
		vs_expect_closed(s);
		close(s);
	}
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_CONNS_KILLED), sizeof(lines) / sizeof(lines[0]));
	/* A line that never ends in time. */
	s = vs_unix_connect(fx->uds);
	vs_write_all(s, "CONN", 4);
	vs_pump_ms(fx, 200);
	vs_expect_closed(s);
	close(s);
	/* A program that leaves before its line is done. */
	s = vs_unix_connect(fx->uds);
	vs_write_all(s, "CONNECT 1", 9);
	vs_pump(fx);
	close(s);
	vs_pump(fx);
	vs_expect_nothing(fx);
	assert_int_equal(vsock_of(fx->t)->nr_conns, 0);
	/* The parser's edges. */
	assert_int_equal(vsock_uds_parse_connect("CONNECT 4294967295\n", 19, &port), 0);
	assert_int_equal(port, UINT32_MAX);
	assert_int_equal(vsock_uds_parse_connect("CONNECT 0\n", 10, &port), 0);
	assert_int_equal(port, 0);
	assert_int_equal(vsock_uds_parse_connect("CONNECT 5", 9, &port), -EINVAL);
	vs_expect_nothing(fx);
	vs_fx_free(fx);
}

/* ---- credit ------------------------------------------------------------------ */

static void test_never_reads_past_guest_credit(void **state)
{
	struct fx *fx = vs_fx_new();
	int lfd = vs_host_listen(fx, 3), s;
	uint8_t *out = vs_pattern(300, 1), in[300];
	struct vsock_hdr h;
	uint32_t got = 0;

	(void)state;
	fx->buf_alloc = 100;
	s = vs_guest_connect(fx, lfd, 3);
	vs_write_all(s, out, 300);
	for (unsigned round = 1; round <= 3; round++) {
		vs_rx_post(fx, 8, 4096);
		vs_pump(fx);
		while (vs_rx_take(fx, &h, in + got, sizeof(in) - got)) {
			assert_int_equal(h.op, VSOCK_OP_RW);
			got += h.len;
		}
		/* Exactly the credit, however many buffers it had. */
		assert_int_equal(got, 100 * round);
		/* The guest consumed it: new credit. */
		fx->fwd_cnt = got;
		vs_guest_send(fx, VSOCK_OP_CREDIT_UPDATE, 1000, 3, 0, NULL, 0);
		vs_pump(fx);
	}
	assert_memory_equal(in, out, 300);
	/* A guest that shrinks buf_alloc below what is in flight gets none. */
	vs_write_all(s, out, 10);
	fx->buf_alloc = 10;
	fx->fwd_cnt = 250;
	vs_guest_send(fx, VSOCK_OP_CREDIT_UPDATE, 1000, 3, 0, NULL, 0);
	vs_pump(fx);
	vs_expect_nothing(fx);
	close(s);
	close(lfd);
	free(out);
	vs_fx_free(fx);
}

static void test_guest_exceeding_our_credit_is_reset(void **state)
{
	struct fx *fx = vs_fx_new();
	int lfd = vs_host_listen(fx, 3), s;
	uint8_t *out = vs_pattern(VSOCK_MAX_PAYLOAD, 1);

	(void)state;
	s = vs_guest_connect(fx, lfd, 3);
	/* The host program does not read; the guest may still send all the
	 * credit we advertised (we buffer what the socket does not take). */
	for (unsigned i = 0; i < VSOCK_BUF_ALLOC / VSOCK_MAX_PAYLOAD; i++)
		vs_guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, out, VSOCK_MAX_PAYLOAD);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_CONNS_KILLED), 0);
	/* One byte more than advertised. */
	vs_guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, out, 1);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_CONNS_KILLED), 1);
	vs_rx_post(fx, 1, 4096);
	vs_expect_op(fx, VSOCK_OP_RST, 3, 1000);
	close(s);
	close(lfd);
	free(out);
	vs_fx_free(fx);
}

static void test_buffered_data_reaches_a_slow_reader(void **state)
{
	struct fx *fx = vs_fx_new();
	int lfd = vs_host_listen(fx, 3), s;
	size_t total = VSOCK_BUF_ALLOC;
	uint8_t *out = vs_pattern(total, 5), *in = malloc(total);
	struct vsock_hdr h;
	uint32_t fwd = 0;

	(void)state;
	s = vs_guest_connect(fx, lfd, 3);
	for (size_t off = 0; off < total; off += VSOCK_MAX_PAYLOAD)
		vs_guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, out + off, VSOCK_MAX_PAYLOAD);
	/* Then the guest shuts its side: the host sees all data, then EOF. */
	vs_guest_send(fx, VSOCK_OP_SHUTDOWN, 1000, 3, 0, NULL, 0);
	vs_guest_send(fx, VSOCK_OP_SHUTDOWN, 1000, 3, VSOCK_SHUTDOWN_SEND, NULL, 0);
	for (size_t got = 0; got < total;) {
		ssize_t r;

		vs_pump_ms(fx, 1);
		vs_set_timeout(s, 1000);
		r = read(s, in + got, total - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	assert_memory_equal(in, out, total);
	vs_pump(fx);
	vs_expect_closed(s);
	/* The guest heard the credit come back. */
	vs_rx_post(fx, 8, 4096);
	vs_pump(fx);
	while (vs_rx_take(fx, &h, NULL, 0)) {
		assert_int_equal(h.op, VSOCK_OP_CREDIT_UPDATE);
		fwd = h.fwd_cnt;
	}
	assert_int_equal(fwd, total);
	close(s);
	close(lfd);
	free(out);
	free(in);
	vs_fx_free(fx);
}

static void test_credit_request(void **state)
{
	struct fx *fx = vs_fx_new();
	int lfd = vs_host_listen(fx, 3), s;
	struct vsock_hdr h;

	(void)state;
	s = vs_guest_connect(fx, lfd, 3);
	vs_guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, "abc", 3);
	vs_guest_send(fx, VSOCK_OP_CREDIT_REQUEST, 1000, 3, 0, NULL, 0);
	vs_rx_post(fx, 1, 4096);
	assert_true(vs_rx_take(fx, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(h.fwd_cnt, 3);
	close(s);
	close(lfd);
	vs_fx_free(fx);
}

/* ---- shutdown ---------------------------------------------------------------- */

static void test_shutdown_flags(void **state)
{
	struct fx *fx = vs_fx_new();
	int lfd = vs_host_listen(fx, 3), s;
	struct vsock_hdr h;
	uint8_t in[16];

	(void)state;
	s = vs_guest_connect(fx, lfd, 3);
	/* SEND: the host program reads EOF but may still write. */
	vs_guest_send(fx, VSOCK_OP_SHUTDOWN, 1000, 3, VSOCK_SHUTDOWN_SEND, NULL, 0);
	vs_expect_closed(s);
	vs_write_all(s, "late", 4);
	vs_rx_post(fx, 1, 4096);
	vs_pump(fx);
	assert_true(vs_rx_take(fx, &h, in, sizeof(in)));
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_memory_equal(in, "late", 4);
	/* RW after the guest said SEND is a protocol error. */
	vs_guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, "x", 1);
	vs_rx_post(fx, 1, 4096);
	vs_expect_op(fx, VSOCK_OP_RST, 3, 1000);
	close(s);
	/* RCV then SEND: the second completes the shutdown, RST. */
	s = vs_guest_connect(fx, lfd, 3);
	vs_guest_send(fx, VSOCK_OP_SHUTDOWN, 1000, 3, VSOCK_SHUTDOWN_RCV, NULL, 0);
	/* The device shut the socket's read side: the program's writes fail
	 * (EPIPE) rather than pile up. */
	assert_int_equal(send(s, "ignored", 7, MSG_NOSIGNAL), -1);
	assert_int_equal(errno, EPIPE);
	vs_rx_post(fx, 1, 4096);
	vs_pump(fx);
	vs_expect_nothing(fx);
	vs_guest_send(fx, VSOCK_OP_SHUTDOWN, 1000, 3, VSOCK_SHUTDOWN_SEND, NULL, 0);
	vs_expect_op(fx, VSOCK_OP_RST, 3, 1000);
	vs_expect_closed(s);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_CONNS_REMOVED), 2);
	close(s);
	close(lfd);
	vs_fx_free(fx);
}

/* ---- hostile headers ------------------------------------------------------- */

/* The guest-data ring wraps around its end while holding data: what the
 * host program reads is still the guest's stream, byte for byte. */
static void test_buffer_ring_wraps(void **state)
{
	struct fx *fx = vs_fx_new();
	int lfd = vs_host_listen(fx, 3), s, small = 4096;
	const size_t total = VSOCK_BUF_ALLOC + VSOCK_BUF_ALLOC / 2, first = VSOCK_BUF_ALLOC;
	uint8_t *out = vs_pattern(total, 7), *in = malloc(total);
	struct vsock_conn *c;
	struct vsock_hdr h;
	size_t got = 0;

	(void)state;
	s = vs_guest_connect(fx, lfd, 3);
	/* A tiny socket buffer on the device's side makes it hold nearly
	 * everything itself. */
	c = vsock_conn_find(vsock_of(fx->t), 3, 1000);
	assert_non_null(c);
	assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	for (size_t off = 0; off < first; off += VSOCK_MAX_PAYLOAD)
		vs_guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, out + off, VSOCK_MAX_PAYLOAD);
	assert_true(c->buf_len > first / 2);
	/* The program reads half; the guest hears about the room. */
	for (unsigned spins = 0; got < first / 2; spins++) {
		ssize_t r;

		assert_true(spins < 100000);
		vs_pump_ms(fx, 1);
		r = recv(s, in + got, first / 2 - got, MSG_DONTWAIT);
		if (r > 0)
			got += (size_t)r;
	}
	vs_rx_post(fx, 4, 4096);
	vs_pump(fx);
	assert_true(vs_rx_take(fx, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_CREDIT_UPDATE);
	assert_true(h.fwd_cnt >= first / 2);
	fx->fwd_cnt = h.fwd_cnt;
	for (size_t off = first; off < total; off += VSOCK_MAX_PAYLOAD)
		vs_guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, out + off, VSOCK_MAX_PAYLOAD);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_CONNS_KILLED), 0);
	assert_true(c->buf_head + c->buf_len > VSOCK_BUF_ALLOC); /* it wrapped */
	for (unsigned spins = 0; got < total; spins++) {
		ssize_t r;

		assert_true(spins < 100000);
		vs_pump_ms(fx, 1);
		r = recv(s, in + got, total - got, MSG_DONTWAIT);
		if (r > 0)
			got += (size_t)r;
	}
	assert_memory_equal(in, out, total);
	close(s);
	close(lfd);
	free(out);
	free(in);
	vs_fx_free(fx);
}

/* The host program dies: with guest data still buffered (the flush
 * fails) or with none (the next write fails). Either way the guest gets
 * an RST, and nothing is left behind. */
static void test_host_program_dies_with_data_in_flight(void **state)
{
	struct fx *fx = vs_fx_new();
	int lfd = vs_host_listen(fx, 3), s, small = 4096;
	uint8_t *out = vs_pattern(VSOCK_MAX_PAYLOAD, 1);
	struct vsock_conn *c;

	(void)state;
	s = vs_guest_connect(fx, lfd, 3);
	c = vsock_conn_find(vsock_of(fx->t), 3, 1000);
	assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	vs_guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, out, VSOCK_MAX_PAYLOAD);
	assert_true(c->buf_len > 0);
	close(s);
	vs_pump(fx);
	vs_rx_post(fx, 1, 4096);
	vs_expect_op(fx, VSOCK_OP_RST, 3, 1000);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_CONNS_KILLED), 1);
	s = vs_guest_connect(fx, lfd, 3);
	close(s);
	vs_guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, out, 100);
	vs_rx_post(fx, 1, 4096);
	vs_expect_op(fx, VSOCK_OP_RST, 3, 1000);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_CONNS_KILLED), 2);
	assert_int_equal(vsock_of(fx->t)->nr_conns, 0);
	close(lfd);
	free(out);
	vs_fx_free(fx);
}

/* Host ports for host programs wrap within their range and skip those
 * in use. */
static void test_local_ports_wrap_and_stay_unique(void **state)
{
	struct fx *fx = vs_fx_new();
	uint32_t a, b, c;
	int sa, sb, sc;

	(void)state;
	vsock_of(fx->t)->next_local_port = VSOCK_LOCAL_PORT_LAST;
	sa = vs_host_connect(fx, 5, &a);
	sb = vs_host_connect(fx, 5, &b);
	assert_int_equal(a, VSOCK_LOCAL_PORT_LAST);
	assert_int_equal(b, VSOCK_LOCAL_PORT_FIRST);
	vsock_of(fx->t)->next_local_port = VSOCK_LOCAL_PORT_LAST;
	sc = vs_host_connect(fx, 6, &c);
	assert_int_equal(c, VSOCK_LOCAL_PORT_FIRST + 1);
	close(sa);
	close(sb);
	close(sc);
	vs_fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_connect_data_both_ways),
		cmocka_unit_test(test_host_connect_data_after_line),
		cmocka_unit_test(test_host_connect_guest_refuses),
		cmocka_unit_test(test_malformed_connect_lines),
		cmocka_unit_test(test_never_reads_past_guest_credit),
		cmocka_unit_test(test_guest_exceeding_our_credit_is_reset),
		cmocka_unit_test(test_buffered_data_reaches_a_slow_reader),
		cmocka_unit_test(test_buffer_ring_wraps),
		cmocka_unit_test(test_host_program_dies_with_data_in_flight),
		cmocka_unit_test(test_local_ports_wrap_and_stay_unique),
		cmocka_unit_test(test_credit_request),
		cmocka_unit_test(test_shutdown_flags),
	};

	log_set_level(LOG_ERROR);
	signal(SIGPIPE, SIG_IGN); /* a failing test must report, not die */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
