/* virtio-net through the transport, driven by the synthetic driver, with
 * the mock TAP playing the host side: TX and RX byte-exact with their
 * vnet headers, TSO frames, MRG_RXBUF, a full RX ring (the frame waits,
 * the TAP is no longer polled), malformed and hostile chains, feature and
 * offload negotiation, config space, reset, save/restore. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/virtio/net.h"
#include "hal/mock.h"
#include "tests/unit/device_access.h"
#include "tests/virtio/mmio_driver.h"
#include "tests/virtio/racer.h"
#include "tests/virtio/vq_driver.h"

#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define F(b) VIRTIO_BIT(VIRTIO_NET_F_##b)
#define MRG F(MRG_RXBUF)
#define HDR VIRTIO_NET_HDR_LEN
#define RAM (8u << 20)
/* The TX queue's rings live in the top 64 KiB, seen through a second
 * vq_driver whose RAM starts there; its buffers come from the RX driver
 * so their addresses are real guest addresses. */
#define TXOFF (RAM - 0x10000u)

struct fx {
	struct hal *hal;
	struct hal_tap *tap;
	struct vq_driver rx, tx;
	struct virtio_mmio *t;
	unsigned irqs;
	uint16_t rx_size;
};

static const uint8_t MAC[6] = { 0x06, 0x00, 0xac, 0x10, 0x00, 0x02 };

static void on_irq(void *opaque)
{
	((struct fx *)opaque)->irqs++;
}

static int make_dev(struct fx *fx, struct hal_tap *tap, bool has_mac, uint16_t mtu, struct virtio_mmio **out)
{
	struct virtio_mmio_hooks hooks = { on_irq, NULL, fx };
	struct net_config cfg = { .tap = tap, .has_mac = has_mac, .mtu = mtu };

	memcpy(cfg.mac, MAC, 6);
	return net_create(&fx->rx.mem, &cfg, &hooks, out);
}

static struct fx *fx_new(uint16_t rx_size)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->rx_size = rx_size;
	assert_int_equal(hal_mock_create(&fx->hal), 0);
	assert_int_equal(fx->hal->ops->tap_open(fx->hal, "tap0", &fx->tap), 0);
	assert_int_equal(vq_driver_init(&fx->rx, RAM, rx_size), 0);
	fx->rx.ram_size = TXOFF; /* allocations stop below the TX rings */
	fx->tx.ram = fx->rx.ram + TXOFF;
	fx->tx.ram_size = RAM - TXOFF;
	fx->tx.size = 256;
	fx->tx.data_next = VQ_DRIVER_DATA;
	return fx;
}

static void setup_tx_queue(struct virtio_mmio *t)
{
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_SEL, VIRTIO_NET_TXQ);
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_NUM, 256);
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(TXOFF + VQ_DRIVER_DESC));
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(TXOFF + VQ_DRIVER_AVAIL));
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(TXOFF + VQ_DRIVER_USED));
	mmio_driver_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Negotiates and brings both queues up; returns the status. */
static uint32_t bring_up(struct fx *fx, uint64_t features)
{
	uint32_t s = mmio_driver_negotiate(fx->t, V1 | features);

	mmio_driver_setup_queue(fx->t, VIRTIO_NET_RXQ, &fx->rx);
	setup_tx_queue(fx->t);
	mmio_driver_write(fx->t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
	return mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS);
}

static struct fx *setup_dev(uint16_t rx_size, uint64_t features)
{
	struct fx *fx = fx_new(rx_size);

	assert_int_equal(make_dev(fx, fx->tap, true, 1500, &fx->t), 0);
	assert_int_equal(bring_up(fx, features), 0xf);
	return fx;
}

static void fx_free(struct fx *fx)
{
	if (fx->t)
		fx->t->dev.ops->destroy(&fx->t->dev);
	fx->tap->ops->close(fx->tap);
	fx->hal->ops->destroy(fx->hal);
	vq_driver_fini(&fx->rx);
	free(fx);
}

static uint64_t stat(struct fx *fx, enum net_stat s)
{
	struct net_stats st;

	net_get_stats(fx->t, &st);
	return st.v[s];
}

static bool event_ready(struct virtio_mmio *t, int timeout_ms)
{
	struct pollfd p = { t->ops->event_fd(t), POLLIN, 0 };

	return poll(&p, 1, timeout_ms) == 1;
}

/* A frame with a recognisable pattern. */
static uint8_t *pattern(size_t len, uint8_t seed)
{
	uint8_t *p = malloc(len);

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
	return p;
}

/* Posts a TX chain of `n` readable segments holding `data`, kicks. */
static uint16_t tx_post(struct fx *fx, const uint8_t *data, size_t len, unsigned n)
{
	struct vq_seg segs[8];
	size_t off = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t l = i + 1 < n ? len / n : len - off;

		segs[i] = (struct vq_seg){ vq_driver_alloc(&fx->rx, (uint32_t)l ? (uint32_t)l : 1), (uint32_t)l,
					   false };
		memcpy(vq_driver_host(&fx->rx, segs[i].addr), data + off, l);
		off += l;
	}
	uint16_t head = vq_driver_chain(&fx->tx, segs, n);

	vq_driver_post(&fx->tx, head);
	return head;
}

static void hdr_init(uint8_t *h, uint8_t flags, uint8_t gso)
{
	memset(h, 0, HDR);
	h[0] = flags;
	h[1] = gso;
}

static void take_used(struct vq_driver *d, uint32_t want_len)
{
	uint32_t id, len;

	assert_true(vq_driver_take_used(d, &id, &len));
	assert_int_equal(len, want_len);
}

/* ---- features, config -------------------------------------------------------- */

static void test_features_with_offloads(void **state)
{
	struct fx *fx = fx_new(256);
	uint64_t f, want = V1 | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | MRG | F(MAC) | F(MTU) | F(CSUM) |
			   F(GUEST_CSUM) | F(HOST_TSO4) | F(HOST_TSO6) | F(HOST_ECN) | F(GUEST_TSO4) |
			   F(GUEST_TSO6) | F(GUEST_ECN);
	unsigned offloads = 99;
	int hdr;

	(void)state;
	assert_int_equal(make_dev(fx, fx->tap, true, 1500, &fx->t), 0);
	f = mmio_driver_device_features(fx->t);
	assert_int_equal(f & want, want);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	/* Probing leaves the TAP without offloads until a driver asks. */
	assert_int_equal(hal_mock_tap_state(fx->hal, "tap0", &offloads, &hdr, NULL), 0);
	assert_int_equal(offloads, 0);
	/* No TAP reads or writes before the driver is ready. */
	assert_false(event_ready(fx->t, 0));
	fx_free(fx);
}

static ssize_t stingy_io(struct hal_tap *tap, const struct iovec *iov, int iovcnt)
{
	(void)tap, (void)iov, (void)iovcnt;
	return -EAGAIN;
}

static int stingy_offloads(struct hal_tap *tap, unsigned offloads)
{
	(void)tap;
	return offloads ? -EINVAL : 0;
}

static int stingy_int(struct hal_tap *tap, int v)
{
	(void)tap, (void)v;
	return 0;
}

static int stingy_poll_fd(struct hal_tap *tap)
{
	(void)tap;
	return -1;
}

static const struct hal_tap_ops stingy_ops = {
	.readv = stingy_io, .writev = stingy_io, .set_offloads = stingy_offloads,
	.set_vnet_hdr_size = stingy_int, .poll_fd = stingy_poll_fd,
};
static struct hal_tap stingy_tap = { &stingy_ops, NULL, "stingy" };

static void test_features_follow_the_tap(void **state)
{
	struct fx *fx = fx_new(256);
	uint64_t f;

	(void)state;
	/* The TAP refuses TSO: checksums only. */
	hal_mock_fail_nth(fx->hal, MOCK_TAP_SET_OFFLOADS, 1, -EINVAL);
	assert_int_equal(make_dev(fx, fx->tap, false, 0, &fx->t), 0);
	f = mmio_driver_device_features(fx->t);
	assert_true(f & F(CSUM));
	assert_true(f & F(GUEST_CSUM));
	assert_false(f & (F(HOST_TSO4) | F(GUEST_TSO4) | F(HOST_TSO6) | F(GUEST_TSO6)));
	assert_false(f & (F(MAC) | F(MTU)));
	fx->t->dev.ops->destroy(&fx->t->dev);
	/* A TAP that refuses every offload (and has no poll fd): none
	 * offered, and a driver cannot take one. */
	assert_int_equal(make_dev(fx, &stingy_tap, false, 0, &fx->t), 0);
	f = mmio_driver_device_features(fx->t);
	assert_false(f & (F(CSUM) | F(GUEST_CSUM) | F(HOST_TSO4) | F(GUEST_TSO4)));
	assert_true(f & MRG);
	assert_false(mmio_driver_negotiate(fx->t, V1 | F(GUEST_CSUM)) & VIRTIO_STATUS_FEATURES_OK);
	fx_free(fx);
}

static void test_tap_offloads_follow_the_driver(void **state)
{
	static const struct {
		uint64_t features;
		unsigned offloads;
	} cases[] = {
		{ 0, 0 },
		{ F(GUEST_CSUM), HAL_TAP_CSUM },
		{ F(GUEST_CSUM) | F(GUEST_TSO4), HAL_TAP_CSUM | HAL_TAP_TSO4 },
		{ F(GUEST_CSUM) | F(GUEST_TSO6) | F(GUEST_ECN), HAL_TAP_CSUM | HAL_TAP_TSO6 | HAL_TAP_TSO_ECN },
		{ F(GUEST_CSUM) | F(GUEST_ECN), HAL_TAP_CSUM }, /* ECN without TSO means nothing */
		{ F(GUEST_TSO4), 0 },                           /* TSO without checksums is refused by TUN */
		{ F(CSUM) | F(HOST_TSO4), 0 },                  /* host-side features don't touch TUN */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx *fx = setup_dev(256, cases[i].features);
		unsigned offloads;
		int hdr;

		assert_int_equal(hal_mock_tap_state(fx->hal, "tap0", &offloads, &hdr, NULL), 0);
		assert_int_equal(offloads, cases[i].offloads);
		assert_int_equal(hdr, 12);
		fx_free(fx);
	}
}

static void test_activate_fails_when_the_tap_does(void **state)
{
	struct fx *fx = fx_new(256);

	(void)state;
	assert_int_equal(make_dev(fx, fx->tap, true, 0, &fx->t), 0);
	hal_mock_fail_nth(fx->hal, MOCK_TAP_SET_VNET_HDR_SIZE, 1, -EINVAL);
	assert_true(bring_up(fx, 0) & VIRTIO_STATUS_NEEDS_RESET);
	hal_mock_fail_nth(fx->hal, MOCK_TAP_SET_OFFLOADS, 1, -EINVAL);
	assert_true(bring_up(fx, F(GUEST_CSUM)) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(bring_up(fx, F(GUEST_CSUM)), 0xf);
	fx_free(fx);
}

static void test_config_space(void **state)
{
	struct fx *fx = fx_new(256);
	struct virtio_mmio *t;
	uint8_t cfg[VIRTIO_NET_CONFIG_LEN];

	(void)state;
	assert_int_equal(make_dev(fx, fx->tap, true, 9000, &fx->t), 0);
	t = fx->t;
	for (unsigned i = 0; i < sizeof(cfg); i++)
		cfg[i] = device_test_read8(&t->dev, VIRTIO_MMIO_CONFIG + i);
	assert_memory_equal(cfg, MAC, 6);
	assert_int_equal(cfg[6] | cfg[7] << 8, VIRTIO_NET_S_LINK_UP);
	assert_int_equal(cfg[8] | cfg[9] << 8, 1);
	assert_int_equal(cfg[10] | cfg[11] << 8, 9000);
	/* The MAC is read-only without CTRL_MAC_ADDR. */
	device_test_write8(&t->dev, VIRTIO_MMIO_CONFIG, 0xff);
	assert_int_equal(device_test_read8(&t->dev, VIRTIO_MMIO_CONFIG), MAC[0]);
	/* Past the end reads as zero. */
	assert_int_equal(device_test_read8(&t->dev, VIRTIO_MMIO_CONFIG + VIRTIO_NET_CONFIG_LEN), 0);
	fx_free(fx);
}

static void test_bad_config_refused(void **state)
{
	struct fx *fx = fx_new(256);
	struct virtio_mmio *t = NULL;
	struct net_config cfg = { .tap = fx->tap, .has_mac = true, .mac = { 0x01, 2, 3, 4, 5, 6 } };

	(void)state;
	assert_int_equal(net_create(&fx->rx.mem, &cfg, NULL, &t), -EINVAL); /* multicast */
	cfg.has_mac = false;
	cfg.mtu = 67;
	assert_int_equal(net_create(&fx->rx.mem, &cfg, NULL, &t), -EINVAL);
	cfg.mtu = 68;
	cfg.tap = NULL;
	assert_int_equal(net_create(&fx->rx.mem, &cfg, NULL, &t), -EINVAL);
	assert_null(t);
	cfg.tap = fx->tap;
	hal_mock_fail_nth(fx->hal, MOCK_TAP_SET_OFFLOADS, 2, -EIO); /* clearing after the probe */
	assert_int_equal(net_create(&fx->rx.mem, &cfg, NULL, &t), -EIO);
	assert_null(t);
	fx_free(fx);
}

/* ---- TX ------------------------------------------------------------------------ */

static void check_tx(struct fx *fx, size_t frame_len, unsigned segs, uint8_t flags, uint8_t gso)
{
	size_t len = HDR + frame_len;
	uint8_t *buf = pattern(len, (uint8_t)frame_len), *got = malloc(len + 16);
	unsigned irqs = fx->irqs;

	hdr_init(buf, flags, gso);
	tx_post(fx, buf, len, segs);
	mmio_driver_kick(fx->t, VIRTIO_NET_TXQ);
	take_used(&fx->tx, 0);
	assert_int_equal(hal_mock_tap_take(fx->hal, "tap0", got, len + 16), (ssize_t)len);
	assert_memory_equal(got, buf, len);
	assert_int_equal(hal_mock_tap_take(fx->hal, "tap0", got, len), -EAGAIN);
	assert_int_equal(fx->irqs, irqs + 1);
	free(buf);
	free(got);
}

static void test_tx_frames_arrive_exact(void **state)
{
	struct fx *fx = setup_dev(256, F(CSUM) | F(HOST_TSO4) | F(HOST_TSO6) | F(HOST_ECN));

	(void)state;
	check_tx(fx, 64, 1, 0, 0);
	check_tx(fx, 1500, 2, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0);
	check_tx(fx, 1514, 5, 0, 0);
	/* A 64 KiB TSO frame over several descriptors. */
	check_tx(fx, 65536, 8, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4);
	check_tx(fx, 9000, 3, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN);
	assert_int_equal(stat(fx, NET_STAT_TX_PACKETS), 5);
	assert_int_equal(stat(fx, NET_STAT_TX_BYTES), 64 + 1500 + 1514 + 65536 + 9000);
	assert_int_equal(stat(fx, NET_STAT_TX_QUEUE_EVENT_COUNT), 5);
	assert_int_equal(stat(fx, NET_STAT_TX_MALFORMED), 0);
	fx_free(fx);
}

static void test_tx_batch_and_event_idx(void **state)
{
	struct fx *fx = setup_dev(256, VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	uint8_t buf[HDR + 60], got[128];

	(void)state;
	hdr_init(buf, 0, 0);
	for (unsigned i = 0; i < 10; i++) {
		buf[HDR] = (uint8_t)i;
		tx_post(fx, buf, sizeof(buf), 1);
	}
	vq_driver_set_used_event(&fx->tx, 9); /* interrupt only after the 10th */
	mmio_driver_kick(fx->t, VIRTIO_NET_TXQ);
	for (unsigned i = 0; i < 10; i++) {
		take_used(&fx->tx, 0);
		assert_int_equal(hal_mock_tap_take(fx->hal, "tap0", got, sizeof(got)), (ssize_t)sizeof(buf));
		assert_int_equal(got[HDR], i); /* in ring order */
	}
	assert_int_equal(fx->irqs, 1);
	/* The device wants a kick for the next chain. */
	assert_int_equal(vq_driver_avail_event(&fx->tx), 10);
	fx_free(fx);
}

static void test_tx_malformed_refused_and_returned(void **state)
{
	struct fx *fx = setup_dev(256, F(CSUM)); /* no TSO */
	uint8_t *big = calloc(1, HDR + VIRTIO_NET_MAX_FRAME + 1), got[16];
	struct vq_seg wr[2];

	(void)state;
	/* Too big by one byte. */
	tx_post(fx, big, HDR + VIRTIO_NET_MAX_FRAME + 1, 8);
	/* Shorter than the header. */
	tx_post(fx, big, HDR - 1, 1);
	/* A writable descriptor in a TX chain. */
	wr[0] = (struct vq_seg){ vq_driver_alloc(&fx->rx, 64), 64, false };
	wr[1] = (struct vq_seg){ vq_driver_alloc(&fx->rx, 64), 64, true };
	vq_driver_post(&fx->tx, vq_driver_chain(&fx->tx, wr, 2));
	/* GSO the driver did not negotiate, ECN without GSO, UDP, unknown. */
	hdr_init(big, 0, VIRTIO_NET_HDR_GSO_TCPV4);
	tx_post(fx, big, 100, 1);
	hdr_init(big, 0, VIRTIO_NET_HDR_GSO_ECN);
	tx_post(fx, big, 100, 1);
	hdr_init(big, 0, VIRTIO_NET_HDR_GSO_UDP);
	tx_post(fx, big, 100, 1);
	hdr_init(big, 0, 9);
	tx_post(fx, big, 100, 1);
	/* And a good one after them all. */
	hdr_init(big, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0);
	tx_post(fx, big, 100, 1);
	mmio_driver_kick(fx->t, VIRTIO_NET_TXQ);
	for (unsigned i = 0; i < 8; i++)
		take_used(&fx->tx, 0);
	assert_int_equal(stat(fx, NET_STAT_TX_MALFORMED), 7);
	assert_int_equal(stat(fx, NET_STAT_TX_PACKETS), 1);
	assert_int_equal(hal_mock_tap_take(fx->hal, "tap0", got, sizeof(got)), 100);
	assert_int_equal(hal_mock_tap_take(fx->hal, "tap0", got, sizeof(got)), -EAGAIN);
	assert_true(virtio_mmio_live(fx->t));
	free(big);
	fx_free(fx);
}

static void test_tx_needs_csum_without_feature(void **state)
{
	struct fx *fx = setup_dev(256, 0);
	uint8_t buf[100];

	(void)state;
	hdr_init(buf, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0);
	tx_post(fx, buf, sizeof(buf), 1);
	mmio_driver_kick(fx->t, VIRTIO_NET_TXQ);
	take_used(&fx->tx, 0);
	assert_int_equal(stat(fx, NET_STAT_TX_MALFORMED), 1);
	fx_free(fx);
}

/* A full TAP keeps the chain in the ring (no drop) and a timer resumes. */
static void test_tx_full_tap_waits(void **state)
{
	struct fx *fx = setup_dev(256, 0);
	uint8_t buf[HDR + 50], got[128];
	uint32_t id, len;

	(void)state;
	hdr_init(buf, 0, 0);
	hal_mock_tap_set_tx_limit(fx->hal, "tap0", 1);
	for (unsigned i = 0; i < 3; i++) {
		buf[HDR] = (uint8_t)i;
		tx_post(fx, buf, sizeof(buf), 1);
	}
	mmio_driver_kick(fx->t, VIRTIO_NET_TXQ);
	take_used(&fx->tx, 0);
	assert_false(vq_driver_take_used(&fx->tx, &id, &len));
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(hal_mock_tap_take(fx->hal, "tap0", got, sizeof(got)), (ssize_t)sizeof(buf));
		assert_int_equal(got[HDR], i);
		if (i == 2)
			break;
		/* Nothing spins meanwhile: the event fd fires once the timer does. */
		assert_true(event_ready(fx->t, 1000));
		virtio_mmio_backend_event(fx->t);
		take_used(&fx->tx, 0);
	}
	assert_false(vq_driver_take_used(&fx->tx, &id, &len));
	assert_int_equal(stat(fx, NET_STAT_TX_PACKETS), 3);
	assert_int_equal(stat(fx, NET_STAT_TX_FAILS), 0);
	fx_free(fx);
}

static void test_tx_tap_error_drops_one_frame(void **state)
{
	struct fx *fx = setup_dev(256, 0);
	uint8_t buf[HDR + 50], got[128];

	(void)state;
	hdr_init(buf, 0, 0);
	hal_mock_fail_nth(fx->hal, MOCK_TAP_WRITEV, 1, -EIO);
	tx_post(fx, buf, sizeof(buf), 1);
	tx_post(fx, buf, sizeof(buf), 1);
	mmio_driver_kick(fx->t, VIRTIO_NET_TXQ);
	take_used(&fx->tx, 0);
	take_used(&fx->tx, 0);
	assert_int_equal(stat(fx, NET_STAT_TX_FAILS), 1);
	assert_int_equal(stat(fx, NET_STAT_TX_PACKETS), 1);
	assert_int_equal(hal_mock_tap_take(fx->hal, "tap0", got, sizeof(got)), (ssize_t)sizeof(buf));
	fx_free(fx);
}

/* A full ring is a ring's worth of work; the rest comes from the loop. */
static void test_tx_work_is_bounded(void **state)
{
	struct fx *fx = setup_dev(256, 0);
	uint8_t buf[HDR + 20], got[64];
	unsigned n = 0;

	(void)state;
	hdr_init(buf, 0, 0);
	for (unsigned i = 0; i < 256; i++)
		tx_post(fx, buf, sizeof(buf), 1);
	mmio_driver_kick(fx->t, VIRTIO_NET_TXQ);
	while (hal_mock_tap_take(fx->hal, "tap0", got, sizeof(got)) > 0)
		n++;
	assert_int_equal(n, 256);
	/* The budget ran out: the device asked to be called back. */
	assert_true(event_ready(fx->t, 1000));
	virtio_mmio_backend_event(fx->t);
	assert_false(event_ready(fx->t, 0));
	fx_free(fx);
}

/* ---- RX ------------------------------------------------------------------------- */

static uint64_t rx_post(struct fx *fx, uint32_t len)
{
	struct vq_seg seg = { 0, len, true };

	vq_driver_post(&fx->rx, vq_driver_chain(&fx->rx, &seg, 1));
	return seg.addr;
}

/* A frame as the TAP hands it over: vnet header (num_buffers garbage,
 * as the kernel leaves it) and data. */
static uint8_t *rx_inject(struct fx *fx, size_t frame_len, uint8_t seed)
{
	uint8_t *f = pattern(HDR + frame_len, seed);

	hdr_init(f, 2, 0);
	f[10] = f[11] = 0xee;
	assert_int_equal(hal_mock_tap_inject(fx->hal, "tap0", f, HDR + frame_len), 0);
	return f;
}

static void check_rx_buffer(struct fx *fx, uint64_t addr, const uint8_t *f, size_t len, uint16_t nb)
{
	const uint8_t *p = vq_driver_host(&fx->rx, addr);

	assert_memory_equal(p, f, 10);
	assert_int_equal(p[10] | p[11] << 8, nb);
	assert_memory_equal(p + HDR, f + HDR, len - HDR);
}

static void rx_frames(uint64_t features)
{
	struct fx *fx = setup_dev(256, features);
	uint64_t a = rx_post(fx, 1526), b = rx_post(fx, 1526);
	uint8_t *f1, *f2;

	mmio_driver_kick(fx->t, VIRTIO_NET_RXQ);
	f1 = rx_inject(fx, 64, 1);
	f2 = rx_inject(fx, 1514, 2);
	assert_true(event_ready(fx->t, 0));
	virtio_mmio_backend_event(fx->t);
	take_used(&fx->rx, HDR + 64);
	take_used(&fx->rx, HDR + 1514);
	check_rx_buffer(fx, a, f1, HDR + 64, 1);
	check_rx_buffer(fx, b, f2, HDR + 1514, 1);
	assert_int_equal(stat(fx, NET_STAT_RX_PACKETS), 2);
	assert_int_equal(stat(fx, NET_STAT_RX_BYTES), 64 + 1514);
	assert_int_equal(stat(fx, NET_STAT_RX_EVENT_COUNT), 1);
	assert_int_equal(fx->irqs, 1);
	assert_false(event_ready(fx->t, 0)); /* the TAP is empty */
	free(f1);
	free(f2);
	fx_free(fx);
}

static void test_rx_frames_exact(void **state)
{
	(void)state;
	rx_frames(0);
	rx_frames(MRG);
}

static void test_rx_mrg_spans_buffers(void **state)
{
	struct fx *fx = setup_dev(256, MRG);
	uint64_t addr[6];
	uint8_t *f, *flat = malloc(HDR + 4000);
	uint32_t id, len, lens[5] = { 1000, 1000, 1000, 1000, 12 };

	(void)state;
	for (unsigned i = 0; i < 6; i++)
		addr[i] = rx_post(fx, 1000);
	f = rx_inject(fx, 4000, 9);
	virtio_mmio_backend_event(fx->t);
	for (unsigned i = 0; i < 5; i++) {
		assert_true(vq_driver_take_used(&fx->rx, &id, &len));
		assert_int_equal(len, lens[i]);
		memcpy(flat + i * 1000, vq_driver_host(&fx->rx, addr[i]), len);
	}
	assert_false(vq_driver_take_used(&fx->rx, &id, &len));
	assert_memory_equal(flat, f, 10);
	assert_int_equal(flat[10] | flat[11] << 8, 5);
	assert_memory_equal(flat + HDR, f + HDR, 4000);
	/* The sixth buffer takes the next frame, header in it says 1. */
	free(f);
	f = rx_inject(fx, 500, 3);
	virtio_mmio_backend_event(fx->t);
	take_used(&fx->rx, HDR + 500);
	check_rx_buffer(fx, addr[5], f, HDR + 500, 1);
	free(f);
	free(flat);
	fx_free(fx);
}

/* A frame that finds too few buffers waits, and the TAP is left alone
 * until the driver adds some; nothing is dropped. */
static void test_rx_waits_for_buffers(void **state)
{
	struct fx *fx = setup_dev(256, MRG | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	uint64_t a, b, c;
	uint8_t *f1, *f2, *p;
	uint32_t id, len;

	(void)state;
	f1 = rx_inject(fx, 1800, 4);
	f2 = rx_inject(fx, 100, 5);
	virtio_mmio_backend_event(fx->t); /* no buffers at all */
	assert_int_equal(stat(fx, NET_STAT_RX_QUEUE_FULL), 1);
	assert_false(event_ready(fx->t, 0));
	a = rx_post(fx, 1024);
	mmio_driver_kick(fx->t, VIRTIO_NET_RXQ); /* one is not enough */
	assert_false(vq_driver_take_used(&fx->rx, &id, &len));
	assert_int_equal(stat(fx, NET_STAT_RX_QUEUE_FULL), 1); /* counted once per wait */
	assert_false(event_ready(fx->t, 0));
	/* The device asks for a kick on the next buffer. */
	assert_int_equal(vq_driver_avail_event(&fx->rx), fx->rx.avail_idx);
	b = rx_post(fx, 1024);
	c = rx_post(fx, 1024);
	mmio_driver_kick(fx->t, VIRTIO_NET_RXQ);
	take_used(&fx->rx, 1024);
	take_used(&fx->rx, HDR + 1800 - 1024);
	take_used(&fx->rx, HDR + 100);
	p = vq_driver_host(&fx->rx, a);
	assert_int_equal(p[10] | p[11] << 8, 2);
	assert_memory_equal(p + HDR, f1 + HDR, 1024 - HDR);
	assert_memory_equal(vq_driver_host(&fx->rx, b), f1 + 1024, HDR + 1800 - 1024);
	check_rx_buffer(fx, c, f2, HDR + 100, 1);
	assert_int_equal(stat(fx, NET_STAT_RX_DROPPED), 0);
	assert_int_equal(stat(fx, NET_STAT_RX_PACKETS), 2);
	assert_false(event_ready(fx->t, 0)); /* polled again, and empty */
	free(f1);
	free(f2);
	fx_free(fx);
}

static void test_rx_without_mrg_small_buffer_drops(void **state)
{
	struct fx *fx = setup_dev(256, 0);
	uint64_t b;
	uint8_t *f1, *f2;

	(void)state;
	rx_post(fx, 100);
	b = rx_post(fx, 100);
	f1 = rx_inject(fx, 1500, 6);
	f2 = rx_inject(fx, 80, 7);
	virtio_mmio_backend_event(fx->t);
	take_used(&fx->rx, 0);
	take_used(&fx->rx, HDR + 80);
	check_rx_buffer(fx, b, f2, HDR + 80, 1);
	assert_int_equal(stat(fx, NET_STAT_RX_DROPPED), 1);
	assert_int_equal(stat(fx, NET_STAT_RX_PACKETS), 1);
	/* Without buffers at all the frame waits here too. */
	free(f1);
	f1 = rx_inject(fx, 60, 8);
	virtio_mmio_backend_event(fx->t);
	assert_int_equal(stat(fx, NET_STAT_RX_QUEUE_FULL), 1);
	b = rx_post(fx, 100);
	mmio_driver_kick(fx->t, VIRTIO_NET_RXQ);
	take_used(&fx->rx, HDR + 60);
	check_rx_buffer(fx, b, f1, HDR + 60, 1);
	free(f1);
	free(f2);
	fx_free(fx);
}

/* With MRG, a frame the whole ring can't hold is dropped, not waited on
 * forever; so is a runt shorter than the vnet header. */
static void test_rx_hopeless_frames_dropped(void **state)
{
	struct fx *fx = setup_dev(8, MRG);
	uint8_t *f, runt[5] = { 0 };

	(void)state;
	for (unsigned i = 0; i < 8; i++)
		rx_post(fx, 100);
	f = rx_inject(fx, 1500, 1);
	assert_int_equal(hal_mock_tap_inject(fx->hal, "tap0", runt, sizeof(runt)), 0);
	virtio_mmio_backend_event(fx->t);
	for (unsigned i = 0; i < 8; i++)
		take_used(&fx->rx, 0);
	assert_int_equal(stat(fx, NET_STAT_RX_DROPPED), 2);
	assert_int_equal(stat(fx, NET_STAT_RX_PACKETS), 0);
	assert_true(virtio_mmio_live(fx->t));
	free(f);
	fx_free(fx);
}

static void test_rx_tap_error_backs_off(void **state)
{
	struct fx *fx = setup_dev(256, 0);
	uint8_t *f;

	(void)state;
	rx_post(fx, 2000);
	f = rx_inject(fx, 100, 1);
	hal_mock_fail_nth(fx->hal, MOCK_TAP_READV, 1, -EIO);
	virtio_mmio_backend_event(fx->t);
	assert_int_equal(stat(fx, NET_STAT_RX_FAILS), 1);
	/* The TAP is left alone until the retry timer fires. */
	assert_true(event_ready(fx->t, 1000));
	virtio_mmio_backend_event(fx->t);
	take_used(&fx->rx, HDR + 100);
	free(f);
	fx_free(fx);
}

static void test_rx_waits_for_driver_ok(void **state)
{
	struct fx *fx = fx_new(256);
	uint8_t *f;

	(void)state;
	assert_int_equal(make_dev(fx, fx->tap, true, 0, &fx->t), 0);
	f = rx_inject(fx, 100, 1);
	assert_false(event_ready(fx->t, 0));
	virtio_mmio_backend_event(fx->t); /* spurious: nothing read */
	assert_int_equal(bring_up(fx, 0), 0xf);
	assert_true(event_ready(fx->t, 0));
	rx_post(fx, 200);
	mmio_driver_kick(fx->t, VIRTIO_NET_RXQ);
	take_used(&fx->rx, HDR + 100);
	free(f);
	fx_free(fx);
}

/* ---- reset, snapshot, hostile rings ---------------------------------------------- */

/* The driver's side of a reset: empty rings, indexes from zero. */
static void driver_restart(struct vq_driver *d)
{
	memset(d->ram + VQ_DRIVER_DESC, 0, VQ_DRIVER_DATA - VQ_DRIVER_DESC);
	d->avail_idx = d->next_desc = d->used_seen = 0;
}

static void test_reset_mid_traffic(void **state)
{
	struct fx *fx = setup_dev(256, MRG);
	uint8_t *f1, *f2, buf[HDR + 40], got[64];
	uint64_t a;

	(void)state;
	f1 = rx_inject(fx, 300, 1);
	virtio_mmio_backend_event(fx->t); /* f1 waits */
	hdr_init(buf, 0, 0);
	hal_mock_tap_set_tx_limit(fx->hal, "tap0", 1);
	tx_post(fx, buf, sizeof(buf), 1);
	tx_post(fx, buf, sizeof(buf), 1);
	mmio_driver_kick(fx->t, VIRTIO_NET_TXQ); /* one waits for the TAP */
	mmio_driver_write(fx->t, VIRTIO_MMIO_STATUS, 0);
	assert_false(event_ready(fx->t, 20)); /* no timer, no TAP */
	assert_int_equal(hal_mock_tap_take(fx->hal, "tap0", got, sizeof(got)), (ssize_t)sizeof(buf));
	/* A fresh driver: f1 went with the old queues, f2 arrives. */
	driver_restart(&fx->rx);
	driver_restart(&fx->tx);
	assert_int_equal(bring_up(fx, MRG), 0xf);
	a = rx_post(fx, 2000);
	f2 = rx_inject(fx, 200, 2);
	mmio_driver_kick(fx->t, VIRTIO_NET_RXQ);
	take_used(&fx->rx, HDR + 200);
	check_rx_buffer(fx, a, f2, HDR + 200, 1);
	assert_int_equal(stat(fx, NET_STAT_RX_PACKETS), 1);
	free(f1);
	free(f2);
	fx_free(fx);
}

static void test_save_restore(void **state)
{
	struct fx *fx = setup_dev(256, MRG | F(GUEST_CSUM));
	struct virtio_mmio *other;
	struct hal_tap *tap1;
	struct state_writer w;
	unsigned offloads;
	uint8_t *f, bad[256];
	uint64_t a;

	(void)state;
	assert_int_equal(device_test_save(&fx->t->dev, &w), 0);
	assert_int_equal(fx->hal->ops->tap_open(fx->hal, "tap1", &tap1), 0);
	assert_int_equal(make_dev(fx, tap1, true, 1500, &other), 0);
	/* Hostile records change nothing: bad version, truncated, other MAC. */
	assert_true(w.len < sizeof(bad));
	memcpy(bad, w.buf, w.len);
	bad[w.len - 13] ^= 0xff; /* the backend record's version */
	assert_int_equal(device_test_restore(&other->dev, bad, w.len, NULL), -EINVAL);
	assert_int_not_equal(device_test_restore(&other->dev, w.buf, w.len - 1, NULL), 0);
	memcpy(bad, w.buf, w.len);
	bad[w.len - 3] ^= 1; /* the last MAC byte */
	assert_int_equal(device_test_restore(&other->dev, bad, w.len, NULL), -EINVAL);
	memcpy(bad, w.buf, w.len);
	bad[w.len - 1] ^= 1; /* the MTU */
	assert_int_equal(device_test_restore(&other->dev, bad, w.len, NULL), -EINVAL);
	assert_int_equal(mmio_driver_read(other, VIRTIO_MMIO_STATUS), 0);
	assert_false(event_ready(other, 0));
	/* The TAP failing to take the settings refuses the record too. */
	hal_mock_fail_nth(fx->hal, MOCK_TAP_SET_VNET_HDR_SIZE, 1, -EIO);
	assert_int_equal(device_test_restore(&other->dev, w.buf, w.len, NULL), -EINVAL);
	assert_int_equal(mmio_driver_read(other, VIRTIO_MMIO_STATUS), 0);
	/* The real record: live, with the TAP set up as activate would. */
	assert_int_equal(device_test_restore(&other->dev, w.buf, w.len, NULL), 0);
	assert_int_equal(mmio_driver_read(other, VIRTIO_MMIO_STATUS), 0xf);
	assert_int_equal(hal_mock_tap_state(fx->hal, "tap1", &offloads, NULL, NULL), 0);
	assert_int_equal(offloads, HAL_TAP_CSUM);
	a = rx_post(fx, 2000);
	f = pattern(HDR + 100, 3);
	assert_int_equal(hal_mock_tap_inject(fx->hal, "tap1", f, HDR + 100), 0);
	assert_true(event_ready(other, 0));
	virtio_mmio_backend_event(other);
	take_used(&fx->rx, HDR + 100);
	assert_memory_equal((uint8_t *)vq_driver_host(&fx->rx, a) + HDR, f + HDR, 100);
	/* A record of a device that was not live restores quiet. */
	state_writer_free(&w);
	mmio_driver_write(fx->t, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(device_test_save(&fx->t->dev, &w), 0);
	assert_int_equal(device_test_restore(&other->dev, w.buf, w.len, NULL), 0);
	assert_false(event_ready(other, 0));
	state_writer_free(&w);
	other->dev.ops->destroy(&other->dev);
	tap1->ops->close(tap1);
	free(f);
	fx_free(fx);
}

static void test_hostile_chains_need_reset(void **state)
{
	struct fx *fx = setup_dev(256, MRG);
	struct vq_seg seg = { RAM - 8, 64, false }; /* runs off the end of RAM */
	uint8_t *f;

	(void)state;
	vq_driver_post(&fx->tx, vq_driver_chain(&fx->tx, &seg, 1));
	mmio_driver_kick(fx->t, VIRTIO_NET_TXQ);
	assert_true(mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	/* Nothing more is served, and the TAP is no longer read. */
	f = rx_inject(fx, 64, 1);
	virtio_mmio_backend_event(fx->t);
	assert_false(event_ready(fx->t, 0));
	/* RX too. */
	assert_int_equal(bring_up(fx, MRG), 0xf);
	seg = (struct vq_seg){ RAM + 4096, 2000, true };
	vq_driver_post(&fx->rx, vq_driver_chain(&fx->rx, &seg, 1));
	mmio_driver_kick(fx->t, VIRTIO_NET_RXQ);
	assert_true(mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(bring_up(fx, 0), 0xf);
	free(f);
	f = rx_inject(fx, 64, 2); /* the reset dropped the first */
	vq_driver_post(&fx->rx, vq_driver_chain(&fx->rx, &seg, 1));
	mmio_driver_kick(fx->t, VIRTIO_NET_RXQ);
	assert_true(mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	free(f);
	fx_free(fx);
}

static void test_stat_names(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NET_STAT_COUNT; i++) {
		assert_non_null(net_stat_names[i]);
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(net_stat_names[i], net_stat_names[j]);
	}
}

/* The racing guest: a second thread keeps flipping the header of a posted
 * frame between a valid one and one asking for a checksum offload that was
 * not negotiated, while the device sends it again and again. Whatever the
 * timing, the TAP may only ever see a header the device checked: the one
 * it validated must be the one it hands over (it once validated a copy and
 * gave the TAP the guest's live bytes). */
struct flipper {
	volatile uint8_t *flags;
	_Atomic bool stop;
};

static void *flip_header(void *opaque)
{
	struct flipper *f = opaque;
	uint32_t x = 0x9e3779b9u;

	/* One store per pass, of a pseudo-random pick, so wherever a
	 * scheduler stops this thread (valgrind runs one thread at a time,
	 * for a fixed number of blocks) either header may be left in place. */
	while (!atomic_load_explicit(&f->stop, memory_order_relaxed)) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		*f->flags = x & 0x100 ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0;
	}
	return NULL;
}

static void test_tx_header_raced_by_the_guest(void **state)
{
	struct fx *fx = setup_dev(256, 0);
	uint8_t buf[HDR + 64], got[HDR + 80];
	struct flipper f = { 0 };
	unsigned sent = 0, refused = 0, unchecked = 0;
	struct vq_seg seg;
	pthread_t th;
	uint16_t head;

	(void)state;
	hdr_init(buf, 0, 0);
	memset(buf + HDR, 0x42, 64);
	seg = (struct vq_seg){ vq_driver_alloc(&fx->rx, sizeof(buf)), sizeof(buf), false };
	memcpy(vq_driver_host(&fx->rx, seg.addr), buf, sizeof(buf));
	head = vq_driver_chain(&fx->tx, &seg, 1);
	f.flags = vq_driver_host(&fx->rx, seg.addr);
	assert_int_equal(pthread_create(&th, NULL, flip_header, &f), 0);
	/* Until both outcomes were seen often (a loaded machine may start
	 * the flipper late), within a bound. */
	for (unsigned i = 0; i < 2000000 && !(sent > 100 && refused > 100 && i > 4000); i++) {
		if (i % 64 == 0)
			sched_yield();
		vq_driver_post(&fx->tx, head);
		mmio_driver_kick(fx->t, VIRTIO_NET_TXQ);
		take_used(&fx->tx, 0);
		if (hal_mock_tap_take(fx->hal, "tap0", got, sizeof(got)) > 0) {
			sent++;
			unchecked += (got[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0;
		} else {
			refused++;
		}
	}
	atomic_store(&f.stop, true);
	pthread_join(th, NULL);
	/* Both outcomes happened, so the race was really run... */
	assert_true(sent > 0 && refused > 0);
	assert_int_equal(stat(fx, NET_STAT_TX_MALFORMED), refused);
	/* ...and no frame got past the check with a header it did not pass. */
	assert_int_equal(unchecked, 0);
	fx_free(fx);
}

/* The same race at its worst moment, every time: the guest rewrites the
 * header after the device checked it and before the TAP reads the frame. */
static void rewrite_header(void *opaque)
{
	*(volatile uint8_t *)opaque = VIRTIO_NET_HDR_F_NEEDS_CSUM;
}

static void test_tx_header_rewritten_after_the_check(void **state)
{
	struct fx *fx = setup_dev(256, 0);
	uint8_t buf[HDR + 64], got[HDR + 80];
	struct vq_seg seg;

	(void)state;
	hdr_init(buf, 0, 0);
	memset(buf + HDR, 0x42, 64);
	seg = (struct vq_seg){ vq_driver_alloc(&fx->rx, sizeof(buf)), sizeof(buf), false };
	memcpy(vq_driver_host(&fx->rx, seg.addr), buf, sizeof(buf));
	vq_driver_post(&fx->tx, vq_driver_chain(&fx->tx, &seg, 1));
	hal_mock_tap_before_write(fx->hal, "tap0", rewrite_header, vq_driver_host(&fx->rx, seg.addr));
	mmio_driver_kick(fx->t, VIRTIO_NET_TXQ);
	take_used(&fx->tx, 0);
	hal_mock_tap_before_write(fx->hal, "tap0", NULL, NULL);
	assert_int_equal(hal_mock_tap_take(fx->hal, "tap0", got, sizeof(got)), (ssize_t)sizeof(buf));
	/* The TAP got the header the device checked, and the frame itself. */
	assert_memory_equal(got, buf, sizeof(buf));
	fx_free(fx);
}

/* The racing guest on both queues: one thread rewrites the RX rings and
 * buffers and writes registers, another the TX rings, while frames keep
 * arriving from the TAP and the device serves both queues as the event
 * loop does. Nothing crashes or leaves guest RAM (valgrind watches), the
 * walker's bound holds on both queues, and after a reset one frame each
 * way goes through intact. With and without MRG_RXBUF, whose RX path
 * holds many chains for one frame. */
static void race_both_queues(uint64_t features)
{
	struct fx *fx = setup_dev(256, features | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	struct racer rx = { .ram = fx->rx.ram, .len = VQ_DRIVER_DATA + 64 * 1024, .regs = fx->t };
	struct racer tx = { .ram = fx->tx.ram, .len = VQ_DRIVER_DATA, .seed = 7 };
	uint8_t buf[HDR + 200], got[HDR + 2000], *f;

	hdr_init(buf, 0, 0);
	memset(buf + HDR, 0x42, 200);
	for (unsigned i = 0; i < 64; i++)
		rx_post(fx, i % 2 ? 64 : 1600);
	for (unsigned i = 0; i < 32; i++)
		tx_post(fx, buf, sizeof(buf), 1 + i % 3);
	assert_int_equal(racer_start(&rx), 0);
	assert_int_equal(racer_start(&tx), 0);
	for (unsigned i = 0; i < 3000 || (racer_steps(&rx) < 30000 && i < 3000000); i++) {
		if (i % 4 == 0) {
			memset(got, (int)i, HDR + 60 + i % 1400);
			hdr_init(got, 0, 0);
			hal_mock_tap_inject(fx->hal, "tap0", got, HDR + 60 + i % 1400); /* -ENOBUFS when full */
		}
		virtio_mmio_notify(fx->t, VIRTIO_NET_RXQ);
		virtio_mmio_notify(fx->t, VIRTIO_NET_TXQ);
		sched_yield();
		virtio_mmio_backend_event(fx->t);
		while (hal_mock_tap_take(fx->hal, "tap0", got, sizeof(got)) > 0)
			;
		assert_true(racer_within_bound(fx->t));
	}
	assert_true(racer_stop(&rx) >= 30000);
	assert_true(racer_stop(&tx) > 0);
	/* Start over: a reset, fresh rings, and the TAP's backlog drained. */
	mmio_driver_write(fx->t, VIRTIO_MMIO_STATUS, 0);
	vq_driver_clear(&fx->rx);
	fx->rx.ram_size = TXOFF;
	memset(fx->tx.ram, 0, fx->tx.ram_size);
	fx->tx.avail_idx = fx->tx.next_desc = fx->tx.used_seen = 0;
	fx->tx.data_next = VQ_DRIVER_DATA;
	{
		struct iovec iov = { got, sizeof(got) };

		while (fx->tap->ops->readv(fx->tap, &iov, 1) > 0)
			;
	}
	assert_int_equal(bring_up(fx, features), 0xf);
	check_tx(fx, 1000, 2, 0, 0);
	{
		uint64_t addr = rx_post(fx, HDR + 1500);

		f = rx_inject(fx, 800, 5);
		virtio_mmio_backend_event(fx->t);
		take_used(&fx->rx, HDR + 800);
		check_rx_buffer(fx, addr, f, HDR + 800, 1);
		free(f);
	}
	fx_free(fx);
}

static void test_survives_a_racing_guest(void **state)
{
	(void)state;
	race_both_queues(0);
}

static void test_survives_a_racing_guest_mrg(void **state)
{
	(void)state;
	race_both_queues(MRG);
}

int main(void)


{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_features_with_offloads),
		cmocka_unit_test(test_features_follow_the_tap),
		cmocka_unit_test(test_tap_offloads_follow_the_driver),
		cmocka_unit_test(test_activate_fails_when_the_tap_does),
		cmocka_unit_test(test_config_space),
		cmocka_unit_test(test_bad_config_refused),
		cmocka_unit_test(test_tx_frames_arrive_exact),
		cmocka_unit_test(test_tx_batch_and_event_idx),
		cmocka_unit_test(test_tx_malformed_refused_and_returned),
		cmocka_unit_test(test_tx_needs_csum_without_feature),
		cmocka_unit_test(test_tx_header_raced_by_the_guest),
		cmocka_unit_test(test_tx_header_rewritten_after_the_check),
		cmocka_unit_test(test_survives_a_racing_guest),
		cmocka_unit_test(test_survives_a_racing_guest_mrg),
		cmocka_unit_test(test_tx_full_tap_waits),
		cmocka_unit_test(test_tx_tap_error_drops_one_frame),
		cmocka_unit_test(test_tx_work_is_bounded),
		cmocka_unit_test(test_rx_frames_exact),
		cmocka_unit_test(test_rx_mrg_spans_buffers),
		cmocka_unit_test(test_rx_waits_for_buffers),
		cmocka_unit_test(test_rx_without_mrg_small_buffer_drops),
		cmocka_unit_test(test_rx_hopeless_frames_dropped),
		cmocka_unit_test(test_rx_tap_error_backs_off),
		cmocka_unit_test(test_rx_waits_for_driver_ok),
		cmocka_unit_test(test_reset_mid_traffic),
		cmocka_unit_test(test_save_restore),
		cmocka_unit_test(test_hostile_chains_need_reset),
		cmocka_unit_test(test_stat_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
