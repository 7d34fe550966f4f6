/* virtio-rng (virtio 1.2, 5.4): fills the driver's buffers from the
 * host's getrandom(). */
#ifndef EMBER_VIRTIO_RNG_H
#define EMBER_VIRTIO_RNG_H

#include <stddef.h>
#include <sys/types.h>

#include "devices/virtio/mmio.h"

#define VIRTIO_RNG_QUEUE_SIZE 256
/* Bytes served per request at most: bounds the work one kick can cause. */
#define VIRTIO_RNG_MAX_REQUEST (64u * 1024)

/* Returns bytes filled (> 0) or a negative errno; NULL means getrandom(). */
typedef ssize_t (*rng_source_fn)(void *buf, size_t len);

/* Counters for metrics, named as Firecracker's entropy metrics; they only
 * grow. Bumped on the thread serving the queue, read from any thread. */
enum rng_stat {
	RNG_STAT_EVENT_COUNT,    /* queue notifications served */
	RNG_STAT_BYTES,          /* entropy bytes given to the guest */
	RNG_STAT_HOST_RNG_FAILS, /* the host source failed */
	RNG_STAT_COUNT
};
extern const char *const rng_stat_names[RNG_STAT_COUNT];

struct rng_stats {
	uint64_t v[RNG_STAT_COUNT];
};

int rng_create(const struct guest_mem *mem, rng_source_fn source, const struct virtio_mmio_hooks *hooks,
	       struct virtio_mmio **out);
/* `t` must be a virtio-rng device (ops->device_id == VIRTIO_ID_RNG). */
void rng_get_stats(const struct virtio_mmio *t, struct rng_stats *out);

#endif
