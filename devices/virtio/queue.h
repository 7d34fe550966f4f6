/* The split virtqueue (virtio 1.2, 2.7), seen from the device.
 *
 * Everything in the rings is written by the guest and is hostile: the
 * walker copies each descriptor before looking at it, checks every buffer
 * lies inside guest memory (overflow-safe), cuts chains longer than the
 * queue (so loops end), bounds indirect tables, and insists that the
 * device-readable buffers come before the device-writable ones. Any
 * violation makes virtq_pop() fail; the transport then marks the device
 * as needing a reset. Backends get host iovecs that were checked, never
 * guest addresses.
 *
 * With dirty tracking on (guest_mem_track_dirty) the walker marks every
 * device-writable buffer as it hands it out and every used-area word it
 * writes, so backends need not mark what they write through the iovecs. */
#ifndef EMBER_VIRTIO_QUEUE_H
#define EMBER_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/virtio/virtio.h"
#include "snapshot/state.h"
#include "vmm/guest_mem.h"

#define VIRTQ_DESC_F_NEXT 1u
#define VIRTQ_DESC_F_WRITE 2u
#define VIRTQ_DESC_F_INDIRECT 4u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_DESC_SIZE 16u
#define VIRTQ_USED_ELEM_SIZE 8u

struct virtq {
	const struct guest_mem *mem;
	uint16_t max_size; /* what the device offers (QueueNumMax) */
	uint16_t size;     /* what the driver chose (QueueNum) */
	bool ready;
	bool event_idx;    /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;     /* VIRTIO_F_INDIRECT_DESC negotiated */
	uint64_t desc;     /* guest physical addresses of the three areas */
	uint64_t avail;
	uint64_t used;
	uint16_t last_avail;     /* next avail ring slot to take */
	uint16_t next_used;      /* next used ring slot to fill */
	uint16_t signalled_used; /* next_used when we last interrupted */
	bool signalled_valid;
	/* Bumped each time the queue stops (QueueReady 0, reset): a chain a
	 * device still holds from an older generation belongs to no ring of
	 * this queue, and its completion must be dropped. */
	uint32_t generation;
};

/* One descriptor chain: iov[0, nr_out) are device-readable, then
 * iov[nr_out, nr_out + nr_in) device-writable. */
struct virtq_chain {
	uint16_t head;
	unsigned nr_out;
	unsigned nr_in;
	uint64_t out_len;
	uint64_t in_len;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

void virtq_init(struct virtq *q, const struct guest_mem *mem, uint16_t max_size);
/* Back to the reset state (size = max_size, nothing ready). */
void virtq_reset(struct virtq *q);
/* The driver stopped the queue: not ready, and, since a driver that
 * starts it again brings fresh rings, back to index 0 (the layout it set
 * stays). Chains still out are of an older generation. */
void virtq_stop(struct virtq *q);
/* Checks the driver's setup before the queue goes live: size a power of
 * two within max_size, areas aligned (16/2/4) and inside guest memory. */
int virtq_validate(const struct virtq *q);
/* 1 and a chain, 0 when the driver has posted nothing new, or -EINVAL with
 * a message when the rings are broken. */
int virtq_pop(struct virtq *q, struct virtq_chain *chain);
/* Returns `head` to the driver with `written` bytes in its writable part. */
int virtq_push(struct virtq *q, uint16_t head, uint32_t written);
/* After pushes: whether the driver wants an interrupt now (EVENT_IDX's
 * used_event or the NO_INTERRUPT flag). */
bool virtq_needs_interrupt(struct virtq *q);
/* Copies up to `len` bytes out of the chain's readable part starting at
 * byte `off`; returns how many were copied. */
size_t virtq_chain_read(const struct virtq_chain *c, size_t off, void *dst, size_t len);
/* Same into the writable part. */
size_t virtq_chain_write(const struct virtq_chain *c, size_t off, const void *src, size_t len);

void virtq_save(const struct virtq *q, struct state_writer *w);
/* Validates what it reads: a live queue must pass virtq_validate. */
void virtq_restore(struct virtq *q, struct state_reader *r);

#endif
