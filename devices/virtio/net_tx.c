/* virtio-net TX: guest chains (vnet header + frame) written to the TAP. */
#include <errno.h>
#include <string.h>

#include "devices/virtio/net_internal.h"

/* The guest's header may only ask for what it negotiated: the TAP would
 * otherwise get GSO or checksum requests nobody agreed on. */
static bool tx_header_ok(struct net *n, const uint8_t hdr[VIRTIO_NET_HDR_LEN])
{
	unsigned gso;

	if ((hdr[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !virtio_mmio_has_feature(&n->t, VIRTIO_NET_F_CSUM))
		return false;
	if ((hdr[1] & VIRTIO_NET_HDR_GSO_ECN) && !virtio_mmio_has_feature(&n->t, VIRTIO_NET_F_HOST_ECN))
		return false;
	gso = hdr[1] & ~VIRTIO_NET_HDR_GSO_ECN;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE: return !(hdr[1] & VIRTIO_NET_HDR_GSO_ECN);
	case VIRTIO_NET_HDR_GSO_TCPV4: return virtio_mmio_has_feature(&n->t, VIRTIO_NET_F_HOST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6: return virtio_mmio_has_feature(&n->t, VIRTIO_NET_F_HOST_TSO6);
	default: return false; /* UDP (HOST_UFO is never offered) and unknown types */
	}
}

/* iov = the checked header copy, then the chain's readable part after the
 * header's bytes. Returns the number of entries. */
static int tx_iov(const struct virtq_chain *c, uint8_t hdr[VIRTIO_NET_HDR_LEN], struct iovec *iov)
{
	size_t skip = VIRTIO_NET_HDR_LEN;
	int n = 0;

	iov[n++] = (struct iovec){ hdr, VIRTIO_NET_HDR_LEN };
	for (unsigned i = 0; i < c->nr_out; i++) {
		size_t len = c->iov[i].iov_len;

		if (len <= skip) {
			skip -= len;
			continue;
		}
		iov[n++] = (struct iovec){ (uint8_t *)c->iov[i].iov_base + skip, len - skip };
		skip = 0;
	}
	return n;
}

/* Sends one chain: 0 when it is done with (sent, refused or failed),
 * -EAGAIN when the TAP is full and the chain must wait. */
static int tx_one(struct net *n, const struct virtq_chain *c)
{
	/* The guest can rewrite its header while we look: the TAP gets the
	 * one copy that was checked, never the guest's live bytes. */
	uint8_t hdr[VIRTIO_NET_HDR_LEN];
	struct iovec iov[VIRTQ_MAX_SIZE + 1];
	ssize_t w;

	/* The whole chain is a frame for the host: a writable descriptor
	 * means the driver is confused. So are frames without a full header
	 * or bigger than any TSO frame. */
	if (c->nr_in || c->out_len < VIRTIO_NET_HDR_LEN ||
	    c->out_len > (uint64_t)VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME) {
		net_count(n, NET_STAT_TX_MALFORMED, 1);
		return 0;
	}
	virtq_chain_read(c, 0, hdr, sizeof(hdr));
	if (!tx_header_ok(n, hdr)) {
		net_count(n, NET_STAT_TX_MALFORMED, 1);
		return 0;
	}
	w = n->tap->ops->writev(n->tap, iov, tx_iov(c, hdr, iov));
	if (w == -EAGAIN)
		return -EAGAIN;
	if (w < 0) {
		/* The host refused this frame (e.g. a GSO header the kernel
		 * finds inconsistent); others may go through. Not logged: the
		 * guest could flood the log. */
		net_count(n, NET_STAT_TX_FAILS, 1);
		return 0;
	}
	net_count(n, NET_STAT_TX_PACKETS, 1);
	net_count(n, NET_STAT_TX_BYTES, c->out_len - VIRTIO_NET_HDR_LEN);
	return 0;
}

void net_tx_run(struct net *n)
{
	struct virtio_mmio *t = &n->t;
	unsigned budget, done = 0;
	bool pushed = false;

	n->tx_retry = false;
	if (!net_queue_live(n, VIRTIO_NET_TXQ))
		return;
	/* A ring's worth per call, so a guest that keeps the ring full
	 * cannot keep the event loop (and the other devices) waiting. */
	budget = t->queues[VIRTIO_NET_TXQ].size;
	while (done < budget) {
		if (virtio_mmio_pop(t, VIRTIO_NET_TXQ, &n->chain) <= 0)
			break;
		done++;
		if (tx_one(n, &n->chain) == -EAGAIN) {
			/* Don't drop and don't spin: the chain goes back to
			 * the avail ring and a timer brings us back. */
			net_unpop(n, VIRTIO_NET_TXQ, 1);
			n->tx_retry = true;
			net_arm_timer(n, NET_TX_RETRY_NS);
			break;
		}
		/* TX buffers are only read: nothing written. */
		virtio_mmio_push(t, VIRTIO_NET_TXQ, n->chain.head, 0);
		pushed = true;
	}
	if (done == budget && !n->tx_retry) {
		/* More may wait: come back after the loop served others. */
		n->tx_retry = true;
		net_arm_timer(n, 1);
	}
	if (pushed)
		virtio_mmio_flush(t, VIRTIO_NET_TXQ);
}
