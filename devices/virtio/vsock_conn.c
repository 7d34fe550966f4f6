/* virtio-vsock connections: the table (slots, a hash on the port pair, the
 * RX work queue), the state machine driven by guest packets, and credit
 * both ways. Sockets themselves are vsock_uds.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio/vsock_internal.h"

static unsigned hash_of(uint32_t local, uint32_t peer)
{
	return ((local * 0x9e3779b1u) ^ (peer * 0x85ebca77u)) >> 21 & (VSOCK_HASH_SIZE - 1);
}

void vsock_conns_init(struct vsock *v)
{
	for (unsigned i = 0; i < VSOCK_HASH_SIZE; i++)
		v->hash[i] = -1;
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		v->conns[i].fd = -1;
	v->next_local_port = VSOCK_LOCAL_PORT_FIRST;
}

static int slot_of(struct vsock *v, const struct vsock_conn *c)
{
	return (int)(c - v->conns);
}

struct vsock_conn *vsock_conn_alloc(struct vsock *v, int fd, enum vsock_conn_state st)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conns[i];
		bool queued = c->queued;

		if (c->state != CONN_FREE)
			continue;
		/* A freed slot may still sit in the work queue; it stays there
		 * once, for the new connection, so every slot is queued at
		 * most once and the queue can never hold more than there are
		 * slots. */
		memset(c, 0, sizeof(*c));
		c->queued = queued;
		c->fd = fd;
		c->state = (uint8_t)st;
		c->hnext = -1;
		v->nr_conns++;
		if (st == CONN_HOST_CONNECT)
			v->nr_connecting++;
		return c;
	}
	return NULL;
}

struct vsock_conn *vsock_conn_find(struct vsock *v, uint32_t local_port, uint32_t peer_port)
{
	for (int i = v->hash[hash_of(local_port, peer_port)]; i >= 0; i = v->conns[i].hnext) {
		struct vsock_conn *c = &v->conns[i];

		if (c->local_port == local_port && c->peer_port == peer_port)
			return c;
	}
	return NULL;
}

void vsock_conn_hash(struct vsock *v, struct vsock_conn *c)
{
	unsigned h = hash_of(c->local_port, c->peer_port);

	c->hnext = v->hash[h];
	v->hash[h] = slot_of(v, c);
	c->in_hash = true;
}

static void unhash(struct vsock *v, struct vsock_conn *c)
{
	int *p = &v->hash[hash_of(c->local_port, c->peer_port)];

	if (!c->in_hash)
		return;
	while (*p >= 0 && *p != slot_of(v, c))
		p = &v->conns[*p].hnext;
	if (*p >= 0)
		*p = c->hnext;
	c->in_hash = false;
}

static void close_socket(struct vsock *v, struct vsock_conn *c)
{
	if (c->fd < 0)
		return;
	if (c->poll_mask)
		epoll_ctl(v->ep_fd, EPOLL_CTL_DEL, c->fd, NULL);
	c->poll_mask = 0;
	close(c->fd);
	c->fd = -1;
	c->readable = false;
	c->buf_len = c->buf_head = 0;
	free(c->buf);
	c->buf = NULL;
	if (c->state != CONN_HOST_CONNECT)
		c->state = CONN_DYING;
}

/* Frees the slot. The work queue may still name it: a queued free slot
 * has no work and drops out when reached. */
static void release(struct vsock *v, struct vsock_conn *c)
{
	if (c->state == CONN_HOST_CONNECT)
		v->nr_connecting--;
	close_socket(v, c);
	unhash(v, c);
	c->state = CONN_FREE;
	c->pend = 0;
	v->nr_conns--;
}

void vsock_conn_remove(struct vsock *v, struct vsock_conn *c)
{
	bool counted = c->state != CONN_HOST_CONNECT;

	release(v, c);
	if (counted)
		vsock_count(v, VSOCK_STAT_CONNS_REMOVED, 1);
}

void vsock_conn_kill(struct vsock *v, struct vsock_conn *c)
{
	if (c->state == CONN_DYING)
		return;
	vsock_count(v, VSOCK_STAT_CONNS_KILLED, 1);
	if (c->state == CONN_HOST_CONNECT) {
		/* The guest never heard of it. */
		release(v, c);
		return;
	}
	close_socket(v, c);
	c->pend = PEND_RST;
	vsock_conn_enqueue(v, c);
}

void vsock_conns_drop_all(struct vsock *v)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conns[i].state != CONN_FREE)
			vsock_conn_remove(v, &v->conns[i]);
	v->wq_head = v->wq_len = 0;
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		v->conns[i].queued = false;
	v->nr_orphans = 0;
}

uint32_t vsock_conn_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	/* A guest that shrank buf_alloc below what is in flight has none. */
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static bool can_send_data(const struct vsock_conn *c)
{
	return c->state == CONN_ESTABLISHED && c->readable && !c->host_eof &&
	       !(c->guest_shut & VSOCK_SHUTDOWN_RCV) && vsock_conn_peer_credit(c) > 0;
}

bool vsock_conn_has_work(const struct vsock_conn *c)
{
	return c->state != CONN_FREE && (c->pend || can_send_data(c));
}

void vsock_conn_enqueue(struct vsock *v, struct vsock_conn *c)
{
	if (c->queued || !vsock_conn_has_work(c))
		return;
	c->queued = true;
	v->wq[(v->wq_head + v->wq_len++) % VSOCK_MAX_CONNS] = slot_of(v, c);
}

void vsock_orphan_rst(struct vsock *v, uint32_t local_port, uint32_t peer_port)
{
	/* Dropped when full: only a guest flooding bogus packets without
	 * reading its RX queue gets there, and it only loses its own RSTs. */
	if (v->nr_orphans < VSOCK_ORPHAN_RST_MAX)
		v->orphans[v->nr_orphans++] = (struct vsock_orphan){ local_port, peer_port };
}

/* Both directions are over: flush what the host socket still owes, then
 * reset. Guest data we took is delivered before the RST. */
static void maybe_finish(struct vsock *v, struct vsock_conn *c)
{
	bool guest_done = c->guest_shut & VSOCK_SHUTDOWN_SEND;
	bool host_done = c->host_eof || (c->guest_shut & VSOCK_SHUTDOWN_RCV);

	if (c->state != CONN_ESTABLISHED && c->state != CONN_CLOSING)
		return;
	if (guest_done && !c->buf_len && !c->wr_shut) {
		/* The host program reads EOF once our buffer is through. */
		shutdown(c->fd, SHUT_WR);
		c->wr_shut = true;
	}
	if (!guest_done || !host_done)
		return;
	c->state = CONN_CLOSING;
	if (c->buf_len) {
		vsock_uds_update_poll(v, c);
		return;
	}
	close_socket(v, c);
	c->pend = PEND_RST;
	vsock_conn_enqueue(v, c);
}

void vsock_conn_after_flush(struct vsock *v, struct vsock_conn *c)
{
	/* Room in our buffer the guest does not know about yet. */
	if (c->fwd_cnt - c->fwd_cnt_sent >= VSOCK_CREDIT_THRESHOLD) {
		c->pend |= PEND_CREDIT_UPDATE;
		vsock_conn_enqueue(v, c);
	}
	maybe_finish(v, c);
}

static void tx_request(struct vsock *v, const struct vsock_hdr *h, struct vsock_conn *c)
{
	int fd;

	if (c) {
		/* A second REQUEST on a live pair: the guest lost track. */
		vsock_conn_kill(v, c);
		return;
	}
	if (v->nr_conns >= VSOCK_MAX_CONNS) {
		vsock_count(v, VSOCK_STAT_CONNS_KILLED, 1);
		vsock_orphan_rst(v, h->dst_port, h->src_port);
		return;
	}
	fd = vsock_uds_connect(v, h->dst_port);
	if (fd < 0) {
		vsock_orphan_rst(v, h->dst_port, h->src_port);
		return;
	}
	c = vsock_conn_alloc(v, fd, CONN_ESTABLISHED);
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	vsock_conn_hash(v, c);
	vsock_count(v, VSOCK_STAT_CONNS_ADDED, 1);
	c->pend = PEND_RESPONSE;
	vsock_uds_update_poll(v, c);
	vsock_conn_enqueue(v, c);
}

static void tx_response(struct vsock *v, struct vsock_conn *c)
{
	char ok[24];
	int n;

	if (c->state != CONN_REQUEST_SENT || (c->pend & PEND_REQUEST)) {
		/* A RESPONSE to nothing we asked. */
		vsock_conn_kill(v, c);
		return;
	}
	n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
	/* A fresh socket takes a few bytes at once; one that does not is
	 * broken or its program is gone. */
	if (send(c->fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n) {
		vsock_conn_kill(v, c);
		return;
	}
	c->state = CONN_ESTABLISHED;
	vsock_uds_update_poll(v, c);
}

static void tx_shutdown(struct vsock *v, const struct vsock_hdr *h, struct vsock_conn *c)
{
	uint8_t flags = (uint8_t)(h->flags & (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND));

	if (c->state == CONN_REQUEST_SENT) {
		/* It never accepted this connection. */
		vsock_conn_kill(v, c);
		return;
	}
	if ((flags & VSOCK_SHUTDOWN_RCV) && !(c->guest_shut & VSOCK_SHUTDOWN_RCV)) {
		/* The guest reads no more: stop reading the host for it. */
		shutdown(c->fd, SHUT_RD);
		c->readable = false;
	}
	c->guest_shut |= flags;
	vsock_uds_update_poll(v, c);
	maybe_finish(v, c);
}

static void tx_rw(struct vsock *v, const struct vsock_hdr *h, const uint8_t *payload, struct vsock_conn *c)
{
	if (c->state != CONN_ESTABLISHED || (c->guest_shut & VSOCK_SHUTDOWN_SEND)) {
		vsock_conn_kill(v, c);
		return;
	}
	/* The guest may send what we advertised: buf_alloc less what it
	 * sent beyond the fwd_cnt we last told it. More is a violation, even
	 * if the socket happened to keep up; and since fwd_cnt_sent <=
	 * fwd_cnt, what we hold (rx_cnt - fwd_cnt) stays within buf_alloc. */
	if (c->rx_cnt - c->fwd_cnt_sent + h->len > VSOCK_BUF_ALLOC) {
		vsock_conn_kill(v, c);
		return;
	}
	c->rx_cnt += h->len;
	if (vsock_uds_send(v, c, payload, h->len)) {
		vsock_conn_kill(v, c);
		return;
	}
	vsock_conn_after_flush(v, c);
}

void vsock_conn_tx(struct vsock *v, const struct vsock_hdr *h, const uint8_t *payload)
{
	struct vsock_conn *c = vsock_conn_find(v, h->dst_port, h->src_port);

	if (c && c->state == CONN_DYING)
		return; /* an RST is on its way already */
	if (h->op == VSOCK_OP_REQUEST) {
		tx_request(v, h, c);
		return;
	}
	if (!c) {
		if (h->op != VSOCK_OP_RST)
			vsock_orphan_rst(v, h->dst_port, h->src_port);
		return;
	}
	/* Every packet carries the guest's current credit (5.10.6.3). */
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VSOCK_OP_RESPONSE: tx_response(v, c); break;
	case VSOCK_OP_RST: vsock_conn_remove(v, c); return;
	case VSOCK_OP_SHUTDOWN: tx_shutdown(v, h, c); break;
	case VSOCK_OP_RW: tx_rw(v, h, payload, c); break;
	case VSOCK_OP_CREDIT_REQUEST: c->pend |= PEND_CREDIT_UPDATE; break;
	default: break; /* CREDIT_UPDATE: the credit above was all it said */
	}
	/* New credit may let held host data move. */
	vsock_conn_enqueue(v, c);
}

static uint32_t put_packet(struct vsock *v, struct vsock_conn *c, const struct virtq_chain *chain, uint16_t op,
			   uint32_t flags, uint32_t len)
{
	struct vsock_hdr h = {
		.src_cid = VSOCK_HOST_CID, .dst_cid = v->guest_cid,
		.src_port = c->local_port, .dst_port = c->peer_port,
		.len = len, .type = VSOCK_TYPE_STREAM, .op = op, .flags = flags,
		.buf_alloc = VSOCK_BUF_ALLOC, .fwd_cnt = c->fwd_cnt,
	};

	vsock_hdr_encode(&h, v->bounce);
	c->fwd_cnt_sent = c->fwd_cnt;
	c->pend &= (uint8_t)~PEND_CREDIT_UPDATE; /* every header carries it */
	return (uint32_t)virtq_chain_write(chain, 0, v->bounce, VSOCK_HDR_LEN + (size_t)len);
}

/* Reads host data within the guest's credit and the chain's room. */
static uint32_t fill_data(struct vsock *v, struct vsock_conn *c, const struct virtq_chain *chain)
{
	uint64_t room = chain->in_len - VSOCK_HDR_LEN;
	uint32_t want = vsock_conn_peer_credit(c);
	ssize_t r;

	if (want > room)
		want = (uint32_t)room;
	if (want > VSOCK_MAX_PAYLOAD)
		want = VSOCK_MAX_PAYLOAD;
	if (!want)
		return 0;
	r = recv(c->fd, v->bounce + VSOCK_HDR_LEN, want, MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		c->readable = false;
		vsock_uds_update_poll(v, c);
		return 0;
	}
	if (r < 0) {
		vsock_conn_kill(v, c);
		return 0;
	}
	if (!r) {
		/* The host program will send nothing more. */
		c->host_eof = true;
		c->readable = false;
		vsock_uds_update_poll(v, c);
		maybe_finish(v, c);
		if (c->state == CONN_ESTABLISHED)
			return put_packet(v, c, chain, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND, 0);
		return 0;
	}
	c->tx_cnt += (uint32_t)r;
	vsock_count(v, VSOCK_STAT_RX_BYTES, (uint64_t)r);
	return put_packet(v, c, chain, VSOCK_OP_RW, 0, (uint32_t)r);
}

uint32_t vsock_conn_fill_rx(struct vsock *v, struct vsock_conn *c, const struct virtq_chain *chain)
{
	uint32_t n;

	if (c->pend & PEND_RST) {
		n = put_packet(v, c, chain, VSOCK_OP_RST, 0, 0);
		release(v, c);
		vsock_count(v, VSOCK_STAT_CONNS_REMOVED, 1);
		return n;
	}
	if (c->pend & PEND_RESPONSE) {
		c->pend &= (uint8_t)~PEND_RESPONSE;
		return put_packet(v, c, chain, VSOCK_OP_RESPONSE, 0, 0);
	}
	if (c->pend & PEND_REQUEST) {
		c->pend &= (uint8_t)~PEND_REQUEST;
		return put_packet(v, c, chain, VSOCK_OP_REQUEST, 0, 0);
	}
	if (can_send_data(c) && (n = fill_data(v, c, chain)))
		return n;
	if (c->state != CONN_FREE && c->state != CONN_DYING && (c->pend & PEND_CREDIT_UPDATE))
		return put_packet(v, c, chain, VSOCK_OP_CREDIT_UPDATE, 0, 0);
	return 0;
}
