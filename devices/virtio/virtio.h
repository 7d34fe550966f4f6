/* Constants shared by the virtio transport, the queue walker and the
 * devices, from the virtio 1.2 specification (chapters 2, 4.2, 5). */
#ifndef EMBER_VIRTIO_H
#define EMBER_VIRTIO_H

#include <stdint.h>

/* Device status (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

/* Reserved feature bits (6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33

#define VIRTIO_BIT(b) (1ULL << (b))

/* Device ids (5). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_RNG 4
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_ID_VSOCK 19

/* Interrupt status bits (4.2.2). */
#define VIRTIO_INT_USED_RING 1u
#define VIRTIO_INT_CONFIG 2u

/* The largest queue any ember device offers; also the longest chain. */
#define VIRTQ_MAX_SIZE 256
#define VIRTIO_MAX_QUEUES 8

#endif
