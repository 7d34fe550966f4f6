/* virtio-net device-path microbenchmark, no guest and no KVM: a synthetic
 * driver keeps TX chains / RX buffers posted in plain memory and the mock
 * TAP plays the wire. TX: 32 frames per kick, written to the TAP and
 * drained by the "host". RX: 32 frames injected into the TAP per round,
 * then one backend event delivers them into the posted buffers. The mock
 * TAP copies each frame once (malloc + memcpy) as a kernel TAP would, so
 * this is the VMM's cost per packet plus a TAP-like copy. Prints packets/s
 * for 64 B and 1500 B frames, the median of 5 runs of ~0.3 s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/virtio/net.h"
#include "hal/mock.h"
#include "tests/virtio/mmio_driver.h"
#include "tests/virtio/vq_driver.h"

#define RUNS 5
#define RUN_NS 300000000LL
#define BATCH 32
#define RAM (8u << 20)
#define TXOFF (RAM - 0x10000u) /* the TX rings, seen by a second driver view */

struct bench {
	struct hal *hal;
	struct hal_tap *tap;
	struct vq_driver rx, tx;
	struct virtio_mmio *t;
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void die(const char *what)
{
	fprintf(stderr, "net_path: %s\n", what);
	exit(1);
}

static void bench_open(struct bench *b)
{
	struct net_config cfg = { .has_mac = true, .mac = { 2, 0, 0, 0, 0, 1 } };
	uint32_t s;

	memset(b, 0, sizeof(*b));
	if (hal_mock_create(&b->hal) || b->hal->ops->tap_open(b->hal, "bench0", &b->tap))
		die("mock TAP");
	if (vq_driver_init(&b->rx, RAM, 256))
		die("RAM");
	b->rx.ram_size = TXOFF;
	b->tx.ram = b->rx.ram + TXOFF;
	b->tx.ram_size = RAM - TXOFF;
	b->tx.size = 256;
	cfg.tap = b->tap;
	if (net_create(&b->rx.mem, &cfg, NULL, &b->t))
		die("net_create");
	s = mmio_driver_negotiate(b->t, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
						VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	mmio_driver_setup_queue(b->t, VIRTIO_NET_RXQ, &b->rx);
	mmio_driver_write(b->t, VIRTIO_MMIO_QUEUE_SEL, VIRTIO_NET_TXQ);
	mmio_driver_write(b->t, VIRTIO_MMIO_QUEUE_NUM, 256);
	mmio_driver_write(b->t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(TXOFF + VQ_DRIVER_DESC));
	mmio_driver_write(b->t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(TXOFF + VQ_DRIVER_AVAIL));
	mmio_driver_write(b->t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(TXOFF + VQ_DRIVER_USED));
	mmio_driver_write(b->t, VIRTIO_MMIO_QUEUE_READY, 1);
	mmio_driver_write(b->t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
	if (mmio_driver_read(b->t, VIRTIO_MMIO_STATUS) != 0xf)
		die("bring-up");
}

static void bench_close(struct bench *b)
{
	b->t->dev.ops->destroy(&b->t->dev);
	b->tap->ops->close(b->tap);
	b->hal->ops->destroy(b->hal);
	vq_driver_fini(&b->rx);
}

/* Packets per second guest -> TAP for frames of `len` bytes. */
static double bench_tx(size_t len)
{
	struct bench b;
	uint16_t heads[BATCH];
	static uint8_t sink[2048];
	long long t0, n = 0;
	uint32_t id, used;

	bench_open(&b);
	for (unsigned i = 0; i < BATCH; i++) {
		struct vq_seg seg = { vq_driver_alloc(&b.rx, (uint32_t)(VIRTIO_NET_HDR_LEN + len)),
				      (uint32_t)(VIRTIO_NET_HDR_LEN + len), false };

		memset(vq_driver_host(&b.rx, seg.addr), (int)i, seg.len);
		memset(vq_driver_host(&b.rx, seg.addr), 0, VIRTIO_NET_HDR_LEN);
		heads[i] = vq_driver_chain(&b.tx, &seg, 1);
	}
	t0 = now_ns();
	while (now_ns() - t0 < RUN_NS) {
		for (unsigned i = 0; i < BATCH; i++)
			vq_driver_post(&b.tx, heads[i]);
		mmio_driver_kick(b.t, VIRTIO_NET_TXQ);
		for (unsigned i = 0; i < BATCH; i++)
			if (!vq_driver_take_used(&b.tx, &id, &used) ||
			    hal_mock_tap_take(b.hal, "bench0", sink, sizeof(sink)) != (ssize_t)(VIRTIO_NET_HDR_LEN + len))
				die("TX frame lost");
		n += BATCH;
	}
	t0 = now_ns() - t0;
	bench_close(&b);
	return (double)n * 1e9 / (double)t0;
}

/* Packets per second TAP -> guest for frames of `len` bytes. */
static double bench_rx(size_t len)
{
	struct bench b;
	uint16_t heads[BATCH];
	static uint8_t frame[VIRTIO_NET_HDR_LEN + 1514];
	long long t0, n = 0;
	uint32_t id, used;

	bench_open(&b);
	memset(frame, 0x5a, sizeof(frame));
	memset(frame, 0, VIRTIO_NET_HDR_LEN);
	for (unsigned i = 0; i < BATCH; i++) {
		struct vq_seg seg = { 0, 2048, true };

		heads[i] = vq_driver_chain(&b.rx, &seg, 1);
	}
	t0 = now_ns();
	while (now_ns() - t0 < RUN_NS) {
		for (unsigned i = 0; i < BATCH; i++) {
			vq_driver_post(&b.rx, heads[i]);
			if (hal_mock_tap_inject(b.hal, "bench0", frame, VIRTIO_NET_HDR_LEN + len))
				die("inject");
		}
		virtio_mmio_backend_event(b.t);
		for (unsigned i = 0; i < BATCH; i++)
			if (!vq_driver_take_used(&b.rx, &id, &used) || used != VIRTIO_NET_HDR_LEN + len)
				die("RX frame lost");
		n += BATCH;
	}
	t0 = now_ns() - t0;
	bench_close(&b);
	return (double)n * 1e9 / (double)t0;
}

int main(void)
{
	static const size_t sizes[] = { 64, 1500 };

	printf("virtio-net device path (synthetic driver, mock TAP, no guest; batches of %d; median of %d)\n",
	       BATCH, RUNS);
	for (unsigned s = 0; s < 2; s++) {
		double tx[RUNS], rx[RUNS];

		for (int r = 0; r < RUNS; r++) {
			tx[r] = bench_tx(sizes[s]);
			rx[r] = bench_rx(sizes[s]);
		}
		printf("  TX %4zu B %12.0f pkt/s  (%.0f ns per packet, %.2f Gbit/s)\n", sizes[s], median(tx, RUNS),
		       1e9 / median(tx, RUNS), median(tx, RUNS) * (double)sizes[s] * 8 / 1e9);
		printf("  RX %4zu B %12.0f pkt/s  (%.0f ns per packet, %.2f Gbit/s)\n", sizes[s], median(rx, RUNS),
		       1e9 / median(rx, RUNS), median(rx, RUNS) * (double)sizes[s] * 8 / 1e9);
	}
	return 0;
}
