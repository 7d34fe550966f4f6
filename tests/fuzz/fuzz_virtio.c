/* libFuzzer target for everything a guest controls on a virtio device:
 * the split-virtqueue walker over hostile rings, and the virtio-mmio
 * register file (feature negotiation, status, queue setup, kicks) with an
 * rng device behind it. The input is the guest's RAM plus a header; see
 * tests/fuzz/gen_virtio_seeds.py for the layout. Header byte 1 bit 6: a
 * racing guest (tests/virtio/racer.c, driven by the RAM bytes) rewrites
 * RAM (and the registers) meanwhile, and the walk takes 16 rounds. */
#include <stdint.h>
#include <string.h>

#include "devices/virtio/queue.h"
#include "devices/virtio/rng.h"
#include "tests/fuzz/fuzz_mmio.h"
#include "tests/virtio/racer.h"
#include "vmm/log.h"

#define RAM_SIZE (64u * 1024)
#define HEADER 8u
#define MAX_OPS 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));

static ssize_t fixed_source(void *buf, size_t len)
{
	memset(buf, 0x5a, len);
	return (ssize_t)len;
}

static void walk_queue(const struct guest_mem *mem, const uint8_t *h, struct racer *racing)
{
	static struct virtq_chain chain;
	struct virtq q;
	uint16_t v;

	virtq_init(&q, mem, 256);
	q.size = (uint16_t)(1u << (h[0] % 9));
	q.event_idx = h[1] & 1;
	q.indirect = h[1] & 2;
	memcpy(&v, h + 2, 2), q.desc = v;
	memcpy(&v, h + 4, 2), q.avail = v;
	memcpy(&v, h + 6, 2), q.used = (uint64_t)v << (h[1] & 4 ? 16 : 0);
	if (virtq_validate(&q))
		return;
	q.ready = true;
	if (racing && racer_start(racing))
		racing = NULL;
	for (unsigned i = 0; i < (racing ? 32u : 2u) * q.size; i++) {
		uint8_t buf[64];

		if (virtq_pop(&q, &chain) <= 0)
			break;
		virtq_chain_read(&chain, 0, buf, sizeof(buf));
		virtq_push(&q, chain.head, (uint32_t)virtq_chain_write(&chain, 1, buf, sizeof(buf)));
		virtq_needs_interrupt(&q);
	}
	if (racing)
		racer_stop(racing);
}

/* Ops of 6 bytes: register offset (u16, within the 4 KiB window) and a
 * 32-bit value; the write goes through the device ops as a vCPU's would. */
static void drive_registers(const struct guest_mem *mem, const uint8_t *ops, size_t len, struct racer *racing)
{
	struct virtio_mmio *t;

	if (rng_create(mem, fixed_source, NULL, &t))
		return;
	if (racing) {
		racing->regs = t;
		if (racer_start(racing))
			racing = NULL;
	}
	for (size_t i = 0; i + 6 <= len && i / 6 < MAX_OPS; i += 6) {
		uint16_t off;
		uint8_t val[4];

		memcpy(&off, ops + i, 2);
		memcpy(val, ops + i + 2, 4);
		off &= 0xfff;
		pthread_mutex_lock(&t->dev.lock);
		if (off & 0x800)
			t->dev.ops->read(&t->dev, off & 0x7ff, val, 4);
		else
			t->dev.ops->write(&t->dev, off, val, 4);
		pthread_mutex_unlock(&t->dev.lock);
	}
	virtio_mmio_notify(t, 0);
	if (racing)
		racer_stop(racing);
	t->dev.ops->destroy(&t->dev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem mem;
	size_t body;

	static bool quiet;

	if (!quiet) {
		/* The racing guest's register writes make the transport warn. */
		quiet = true;
		log_configure(&(struct log_options){ .off = true });
	}
	if (size < HEADER)
		return 0;
	body = fuzz_load_ram(ram, RAM_SIZE, data, size, HEADER, &mem);
	struct racer r = { .ram = ram, .len = RAM_SIZE, .script = data + HEADER, .script_len = body };
	struct racer *racing = data[1] & 0x40 ? &r : NULL;

	if (data[1] & 0x80)
		drive_registers(&mem, data + HEADER + RAM_SIZE, size > HEADER + RAM_SIZE ? size - HEADER - RAM_SIZE : 0,
				racing);
	else
		walk_queue(&mem, data, racing);
	return 0;
}
