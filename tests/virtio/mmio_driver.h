/* Drives a virtio-mmio transport through its registers the way Linux's
 * virtio_mmio does: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK,
 * queue setup, DRIVER_OK; plus kicks and interrupt acks. */
#ifndef EMBER_TEST_MMIO_DRIVER_H
#define EMBER_TEST_MMIO_DRIVER_H

#include <stdint.h>

#include "devices/virtio/mmio.h"
#include "tests/virtio/vq_driver.h"

uint32_t mmio_driver_read(struct virtio_mmio *t, uint64_t off);
void mmio_driver_write(struct virtio_mmio *t, uint64_t off, uint32_t v);
uint64_t mmio_driver_device_features(struct virtio_mmio *t);
/* Negotiates `features` (must include VERSION_1 to succeed) and returns
 * the status read back after FEATURES_OK. */
uint32_t mmio_driver_negotiate(struct virtio_mmio *t, uint64_t features);
/* Points queue q at d's rings and sets it ready. */
void mmio_driver_setup_queue(struct virtio_mmio *t, unsigned q, const struct vq_driver *d);
/* The whole sequence for one queue on d; returns the final status. */
uint32_t mmio_driver_bring_up(struct virtio_mmio *t, const struct vq_driver *d, uint64_t features);
void mmio_driver_kick(struct virtio_mmio *t, unsigned q);

#endif
