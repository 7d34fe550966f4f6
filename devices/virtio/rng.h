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

int rng_create(const struct guest_mem *mem, rng_source_fn source, const struct virtio_mmio_hooks *hooks,
	       struct virtio_mmio **out);

#endif
