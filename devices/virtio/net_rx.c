/* virtio-net RX: frames read from the TAP into a bounce buffer, then
 * copied into the guest's writable chains. */
#include <errno.h>
#include <string.h>

#include "devices/virtio/net_internal.h"
#include "vmm/log.h"

/* Reads the next frame into rx_buf: 1 with a frame pending, 0 when the
 * TAP is empty, -errno on a read error. Runts are dropped here. */
static int rx_read(struct net *n)
{
	struct iovec iov = { n->rx_buf, NET_RX_BUF_LEN };

	for (;;) {
		ssize_t r = n->tap->ops->readv(n->tap, &iov, 1);

		if (r == -EAGAIN)
			return 0;
		if (r < 0) {
			net_count(n, NET_STAT_RX_FAILS, 1);
			return (int)r;
		}
		if ((size_t)r >= VIRTIO_NET_HDR_LEN) {
			n->rx_pending = true;
			n->rx_len = (size_t)r;
			return 1;
		}
		/* Shorter than the vnet header the TAP was told to add. */
		net_count(n, NET_STAT_RX_DROPPED, 1);
	}
}

static void rx_set_num_buffers(uint8_t *hdr, uint16_t nb)
{
	hdr[VIRTIO_NET_HDR_NUM_BUFFERS] = (uint8_t)nb;
	hdr[VIRTIO_NET_HDR_NUM_BUFFERS + 1] = (uint8_t)(nb >> 8);
}

static void rx_done(struct net *n, bool delivered)
{
	if (delivered) {
		net_count(n, NET_STAT_RX_PACKETS, 1);
		net_count(n, NET_STAT_RX_BYTES, n->rx_len - VIRTIO_NET_HDR_LEN);
	} else {
		net_count(n, NET_STAT_RX_DROPPED, 1);
	}
	n->rx_pending = false;
	n->rx_waiting = false;
}

/* Without MRG_RXBUF a frame goes into one chain (5.1.6.3.1); one that
 * does not fit is dropped and the chain returned empty. */
static int rx_deliver_one(struct net *n)
{
	struct virtq_chain *c = &n->chain;
	int r = virtio_mmio_pop(&n->t, VIRTIO_NET_RXQ, c);

	if (r <= 0)
		return r < 0 ? r : -ENOBUFS;
	if (c->in_len < n->rx_len) {
		virtio_mmio_push(&n->t, VIRTIO_NET_RXQ, c->head, 0);
		rx_done(n, false);
		return 0;
	}
	rx_set_num_buffers(n->rx_buf, 1);
	virtq_chain_write(c, 0, n->rx_buf, n->rx_len);
	virtio_mmio_push(&n->t, VIRTIO_NET_RXQ, c->head, (uint32_t)n->rx_len);
	rx_done(n, true);
	return 0;
}

/* With MRG_RXBUF the frame spans as many chains as it needs; the first
 * chain's header says how many (num_buffers). When the ring runs out
 * first, every chain goes back and the frame waits for more. */
static int rx_deliver_merged(struct net *n)
{
	struct virtq *q = &n->t.queues[VIRTIO_NET_RXQ];
	size_t off = 0;
	unsigned k = 0;
	uint8_t nb[2];

	while (off < n->rx_len) {
		struct virtq_chain *c = k ? &n->chain : &n->first;
		int r = virtio_mmio_pop(&n->t, VIRTIO_NET_RXQ, c);

		if (r < 0)
			return r;
		if (!r)
			break;
		n->heads[k] = c->head;
		n->lens[k] = (uint32_t)virtq_chain_write(c, 0, n->rx_buf + off, n->rx_len - off);
		off += n->lens[k++];
	}
	if (off < n->rx_len) {
		if (k < q->size) {
			net_unpop(n, VIRTIO_NET_RXQ, k);
			return -ENOBUFS;
		}
		/* The whole ring cannot hold it and never will: waiting
		 * would wedge RX for good. */
		for (unsigned i = 0; i < k; i++)
			virtio_mmio_push(&n->t, VIRTIO_NET_RXQ, n->heads[i], 0);
		rx_done(n, false);
		return 0;
	}
	/* The header was copied with the TAP's num_buffers bytes; fix them
	 * now that the count is known (the header may span buffers). */
	nb[0] = (uint8_t)k;
	nb[1] = (uint8_t)(k >> 8);
	virtq_chain_write(&n->first, VIRTIO_NET_HDR_NUM_BUFFERS, nb, sizeof(nb));
	for (unsigned i = 0; i < k; i++)
		virtio_mmio_push(&n->t, VIRTIO_NET_RXQ, n->heads[i], n->lens[i]);
	rx_done(n, true);
	return 0;
}

void net_rx_run(struct net *n)
{
	bool mrg = virtio_mmio_has_feature(&n->t, VIRTIO_NET_F_MRG_RXBUF);
	bool pushed = false;

	if (!net_queue_live(n, VIRTIO_NET_RXQ)) {
		/* Frames stay in the TAP until the driver is ready for them. */
		net_poll_tap(n, false);
		return;
	}
	/* A ring's worth of frames per call; the TAP's fd stays readable
	 * for the rest, so the loop comes back after serving others. */
	for (unsigned i = 0; i < VIRTIO_NET_QUEUE_SIZE; i++) {
		int r;

		if (!n->rx_pending) {
			r = rx_read(n);
			if (!r)
				break;
			if (r < 0) {
				log_error("virtio-net: reading TAP %s: %s; retrying in %ld ms", n->tap->name,
					  strerror(-r), NET_RX_RETRY_NS / 1000000);
				net_poll_tap(n, false);
				n->rx_retry = true;
				net_arm_timer(n, NET_RX_RETRY_NS);
				break;
			}
		}
		r = mrg ? rx_deliver_merged(n) : rx_deliver_one(n);
		if (r == -ENOBUFS) {
			/* Keep the frame and stop reading the TAP until the
			 * driver adds buffers (its kick resumes polling). */
			if (!n->rx_waiting)
				net_count(n, NET_STAT_RX_QUEUE_FULL, 1);
			n->rx_waiting = true;
			net_poll_tap(n, false);
			break;
		}
		if (r < 0)
			break; /* the ring is broken: the device needs a reset */
		pushed = true;
	}
	if (pushed)
		virtio_mmio_flush(&n->t, VIRTIO_NET_RXQ);
}
