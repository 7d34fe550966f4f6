/* virtio-vsock (virtio 1.2, 5.10): setup, config space, the three queues
 * (RX: packets for the guest; TX: packets from it; event: TRANSPORT_RESET),
 * events from the device's epoll set, reset, save/restore. Connections
 * are vsock_conn.c's, host sockets vsock_uds.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/vsock_internal.h"
#include "boot/le.h"
#include "vmm/log.h"

#define VSOCK_STATE_VERSION 1u
/* "_" and a 32-bit port in decimal after uds_path. */
#define VSOCK_PORT_SUFFIX 11
#define VSOCK_EVENTS_PER_CALL 64

const char *const vsock_stat_names[VSOCK_STAT_COUNT] = {
	[VSOCK_STAT_RX_BYTES] = "rx_bytes_count",
	[VSOCK_STAT_RX_PACKETS] = "rx_packets_count",
	[VSOCK_STAT_TX_BYTES] = "tx_bytes_count",
	[VSOCK_STAT_TX_PACKETS] = "tx_packets_count",
	[VSOCK_STAT_CONNS_ADDED] = "conns_added",
	[VSOCK_STAT_CONNS_KILLED] = "conns_killed",
	[VSOCK_STAT_CONNS_REMOVED] = "conns_removed",
	[VSOCK_STAT_TX_MALFORMED] = "tx_malformed_packets",
};

void vsock_get_stats(const struct virtio_mmio *t, struct vsock_stats *out)
{
	const struct vsock *v = (const struct vsock *)t;

	for (unsigned i = 0; i < VSOCK_STAT_COUNT; i++)
		out->v[i] = atomic_load_explicit(&v->stats[i], memory_order_relaxed);
}

uint64_t vsock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The header is little-endian (virtio 1.x); read it by offset. */
void vsock_hdr_decode(const uint8_t *b, struct vsock_hdr *h)
{
	h->src_cid = le64_read(b);
	h->dst_cid = le64_read(b + 8);
	h->src_port = le32_read(b + 16);
	h->dst_port = le32_read(b + 20);
	h->len = le32_read(b + 24);
	h->type = le16_read(b + 28);
	h->op = le16_read(b + 30);
	h->flags = le32_read(b + 32);
	h->buf_alloc = le32_read(b + 36);
	h->fwd_cnt = le32_read(b + 40);
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t *b)
{
	le64_write(b, h->src_cid);
	le64_write(b + 8, h->dst_cid);
	le32_write(b + 16, h->src_port);
	le32_write(b + 20, h->dst_port);
	le32_write(b + 24, h->len);
	le16_write(b + 28, h->type);
	le16_write(b + 30, h->op);
	le32_write(b + 32, h->flags);
	le32_write(b + 36, h->buf_alloc);
	le32_write(b + 40, h->fwd_cnt);
}

static bool queue_live(struct vsock *v, unsigned q)
{
	return virtio_mmio_live(&v->t) && v->t.queues[q].ready;
}

/* Gives the chain just popped back to the avail ring, untouched. */
static void unpop(struct vsock *v, unsigned q)
{
	v->t.queues[q].last_avail--;
	v->t.requests--;
}

static void wake(struct vsock *v)
{
	uint64_t one = 1;

	if (write(v->wake_fd, &one, sizeof(one)) != sizeof(one))
		log_error("virtio-vsock: waking the event loop: %m");
}

/* What is wrong with a TX header, or NULL. */
static const char *tx_check(const struct vsock *v, const struct vsock_hdr *h, uint64_t payload)
{
	if (h->len > VSOCK_MAX_PAYLOAD || h->len > payload)
		return "length";
	if (h->src_cid != v->guest_cid || h->dst_cid != VSOCK_HOST_CID)
		return "cid";
	if (h->type != VSOCK_TYPE_STREAM)
		return "type";
	if (h->op == VSOCK_OP_INVALID || h->op > VSOCK_OP_CREDIT_REQUEST)
		return "op";
	return NULL;
}

static void tx_one(struct vsock *v, const struct virtq_chain *c)
{
	struct vsock_hdr h;
	uint8_t raw[VSOCK_HDR_LEN];

	if (c->out_len < VSOCK_HDR_LEN) {
		vsock_count(v, VSOCK_STAT_TX_MALFORMED, 1);
		return;
	}
	virtq_chain_read(c, 0, raw, sizeof(raw));
	vsock_hdr_decode(raw, &h);
	if (tx_check(v, &h, c->out_len - VSOCK_HDR_LEN)) {
		struct vsock_conn *conn;

		vsock_count(v, VSOCK_STAT_TX_MALFORMED, 1);
		/* Addressed to us but broken: whatever connection it names
		 * can no longer be trusted. Wrong CIDs get no answer. */
		if (h.src_cid != v->guest_cid || h.dst_cid != VSOCK_HOST_CID)
			return;
		conn = vsock_conn_find(v, h.dst_port, h.src_port);
		if (conn)
			vsock_conn_kill(v, conn);
		else if (h.op != VSOCK_OP_RST)
			vsock_orphan_rst(v, h.dst_port, h.src_port);
		return;
	}
	if (h.op != VSOCK_OP_RW)
		h.len = 0; /* only RW carries data */
	virtq_chain_read(c, VSOCK_HDR_LEN, v->bounce + VSOCK_HDR_LEN, h.len);
	vsock_count(v, VSOCK_STAT_TX_PACKETS, 1);
	vsock_count(v, VSOCK_STAT_TX_BYTES, h.len);
	vsock_conn_tx(v, &h, v->bounce + VSOCK_HDR_LEN);
}

static void tx_run(struct vsock *v)
{
	struct virtio_mmio *t = &v->t;
	unsigned budget, done = 0;

	if (!queue_live(v, VIRTIO_VSOCK_TXQ))
		return;
	/* A ring's worth per call; more waits for the next loop turn, so a
	 * busy guest cannot starve the other devices. */
	budget = t->queues[VIRTIO_VSOCK_TXQ].size;
	while (done < budget && virtio_mmio_pop(t, VIRTIO_VSOCK_TXQ, &v->chain) > 0) {
		done++;
		tx_one(v, &v->chain);
		virtio_mmio_push(t, VIRTIO_VSOCK_TXQ, v->chain.head, 0);
	}
	if (done == budget)
		wake(v);
	if (done)
		virtio_mmio_flush(t, VIRTIO_VSOCK_TXQ);
}

static uint32_t put_orphan_rst(struct vsock *v, const struct virtq_chain *c)
{
	struct vsock_hdr h = {
		.src_cid = VSOCK_HOST_CID, .dst_cid = v->guest_cid,
		.src_port = v->orphans[0].local_port, .dst_port = v->orphans[0].peer_port,
		.type = VSOCK_TYPE_STREAM, .op = VSOCK_OP_RST, .buf_alloc = VSOCK_BUF_ALLOC,
	};

	v->nr_orphans--;
	memmove(v->orphans, v->orphans + 1, v->nr_orphans * sizeof(v->orphans[0]));
	vsock_hdr_encode(&h, v->bounce);
	return (uint32_t)virtq_chain_write(c, 0, v->bounce, VSOCK_HDR_LEN);
}

/* The next packet any connection owes: round robin over the work queue,
 * each connection at most once per chain. */
static uint32_t fill_from_conns(struct vsock *v, const struct virtq_chain *c)
{
	for (unsigned tries = v->wq_len; tries; tries--) {
		struct vsock_conn *conn = &v->conns[v->wq[v->wq_head]];
		uint32_t n = 0;

		v->wq_head = (v->wq_head + 1) % VSOCK_MAX_CONNS;
		v->wq_len--;
		conn->queued = false;
		if (vsock_conn_has_work(conn))
			n = vsock_conn_fill_rx(v, conn, c);
		vsock_conn_enqueue(v, conn);
		if (n)
			return n;
	}
	return 0;
}

static void rx_run(struct vsock *v)
{
	struct virtio_mmio *t = &v->t;
	bool pushed = false;

	if (!queue_live(v, VIRTIO_VSOCK_RXQ))
		return;
	for (unsigned i = 0; i < t->queues[VIRTIO_VSOCK_RXQ].size && (v->nr_orphans || v->wq_len); i++) {
		uint32_t n;

		if (virtio_mmio_pop(t, VIRTIO_VSOCK_RXQ, &v->chain) <= 0)
			break;
		if (v->chain.in_len < VSOCK_HDR_LEN) {
			/* No packet fits: hand it back empty. */
			virtio_mmio_push(t, VIRTIO_VSOCK_RXQ, v->chain.head, 0);
			pushed = true;
			continue;
		}
		n = v->nr_orphans ? put_orphan_rst(v, &v->chain) : fill_from_conns(v, &v->chain);
		if (!n) {
			unpop(v, VIRTIO_VSOCK_RXQ);
			break;
		}
		virtio_mmio_push(t, VIRTIO_VSOCK_RXQ, v->chain.head, n);
		vsock_count(v, VSOCK_STAT_RX_PACKETS, 1);
		pushed = true;
	}
	/* A full ring's worth went out and more waits: come back after the
	 * loop has served others. */
	if (pushed && (v->nr_orphans || v->wq_len))
		wake(v);
	if (pushed)
		virtio_mmio_flush(t, VIRTIO_VSOCK_RXQ);
}

/* Delivers a pending TRANSPORT_RESET into the first event buffer that
 * holds it; smaller buffers go back empty. */
static void evq_run(struct vsock *v)
{
	struct virtio_mmio *t = &v->t;
	uint32_t id = VSOCK_EVENT_TRANSPORT_RESET;
	bool pushed = false;

	for (unsigned i = 0; v->event_pending && queue_live(v, VIRTIO_VSOCK_EVQ) && i < VIRTQ_MAX_SIZE; i++) {
		if (virtio_mmio_pop(t, VIRTIO_VSOCK_EVQ, &v->chain) <= 0)
			break;
		pushed = true;
		if (v->chain.in_len < sizeof(id)) {
			virtio_mmio_push(t, VIRTIO_VSOCK_EVQ, v->chain.head, 0);
			continue;
		}
		virtq_chain_write(&v->chain, 0, &id, sizeof(id));
		virtio_mmio_push(t, VIRTIO_VSOCK_EVQ, v->chain.head, sizeof(id));
		v->event_pending = false;
	}
	if (pushed)
		virtio_mmio_flush(t, VIRTIO_VSOCK_EVQ);
}

static void vsock_process(struct virtio_mmio *t, unsigned q)
{
	struct vsock *v = vsock_of(t);

	if (q == VIRTIO_VSOCK_TXQ)
		tx_run(v);
	else if (q == VIRTIO_VSOCK_EVQ)
		evq_run(v);
	/* TX may have owed the guest answers; an RX kick brings buffers. */
	if (q != VIRTIO_VSOCK_EVQ)
		rx_run(v);
}

static void vsock_on_event(struct virtio_mmio *t)
{
	struct vsock *v = vsock_of(t);
	struct epoll_event evs[VSOCK_EVENTS_PER_CALL];
	int n = epoll_wait(v->ep_fd, evs, VSOCK_EVENTS_PER_CALL, 0);
	uint64_t val;

	for (int i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64;

		if (tag == VSOCK_TAG_TIMER) {
			if (read(v->timer_fd, &val, sizeof(val)) == sizeof(val))
				vsock_uds_sweep(v);
		} else if (tag == VSOCK_TAG_WAKE) {
			if (read(v->wake_fd, &val, sizeof(val)) == sizeof(val))
				tx_run(v);
		} else if (tag == VSOCK_TAG_LISTENER) {
			vsock_uds_accept(v);
		} else if (tag - VSOCK_TAG_CONN < VSOCK_MAX_CONNS) {
			struct vsock_conn *c = &v->conns[tag - VSOCK_TAG_CONN];

			/* An event of this batch may have closed it. */
			if (c->fd >= 0)
				vsock_uds_event(v, c, evs[i].events);
		}
	}
	evq_run(v);
	rx_run(v);
}

static int vsock_event_fd(struct virtio_mmio *t)
{
	return vsock_of(t)->ep_fd;
}

static void vsock_config_read(struct virtio_mmio *t, uint32_t off, uint8_t *data, uint32_t len)
{
	uint8_t cfg[VSOCK_CONFIG_LEN];

	memcpy(cfg, &vsock_of(t)->guest_cid, sizeof(cfg));
	memcpy(data, cfg + off, len);
}

/* The driver is gone: every connection closes (the guest forgot them)
 * and owed packets are dropped. The listener stays. */
static void vsock_reset(struct virtio_mmio *t)
{
	struct vsock *v = vsock_of(t);

	vsock_conns_drop_all(v);
	v->event_pending = false;
}

static void vsock_save(struct virtio_mmio *t, struct state_writer *w)
{
	state_put_u32(w, VSOCK_STATE_VERSION);
	state_put_u64(w, vsock_of(t)->guest_cid);
}

/* Connections do not survive a snapshot (their host ends are other
 * processes' sockets): as Firecracker does, all are dropped and the guest
 * hears TRANSPORT_RESET on the event queue once it has a buffer there. */
static void vsock_restore(struct virtio_mmio *t, struct state_reader *r)
{
	struct vsock *v = vsock_of(t);
	uint32_t version = state_get_u32(r);
	uint64_t cid = state_get_u64(r);

	if (state_reader_error(r))
		return;
	if (version != VSOCK_STATE_VERSION) {
		state_reader_reject(r, "virtio-vsock record: unknown version");
		return;
	}
	if (cid != v->guest_cid) {
		state_reader_reject(r, "virtio-vsock record: the guest CID changed");
		return;
	}
	vsock_conns_drop_all(v);
	v->event_pending = virtio_mmio_live(t);
	if (v->event_pending)
		wake(v); /* the event loop delivers it, not the restoring thread */
}

static void vsock_destroy(struct virtio_mmio *t)
{
	struct vsock *v = vsock_of(t);

	vsock_conns_drop_all(v);
	vsock_uds_close_listener(v);
	if (v->ep_fd >= 0)
		close(v->ep_fd);
	if (v->timer_fd >= 0)
		close(v->timer_fd);
	if (v->wake_fd >= 0)
		close(v->wake_fd);
	free(v);
}

static const struct virtio_backend_ops vsock_ops = {
	.kind = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.config_len = VSOCK_CONFIG_LEN,
	.config_read = vsock_config_read,
	.process = vsock_process,
	.reset = vsock_reset,
	.event_fd = vsock_event_fd,
	.on_event = vsock_on_event,
	.save = vsock_save,
	.restore = vsock_restore,
	.destroy = vsock_destroy,
};

static int vsock_check_config(const struct vsock_config *cfg)
{
	if (cfg->guest_cid < 3 || cfg->guest_cid >= UINT32_MAX)
		return err_fail(-EINVAL, "virtio-vsock: guest CID %llu (3..%u)", (unsigned long long)cfg->guest_cid,
				UINT32_MAX - 1);
	if (!cfg->uds_path || !cfg->uds_path[0])
		return err_fail(-EINVAL, "virtio-vsock: no socket path");
	if (strlen(cfg->uds_path) > VSOCK_UDS_PATH_MAX - VSOCK_PORT_SUFFIX)
		return err_fail(-ENAMETOOLONG, "virtio-vsock: socket path %s is longer than %d bytes", cfg->uds_path,
				VSOCK_UDS_PATH_MAX - VSOCK_PORT_SUFFIX);
	return 0;
}

static int vsock_watch(struct vsock *v, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	if (epoll_ctl(v->ep_fd, EPOLL_CTL_ADD, fd, &ev))
		return err_fail(-errno, "virtio-vsock: epoll_ctl: %m");
	return 0;
}

static int vsock_open_fds(struct vsock *v)
{
	int ret;

	v->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (v->ep_fd < 0)
		return err_fail(-errno, "virtio-vsock: epoll_create1: %m");
	v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (v->timer_fd < 0)
		return err_fail(-errno, "virtio-vsock: timerfd_create: %m");
	v->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (v->wake_fd < 0)
		return err_fail(-errno, "virtio-vsock: eventfd: %m");
	ret = vsock_watch(v, v->timer_fd, VSOCK_TAG_TIMER);
	if (!ret)
		ret = vsock_watch(v, v->wake_fd, VSOCK_TAG_WAKE);
	return ret ? ret : vsock_uds_listen(v);
}

int vsock_create(const struct guest_mem *mem, const struct vsock_config *cfg,
		 const struct virtio_mmio_hooks *hooks, struct virtio_mmio **out)
{
	struct vsock *v;
	int ret = vsock_check_config(cfg);

	if (ret)
		return ret;
	v = calloc(1, sizeof(*v));
	if (!v)
		return err_fail(-ENOMEM, "virtio-vsock: device state");
	ret = virtio_mmio_init(&v->t, &vsock_ops, mem, VIRTIO_BIT(VIRTIO_F_EVENT_IDX), 3, VIRTIO_VSOCK_QUEUE_SIZE,
			       hooks);
	if (ret) {
		free(v);
		return ret;
	}
	v->guest_cid = cfg->guest_cid;
	strcpy(v->uds_path, cfg->uds_path);
	v->connect_timeout_ns =
		(uint64_t)(cfg->connect_timeout_ms ? cfg->connect_timeout_ms : VSOCK_CONNECT_TIMEOUT_MS) * 1000000ULL;
	v->ep_fd = v->listen_fd = v->timer_fd = v->wake_fd = -1;
	vsock_conns_init(v);
	ret = vsock_open_fds(v);
	if (ret) {
		v->t.dev.ops->destroy(&v->t.dev);
		return ret;
	}
	*out = &v->t;
	return 0;
}
