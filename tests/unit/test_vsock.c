/* virtio-vsock through the transport, driven by the synthetic driver, with
 * real Unix sockets playing the host programs: setup and config,
 * guest-initiated connections with data both ways byte-exact, RST paths,
 * control packets waiting for RX buffers, hostile headers, bounded RSTs,
 * the connection limit, reset, save/restore with TRANSPORT_RESET. Host
 * programs' connections, credit and shutdown are in test_vsock_host.c. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <sched.h>
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
#include "tests/virtio/racer.h"
#include "vmm/log.h"

static void test_create_refuses(void **state)
{
	struct guest_mem mem;
	struct virtio_mmio *t;
	char longp[200];
	struct vsock_config bad[] = {
		{ .guest_cid = 2, .uds_path = "/tmp/x" },
		{ .guest_cid = UINT32_MAX, .uds_path = "/tmp/x" },
		{ .guest_cid = 3, .uds_path = NULL },
		{ .guest_cid = 3, .uds_path = "" },
		{ .guest_cid = 3, .uds_path = longp },
		{ .guest_cid = 3, .uds_path = "/nonexistent-dir/v.sock" },
	};

	(void)state;
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[VSOCK_UDS_PATH_MAX - 10] = 0; /* one too long for "_<port>" */
	guest_mem_init(&mem);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(vsock_create(&mem, &bad[i], NULL, &t) < 0);
}

static void test_existing_path_refused_and_unlinked_on_destroy(void **state)
{
	struct fx *fx = vs_fx_new();
	struct vsock_config cfg = { .guest_cid = 3, .uds_path = fx->uds };
	struct virtio_mmio *t;
	struct stat st;

	(void)state;
	/* Someone else's socket (here: the first device's) is never taken. */
	assert_int_equal(vsock_create(&fx->rx.mem, &cfg, NULL, &t), -EADDRINUSE);
	assert_int_equal(stat(fx->uds, &st), 0);
	fx->t->dev.ops->destroy(&fx->t->dev);
	fx->t = NULL;
	assert_int_equal(stat(fx->uds, &st), -1);
	vs_fx_free(fx);
}

static void test_features_and_config(void **state)
{
	struct fx *fx = vs_fx_new();
	uint64_t cid = 0;

	(void)state;
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_VSOCK);
	assert_int_equal(mmio_driver_device_features(fx->t), V1 | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	fx->t->dev.ops->read(&fx->t->dev, VIRTIO_MMIO_CONFIG, (uint8_t *)&cid, 8);
	assert_int_equal(cid, CID);
	fx->t->dev.ops->read(&fx->t->dev, VIRTIO_MMIO_CONFIG + 4, (uint8_t *)&cid, 4);
	assert_int_equal((uint32_t)cid, 0);
	assert_string_equal(vsock_stat_names[VSOCK_STAT_CONNS_ADDED], "conns_added");
	vs_fx_free(fx);
}

/* ---- guest-initiated -------------------------------------------------------- */

static void test_guest_connect_data_both_ways(void **state)
{
	struct fx *fx = vs_fx_new();
	int lfd = vs_host_listen(fx, 1234), s;
	uint8_t *out = vs_pattern(70000, 3), *in = malloc(70000);
	struct vsock_hdr h;
	uint32_t got = 0;

	(void)state;
	s = vs_guest_connect(fx, lfd, 1234);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_CONNS_ADDED), 1);
	/* guest -> host: split header/payload chains, byte-exact */
	vs_guest_send(fx, VSOCK_OP_RW, 1000, 1234, 0, out, 5000);
	vs_guest_send(fx, VSOCK_OP_RW, 1000, 1234, 0, out + 5000, 60000);
	vs_read_exact(s, in, 65000);
	assert_memory_equal(in, out, 65000);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_TX_BYTES), 65000);
	/* host -> guest, into 4 KiB buffers */
	vs_write_all(s, out, 20000);
	while (got < 20000) {
		vs_rx_post(fx, 4, 4096);
		vs_pump(fx);
		while (vs_rx_take(fx, &h, in + got, 4096 - VSOCK_HDR_LEN)) {
			if (h.op == VSOCK_OP_CREDIT_UPDATE)
				continue; /* we forwarded 65000 bytes: the guest hears of it */
			assert_int_equal(h.op, VSOCK_OP_RW);
			assert_int_equal(h.src_port, 1234);
			assert_int_equal(h.dst_port, 1000);
			got += h.len;
		}
	}
	assert_int_equal(got, 20000);
	assert_memory_equal(in, out, 20000);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_RX_BYTES), 20000);
	/* the guest closes: RST, the host program sees the end */
	vs_guest_send(fx, VSOCK_OP_RST, 1000, 1234, 0, NULL, 0);
	vs_expect_closed(s);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_CONNS_REMOVED), 1);
	close(s);
	close(lfd);
	free(out);
	free(in);
	vs_fx_free(fx);
}

static void test_guest_connect_refused(void **state)
{
	struct fx *fx = vs_fx_new();

	(void)state;
	/* No program listens on port 7: RST back, nothing added. */
	vs_guest_send(fx, VSOCK_OP_REQUEST, 1000, 7, 0, NULL, 0);
	vs_rx_post(fx, 1, 4096);
	vs_expect_op(fx, VSOCK_OP_RST, 7, 1000);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_CONNS_ADDED), 0);
	/* Packets for a connection that does not exist get an RST; an RST
	 * for one gets nothing. */
	vs_guest_send(fx, VSOCK_OP_RW, 1001, 8, 0, "x", 1);
	vs_guest_send(fx, VSOCK_OP_RST, 1002, 8, 0, NULL, 0);
	vs_rx_post(fx, 2, 4096);
	vs_expect_op(fx, VSOCK_OP_RST, 8, 1001);
	vs_expect_nothing(fx);
	vs_fx_free(fx);
}

static void test_control_packets_wait_for_rx_buffers(void **state)
{
	struct fx *fx = vs_fx_new();
	int lfd = vs_host_listen(fx, 5), s;

	(void)state;
	vs_guest_send(fx, VSOCK_OP_REQUEST, 1000, 5, 0, NULL, 0);
	vs_guest_send(fx, VSOCK_OP_REQUEST, 1001, 6, 0, NULL, 0); /* refused */
	s = accept(lfd, NULL, NULL);
	assert_true(s >= 0);
	vs_pump(fx);
	vs_expect_nothing(fx);
	/* A buffer too small for a header comes back empty. */
	vs_rx_post(fx, 1, 10);
	{
		uint32_t id, len;

		assert_true(vq_driver_take_used(&fx->rx, &id, &len));
		assert_int_equal(len, 0);
	}
	vs_rx_post(fx, 1, 4096);
	vs_expect_op(fx, VSOCK_OP_RST, 6, 1001);
	vs_rx_post(fx, 1, 4096);
	vs_expect_op(fx, VSOCK_OP_RESPONSE, 5, 1000);
	close(s);
	close(lfd);
	vs_fx_free(fx);
}

/* ---- host-initiated --------------------------------------------------------- */

static void test_hostile_headers(void **state)
{
	struct fx *fx = vs_fx_new();
	int lfd = vs_host_listen(fx, 3), s;
	uint8_t b[VSOCK_HDR_LEN + 8];
	struct vsock_hdr h;
	uint64_t bad_cid = 9;
	uint16_t bad_type = 2, op;

	(void)state;
	s = vs_guest_connect(fx, lfd, 3);
	/* Shorter than a header. */
	vs_hdr_make(fx, b, VSOCK_OP_RW, 1000, 3, 0, 0);
	vs_tx_raw(fx, b, 20, NULL, 0, 1);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_TX_MALFORMED), 1);
	/* Wrong CIDs: counted, no answer, the connection lives. */
	vs_hdr_make(fx, b, VSOCK_OP_RW, 1000, 3, 0, 0);
	memcpy(b, &bad_cid, 8);
	vs_tx_raw(fx, b, VSOCK_HDR_LEN, NULL, 0, 1);
	vs_hdr_make(fx, b, VSOCK_OP_RW, 1000, 3, 0, 0);
	memcpy(b + 8, &bad_cid, 8);
	vs_tx_raw(fx, b, VSOCK_HDR_LEN, NULL, 0, 1);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_TX_MALFORMED), 3);
	vs_rx_post(fx, 1, 4096);
	vs_expect_nothing(fx);
	/* Unknown ops, bad types, lengths past the payload or the maximum,
	 * on unknown pairs: RST each (but never for an RST). */
	for (op = 0; op < 2; op++) {
		vs_hdr_make(fx, b, op ? 9 : VSOCK_OP_INVALID, 2000 + op, 3, 0, 0);
		vs_tx_raw(fx, b, VSOCK_HDR_LEN, NULL, 0, 1);
	}
	vs_hdr_make(fx, b, VSOCK_OP_RW, 2002, 3, 0, 0);
	memcpy(b + 28, &bad_type, 2);
	vs_tx_raw(fx, b, VSOCK_HDR_LEN, NULL, 0, 1);
	vs_hdr_make(fx, b, VSOCK_OP_RW, 2003, 3, 0, 9);
	vs_tx_raw(fx, b, VSOCK_HDR_LEN, "12345678", 8, 1);
	vs_hdr_make(fx, b, VSOCK_OP_RW, 2004, 3, 0, VSOCK_MAX_PAYLOAD + 1);
	vs_tx_raw(fx, b, VSOCK_HDR_LEN, "12345678", 8, 1);
	vs_hdr_make(fx, b, VSOCK_OP_RST, 2005, 3, 0, 0);
	memcpy(b + 28, &bad_type, 2);
	vs_tx_raw(fx, b, VSOCK_HDR_LEN, NULL, 0, 1);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_TX_MALFORMED), 9);
	vs_rx_post(fx, 4, 4096); /* the first went with the first RST */
	for (op = 0; op < 5; op++)
		vs_expect_op(fx, VSOCK_OP_RST, 3, 2000 + op);
	vs_rx_post(fx, 1, 4096);
	vs_expect_nothing(fx);
	/* A broken header naming a live connection resets it. */
	vs_hdr_make(fx, b, VSOCK_OP_RW, 1000, 3, 0, 100);
	vs_tx_raw(fx, b, VSOCK_HDR_LEN, "12345678", 8, 1);
	vs_expect_op(fx, VSOCK_OP_RST, 3, 1000);
	vs_expect_closed(s);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_CONNS_KILLED), 1);
	/* A second REQUEST on a live pair kills it too. */
	close(s);
	s = vs_guest_connect(fx, lfd, 3);
	vs_guest_send(fx, VSOCK_OP_REQUEST, 1000, 3, 0, NULL, 0);
	vs_rx_post(fx, 1, 4096);
	assert_true(vs_rx_take(fx, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_RST);
	vs_expect_closed(s);
	/* Nothing else went out; the device is still fine. */
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS), 0xf);
	close(s);
	close(lfd);
	vs_fx_free(fx);
}

static void test_orphan_rsts_are_bounded(void **state)
{
	struct fx *fx = vs_fx_new();
	struct vsock_hdr h;
	unsigned n = 0;

	(void)state;
	for (unsigned i = 0; i < VSOCK_ORPHAN_RST_MAX + 20; i++)
		vs_guest_send(fx, VSOCK_OP_CREDIT_REQUEST, 1000 + i, 5, 0, NULL, 0);
	for (unsigned i = 0; i < 3; i++) {
		vs_rx_post(fx, QSZ / 2, 256);
		vs_pump(fx);
		while (vs_rx_take(fx, &h, NULL, 0)) {
			assert_int_equal(h.op, VSOCK_OP_RST);
			assert_int_equal(h.dst_port, 1000 + n);
			n++;
		}
	}
	assert_int_equal(n, VSOCK_ORPHAN_RST_MAX);
	vs_fx_free(fx);
}

/* A connection the guest opens and resets before it posted RX buffers
 * leaves its slot in the work queue; the next connection in that slot
 * must not be queued a second time. It was, so 1100 such cycles wrapped
 * the 1024-entry queue over a live connection, whose RESPONSE was lost. */
static void test_request_reset_cycles_keep_the_work_queue(void **state)
{
	struct fx *fx = vs_fx_new();
	int lfd = vs_host_listen(fx, 9), live;
	struct vsock *v = vsock_of(fx->t);

	(void)state;
	vs_guest_send(fx, VSOCK_OP_REQUEST, 999, 9, 0, NULL, 0);
	live = accept(lfd, NULL, NULL);
	assert_true(live >= 0);
	for (unsigned i = 0; i < 1100; i++) {
		int s;

		vs_guest_send(fx, VSOCK_OP_REQUEST, 1000, 9, 0, NULL, 0);
		s = accept(lfd, NULL, NULL);
		assert_true(s >= 0);
		close(s);
		vs_guest_send(fx, VSOCK_OP_RST, 1000, 9, 0, NULL, 0);
		assert_in_range(v->wq_len, 1, 2);
	}
	vs_rx_post(fx, 1, 4096);
	vs_expect_op(fx, VSOCK_OP_RESPONSE, 9, 999);
	vs_expect_nothing(fx);
	close(live);
	close(lfd);
	vs_fx_free(fx);
}

/* ---- limits, reset, snapshot ------------------------------------------------- */

static void test_connection_limit(void **state)
{
	struct fx *fx = vs_fx_new();
	int *fds = malloc(sizeof(int) * (VSOCK_MAX_CONNS + 1)), extra;

	(void)state;
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		fds[i] = vs_unix_connect(fx->uds);
		if (i % 32 == 31)
			vs_pump(fx);
	}
	vs_pump(fx);
	assert_int_equal(vsock_of(fx->t)->nr_conns, VSOCK_MAX_CONNS);
	extra = vs_unix_connect(fx->uds);
	vs_pump(fx);
	vs_expect_closed(extra);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_CONNS_KILLED), 1);
	/* A guest REQUEST beyond the limit is refused too. */
	vs_guest_send(fx, VSOCK_OP_REQUEST, 1000, 3, 0, NULL, 0);
	vs_rx_post(fx, 1, 4096);
	vs_expect_op(fx, VSOCK_OP_RST, 3, 1000);
	assert_int_equal(vs_vstat(fx, VSOCK_STAT_CONNS_KILLED), 2);
	close(extra);
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		close(fds[i]);
	vs_pump(fx);
	assert_int_equal(vsock_of(fx->t)->nr_conns, 0);
	free(fds);
	vs_fx_free(fx);
}

static void test_reset_tears_everything_down(void **state)
{
	struct fx *fx = vs_fx_new();
	int lfd = vs_host_listen(fx, 3), a, b, c;
	uint32_t local;

	(void)state;
	a = vs_guest_connect(fx, lfd, 3);
	b = vs_host_connect(fx, 60, &local);
	c = vs_unix_connect(fx->uds); /* still on its CONNECT line */
	vs_pump(fx);
	vs_guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, "x", 1);
	vs_read_exact(a, &local, 1);
	mmio_driver_write(fx->t, VIRTIO_MMIO_STATUS, 0);
	vs_expect_closed(a);
	vs_expect_closed(b);
	vs_expect_closed(c);
	assert_int_equal(vsock_of(fx->t)->nr_conns, 0);
	/* The listener stays: a new driver gets new connections. */
	vs_bring_up(fx);
	fx->rxd = fx->txd = 0;
	close(b);
	b = vs_host_connect(fx, 61, &local);
	close(a);
	close(b);
	close(c);
	close(lfd);
	vs_fx_free(fx);
}

static void test_save_restore_resets_connections(void **state)
{
	struct fx *fx = vs_fx_new();
	int lfd = vs_host_listen(fx, 3), s;
	struct state_writer w;
	struct state_reader r;
	uint32_t id, len, ev = 0xffffffffu;
	uint64_t cid = CID + 1;

	(void)state;
	s = vs_guest_connect(fx, lfd, 3);
	vs_guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, "ok", 2);
	{
		char buf[2];

		vs_read_exact(s, buf, 2);
	}
	/* The snapshot holds the rings as they are now (a real restore
	 * brings back guest RAM with them). */
	state_writer_init(&w);
	assert_int_equal(fx->t->dev.ops->save(&fx->t->dev, &w), 0);
	/* Hostile records: refused, and the connection is untouched. */
	for (unsigned i = 0; i < 3; i++) {
		uint8_t *copy = malloc(w.len);

		memcpy(copy, w.buf, w.len);
		if (i == 0)
			copy[w.len - 12] ^= 0x40; /* version */
		else if (i == 1)
			memcpy(copy + w.len - 8, &cid, 8);
		state_reader_init(&r, copy, i == 2 ? w.len - 1 : w.len);
		assert_true(fx->t->dev.ops->restore(&fx->t->dev, &r) < 0);
		free(copy);
	}
	assert_int_equal(vsock_of(fx->t)->nr_conns, 1);
	state_reader_init(&r, w.buf, w.len);
	assert_int_equal(fx->t->dev.ops->restore(&fx->t->dev, &r), 0);
	assert_int_equal(state_reader_finish(&r), 0);
	vs_expect_closed(s);
	/* TRANSPORT_RESET waits for an event buffer, then arrives once. */
	vs_pump(fx);
	assert_false(vq_driver_take_used(&fx->ev, &id, &len));
	vq_driver_set_desc(&fx->ev, 0, EVBUF, 2, VIRTQ_DESC_F_WRITE, 0); /* too small */
	vq_driver_post(&fx->ev, 0);
	vq_driver_set_desc(&fx->ev, 1, EVBUF + 16, 4, VIRTQ_DESC_F_WRITE, 0);
	vq_driver_post(&fx->ev, 1);
	vq_driver_set_desc(&fx->ev, 2, EVBUF + 32, 4, VIRTQ_DESC_F_WRITE, 0);
	vq_driver_post(&fx->ev, 2);
	mmio_driver_kick(fx->t, VIRTIO_VSOCK_EVQ);
	assert_true(vq_driver_take_used(&fx->ev, &id, &len));
	assert_int_equal(len, 0);
	assert_true(vq_driver_take_used(&fx->ev, &id, &len));
	assert_int_equal(id, 1);
	assert_int_equal(len, 4);
	memcpy(&ev, fx->rx.ram + EVBUF + 16, 4);
	assert_int_equal(ev, VSOCK_EVENT_TRANSPORT_RESET);
	assert_false(vq_driver_take_used(&fx->ev, &id, &len));
	/* After the event the guest connects again. */
	close(s);
	s = vs_guest_connect(fx, lfd, 3);
	close(s);
	close(lfd);
	state_writer_free(&w);
	vs_fx_free(fx);
}

static void test_restore_delivers_event_through_the_loop(void **state)
{
	struct fx *fx = vs_fx_new();
	struct state_writer w;
	struct state_reader r;
	uint32_t id, len;

	(void)state;
	/* The guest already posted its event buffer before the snapshot. */
	vq_driver_set_desc(&fx->ev, 0, EVBUF, 4, VIRTQ_DESC_F_WRITE, 0);
	vq_driver_post(&fx->ev, 0);
	state_writer_init(&w);
	assert_int_equal(fx->t->dev.ops->save(&fx->t->dev, &w), 0);
	state_reader_init(&r, w.buf, w.len);
	assert_int_equal(fx->t->dev.ops->restore(&fx->t->dev, &r), 0);
	/* Not from the restoring thread: the event loop delivers it. */
	assert_false(vq_driver_take_used(&fx->ev, &id, &len));
	vs_pump(fx);
	assert_true(vq_driver_take_used(&fx->ev, &id, &len));
	assert_int_equal(len, 4);
	state_writer_free(&w);
	vs_fx_free(fx);
}

/* The racing guest: with a connection open and data flowing from the
 * host program, one thread rewrites the three queues' rings and writes
 * registers, another the TX packets (headers, lengths, ops, ports), while
 * the device serves as the event loop does. Nothing crashes or leaves
 * guest RAM, the walker's bound holds on every queue, and after a reset a
 * new connection carries data both ways. */
static void test_survives_a_racing_guest(void **state)
{
	struct fx *fx = vs_fx_new();
	int lfd = vs_host_listen(fx, 1234), s, c;
	struct racer rings = { .ram = fx->rx.ram, .len = EVOFF + 0x1000, .regs = fx->t };
	struct racer pkts = { .ram = fx->rx.ram + TXBUF, .len = 16 * SLOT, .seed = 11 };
	uint8_t hdr[VSOCK_HDR_LEN], data[4096], *out = vs_pattern(3000, 1), in[3000];

	(void)state;
	s = vs_guest_connect(fx, lfd, 1234);
	vs_rx_post(fx, QSZ / 2, 4096);
	for (unsigned i = 0; i < 16; i++) {
		uint16_t d = (uint16_t)(fx->txd++ % QSZ);

		vs_hdr_make(fx, hdr, VSOCK_OP_RW, 1000, 1234, 0, 100);
		memcpy(fx->rx.ram + TXBUF + (uint64_t)d * SLOT, hdr, sizeof(hdr));
		vq_driver_set_desc(&fx->tx, d, TXBUF + (uint64_t)d * SLOT, sizeof(hdr) + 100, 0, 0);
		vq_driver_post(&fx->tx, d);
	}
	memset(data, 0x77, sizeof(data));
	assert_int_equal(racer_start(&rings), 0);
	assert_int_equal(racer_start(&pkts), 0);
	for (unsigned i = 0; i < 3000 || (racer_steps(&rings) < 30000 && i < 3000000); i++) {
		(void)!send(s, data, sizeof(data), MSG_DONTWAIT | MSG_NOSIGNAL);
		while (recv(s, in, sizeof(in), MSG_DONTWAIT) > 0)
			;
		for (unsigned q = 0; q < 3; q++)
			virtio_mmio_notify(fx->t, q);
		sched_yield();
		virtio_mmio_backend_event(fx->t);
		assert_true(racer_within_bound(fx->t));
	}
	assert_true(racer_stop(&rings) >= 30000);
	assert_true(racer_stop(&pkts) > 0);
	close(s);
	/* Start over: a reset drops every connection; the storm's own
	 * connections to the listener are taken and closed. */
	mmio_driver_write(fx->t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(fcntl(lfd, F_SETFL, O_NONBLOCK), 0);
	while ((c = accept(lfd, NULL, NULL)) >= 0)
		close(c);
	assert_int_equal(fcntl(lfd, F_SETFL, 0), 0);
	fx->rxd = fx->txd = 0;
	vs_bring_up(fx);
	s = vs_guest_connect(fx, lfd, 1234);
	vs_guest_send(fx, VSOCK_OP_RW, 1000, 1234, 0, out, 3000);
	vs_read_exact(s, in, 3000);
	assert_memory_equal(in, out, 3000);
	close(s);
	close(lfd);
	free(out);
	vs_fx_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_refuses),
		cmocka_unit_test(test_existing_path_refused_and_unlinked_on_destroy),
		cmocka_unit_test(test_features_and_config),
		cmocka_unit_test(test_guest_connect_data_both_ways),
		cmocka_unit_test(test_guest_connect_refused),
		cmocka_unit_test(test_control_packets_wait_for_rx_buffers),
		cmocka_unit_test(test_hostile_headers),
		cmocka_unit_test(test_orphan_rsts_are_bounded),
		cmocka_unit_test(test_request_reset_cycles_keep_the_work_queue),
		cmocka_unit_test(test_connection_limit),
		cmocka_unit_test(test_reset_tears_everything_down),
		cmocka_unit_test(test_save_restore_resets_connections),
		cmocka_unit_test(test_restore_delivers_event_through_the_loop),
		cmocka_unit_test(test_survives_a_racing_guest),
	};

	log_set_level(LOG_ERROR);
	signal(SIGPIPE, SIG_IGN); /* a failing test must report, not die */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
