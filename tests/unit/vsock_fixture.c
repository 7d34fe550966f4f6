/* The virtio-vsock test fixture (see vsock_fixture.h). */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/vsock_fixture.h"

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

void vs_bring_up(struct fx *fx)
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

struct fx *vs_fx_new_timeout(uint32_t timeout_ms)
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
	vs_bring_up(fx);
	return fx;
}

struct fx *vs_fx_new(void)
{
	return vs_fx_new_timeout(0);
}

void vs_fx_free(struct fx *fx)
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

uint64_t vs_vstat(struct fx *fx, enum vsock_stat s)
{
	struct vsock_stats st;

	vsock_get_stats(fx->t, &st);
	return st.v[s];
}

/* Serves the device's events until it has been quiet for `ms`. */
void vs_pump_ms(struct fx *fx, int ms)
{
	for (int i = 0; i < 1000; i++) {
		struct pollfd p = { fx->t->ops->event_fd(fx->t), POLLIN, 0 };

		if (poll(&p, 1, ms) != 1)
			return;
		virtio_mmio_backend_event(fx->t);
	}
	fail_msg("the device's event fd never went quiet");
}

void vs_pump(struct fx *fx)
{
	vs_pump_ms(fx, 20);
}

static uint16_t next_desc(uint16_t *d)
{
	uint16_t i = *d;

	*d = (uint16_t)((i + 1) % QSZ);
	return i;
}

/* Posts a TX chain of a raw header (+ payload) split over `nseg`
 * descriptors (1 or 2), and kicks. */
void vs_tx_raw(struct fx *fx, const uint8_t *hdr, uint32_t hdr_len, const void *payload, uint32_t len,
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

void vs_hdr_make(struct fx *fx, uint8_t *b, uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t flags,
		 uint32_t len)
{
	struct vsock_hdr h = {
		.src_cid = CID, .dst_cid = VSOCK_HOST_CID, .src_port = src_port, .dst_port = dst_port,
		.len = len, .type = VSOCK_TYPE_STREAM, .op = op, .flags = flags,
		.buf_alloc = fx->buf_alloc, .fwd_cnt = fx->fwd_cnt,
	};

	vsock_hdr_encode(&h, b);
}

void vs_guest_send(struct fx *fx, uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t flags,
		   const void *payload, uint32_t len)
{
	uint8_t b[VSOCK_HDR_LEN];

	vs_hdr_make(fx, b, op, src_port, dst_port, flags, len);
	vs_tx_raw(fx, b, sizeof(b), payload, len, len ? 2 : 1);
}

/* Posts n RX buffers of `len` bytes each, and kicks. */
void vs_rx_post(struct fx *fx, unsigned n, uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t d = next_desc(&fx->rxd);

		vq_driver_set_desc(&fx->rx, d, RXBUF + (uint64_t)d * SLOT, len, VIRTQ_DESC_F_WRITE, 0);
		vq_driver_post(&fx->rx, d);
	}
	mmio_driver_kick(fx->t, VIRTIO_VSOCK_RXQ);
}

/* Takes the next RX packet: false if none. */
bool vs_rx_take(struct fx *fx, struct vsock_hdr *h, uint8_t *payload, uint32_t cap)
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

void vs_expect_op(struct fx *fx, uint16_t op, uint32_t src_port, uint32_t dst_port)
{
	struct vsock_hdr h;

	assert_true(vs_rx_take(fx, &h, NULL, 0));
	assert_int_equal(h.op, op);
	assert_int_equal(h.src_port, src_port);
	assert_int_equal(h.dst_port, dst_port);
}

void vs_expect_nothing(struct fx *fx)
{
	struct vsock_hdr h;

	assert_false(vs_rx_take(fx, &h, NULL, 0));
}

int vs_unix_listen(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(a.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

int vs_unix_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(a.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

int vs_host_listen(struct fx *fx, uint32_t port)
{
	char p[160];

	snprintf(p, sizeof(p), "%s_%u", fx->uds, port);
	return vs_unix_listen(p);
}

void vs_set_timeout(int fd, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Reads exactly n bytes (1 s at most). */
void vs_read_exact(int fd, void *buf, size_t n)
{
	size_t got = 0;

	vs_set_timeout(fd, 1000);
	while (got < n) {
		ssize_t r = read(fd, (uint8_t *)buf + got, n - got);

		assert_true(r > 0);
		got += (size_t)r;
	}
}

/* Reading fd gives EOF (or a reset) promptly. */
void vs_expect_closed(int fd)
{
	char c;
	ssize_t r;

	vs_set_timeout(fd, 1000);
	r = read(fd, &c, 1);
	assert_true(r == 0 || (r < 0 && errno == ECONNRESET));
}

void vs_write_all(int fd, const void *buf, size_t n)
{
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
}

uint8_t *vs_pattern(size_t len, uint8_t seed)
{
	uint8_t *p = malloc(len);

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
	return p;
}

/* A guest connection from guest port 1000 to host port `port`, accepted
 * by a test listener: returns the host program's socket. */
int vs_guest_connect(struct fx *fx, int lfd, uint32_t port)
{
	int s;

	vs_guest_send(fx, VSOCK_OP_REQUEST, 1000, port, 0, NULL, 0);
	s = accept(lfd, NULL, NULL);
	assert_true(s >= 0);
	vs_rx_post(fx, 1, 4096);
	vs_expect_op(fx, VSOCK_OP_RESPONSE, port, 1000);
	return s;
}

/* A host program's connection to guest port `gport`, accepted by the
 * test guest: returns the socket and the host port in *local. */
int vs_host_connect(struct fx *fx, uint32_t gport, uint32_t *local)
{
	int s = vs_unix_connect(fx->uds);
	char line[32], want[32];
	struct vsock_hdr h;

	snprintf(line, sizeof(line), "CONNECT %u\n", gport);
	vs_write_all(s, line, strlen(line));
	vs_rx_post(fx, 1, 4096);
	vs_pump(fx);
	assert_true(vs_rx_take(fx, &h, NULL, 0));
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_port, gport);
	assert_true(h.src_port >= VSOCK_LOCAL_PORT_FIRST);
	*local = h.src_port;
	vs_guest_send(fx, VSOCK_OP_RESPONSE, gport, h.src_port, 0, NULL, 0);
	snprintf(want, sizeof(want), "OK %u\n", h.src_port);
	vs_read_exact(s, line, strlen(want));
	assert_memory_equal(line, want, strlen(want));
	return s;
}

