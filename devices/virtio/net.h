/* virtio-net (virtio 1.2, 5.1) over a HAL TAP: one RX and one TX queue,
 * the virtio_net_hdr_v1 header passed through to the TAP's vnet header,
 * the MAC in config space, and checksum/TSO offloads offered only where
 * the TAP accepts them. With MRG_RXBUF a frame may span several RX
 * buffers; a frame that finds too few waits for the driver's next buffers
 * instead of being dropped. */
#ifndef EMBER_VIRTIO_NET_H
#define EMBER_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/mmio.h"
#include "hal/hal.h"

#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1
/* The largest frame either way: a 64 KiB TSO segment plus its headers. */
#define VIRTIO_NET_MAX_FRAME (65562u)
/* virtio_net_hdr_v1 (5.1.6): with VERSION_1 it is always 12 bytes, the
 * last two being num_buffers, whether or not MRG_RXBUF is negotiated. */
#define VIRTIO_NET_HDR_LEN 12u
#define VIRTIO_NET_HDR_NUM_BUFFERS 10u
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1u
#define VIRTIO_NET_HDR_GSO_NONE 0u
#define VIRTIO_NET_HDR_GSO_TCPV4 1u
#define VIRTIO_NET_HDR_GSO_UDP 3u
#define VIRTIO_NET_HDR_GSO_TCPV6 4u
#define VIRTIO_NET_HDR_GSO_ECN 0x80u

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16

/* Config space (5.1.4): mac[6], status, max_virtqueue_pairs, mtu. */
#define VIRTIO_NET_CFG_MAC 0u
#define VIRTIO_NET_CFG_STATUS 6u
#define VIRTIO_NET_CFG_MAX_PAIRS 8u
#define VIRTIO_NET_CFG_MTU 10u
#define VIRTIO_NET_CONFIG_LEN 12u
#define VIRTIO_NET_S_LINK_UP 1u
/* The smallest MTU the spec lets a device advertise. */
#define VIRTIO_NET_MIN_MTU 68u

struct net_config {
	struct hal_tap *tap; /* the device uses it; the caller closes it after destroy */
	uint8_t mac[6];
	bool has_mac;        /* false: no VIRTIO_NET_F_MAC, the guest picks one */
	uint16_t mtu;        /* 0: no VIRTIO_NET_F_MTU */
};

/* Counters for metrics, named as Firecracker's net metrics; they only
 * grow. Bumped on the thread serving the queues, read from any thread. */
enum net_stat {
	NET_STAT_RX_BYTES,
	NET_STAT_RX_PACKETS,
	NET_STAT_TX_BYTES,
	NET_STAT_TX_PACKETS,
	NET_STAT_RX_FAILS,        /* TAP read errors */
	NET_STAT_TX_FAILS,        /* TAP write errors */
	NET_STAT_TX_MALFORMED,    /* frames refused: too big, too short, bad chain */
	NET_STAT_RX_QUEUE_FULL,   /* times RX waited for guest buffers */
	NET_STAT_RX_EVENT_COUNT,
	NET_STAT_TX_QUEUE_EVENT_COUNT,
	NET_STAT_RX_DROPPED,      /* frames no RX buffer could ever hold, runts */
	NET_STAT_COUNT
};
extern const char *const net_stat_names[NET_STAT_COUNT];

struct net_stats {
	uint64_t v[NET_STAT_COUNT];
};

/* Probes the TAP's offloads (set_offloads) to decide which checksum/TSO
 * features to offer, then leaves the TAP with none until the driver says
 * what it accepts. The device's event_fd is its own epoll fd: it polls the
 * TAP while RX can make progress, and a retry timer for TX. */
int net_create(const struct guest_mem *mem, const struct net_config *cfg,
	       const struct virtio_mmio_hooks *hooks, struct virtio_mmio **out);
/* `t` must be a virtio-net device (ops->device_id == VIRTIO_ID_NET). */
void net_get_stats(const struct virtio_mmio *t, struct net_stats *out);

#endif
