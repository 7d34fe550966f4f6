/* virtio-vsock through the transport, driven by the synthetic driver, with
 * real Unix sockets in a private directory playing the host programs:
 * guest- and host-initiated connections with data both ways byte-exact,
 * RST paths, credit both ways, SHUTDOWN, hostile headers and CONNECT
 * lines, the connection limit, reset, save/restore with TRANSPORT_RESET. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio/vsock_internal.h"
#include "tests/virtio/mmio_driver.h"
#include "tests/virtio/vq_driver.h"
#include "vmm/log.h"

#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define CID 42u
#define QSZ 64
#define RAM (12u << 20)
/* Each queue's rings in their own 64 KiB, seen through a vq_driver whose
 * RAM starts there; buffers sit at fixed slots per descriptor. */
#define TXOFF 0x10000u
#define EVOFF 0x20000u
#define SLOT 0x11000u
#define RXBUF 0x100000u
#define TXBUF 0x600000u
#define EVBUF 0xb00000u

struct fx {
	struct vq_driver rx, tx, ev;
	struct virtio_mmio *t;
	char dir[64], uds[128];
	uint16_t rxd, txd, evd;
	uint32_t buf_alloc, fwd_cnt; /* what the test guest advertises */
	unsigned irqs;
};

static void on_irq(void *opaque)
{
	((struct fx *)opaque)->irqs++;
}

static void view(struct fx *fx, struct vq_driver *d, uint32_t off)
{
	d->ram = fx->rx.ram + off;
	d->ram_size = 0x10000;
	d->size = QSZ;
}

static void setup_queue_at(struct virtio_mmio *t, unsigned q, uint32_t off)
{
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_SEL, q);
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_NUM, QSZ);
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW, off + (uint32_t)VQ_DRIVER_DESC);
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, off + (uint32_t)VQ_DRIVER_AVAIL);
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, off + (uint32_t)VQ_DRIVER_USED);
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
}

static void bring_up(struct fx *fx)
{
	uint32_t s = mmio_driver_negotiate(fx->t, V1 | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));

	memset(fx->rx.ram, 0, 0x30000);
	fx->rx.avail_idx = fx->tx.avail_idx = fx->ev.avail_idx = 0;
	fx->rx.used_seen = fx->tx.used_seen = fx->ev.used_seen = 0;
	setup_queue_at(fx->t, VIRTIO_VSOCK_RXQ, 0);
	setup_queue_at(fx->t, VIRTIO_VSOCK_TXQ, TXOFF);
	setup_queue_at(fx->t, VIRTIO_VSOCK_EVQ, EVOFF);
	mmio_driver_write(fx->t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS), 0xf);
}

static struct fx *fx_new_timeout(uint32_t timeout_ms)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct virtio_mmio_hooks hooks = { on_irq, NULL, fx };
	struct vsock_config cfg = { .guest_cid = CID, .connect_timeout_ms = timeout_ms };

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/ember-vsock-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->uds, sizeof(fx->uds), "%s/v.sock", fx->dir);
	cfg.uds_path = fx->uds;
	assert_int_equal(vq_driver_init(&fx->rx, RAM, QSZ), 0);
	view(fx, &fx->tx, TXOFF);
	view(fx, &fx->ev, EVOFF);
	assert_int_equal(vsock_create(&fx->rx.mem, &cfg, &hooks, &fx->t), 0);
	fx->buf_alloc = 1u << 20;
	bring_up(fx);
	return fx;
}

static struct fx *fx_new(void)
{
	return fx_new_timeout(0);
}

static void fx_free(struct fx *fx)
{
	char p[160];

	if (fx->t)
		fx->t->dev.ops->destroy(&fx->t->dev);
	/* destroy unlinked the listener; test listeners are ours to remove */
	for (unsigned port = 0; port < 2000; port++) {
		snprintf(p, sizeof(p), "%s_%u", fx->uds, port);
		unlink(p);
	}
	assert_int_equal(rmdir(fx->dir), 0);
	vq_driver_fini(&fx->rx);
	free(fx);
}

static uint64_t vstat(struct fx *fx, enum vsock_stat s)
{
	struct vsock_stats st;

	vsock_get_stats(fx->t, &st);
	return st.v[s];
}

/* Serves the device's events until it has been quiet for `ms`. */
static void pump_ms(struct fx *fx, int ms)
{
	for (int i = 0; i < 1000; i++) {
		struct pollfd p = { fx->t->ops->event_fd(fx->t), POLLIN, 0 };

		if (poll(&p, 1, ms) != 1)
			return;
		virtio_mmio_backend_event(fx->t);
	}
	fail_msg("the device's event fd never went quiet");
}

static void pump(struct fx *fx)
{
	pump_ms(fx, 20);
}

static uint16_t next_desc(uint16_t *d)
{
	uint16_t i = *d;

	*d = (uint16_t)((i + 1) % QSZ);
	return i;
}

/* Posts a TX chain of a raw header (+ payload) split over `nseg`
 * descriptors (1 or 2), and kicks. */
static void tx_raw(struct fx *fx, const uint8_t *hdr, uint32_t hdr_len, const void *payload, uint32_t len,
		   unsigned nseg)
{
	uint16_t a = next_desc(&fx->txd);
	uint64_t gpa = TXBUF + (uint64_t)a * SLOT;
	uint32_t id, ulen;

	memcpy(fx->rx.ram + gpa, hdr, hdr_len);
	if (len)
		memcpy(fx->rx.ram + gpa + hdr_len, payload, len);
	if (nseg == 2) {
		uint16_t b = next_desc(&fx->txd);

		vq_driver_set_desc(&fx->tx, a, gpa, hdr_len, VIRTQ_DESC_F_NEXT, b);
		vq_driver_set_desc(&fx->tx, b, gpa + hdr_len, len, 0, 0);
	} else {
		vq_driver_set_desc(&fx->tx, a, gpa, hdr_len + len, 0, 0);
	}
	vq_driver_post(&fx->tx, a);
	mmio_driver_kick(fx->t, VIRTIO_VSOCK_TXQ);
	assert_true(vq_driver_take_used(&fx->tx, &id, &ulen));
	assert_int_equal(id, a);
	assert_int_equal(ulen, 0);
}

static void hdr_make(struct fx *fx, uint8_t *b, uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t flags,
		     uint32_t len)
{
	struct vsock_hdr h = {
		.src_cid = CID, .dst_cid = VSOCK_HOST_CID, .src_port = src_port, .dst_port = dst_port,
		.len = len, .type = VSOCK_TYPE_STREAM, .op = op, .flags = flags,
		.buf_alloc = fx->buf_alloc, .fwd_cnt = fx->fwd_cnt,
	};

	vsock_hdr_encode(&h, b);
}

static void guest_send(struct fx *fx, uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t flags,
		       const void *payload, uint32_t len)
{
	uint8_t b[VSOCK_HDR_LEN];

	hdr_make(fx, b, op, src_port, dst_port, flags, len);
	tx_raw(fx, b, sizeof(b), payload, len, len ? 2 : 1);
}

/* Posts n RX buffers of `len` bytes each, and kicks. */
static void rx_post(struct fx *fx, unsigned n, uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t d = next_desc(&fx->rxd);

		vq_driver_set_desc(&fx->rx, d, RXBUF + (uint64_t)d * SLOT, len, VIRTQ_DESC_F_WRITE, 0);
		vq_driver_post(&fx->rx, d);
	}
	mmio_driver_kick(fx->t, VIRTIO_VSOCK_RXQ);
}

/* Takes the next RX packet: false if none. */
static bool rx_take(struct fx *fx, struct vsock_hdr *h, uint8_t *payload, uint32_t cap)
{
	uint32_t id, len;
	const uint8_t *p;

	if (!vq_driver_take_used(&fx->rx, &id, &len))
		return false;
	assert_true(len >= VSOCK_HDR_LEN);
	p = fx->rx.ram + RXBUF + (uint64_t)id * SLOT;
	vsock_hdr_decode(p, h);
	assert_int_equal(len, VSOCK_HDR_LEN + h->len);
	assert_true(h->len <= cap);
	if (payload)
		memcpy(payload, p + VSOCK_HDR_LEN, h->len);
	assert_int_equal(h->src_cid, VSOCK_HOST_CID);
	assert_int_equal(h->dst_cid, CID);
	assert_int_equal(h->type, VSOCK_TYPE_STREAM);
	assert_int_equal(h->buf_alloc, VSOCK_BUF_ALLOC);
	return true;
}

static void expect_op(struct fx *fx, uint16_t op, uint32_t src_port, uint32_t dst_port)
{
	struct vsock_hdr h;

	assert_true(rx_take(fx, &h, NULL, 0));
	assert_int_equal(h.op, op);
	assert_int_equal(h.src_port, src_port);
	assert_int_equal(h.dst_port, dst_port);
}

static void expect_nothing(struct fx *fx)
{
	struct vsock_hdr h;

	assert_false(rx_take(fx, &h, NULL, 0));
}

static int unix_listen(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(a.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(a.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static int host_listen(struct fx *fx, uint32_t port)
{
	char p[160];

	snprintf(p, sizeof(p), "%s_%u", fx->uds, port);
	return unix_listen(p);
}

static void set_timeout(int fd, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Reads exactly n bytes (1 s at most). */
static void read_exact(int fd, void *buf, size_t n)
{
	size_t got = 0;

	set_timeout(fd, 1000);
	while (got < n) {
		ssize_t r = read(fd, (uint8_t *)buf + got, n - got);

		assert_true(r > 0);
		got += (size_t)r;
	}
}

/* Reading fd gives EOF (or a reset) promptly. */
static void expect_closed(int fd)
{
	char c;
	ssize_t r;

	set_timeout(fd, 1000);
	r = read(fd, &c, 1);
	assert_true(r == 0 || (r < 0 && errno == ECONNRESET));
}

static void write_all(int fd, const void *buf, size_t n)
{
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
}

static uint8_t *pattern(size_t len, uint8_t seed)
{
	uint8_t *p = malloc(len);

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
	return p;
}

/* A guest connection from guest port 1000 to host port `port`, accepted
 * by a test listener: returns the host program's socket. */
static int guest_connect(struct fx *fx, int lfd, uint32_t port)
{
	int s;

	guest_send(fx, VSOCK_OP_REQUEST, 1000, port, 0, NULL, 0);
	s = accept(lfd, NULL, NULL);
	assert_true(s >= 0);
	rx_post(fx, 1, 4096);
	expect_op(fx, VSOCK_OP_RESPONSE, port, 1000);
	return s;
}

/* A host program's connection to guest port `gport`, accepted by the
 * test guest: returns the socket and the host port in *local. */
static int host_connect(struct fx *fx, uint32_t gport, uint32_t *local)
{
	int s = unix_connect(fx->uds);
	char line[32], want[32];
	struct vsock_hdr h;

	snprintf(line, sizeof(line), "CONNECT %u\n", gport);
	write_all(s, line, strlen(line));
	rx_post(fx, 1, 4096);
	pump(fx);
	assert_true(rx_take(fx, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_port, gport);
	assert_true(h.src_port >= VSOCK_LOCAL_PORT_FIRST);
	*local = h.src_port;
	guest_send(fx, VSOCK_OP_RESPONSE, gport, h.src_port, 0, NULL, 0);
	snprintf(want, sizeof(want), "OK %u\n", h.src_port);
	read_exact(s, line, strlen(want));
	assert_memory_equal(line, want, strlen(want));
	return s;
}

/* ---- setup ------------------------------------------------------------------ */

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
	struct fx *fx = fx_new();
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
	fx_free(fx);
}

static void test_features_and_config(void **state)
{
	struct fx *fx = fx_new();
	uint64_t cid = 0;

	(void)state;
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_VSOCK);
	assert_int_equal(mmio_driver_device_features(fx->t), V1 | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	fx->t->dev.ops->read(&fx->t->dev, VIRTIO_MMIO_CONFIG, (uint8_t *)&cid, 8);
	assert_int_equal(cid, CID);
	fx->t->dev.ops->read(&fx->t->dev, VIRTIO_MMIO_CONFIG + 4, (uint8_t *)&cid, 4);
	assert_int_equal((uint32_t)cid, 0);
	assert_string_equal(vsock_stat_names[VSOCK_STAT_CONNS_ADDED], "conns_added");
	fx_free(fx);
}

/* ---- guest-initiated -------------------------------------------------------- */

static void test_guest_connect_data_both_ways(void **state)
{
	struct fx *fx = fx_new();
	int lfd = host_listen(fx, 1234), s;
	uint8_t *out = pattern(70000, 3), *in = malloc(70000);
	struct vsock_hdr h;
	uint32_t got = 0;

	(void)state;
	s = guest_connect(fx, lfd, 1234);
	assert_int_equal(vstat(fx, VSOCK_STAT_CONNS_ADDED), 1);
	/* guest -> host: split header/payload chains, byte-exact */
	guest_send(fx, VSOCK_OP_RW, 1000, 1234, 0, out, 5000);
	guest_send(fx, VSOCK_OP_RW, 1000, 1234, 0, out + 5000, 60000);
	read_exact(s, in, 65000);
	assert_memory_equal(in, out, 65000);
	assert_int_equal(vstat(fx, VSOCK_STAT_TX_BYTES), 65000);
	/* host -> guest, into 4 KiB buffers */
	write_all(s, out, 20000);
	while (got < 20000) {
		rx_post(fx, 4, 4096);
		pump(fx);
		while (rx_take(fx, &h, in + got, 4096 - VSOCK_HDR_LEN)) {
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
	assert_int_equal(vstat(fx, VSOCK_STAT_RX_BYTES), 20000);
	/* the guest closes: RST, the host program sees the end */
	guest_send(fx, VSOCK_OP_RST, 1000, 1234, 0, NULL, 0);
	expect_closed(s);
	assert_int_equal(vstat(fx, VSOCK_STAT_CONNS_REMOVED), 1);
	close(s);
	close(lfd);
	free(out);
	free(in);
	fx_free(fx);
}

static void test_guest_connect_refused(void **state)
{
	struct fx *fx = fx_new();

	(void)state;
	/* No program listens on port 7: RST back, nothing added. */
	guest_send(fx, VSOCK_OP_REQUEST, 1000, 7, 0, NULL, 0);
	rx_post(fx, 1, 4096);
	expect_op(fx, VSOCK_OP_RST, 7, 1000);
	assert_int_equal(vstat(fx, VSOCK_STAT_CONNS_ADDED), 0);
	/* Packets for a connection that does not exist get an RST; an RST
	 * for one gets nothing. */
	guest_send(fx, VSOCK_OP_RW, 1001, 8, 0, "x", 1);
	guest_send(fx, VSOCK_OP_RST, 1002, 8, 0, NULL, 0);
	rx_post(fx, 2, 4096);
	expect_op(fx, VSOCK_OP_RST, 8, 1001);
	expect_nothing(fx);
	fx_free(fx);
}

static void test_control_packets_wait_for_rx_buffers(void **state)
{
	struct fx *fx = fx_new();
	int lfd = host_listen(fx, 5), s;

	(void)state;
	guest_send(fx, VSOCK_OP_REQUEST, 1000, 5, 0, NULL, 0);
	guest_send(fx, VSOCK_OP_REQUEST, 1001, 6, 0, NULL, 0); /* refused */
	s = accept(lfd, NULL, NULL);
	assert_true(s >= 0);
	pump(fx);
	expect_nothing(fx);
	/* A buffer too small for a header comes back empty. */
	rx_post(fx, 1, 10);
	{
		uint32_t id, len;

		assert_true(vq_driver_take_used(&fx->rx, &id, &len));
		assert_int_equal(len, 0);
	}
	rx_post(fx, 1, 4096);
	expect_op(fx, VSOCK_OP_RST, 6, 1001);
	rx_post(fx, 1, 4096);
	expect_op(fx, VSOCK_OP_RESPONSE, 5, 1000);
	close(s);
	close(lfd);
	fx_free(fx);
}

/* ---- host-initiated --------------------------------------------------------- */

static void test_host_connect_data_both_ways(void **state)
{
	struct fx *fx = fx_new();
	uint8_t *out = pattern(10000, 9), in[10000];
	struct vsock_hdr h;
	uint32_t local, local2;
	int s, s2;

	(void)state;
	s = host_connect(fx, 52, &local);
	s2 = host_connect(fx, 52, &local2);
	assert_true(local != local2); /* two connections to the same guest port */
	assert_int_equal(vstat(fx, VSOCK_STAT_CONNS_ADDED), 2);
	write_all(s, out, 3000);
	rx_post(fx, 1, 8192);
	pump(fx);
	assert_true(rx_take(fx, &h, in, sizeof(in)));
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_int_equal(h.src_port, local);
	assert_int_equal(h.dst_port, 52);
	assert_int_equal(h.len, 3000);
	assert_memory_equal(in, out, 3000);
	guest_send(fx, VSOCK_OP_RW, 52, local2, 0, out, 10000);
	read_exact(s2, in, 10000);
	assert_memory_equal(in, out, 10000);
	/* The host program leaves: the guest hears SHUTDOWN(SEND). */
	close(s);
	rx_post(fx, 1, 4096);
	pump(fx);
	assert_true(rx_take(fx, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VSOCK_SHUTDOWN_SEND);
	assert_int_equal(h.src_port, local);
	/* The guest finishes its side too: both are done, RST. */
	guest_send(fx, VSOCK_OP_SHUTDOWN, 52, local, VSOCK_SHUTDOWN_SEND | VSOCK_SHUTDOWN_RCV, NULL, 0);
	rx_post(fx, 1, 4096);
	expect_op(fx, VSOCK_OP_RST, local, 52);
	assert_int_equal(vstat(fx, VSOCK_STAT_CONNS_REMOVED), 1);
	close(s2);
	free(out);
	fx_free(fx);
}

static void test_host_connect_data_after_line(void **state)
{
	struct fx *fx = fx_new();
	int s = unix_connect(fx->uds);
	struct vsock_hdr h;
	uint8_t in[64];
	char ok[32];

	(void)state;
	/* Stream bytes right behind the line belong to the guest. */
	write_all(s, "connect 9\nearly", 15);
	rx_post(fx, 1, 4096);
	pump(fx);
	assert_true(rx_take(fx, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	guest_send(fx, VSOCK_OP_RESPONSE, 9, h.src_port, 0, NULL, 0);
	read_exact(s, ok, 3);
	assert_memory_equal(ok, "OK ", 3);
	rx_post(fx, 1, 4096);
	pump(fx);
	assert_true(rx_take(fx, &h, in, sizeof(in)));
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_int_equal(h.len, 5);
	assert_memory_equal(in, "early", 5);
	close(s);
	fx_free(fx);
}

static void test_host_connect_guest_refuses(void **state)
{
	struct fx *fx = fx_new();
	int s = unix_connect(fx->uds);
	struct vsock_hdr h;

	(void)state;
	write_all(s, "CONNECT 77\n", 11);
	rx_post(fx, 1, 4096);
	pump(fx);
	assert_true(rx_take(fx, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	/* A RESPONSE from the wrong port pair is for nothing: RST. */
	guest_send(fx, VSOCK_OP_RESPONSE, 78, h.src_port, 0, NULL, 0);
	rx_post(fx, 1, 4096);
	expect_op(fx, VSOCK_OP_RST, h.src_port, 78);
	guest_send(fx, VSOCK_OP_RST, 77, h.src_port, 0, NULL, 0);
	expect_closed(s);
	close(s);
	fx_free(fx);
}

static void test_malformed_connect_lines(void **state)
{
	static const char *const lines[] = {
		"HELLO 5\n", "CONNECT\n", "CONNECT \n", "CONNECT 4294967296\n", "CONNECT 12a\n",
		"CONNECT -1\n", "CONNECT 00000000001\n", "CONNECT 1 \n", "0123456789012345678901234567890123",
	};
	struct fx *fx = fx_new_timeout(50);
	uint32_t port;
	int s;

	(void)state;
	for (unsigned i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		s = unix_connect(fx->uds);
		write_all(s, lines[i], strlen(lines[i]));
		pump(fx);
		expect_closed(s);
		close(s);
	}
	assert_int_equal(vstat(fx, VSOCK_STAT_CONNS_KILLED), sizeof(lines) / sizeof(lines[0]));
	/* A line that never ends in time. */
	s = unix_connect(fx->uds);
	write_all(s, "CONN", 4);
	pump_ms(fx, 200);
	expect_closed(s);
	close(s);
	/* A program that leaves before its line is done. */
	s = unix_connect(fx->uds);
	write_all(s, "CONNECT 1", 9);
	pump(fx);
	close(s);
	pump(fx);
	expect_nothing(fx);
	assert_int_equal(vsock_of(fx->t)->nr_conns, 0);
	/* The parser's edges. */
	assert_int_equal(vsock_uds_parse_connect("CONNECT 4294967295\n", 19, &port), 0);
	assert_int_equal(port, UINT32_MAX);
	assert_int_equal(vsock_uds_parse_connect("CONNECT 0\n", 10, &port), 0);
	assert_int_equal(port, 0);
	assert_int_equal(vsock_uds_parse_connect("CONNECT 5", 9, &port), -EINVAL);
	expect_nothing(fx);
	fx_free(fx);
}

/* ---- credit ------------------------------------------------------------------ */

static void test_never_reads_past_guest_credit(void **state)
{
	struct fx *fx = fx_new();
	int lfd = host_listen(fx, 3), s;
	uint8_t *out = pattern(300, 1), in[300];
	struct vsock_hdr h;
	uint32_t got = 0;

	(void)state;
	fx->buf_alloc = 100;
	s = guest_connect(fx, lfd, 3);
	write_all(s, out, 300);
	for (unsigned round = 1; round <= 3; round++) {
		rx_post(fx, 8, 4096);
		pump(fx);
		while (rx_take(fx, &h, in + got, sizeof(in) - got)) {
			assert_int_equal(h.op, VSOCK_OP_RW);
			got += h.len;
		}
		/* Exactly the credit, however many buffers it had. */
		assert_int_equal(got, 100 * round);
		/* The guest consumed it: new credit. */
		fx->fwd_cnt = got;
		guest_send(fx, VSOCK_OP_CREDIT_UPDATE, 1000, 3, 0, NULL, 0);
		pump(fx);
	}
	assert_memory_equal(in, out, 300);
	/* A guest that shrinks buf_alloc below what is in flight gets none. */
	write_all(s, out, 10);
	fx->buf_alloc = 10;
	fx->fwd_cnt = 250;
	guest_send(fx, VSOCK_OP_CREDIT_UPDATE, 1000, 3, 0, NULL, 0);
	pump(fx);
	expect_nothing(fx);
	close(s);
	close(lfd);
	free(out);
	fx_free(fx);
}

static void test_guest_exceeding_our_credit_is_reset(void **state)
{
	struct fx *fx = fx_new();
	int lfd = host_listen(fx, 3), s;
	uint8_t *out = pattern(VSOCK_MAX_PAYLOAD, 1);

	(void)state;
	s = guest_connect(fx, lfd, 3);
	/* The host program does not read; the guest may still send all the
	 * credit we advertised (we buffer what the socket does not take). */
	for (unsigned i = 0; i < VSOCK_BUF_ALLOC / VSOCK_MAX_PAYLOAD; i++)
		guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, out, VSOCK_MAX_PAYLOAD);
	assert_int_equal(vstat(fx, VSOCK_STAT_CONNS_KILLED), 0);
	/* One byte more than advertised. */
	guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, out, 1);
	assert_int_equal(vstat(fx, VSOCK_STAT_CONNS_KILLED), 1);
	rx_post(fx, 1, 4096);
	expect_op(fx, VSOCK_OP_RST, 3, 1000);
	close(s);
	close(lfd);
	free(out);
	fx_free(fx);
}

static void test_buffered_data_reaches_a_slow_reader(void **state)
{
	struct fx *fx = fx_new();
	int lfd = host_listen(fx, 3), s;
	size_t total = VSOCK_BUF_ALLOC;
	uint8_t *out = pattern(total, 5), *in = malloc(total);
	struct vsock_hdr h;
	uint32_t fwd = 0;

	(void)state;
	s = guest_connect(fx, lfd, 3);
	for (size_t off = 0; off < total; off += VSOCK_MAX_PAYLOAD)
		guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, out + off, VSOCK_MAX_PAYLOAD);
	/* Then the guest shuts its side: the host sees all data, then EOF. */
	guest_send(fx, VSOCK_OP_SHUTDOWN, 1000, 3, 0, NULL, 0);
	guest_send(fx, VSOCK_OP_SHUTDOWN, 1000, 3, VSOCK_SHUTDOWN_SEND, NULL, 0);
	for (size_t got = 0; got < total;) {
		ssize_t r;

		pump_ms(fx, 1);
		set_timeout(s, 1000);
		r = read(s, in + got, total - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	assert_memory_equal(in, out, total);
	pump(fx);
	expect_closed(s);
	/* The guest heard the credit come back. */
	rx_post(fx, 8, 4096);
	pump(fx);
	while (rx_take(fx, &h, NULL, 0)) {
		assert_int_equal(h.op, VSOCK_OP_CREDIT_UPDATE);
		fwd = h.fwd_cnt;
	}
	assert_int_equal(fwd, total);
	close(s);
	close(lfd);
	free(out);
	free(in);
	fx_free(fx);
}

static void test_credit_request(void **state)
{
	struct fx *fx = fx_new();
	int lfd = host_listen(fx, 3), s;
	struct vsock_hdr h;

	(void)state;
	s = guest_connect(fx, lfd, 3);
	guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, "abc", 3);
	guest_send(fx, VSOCK_OP_CREDIT_REQUEST, 1000, 3, 0, NULL, 0);
	rx_post(fx, 1, 4096);
	assert_true(rx_take(fx, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(h.fwd_cnt, 3);
	close(s);
	close(lfd);
	fx_free(fx);
}

/* ---- shutdown ---------------------------------------------------------------- */

static void test_shutdown_flags(void **state)
{
	struct fx *fx = fx_new();
	int lfd = host_listen(fx, 3), s;
	struct vsock_hdr h;
	uint8_t in[16];

	(void)state;
	s = guest_connect(fx, lfd, 3);
	/* SEND: the host program reads EOF but may still write. */
	guest_send(fx, VSOCK_OP_SHUTDOWN, 1000, 3, VSOCK_SHUTDOWN_SEND, NULL, 0);
	expect_closed(s);
	write_all(s, "late", 4);
	rx_post(fx, 1, 4096);
	pump(fx);
	assert_true(rx_take(fx, &h, in, sizeof(in)));
	assert_int_equal(h.op, VSOCK_OP_RW);
	assert_memory_equal(in, "late", 4);
	/* RW after the guest said SEND is a protocol error. */
	guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, "x", 1);
	rx_post(fx, 1, 4096);
	expect_op(fx, VSOCK_OP_RST, 3, 1000);
	close(s);
	/* RCV then SEND: the second completes the shutdown, RST. */
	s = guest_connect(fx, lfd, 3);
	guest_send(fx, VSOCK_OP_SHUTDOWN, 1000, 3, VSOCK_SHUTDOWN_RCV, NULL, 0);
	/* The device shut the socket's read side: the program's writes fail
	 * (EPIPE) rather than pile up. */
	assert_int_equal(send(s, "ignored", 7, MSG_NOSIGNAL), -1);
	assert_int_equal(errno, EPIPE);
	rx_post(fx, 1, 4096);
	pump(fx);
	expect_nothing(fx);
	guest_send(fx, VSOCK_OP_SHUTDOWN, 1000, 3, VSOCK_SHUTDOWN_SEND, NULL, 0);
	expect_op(fx, VSOCK_OP_RST, 3, 1000);
	expect_closed(s);
	assert_int_equal(vstat(fx, VSOCK_STAT_CONNS_REMOVED), 2);
	close(s);
	close(lfd);
	fx_free(fx);
}

/* ---- hostile headers ------------------------------------------------------- */

static void test_hostile_headers(void **state)
{
	struct fx *fx = fx_new();
	int lfd = host_listen(fx, 3), s;
	uint8_t b[VSOCK_HDR_LEN + 8];
	struct vsock_hdr h;
	uint64_t bad_cid = 9;
	uint16_t bad_type = 2, op;

	(void)state;
	s = guest_connect(fx, lfd, 3);
	/* Shorter than a header. */
	hdr_make(fx, b, VSOCK_OP_RW, 1000, 3, 0, 0);
	tx_raw(fx, b, 20, NULL, 0, 1);
	assert_int_equal(vstat(fx, VSOCK_STAT_TX_MALFORMED), 1);
	/* Wrong CIDs: counted, no answer, the connection lives. */
	hdr_make(fx, b, VSOCK_OP_RW, 1000, 3, 0, 0);
	memcpy(b, &bad_cid, 8);
	tx_raw(fx, b, VSOCK_HDR_LEN, NULL, 0, 1);
	hdr_make(fx, b, VSOCK_OP_RW, 1000, 3, 0, 0);
	memcpy(b + 8, &bad_cid, 8);
	tx_raw(fx, b, VSOCK_HDR_LEN, NULL, 0, 1);
	assert_int_equal(vstat(fx, VSOCK_STAT_TX_MALFORMED), 3);
	rx_post(fx, 1, 4096);
	expect_nothing(fx);
	/* Unknown ops, bad types, lengths past the payload or the maximum,
	 * on unknown pairs: RST each (but never for an RST). */
	for (op = 0; op < 2; op++) {
		hdr_make(fx, b, op ? 9 : VSOCK_OP_INVALID, 2000 + op, 3, 0, 0);
		tx_raw(fx, b, VSOCK_HDR_LEN, NULL, 0, 1);
	}
	hdr_make(fx, b, VSOCK_OP_RW, 2002, 3, 0, 0);
	memcpy(b + 28, &bad_type, 2);
	tx_raw(fx, b, VSOCK_HDR_LEN, NULL, 0, 1);
	hdr_make(fx, b, VSOCK_OP_RW, 2003, 3, 0, 9);
	tx_raw(fx, b, VSOCK_HDR_LEN, "12345678", 8, 1);
	hdr_make(fx, b, VSOCK_OP_RW, 2004, 3, 0, VSOCK_MAX_PAYLOAD + 1);
	tx_raw(fx, b, VSOCK_HDR_LEN, "12345678", 8, 1);
	hdr_make(fx, b, VSOCK_OP_RST, 2005, 3, 0, 0);
	memcpy(b + 28, &bad_type, 2);
	tx_raw(fx, b, VSOCK_HDR_LEN, NULL, 0, 1);
	assert_int_equal(vstat(fx, VSOCK_STAT_TX_MALFORMED), 9);
	rx_post(fx, 4, 4096); /* the first went with the first RST */
	for (op = 0; op < 5; op++)
		expect_op(fx, VSOCK_OP_RST, 3, 2000 + op);
	rx_post(fx, 1, 4096);
	expect_nothing(fx);
	/* A broken header naming a live connection resets it. */
	hdr_make(fx, b, VSOCK_OP_RW, 1000, 3, 0, 100);
	tx_raw(fx, b, VSOCK_HDR_LEN, "12345678", 8, 1);
	expect_op(fx, VSOCK_OP_RST, 3, 1000);
	expect_closed(s);
	assert_int_equal(vstat(fx, VSOCK_STAT_CONNS_KILLED), 1);
	/* A second REQUEST on a live pair kills it too. */
	close(s);
	s = guest_connect(fx, lfd, 3);
	guest_send(fx, VSOCK_OP_REQUEST, 1000, 3, 0, NULL, 0);
	rx_post(fx, 1, 4096);
	assert_true(rx_take(fx, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_RST);
	expect_closed(s);
	/* Nothing else went out; the device is still fine. */
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS), 0xf);
	close(s);
	close(lfd);
	fx_free(fx);
}

static void test_orphan_rsts_are_bounded(void **state)
{
	struct fx *fx = fx_new();
	struct vsock_hdr h;
	unsigned n = 0;

	(void)state;
	for (unsigned i = 0; i < VSOCK_ORPHAN_RST_MAX + 20; i++)
		guest_send(fx, VSOCK_OP_CREDIT_REQUEST, 1000 + i, 5, 0, NULL, 0);
	for (unsigned i = 0; i < 3; i++) {
		rx_post(fx, QSZ / 2, 256);
		pump(fx);
		while (rx_take(fx, &h, NULL, 0)) {
			assert_int_equal(h.op, VSOCK_OP_RST);
			assert_int_equal(h.dst_port, 1000 + n);
			n++;
		}
	}
	assert_int_equal(n, VSOCK_ORPHAN_RST_MAX);
	fx_free(fx);
}

/* ---- limits, reset, snapshot ------------------------------------------------- */

static void test_connection_limit(void **state)
{
	struct fx *fx = fx_new();
	int *fds = malloc(sizeof(int) * (VSOCK_MAX_CONNS + 1)), extra;

	(void)state;
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		fds[i] = unix_connect(fx->uds);
		if (i % 32 == 31)
			pump(fx);
	}
	pump(fx);
	assert_int_equal(vsock_of(fx->t)->nr_conns, VSOCK_MAX_CONNS);
	extra = unix_connect(fx->uds);
	pump(fx);
	expect_closed(extra);
	assert_int_equal(vstat(fx, VSOCK_STAT_CONNS_KILLED), 1);
	/* A guest REQUEST beyond the limit is refused too. */
	guest_send(fx, VSOCK_OP_REQUEST, 1000, 3, 0, NULL, 0);
	rx_post(fx, 1, 4096);
	expect_op(fx, VSOCK_OP_RST, 3, 1000);
	assert_int_equal(vstat(fx, VSOCK_STAT_CONNS_KILLED), 2);
	close(extra);
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		close(fds[i]);
	pump(fx);
	assert_int_equal(vsock_of(fx->t)->nr_conns, 0);
	free(fds);
	fx_free(fx);
}

static void test_reset_tears_everything_down(void **state)
{
	struct fx *fx = fx_new();
	int lfd = host_listen(fx, 3), a, b, c;
	uint32_t local;

	(void)state;
	a = guest_connect(fx, lfd, 3);
	b = host_connect(fx, 60, &local);
	c = unix_connect(fx->uds); /* still on its CONNECT line */
	pump(fx);
	guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, "x", 1);
	read_exact(a, &local, 1);
	mmio_driver_write(fx->t, VIRTIO_MMIO_STATUS, 0);
	expect_closed(a);
	expect_closed(b);
	expect_closed(c);
	assert_int_equal(vsock_of(fx->t)->nr_conns, 0);
	/* The listener stays: a new driver gets new connections. */
	bring_up(fx);
	fx->rxd = fx->txd = 0;
	close(b);
	b = host_connect(fx, 61, &local);
	close(a);
	close(b);
	close(c);
	close(lfd);
	fx_free(fx);
}

static void test_save_restore_resets_connections(void **state)
{
	struct fx *fx = fx_new();
	int lfd = host_listen(fx, 3), s;
	struct state_writer w;
	struct state_reader r;
	uint32_t id, len, ev = 0xffffffffu;
	uint64_t cid = CID + 1;

	(void)state;
	s = guest_connect(fx, lfd, 3);
	guest_send(fx, VSOCK_OP_RW, 1000, 3, 0, "ok", 2);
	{
		char buf[2];

		read_exact(s, buf, 2);
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
	expect_closed(s);
	/* TRANSPORT_RESET waits for an event buffer, then arrives once. */
	pump(fx);
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
	s = guest_connect(fx, lfd, 3);
	close(s);
	close(lfd);
	state_writer_free(&w);
	fx_free(fx);
}

static void test_restore_delivers_event_through_the_loop(void **state)
{
	struct fx *fx = fx_new();
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
	pump(fx);
	assert_true(vq_driver_take_used(&fx->ev, &id, &len));
	assert_int_equal(len, 4);
	state_writer_free(&w);
	fx_free(fx);
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
		cmocka_unit_test(test_host_connect_data_both_ways),
		cmocka_unit_test(test_host_connect_data_after_line),
		cmocka_unit_test(test_host_connect_guest_refuses),
		cmocka_unit_test(test_malformed_connect_lines),
		cmocka_unit_test(test_never_reads_past_guest_credit),
		cmocka_unit_test(test_guest_exceeding_our_credit_is_reset),
		cmocka_unit_test(test_buffered_data_reaches_a_slow_reader),
		cmocka_unit_test(test_credit_request),
		cmocka_unit_test(test_shutdown_flags),
		cmocka_unit_test(test_hostile_headers),
		cmocka_unit_test(test_orphan_rsts_are_bounded),
		cmocka_unit_test(test_connection_limit),
		cmocka_unit_test(test_reset_tears_everything_down),
		cmocka_unit_test(test_save_restore_resets_connections),
		cmocka_unit_test(test_restore_delivers_event_through_the_loop),
	};

	log_set_level(LOG_ERROR);
	signal(SIGPIPE, SIG_IGN); /* a failing test must report, not die */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
