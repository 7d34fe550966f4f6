/* virtio-net: setup, feature negotiation, config space, events, snapshot.
 * The data paths are in net_tx.c and net_rx.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "devices/virtio/net_internal.h"
#include "boot/le.h"
#include "vmm/log.h"

#define NET_STATE_VERSION 1u

/* TAP offloads we ask for when probing: what the checksum and TSO
 * features need. UFO is left out (Linux guests no longer use it). */
#define NET_TAP_FULL (HAL_TAP_CSUM | HAL_TAP_TSO4 | HAL_TAP_TSO6 | HAL_TAP_TSO_ECN)

const char *const net_stat_names[NET_STAT_COUNT] = {
	[NET_STAT_RX_BYTES] = "rx_bytes_count",
	[NET_STAT_RX_PACKETS] = "rx_packets_count",
	[NET_STAT_TX_BYTES] = "tx_bytes_count",
	[NET_STAT_TX_PACKETS] = "tx_packets_count",
	[NET_STAT_RX_FAILS] = "rx_fails",
	[NET_STAT_TX_FAILS] = "tx_fails",
	[NET_STAT_TX_MALFORMED] = "tx_malformed_frames",
	[NET_STAT_RX_QUEUE_FULL] = "no_rx_avail_buffer",
	[NET_STAT_RX_EVENT_COUNT] = "rx_tap_event_count",
	[NET_STAT_TX_QUEUE_EVENT_COUNT] = "tx_queue_event_count",
	[NET_STAT_RX_DROPPED] = "rx_dropped_frames",
};

void net_get_stats(const struct virtio_mmio *t, struct net_stats *out)
{
	const struct net *n = (const struct net *)t;

	for (unsigned i = 0; i < NET_STAT_COUNT; i++)
		out->v[i] = atomic_load_explicit(&n->stats[i], memory_order_relaxed);
}

void net_unpop(struct net *n, unsigned q, unsigned k)
{
	n->t.queues[q].last_avail = (uint16_t)(n->t.queues[q].last_avail - k);
	n->t.requests -= k;
}

void net_poll_tap(struct net *n, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = n->tap_fd };

	if (on == n->tap_polled || n->tap_fd < 0)
		return;
	if (epoll_ctl(n->ep_fd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, n->tap_fd, &ev)) {
		log_error("virtio-net: %s TAP %s: %m", on ? "watching" : "unwatching", n->tap->name);
		return;
	}
	n->tap_polled = on;
}

void net_arm_timer(struct net *n, long ns)
{
	struct itimerspec its = { .it_value = { ns / 1000000000L, ns % 1000000000L } };

	if (timerfd_settime(n->timer_fd, 0, &its, NULL))
		log_error("virtio-net: arming the retry timer: %m");
}

static void net_disarm_timer(struct net *n)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	uint64_t v;

	timerfd_settime(n->timer_fd, 0, &its, NULL);
	if (read(n->timer_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_error("virtio-net: retry timer: %m");
}

/* TUN offloads say what the kernel may hand us for the guest, so they
 * follow the GUEST_* features the driver accepted. TSO without checksum
 * offload is meaningless (TUN refuses it), so a driver that broke the
 * dependencies of 5.1.3.1 gets only what stands. */
static unsigned net_tap_offloads(const struct net *n)
{
	const struct virtio_mmio *t = &n->t;
	unsigned o = 0;

	if (!virtio_mmio_has_feature(t, VIRTIO_NET_F_GUEST_CSUM))
		return 0;
	o |= HAL_TAP_CSUM;
	if (virtio_mmio_has_feature(t, VIRTIO_NET_F_GUEST_TSO4))
		o |= HAL_TAP_TSO4;
	if (virtio_mmio_has_feature(t, VIRTIO_NET_F_GUEST_TSO6))
		o |= HAL_TAP_TSO6;
	if ((o & (HAL_TAP_TSO4 | HAL_TAP_TSO6)) && virtio_mmio_has_feature(t, VIRTIO_NET_F_GUEST_ECN))
		o |= HAL_TAP_TSO_ECN;
	return o;
}

/* Tells the TAP what the driver negotiated. */
static int net_setup_tap(struct net *n)
{
	int ret = n->tap->ops->set_vnet_hdr_size(n->tap, VIRTIO_NET_HDR_LEN);

	if (ret)
		return err_wrap(ret, "TAP %s vnet header size", n->tap->name);
	ret = n->tap->ops->set_offloads(n->tap, net_tap_offloads(n));
	if (ret)
		return err_wrap(ret, "TAP %s offloads 0x%x", n->tap->name, net_tap_offloads(n));
	return 0;
}

static int net_activate(struct virtio_mmio *t)
{
	struct net *n = net_of(t);
	int ret = net_setup_tap(n);

	if (ret)
		return ret;
	net_poll_tap(n, true);
	return 0;
}

static void net_process(struct virtio_mmio *t, unsigned q)
{
	struct net *n = net_of(t);

	if (q == VIRTIO_NET_TXQ) {
		net_count(n, NET_STAT_TX_QUEUE_EVENT_COUNT, 1);
		net_tx_run(n);
	} else if (q == VIRTIO_NET_RXQ) {
		/* New RX buffers: a waiting frame may fit now, and the TAP
		 * is worth reading again. */
		net_poll_tap(n, true);
		net_rx_run(n);
	}
}

static void net_on_event(struct virtio_mmio *t)
{
	struct net *n = net_of(t);
	uint64_t v;

	if (read(n->timer_fd, &v, sizeof(v)) == sizeof(v)) {
		if (n->rx_retry) {
			n->rx_retry = false;
			net_poll_tap(n, true);
		}
		if (n->tx_retry)
			net_tx_run(n);
	}
	if (!virtio_mmio_live(t)) {
		/* The driver broke the rings: stop watching the TAP, or a
		 * level-triggered loop would call us forever. */
		net_poll_tap(n, false);
		return;
	}
	net_count(n, NET_STAT_RX_EVENT_COUNT, 1);
	net_rx_run(n);
}

static int net_event_fd(struct virtio_mmio *t)
{
	return net_of(t)->ep_fd;
}

/* The queues are going away: a frame read for them is dropped, and the
 * TAP is not read until the next DRIVER_OK. */
static void net_reset(struct virtio_mmio *t)
{
	struct net *n = net_of(t);

	n->rx_pending = n->rx_waiting = false;
	n->tx_retry = n->rx_retry = false;
	net_disarm_timer(n);
	net_poll_tap(n, false);
}

static void net_config_read(struct virtio_mmio *t, uint32_t off, uint8_t *data, uint32_t len)
{
	memcpy(data, net_of(t)->config + off, len);
}

/* A pending RX frame is not saved: the restored guest loses that one
 * frame, as it could on a wire. No chain is ever held across calls, so
 * there is nothing in flight to complete (no quiesce). */
static void net_save(struct virtio_mmio *t, struct state_writer *w)
{
	struct net *n = net_of(t);

	state_put_u32(w, NET_STATE_VERSION);
	state_put_u8(w, n->has_mac);
	state_put_bytes(w, n->config + VIRTIO_NET_CFG_MAC, 6);
	state_put_u16(w, n->mtu);
}

/* The TAP is not in the snapshot: the device must have the same MAC and
 * MTU the guest saw. A live device gets its TAP set up as activate would. */
static void net_restore(struct virtio_mmio *t, struct state_reader *r)
{
	struct net *n = net_of(t);
	uint32_t version = state_get_u32(r);
	uint8_t has_mac = state_get_u8(r), mac[6];
	uint16_t mtu;

	state_get_bytes(r, mac, sizeof(mac));
	mtu = state_get_u16(r);
	if (state_reader_error(r))
		return;
	if (version != NET_STATE_VERSION) {
		state_reader_reject(r, "virtio-net record: unknown version");
		return;
	}
	if (has_mac != n->has_mac || mtu != n->mtu ||
	    (n->has_mac && memcmp(mac, n->config + VIRTIO_NET_CFG_MAC, 6))) {
		state_reader_reject(r, "virtio-net record: the MAC or MTU changed");
		return;
	}
	net_reset(t);
	if (!virtio_mmio_live(t))
		return;
	if (net_setup_tap(n)) {
		state_reader_reject(r, "virtio-net: setting up the TAP for the restored device");
		return;
	}
	net_poll_tap(n, true);
}

static void net_destroy(struct virtio_mmio *t)
{
	struct net *n = net_of(t);

	if (n->ep_fd >= 0)
		close(n->ep_fd);
	if (n->timer_fd >= 0)
		close(n->timer_fd);
	free(n->rx_buf);
	free(n);
}

static const struct virtio_backend_ops net_ops = {
	.kind = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.config_len = VIRTIO_NET_CONFIG_LEN,
	.config_read = net_config_read,
	.activate = net_activate,
	.process = net_process,
	.reset = net_reset,
	.event_fd = net_event_fd,
	.on_event = net_on_event,
	.save = net_save,
	.restore = net_restore,
	.destroy = net_destroy,
};

/* Offloads the TAP accepts decide which features we can honour; the TAP
 * is left with none until a driver negotiates. */
static int net_probe_offloads(struct hal_tap *tap, uint64_t *features)
{
	const uint64_t csum = VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
	const uint64_t tso = VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
			     VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
			     VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN);
	int ret;

	if (!tap->ops->set_offloads(tap, NET_TAP_FULL))
		*features |= csum | tso;
	else if (!tap->ops->set_offloads(tap, HAL_TAP_CSUM))
		*features |= csum;
	else
		log_info("virtio-net: TAP %s takes no offloads; offering none", tap->name);
	ret = tap->ops->set_offloads(tap, 0);
	return ret ? err_wrap(ret, "virtio-net: TAP %s: clearing offloads", tap->name) : 0;
}

static void net_fill_config(struct net *n, const struct net_config *cfg)
{
	if (cfg->has_mac)
		memcpy(n->config + VIRTIO_NET_CFG_MAC, cfg->mac, 6);
	le16_write(n->config + VIRTIO_NET_CFG_STATUS, VIRTIO_NET_S_LINK_UP);
	le16_write(n->config + VIRTIO_NET_CFG_MAX_PAIRS, 1);
	le16_write(n->config + VIRTIO_NET_CFG_MTU, cfg->mtu);
}

static int net_check_config(const struct net_config *cfg)
{
	if (!cfg->tap || !cfg->tap->ops)
		return err_fail(-EINVAL, "virtio-net: no TAP");
	if (cfg->mtu && cfg->mtu < VIRTIO_NET_MIN_MTU)
		return err_fail(-EINVAL, "virtio-net: MTU %u is below %u", cfg->mtu, VIRTIO_NET_MIN_MTU);
	if (cfg->has_mac && (cfg->mac[0] & 1))
		return err_fail(-EINVAL, "virtio-net: MAC %02x:%02x:%02x:%02x:%02x:%02x is multicast", cfg->mac[0],
				cfg->mac[1], cfg->mac[2], cfg->mac[3], cfg->mac[4], cfg->mac[5]);
	return 0;
}

static int net_open_fds(struct net *n)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = -1 };

	n->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (n->ep_fd < 0)
		return err_fail(-errno, "virtio-net: epoll_create1: %m");
	n->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (n->timer_fd < 0)
		return err_fail(-errno, "virtio-net: timerfd_create: %m");
	ev.data.fd = n->timer_fd;
	if (epoll_ctl(n->ep_fd, EPOLL_CTL_ADD, n->timer_fd, &ev))
		return err_fail(-errno, "virtio-net: epoll_ctl: %m");
	n->tap_fd = n->tap->ops->poll_fd(n->tap);
	if (n->tap_fd < 0)
		log_warn("virtio-net: TAP %s has no poll fd; frames arrive only when the driver adds buffers",
			 n->tap->name);
	return 0;
}

int net_create(const struct guest_mem *mem, const struct net_config *cfg,
	       const struct virtio_mmio_hooks *hooks, struct virtio_mmio **out)
{
	uint64_t features = VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
			    VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_STATUS);
	struct net *n;
	int ret = net_check_config(cfg);

	if (ret)
		return ret;
	if (cfg->has_mac)
		features |= VIRTIO_BIT(VIRTIO_NET_F_MAC);
	if (cfg->mtu)
		features |= VIRTIO_BIT(VIRTIO_NET_F_MTU);
	ret = net_probe_offloads(cfg->tap, &features);
	if (ret)
		return ret;
	n = calloc(1, sizeof(*n));
	if (!n)
		return err_fail(-ENOMEM, "virtio-net: device state");
	ret = virtio_mmio_init(&n->t, &net_ops, mem, features, 2, VIRTIO_NET_QUEUE_SIZE, hooks);
	if (ret) {
		free(n);
		return ret;
	}
	n->tap = cfg->tap;
	n->ep_fd = n->timer_fd = n->tap_fd = -1;
	n->has_mac = cfg->has_mac;
	n->mtu = cfg->mtu;
	n->rx_buf = malloc(NET_RX_BUF_LEN);
	ret = n->rx_buf ? net_open_fds(n) : err_fail(-ENOMEM, "virtio-net: RX buffer");
	if (ret) {
		n->t.dev.ops->destroy(&n->t.dev);
		return ret;
	}
	net_fill_config(n, cfg);
	*out = &n->t;
	return 0;
}
