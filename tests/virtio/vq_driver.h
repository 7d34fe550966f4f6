/* A synthetic virtio driver over a flat block of fake guest RAM: it lays
 * out a split virtqueue, builds descriptor chains (good and hostile) and
 * reads the used ring back. The unit tests, the queue fuzz target and the
 * device-path benchmark all drive devices through it. */
#ifndef EMBER_TEST_VQ_DRIVER_H
#define EMBER_TEST_VQ_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/queue.h"
#include "vmm/guest_mem.h"

/* Fake RAM: [0, ram_size). The rings live at fixed addresses below
 * VQ_DRIVER_DATA; buffers are bump-allocated above it. */
#define VQ_DRIVER_DESC 0x1000ULL
#define VQ_DRIVER_AVAIL 0x5000ULL
#define VQ_DRIVER_USED 0x6000ULL
#define VQ_DRIVER_DATA 0x10000ULL

struct vq_seg {
	uint64_t addr; /* 0: allocate `len` bytes */
	uint32_t len;
	bool write;    /* device-writable */
};

struct vq_driver {
	struct guest_mem mem;
	uint8_t *ram;
	size_t ram_size;
	uint16_t size;
	uint16_t avail_idx;
	uint16_t next_desc;
	uint16_t used_seen;
	uint64_t data_next;
};

/* Returns 0 or -ENOMEM. */
int vq_driver_init(struct vq_driver *d, size_t ram_size, uint16_t size);
void vq_driver_fini(struct vq_driver *d);
/* Zeroes the RAM and forgets every ring and buffer, as a driver that
 * starts over after a reset (the RAM itself, which a device maps, stays). */
void vq_driver_clear(struct vq_driver *d);
/* Points `q` at this driver's rings and marks it ready. */
void vq_driver_attach(const struct vq_driver *d, struct virtq *q, bool event_idx, bool indirect);
uint64_t vq_driver_alloc(struct vq_driver *d, uint32_t len);
void *vq_driver_host(struct vq_driver *d, uint64_t gpa);
void vq_driver_set_desc(struct vq_driver *d, uint16_t idx, uint64_t addr, uint32_t len, uint16_t flags,
			uint16_t next);
/* Builds a chain from free descriptors (allocating buffers where addr is
 * 0, writing back their addresses) and returns its head. */
uint16_t vq_driver_chain(struct vq_driver *d, struct vq_seg *segs, unsigned n);
/* Same, as one INDIRECT descriptor pointing at a table of n entries. */
uint16_t vq_driver_chain_indirect(struct vq_driver *d, struct vq_seg *segs, unsigned n);
/* Puts head in the avail ring and publishes the new index. */
void vq_driver_post(struct vq_driver *d, uint16_t head);
/* Publishes an arbitrary avail index (for hostile jumps). */
void vq_driver_set_avail_idx(struct vq_driver *d, uint16_t idx);
void vq_driver_set_avail_flags(struct vq_driver *d, uint16_t flags);
void vq_driver_set_used_event(struct vq_driver *d, uint16_t v);
uint16_t vq_driver_avail_event(const struct vq_driver *d);
uint16_t vq_driver_used_idx(const struct vq_driver *d);
/* Takes the next used element; false if none is new. */
bool vq_driver_take_used(struct vq_driver *d, uint32_t *id, uint32_t *len);
/* Frees all descriptors and buffers (call when every chain came back). */
void vq_driver_recycle(struct vq_driver *d);

#endif
