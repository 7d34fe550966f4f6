/* Virtio fuzz targets: a driver's moves on the transport's registers (as a
 * vCPU makes them, under the device lock), and the guest RAM an input
 * carries after its header. */
#ifndef EMBER_FUZZ_MMIO_H
#define EMBER_FUZZ_MMIO_H

#include <stdint.h>
#include <string.h>

#include "devices/virtio/mmio.h"

static inline void fuzz_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	pthread_mutex_lock(&t->dev.lock);
	t->dev.ops->write(&t->dev, off, (const uint8_t *)&v, 4);
	pthread_mutex_unlock(&t->dev.lock);
}

static inline uint16_t fuzz_u16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

/* ACKNOWLEDGE, DRIVER, the features, FEATURES_OK: the status reached. */
static inline uint32_t fuzz_negotiate(struct virtio_mmio *t, uint64_t features)
{
	uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	fuzz_reg(t, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	fuzz_reg(t, VIRTIO_MMIO_STATUS, s);
	fuzz_reg(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fuzz_reg(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	fuzz_reg(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fuzz_reg(t, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	fuzz_reg(t, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	return s | VIRTIO_STATUS_FEATURES_OK;
}

static inline void fuzz_setup_queue(struct virtio_mmio *t, unsigned q, uint32_t num, uint16_t desc,
				    uint16_t avail, uint16_t used)
{
	fuzz_reg(t, VIRTIO_MMIO_QUEUE_SEL, q);
	fuzz_reg(t, VIRTIO_MMIO_QUEUE_NUM, num);
	fuzz_reg(t, VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
	fuzz_reg(t, VIRTIO_MMIO_QUEUE_DRIVER_LOW, avail);
	fuzz_reg(t, VIRTIO_MMIO_QUEUE_DEVICE_LOW, used);
	fuzz_reg(t, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* The device saved and put back, as a snapshot round trip does. */
static inline void fuzz_save_restore(struct virtio_mmio *t)
{
	struct state_writer w;
	struct state_reader r;

	state_writer_init(&w);
	if (!t->dev.ops->save(&t->dev, &w)) {
		state_reader_init(&r, w.buf, w.len);
		t->dev.ops->restore(&t->dev, &r);
	}
	state_writer_free(&w);
}

/* Guest RAM from the input after its `header` bytes (zeroes past them),
 * described in *mem: the number of input bytes it took. */
static inline size_t fuzz_load_ram(uint8_t *ram, size_t ram_size, const uint8_t *data, size_t size, size_t header,
				   struct guest_mem *mem)
{
	size_t body = size - header < ram_size ? size - header : ram_size;

	memset(ram, 0, ram_size);
	memcpy(ram, data + header, body);
	guest_mem_init(mem);
	guest_mem_add_region(mem, 0, ram_size, ram);
	return body;
}

#endif
