/* libFuzzer target for what a guest controls on virtio-blk: hostile rings,
 * descriptors and request headers (every type, sector and length), on the
 * synchronous engine and on io_uring, optionally with a racing guest that
 * rewrites RAM and registers while requests are served and in flight. The
 * disk is a 64 KiB memfd. The input is a header and then the guest's RAM:
 *   [0]  log2 queue size (mod 9)
 *   [1]  bit0 EVENT_IDX, bit1 INDIRECT_DESC, bit2 synchronous engine,
 *        bit3 read-only drive, bit4 a racing guest (tests/virtio/racer.c,
 *        driven by the RAM bytes), bit5 save+restore, bit6 reset at the end
 *   [2..7] desc, avail, used (u16 each)
 *   [8]  io_uring depth (0: the queue size)
 *   [9]  turns of the event loop (mod 16, +1; x16 when racing)
 * tests/fuzz/corpus/fuzz_virtio_blk/ holds seeds with valid requests
 * (tests/fuzz/gen_blk_seeds.py). */
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio/blk.h"
#include "tests/fuzz/fuzz_mmio.h"
#include "tests/virtio/racer.h"
#include "vmm/log.h"

#define RAM_SIZE (64u * 1024)
#define DISK_SIZE (64u * 1024)
#define HEADER 16u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
static int disk = -1;

static void bring_up(struct virtio_mmio *t, const uint8_t *h)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | (h[1] & 1 ? VIRTIO_BIT(VIRTIO_F_EVENT_IDX) : 0) |
		     (h[1] & 2 ? VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) : 0);
	uint32_t s = fuzz_negotiate(t, f);

	fuzz_setup_queue(t, 0, 1u << (h[0] % 9), fuzz_u16(h + 2), fuzz_u16(h + 4), fuzz_u16(h + 6));
	fuzz_reg(t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
}

/* One event-loop turn: the kick, then whatever io_uring completed. */
static void turn(struct virtio_mmio *t)
{
	struct pollfd p = { t->ops->event_fd(t), POLLIN, 0 };

	virtio_mmio_notify(t, 0);
	if (p.fd >= 0)
		poll(&p, 1, 0);
	virtio_mmio_backend_event(t);
}

static void drive(struct virtio_mmio *t, const uint8_t *h, struct racer *racing)
{
	unsigned turns = (h[9] % 16 + 1) * (racing ? 16u : 1u);

	bring_up(t, h);
	if (racing && racer_start(racing))
		racing = NULL;
	for (unsigned i = 0; i < turns; i++)
		turn(t);
	if (racing)
		racer_stop(racing);
	if (h[1] & 32) {
		fuzz_save_restore(t);
		turn(t);
	}
	if (h[1] & 64)
		fuzz_reg(t, VIRTIO_MMIO_STATUS, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blk_config cfg = { .size = DISK_SIZE };
	struct guest_mem mem;
	struct virtio_mmio *t;
	size_t body;

	if (disk < 0) {
		/* Hostile rings make the transport log each NEEDS_RESET. */
		log_configure(&(struct log_options){ .off = true });
		disk = memfd_create("fuzz-disk", MFD_CLOEXEC);
		if (disk < 0 || ftruncate(disk, DISK_SIZE))
			return 0;
	}
	if (size < HEADER)
		return 0;
	body = fuzz_load_ram(ram, RAM_SIZE, data, size, HEADER, &mem);
	cfg.fd = dup(disk);
	cfg.read_only = data[1] & 8;
	cfg.sync_io = data[1] & 4;
	cfg.depth = data[8];
	if (cfg.fd < 0)
		return 0;
	if (blk_create(&mem, &cfg, NULL, &t)) {
		close(cfg.fd);
		return 0;
	}
	{
		struct racer r = { .ram = ram, .len = RAM_SIZE, .regs = t, .script = data + HEADER, .script_len = body };

		drive(t, data, data[1] & 16 ? &r : NULL);
	}
	t->dev.ops->destroy(&t->dev);
	return 0;
}
