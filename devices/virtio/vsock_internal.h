/* virtio-vsock internals shared by vsock.c (transport glue, queues,
 * snapshot), vsock_conn.c (connection table, state machine, credit) and
 * vsock_uds.c (listener, CONNECT lines, host sockets). Everything runs
 * under dev.lock on the thread serving the device, so only the counters
 * (read from other threads) are atomic. */
#ifndef EMBER_VIRTIO_VSOCK_INTERNAL_H
#define EMBER_VIRTIO_VSOCK_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>

#include "devices/virtio/vsock.h"

/* virtio 1.2, 5.10.6: the packet header, little-endian, packed. */
#define VSOCK_HDR_LEN 44
#define VSOCK_TYPE_STREAM 1
enum {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};
#define VSOCK_SHUTDOWN_RCV 1u
#define VSOCK_SHUTDOWN_SEND 2u
#define VSOCK_EVENT_TRANSPORT_RESET 0u
#define VSOCK_CONFIG_LEN 8

/* The largest payload either way in one packet (Linux sends at most
 * 64 KiB); longer TX packets are refused. */
#define VSOCK_MAX_PAYLOAD (64u * 1024)
/* What we advertise per connection: the most guest data we hold for a
 * host socket that does not keep up. */
#define VSOCK_BUF_ALLOC (256u * 1024)
/* We tell the guest about forwarded bytes once this many went unreported,
 * so it never stalls on credit we already freed. */
#define VSOCK_CREDIT_THRESHOLD (VSOCK_BUF_ALLOC / 4)
#define VSOCK_CONNECT_LINE_MAX 32
/* Host ports we hand out for host-initiated connections (Firecracker uses
 * the same range, above anything a guest service listens on). */
#define VSOCK_LOCAL_PORT_FIRST 0x40000000u
#define VSOCK_LOCAL_PORT_LAST 0x7fffffffu
/* RSTs owed for packets that matched no connection; more are dropped. */
#define VSOCK_ORPHAN_RST_MAX 64
#define VSOCK_HASH_SIZE 2048

/* Epoll tags: data.u64 of the device's own fds; connections use their
 * slot index + VSOCK_TAG_CONN. */
#define VSOCK_TAG_TIMER 0u
#define VSOCK_TAG_WAKE 1u
#define VSOCK_TAG_LISTENER 2u
#define VSOCK_TAG_CONN 16u

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

enum vsock_conn_state {
	CONN_FREE = 0,
	CONN_HOST_CONNECT, /* host program accepted; reading its CONNECT line */
	CONN_REQUEST_SENT, /* REQUEST owed or sent to the guest; waiting for RESPONSE */
	CONN_ESTABLISHED,
	CONN_CLOSING,      /* both sides are done; flushing guest data, then RST */
	CONN_DYING,        /* socket closed; an RST is owed to the guest, then the slot frees */
};

/* Control packets a connection owes the guest: flags, so a guest that
 * posts no RX buffers costs at most these bits per connection. */
#define PEND_RESPONSE 1u
#define PEND_REQUEST 2u
#define PEND_RST 4u
#define PEND_CREDIT_UPDATE 8u

struct vsock_conn {
	int fd;
	uint8_t state;
	uint8_t pend;
	uint8_t guest_shut; /* SHUTDOWN flags the guest sent, accumulated */
	bool host_eof;      /* the host socket read 0: nothing more to read */
	bool readable;      /* epoll said readable; unread until credit/buffers allow */
	bool wr_shut;       /* shutdown(SHUT_WR) done on the host socket */
	bool queued;        /* in the RX work queue */
	bool in_hash;
	uint32_t poll_mask; /* events in ep_fd; 0: not registered */
	uint32_t local_port, peer_port; /* host side, guest side */
	/* Host -> guest credit (the guest's buffer). */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	/* Guest -> host credit (ours): bytes taken from the guest, written
	 * to the host socket, and the fwd_cnt the guest last heard. */
	uint32_t rx_cnt, fwd_cnt, fwd_cnt_sent;
	int hnext;
	uint64_t deadline_ns; /* CONN_HOST_CONNECT: when the line must be complete */
	uint8_t line_len;
	char line[VSOCK_CONNECT_LINE_MAX];
	/* Guest data the host socket has not taken yet: a ring of
	 * VSOCK_BUF_ALLOC bytes, allocated on first need. */
	uint8_t *buf;
	uint32_t buf_head, buf_len;
};

struct vsock_orphan {
	uint32_t local_port, peer_port;
};

struct vsock {
	struct virtio_mmio t;
	uint64_t guest_cid;
	char uds_path[VSOCK_UDS_PATH_MAX + 1];
	uint64_t connect_timeout_ns;
	int ep_fd, listen_fd, timer_fd, wake_fd;
	bool timer_armed;
	bool event_pending; /* TRANSPORT_RESET owed to the event queue */
	unsigned nr_conns;  /* slots not CONN_FREE */
	unsigned nr_connecting; /* slots in CONN_HOST_CONNECT */
	uint32_t next_local_port;
	int hash[VSOCK_HASH_SIZE];
	/* RX work: connections with something for the guest, round robin. */
	int wq[VSOCK_MAX_CONNS];
	unsigned wq_head, wq_len;
	struct vsock_orphan orphans[VSOCK_ORPHAN_RST_MAX];
	unsigned nr_orphans;
	struct virtq_chain chain;
	uint8_t bounce[VSOCK_HDR_LEN + VSOCK_MAX_PAYLOAD];
	_Atomic uint64_t stats[VSOCK_STAT_COUNT];
	struct vsock_conn conns[VSOCK_MAX_CONNS];
};

static inline struct vsock *vsock_of(struct virtio_mmio *t)
{
	return (struct vsock *)t;
}

static inline void vsock_count(struct vsock *v, enum vsock_stat s, uint64_t n)
{
	atomic_store_explicit(&v->stats[s], atomic_load_explicit(&v->stats[s], memory_order_relaxed) + n,
			      memory_order_relaxed);
}

void vsock_hdr_decode(const uint8_t *b, struct vsock_hdr *h);
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t *b);
uint64_t vsock_now_ns(void);

/* vsock_conn.c */
void vsock_conns_init(struct vsock *v);
/* Closes every connection without telling the guest (reset, restore,
 * destroy). */
void vsock_conns_drop_all(struct vsock *v);
struct vsock_conn *vsock_conn_alloc(struct vsock *v, int fd, enum vsock_conn_state st);
struct vsock_conn *vsock_conn_find(struct vsock *v, uint32_t local_port, uint32_t peer_port);
void vsock_conn_hash(struct vsock *v, struct vsock_conn *c);
/* Frees the slot and closes the socket; no RST. */
void vsock_conn_remove(struct vsock *v, struct vsock_conn *c);
/* Closes the socket and owes the guest an RST; the slot frees once sent. */
void vsock_conn_kill(struct vsock *v, struct vsock_conn *c);
void vsock_conn_enqueue(struct vsock *v, struct vsock_conn *c);
bool vsock_conn_has_work(const struct vsock_conn *c);
uint32_t vsock_conn_peer_credit(const struct vsock_conn *c);
void vsock_orphan_rst(struct vsock *v, uint32_t local_port, uint32_t peer_port);
/* One validated TX packet (payload: hdr->len bytes). */
void vsock_conn_tx(struct vsock *v, const struct vsock_hdr *h, const uint8_t *payload);
/* Fills one RX chain for c: the bytes written, or 0 with nothing to send
 * (the chain is untouched). */
uint32_t vsock_conn_fill_rx(struct vsock *v, struct vsock_conn *c, const struct virtq_chain *chain);
/* The host socket wrote what we buffered; maybe finishes a close. */
void vsock_conn_after_flush(struct vsock *v, struct vsock_conn *c);

/* vsock_uds.c */
int vsock_uds_listen(struct vsock *v);
void vsock_uds_close_listener(struct vsock *v);
void vsock_uds_accept(struct vsock *v);
/* Reads more of a CONNECT line; on a complete good line the connection
 * moves to CONN_REQUEST_SENT. */
void vsock_uds_read_line(struct vsock *v, struct vsock_conn *c);
/* Parses "CONNECT <port>\n" (the whole line, '\n' included): 0 or -EINVAL. */
int vsock_uds_parse_connect(const char *line, size_t len, uint32_t *port);
/* Connects to "<uds_path>_<port>": the socket, or -errno. */
int vsock_uds_connect(struct vsock *v, uint32_t port);
/* Writes guest data: straight to the socket, the rest into c->buf.
 * 0, or -errno when the socket is dead. */
int vsock_uds_send(struct vsock *v, struct vsock_conn *c, const uint8_t *data, uint32_t len);
/* Writes buffered data: 0, or -errno when the socket is dead. */
int vsock_uds_flush(struct vsock *v, struct vsock_conn *c);
/* Registers the events c needs in ep_fd (none: unregistered). */
void vsock_uds_update_poll(struct vsock *v, struct vsock_conn *c);
void vsock_uds_sweep(struct vsock *v);
void vsock_uds_event(struct vsock *v, struct vsock_conn *c, uint32_t events);

#endif
