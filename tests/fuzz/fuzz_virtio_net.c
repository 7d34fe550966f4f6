/* libFuzzer target for what a guest controls on virtio-net: hostile TX
 * and RX rings and descriptors (and the vnet headers in them), under any
 * feature set, with the mock TAP on the host side. The input is a header
 * and then the guest's RAM:
 *   [0]  features: bit0 MRG_RXBUF, bit1 EVENT_IDX, bit2 INDIRECT_DESC,
 *        bit3 CSUM+HOST_TSO4/6+HOST_ECN, bit4 GUEST_CSUM+GUEST_TSO4/6,
 *        bit5 a racing guest (tests/virtio/racer.c, driven by the RAM bytes)
 *        rewrites RAM and registers while the device is served, 16 turns
 *   [1]  queue sizes: log2 RX (low nibble), log2 TX (high nibble), mod 9
 *   [2..13] RX desc, avail, used, TX desc, avail, used (u16 each)
 *   [14] frames injected into the TAP (mod 32)
 *   [15] frame size seed; bit7 also sets a TX limit on the TAP
 * tests/fuzz/corpus/fuzz_virtio_net/ holds seeds with valid rings (race-*
 * are txrx-mrg, rx-plain and tx-indirect with bit5 set). */
#include <stdint.h>
#include <string.h>

#include "devices/virtio/net.h"
#include "hal/mock.h"
#include "tests/fuzz/fuzz_mmio.h"
#include "tests/virtio/racer.h"
#include "vmm/log.h"

#define RAM_SIZE (64u * 1024)
#define HEADER 16u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
static uint8_t frame[VIRTIO_NET_HDR_LEN + 9000];



static void setup_queue(struct virtio_mmio *t, unsigned q, unsigned log2, const uint8_t *addrs)
{
	fuzz_setup_queue(t, q, 1u << (log2 % 9), fuzz_u16(addrs), fuzz_u16(addrs + 2), fuzz_u16(addrs + 4));
}

static uint64_t features_of(uint8_t h)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1);

	if (h & 1)
		f |= VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (h & 2)
		f |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (h & 4)
		f |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	if (h & 8)
		f |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
		     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN);
	if (h & 16)
		f |= VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
		     VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);
	return f;
}

static void drive(struct hal *hal, struct virtio_mmio *t, const uint8_t *h, struct racer *racing)
{
	uint64_t f = features_of(h[0]);
	uint32_t s;
	unsigned frames = h[14] % 32;
	uint8_t sink[64];

	s = fuzz_negotiate(t, f);
	setup_queue(t, VIRTIO_NET_RXQ, h[1] & 15, h + 2);
	setup_queue(t, VIRTIO_NET_TXQ, h[1] >> 4, h + 8);
	fuzz_reg(t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
	if (h[15] & 0x80)
		hal_mock_tap_set_tx_limit(hal, "fz0", 2);
	if (racing && racer_start(racing))
		racing = NULL;
	for (unsigned turn = 0; turn < (racing ? 16u : 1u); turn++) {
		/* TX: the TAP checks nothing beyond lengths; frames are discarded. */
		virtio_mmio_notify(t, VIRTIO_NET_TXQ);
		virtio_mmio_backend_event(t);
		/* RX: frames of varied sizes, some runts, into the hostile RX ring. */
		for (unsigned i = 0; i < frames; i++) {
			size_t len = ((size_t)(h[15] & 0x7f) * 71 * (i + 1)) % sizeof(frame);

			frame[0] = (uint8_t)i;
			hal_mock_tap_inject(hal, "fz0", frame, len ? len : 1);
		}
		virtio_mmio_backend_event(t);
		virtio_mmio_notify(t, VIRTIO_NET_RXQ);
		virtio_mmio_backend_event(t);
		while (hal_mock_tap_take(hal, "fz0", sink, sizeof(sink)) >= 0)
			;
		virtio_mmio_notify(t, VIRTIO_NET_TXQ);
	}
	if (racing)
		racer_stop(racing);
	fuzz_reg(t, VIRTIO_MMIO_STATUS, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_config cfg = { .has_mac = true, .mac = { 2, 0, 0, 0, 0, 1 }, .mtu = 1500 };
	struct guest_mem mem;
	struct virtio_mmio *t;
	struct hal *hal;
	size_t body;

	static bool quiet;

	if (!quiet) {
		/* Hostile rings make the transport log each NEEDS_RESET. */
		quiet = true;
		log_configure(&(struct log_options){ .off = true });
	}
	if (size < HEADER)
		return 0;
	body = fuzz_load_ram(ram, RAM_SIZE, data, size, HEADER, &mem);
	if (hal_mock_create(&hal))
		return 0;
	if (!hal->ops->tap_open(hal, "fz0", &cfg.tap)) {
		if (!net_create(&mem, &cfg, NULL, &t)) {
			struct racer r = { .ram = ram, .len = RAM_SIZE, .regs = t, .script = data + HEADER,
					   .script_len = body };

			drive(hal, t, data, data[0] & 32 ? &r : NULL);
			t->dev.ops->destroy(&t->dev);
		}
		cfg.tap->ops->close(cfg.tap);
	}
	hal->ops->destroy(hal);
	return 0;
}
