/* virtio-net internals shared by net.c (setup, config, snapshot), net_tx.c
 * and net_rx.c. Everything runs under dev.lock on the thread serving the
 * device (the event loop), so no field needs its own locking except the
 * counters, which other threads read. */
#ifndef EMBER_VIRTIO_NET_INTERNAL_H
#define EMBER_VIRTIO_NET_INTERNAL_H

#include <stdatomic.h>

#include "devices/virtio/net.h"

/* A TX chain the TAP refused with -EAGAIN stays in the avail ring and is
 * retried after this long (the TAP's poll fd only says "readable"). */
#define NET_TX_RETRY_NS 200000L
/* After a hard TAP read error, stop polling it this long rather than spin. */
#define NET_RX_RETRY_NS 10000000L
#define NET_RX_BUF_LEN (VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME)

struct net {
	struct virtio_mmio t;
	struct hal_tap *tap;
	int tap_fd;     /* the TAP's poll fd, or -1 */
	int ep_fd;      /* our event_fd: an epoll set of tap_fd and timer_fd */
	int timer_fd;
	bool tap_polled; /* tap_fd is in ep_fd */
	bool tx_retry;   /* the timer should resume TX */
	bool rx_retry;   /* the timer should resume polling the TAP */
	bool has_mac;
	uint16_t mtu;
	/* RX: one frame (vnet header first) read from the TAP and not yet
	 * in guest buffers. */
	bool rx_pending;
	bool rx_waiting; /* rx_pending and the ring had too few buffers */
	size_t rx_len;
	uint8_t *rx_buf;
	uint8_t config[VIRTIO_NET_CONFIG_LEN];
	struct virtq_chain chain;
	struct virtq_chain first; /* an MRG frame's first chain, for num_buffers */
	uint16_t heads[VIRTQ_MAX_SIZE];
	uint32_t lens[VIRTQ_MAX_SIZE];
	_Atomic uint64_t stats[NET_STAT_COUNT];
};

static inline struct net *net_of(struct virtio_mmio *t)
{
	return (struct net *)t;
}

/* Only the serving thread bumps counters, under dev.lock: a relaxed load
 * and store is enough for readers elsewhere to see whole values. */
static inline void net_count(struct net *n, enum net_stat s, uint64_t v)
{
	atomic_store_explicit(&n->stats[s], atomic_load_explicit(&n->stats[s], memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static inline bool net_queue_live(struct net *n, unsigned q)
{
	return virtio_mmio_live(&n->t) && n->t.queues[q].ready;
}

/* Gives the last k popped chains of queue q back to the avail ring: they
 * will be popped again. The driver cannot reuse them meanwhile (they are
 * not in the used ring), so re-reading their descriptors is safe. */
void net_unpop(struct net *n, unsigned q, unsigned k);
/* Starts or stops watching the TAP for RX. */
void net_poll_tap(struct net *n, bool on);
/* Wakes the device's event_fd after `ns` nanoseconds. */
void net_arm_timer(struct net *n, long ns);

/* Sends what the TX ring holds, at most a ring's worth per call. */
void net_tx_run(struct net *n);
/* Moves frames from the TAP to the RX ring, at most a ring's worth. */
void net_rx_run(struct net *n);

#endif
