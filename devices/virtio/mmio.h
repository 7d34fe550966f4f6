/* The virtio-mmio transport, version 2 (virtio 1.2, 4.2.2): a register
 * window per device with feature negotiation, the status state machine,
 * queue setup, config space and interrupt status.
 *
 * A device backend embeds `struct virtio_mmio` as its first member and
 * supplies `struct virtio_backend_ops`. Register access comes from vCPU
 * threads through the bus (which holds dev.lock); queue work runs on the
 * event loop via virtio_mmio_notify(), which takes the same lock, so a
 * backend's callbacks never race with the registers. */
#ifndef EMBER_VIRTIO_MMIO_H
#define EMBER_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "devices/virtio/queue.h"
#include "devices/virtio/virtio.h"
#include "vmm/log.h"

#define VIRTIO_MMIO_MAGIC 0x74726976u /* "virt" */
#define VIRTIO_MMIO_VERSION 2u
#define VIRTIO_MMIO_VENDOR 0x52424d45u /* "EMBR" */
#define VIRTIO_MMIO_RANGE_LEN 0x1000u

/* Register offsets. */
enum {
	VIRTIO_MMIO_MAGIC_VALUE = 0x000,
	VIRTIO_MMIO_VERSION_REG = 0x004,
	VIRTIO_MMIO_DEVICE_ID = 0x008,
	VIRTIO_MMIO_VENDOR_ID = 0x00c,
	VIRTIO_MMIO_DEVICE_FEATURES = 0x010,
	VIRTIO_MMIO_DEVICE_FEATURES_SEL = 0x014,
	VIRTIO_MMIO_DRIVER_FEATURES = 0x020,
	VIRTIO_MMIO_DRIVER_FEATURES_SEL = 0x024,
	VIRTIO_MMIO_QUEUE_SEL = 0x030,
	VIRTIO_MMIO_QUEUE_NUM_MAX = 0x034,
	VIRTIO_MMIO_QUEUE_NUM = 0x038,
	VIRTIO_MMIO_QUEUE_READY = 0x044,
	VIRTIO_MMIO_QUEUE_NOTIFY = 0x050,
	VIRTIO_MMIO_INTERRUPT_STATUS = 0x060,
	VIRTIO_MMIO_INTERRUPT_ACK = 0x064,
	VIRTIO_MMIO_STATUS = 0x070,
	VIRTIO_MMIO_QUEUE_DESC_LOW = 0x080,
	VIRTIO_MMIO_QUEUE_DESC_HIGH = 0x084,
	VIRTIO_MMIO_QUEUE_DRIVER_LOW = 0x090,
	VIRTIO_MMIO_QUEUE_DRIVER_HIGH = 0x094,
	VIRTIO_MMIO_QUEUE_DEVICE_LOW = 0x0a0,
	VIRTIO_MMIO_QUEUE_DEVICE_HIGH = 0x0a4,
	VIRTIO_MMIO_SHM_SEL = 0x0ac,
	VIRTIO_MMIO_SHM_LEN_LOW = 0x0b0,
	VIRTIO_MMIO_SHM_BASE_HIGH = 0x0bc,
	VIRTIO_MMIO_CONFIG_GENERATION = 0x0fc,
	VIRTIO_MMIO_CONFIG = 0x100,
};

struct virtio_mmio;

struct virtio_backend_ops {
	const char *kind;   /* snapshot record kind, e.g. "virtio-blk" */
	uint32_t device_id; /* VIRTIO_ID_* */
	/* Config space, `off` from VIRTIO_MMIO_CONFIG; out-of-range bytes
	 * read as zero and writes to them are dropped by the transport. */
	uint32_t config_len;
	void (*config_read)(struct virtio_mmio *t, uint32_t off, uint8_t *data, uint32_t len);
	void (*config_write)(struct virtio_mmio *t, uint32_t off, const uint8_t *data, uint32_t len);
	/* The driver set DRIVER_OK. Non-zero refuses: the device then asks
	 * for a reset. Optional. */
	int (*activate)(struct virtio_mmio *t);
	/* Serve queue `q`; pop with virtio_mmio_pop(), complete with
	 * virtio_mmio_push() and finish with virtio_mmio_flush(). */
	void (*process)(struct virtio_mmio *t, unsigned q);
	void (*reset)(struct virtio_mmio *t); /* optional */
	/* An fd the event loop should watch for the backend (I/O completions,
	 * a TAP), or -1. Optional, asked once when the VM starts. */
	int (*event_fd)(struct virtio_mmio *t);
	/* event_fd became readable; runs on the event loop with dev.lock held. */
	void (*on_event)(struct virtio_mmio *t);
	/* Complete every request still in flight (push and flush) before the
	 * transport saves or replaces the queues: a snapshot must not hold a
	 * chain the device took but never returned. Optional. */
	void (*quiesce)(struct virtio_mmio *t);
	/* Backend state inside the transport's record. Optional. */
	void (*save)(struct virtio_mmio *t, struct state_writer *w);
	void (*restore)(struct virtio_mmio *t, struct state_reader *r);
	void (*destroy)(struct virtio_mmio *t); /* frees the backend */
};

/* How the transport reaches the outside world. */
struct virtio_mmio_hooks {
	/* Raise the device's (edge-triggered) interrupt. */
	void (*interrupt)(void *opaque);
	/* A QueueNotify write reached the transport (no ioeventfd caught it):
	 * hand queue `q` to the event loop. NULL: serve it inline. */
	void (*kick)(void *opaque, unsigned q);
	void *opaque;
};

/* Chains a queue may hand its device per event-loop turn (a kick or a
 * backend event). A guest that refills its ring as fast as the device
 * serves it then gets this much work and a re-kick for the rest, so no
 * device starves the others, the API or signals. At least a whole queue,
 * so whatever one request or frame needs still fits in one turn. */
#define VIRTIO_CHAINS_PER_TURN VIRTQ_MAX_SIZE

struct virtio_mmio {
	struct device dev;
	const struct virtio_backend_ops *ops;
	struct virtio_mmio_hooks hooks;
	const struct guest_mem *mem;
	uint64_t device_features;
	uint64_t driver_features;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint32_t status;
	uint32_t interrupt_status;
	uint32_t config_generation;
	unsigned nr_queues;
	struct virtq queues[VIRTIO_MAX_QUEUES];
	uint64_t requests; /* chains served, for statistics */
	unsigned budget[VIRTIO_MAX_QUEUES]; /* chains left this turn */
	struct log_limit log_limit; /* what the driver's mistakes may write to the log */
};

/* `features` are the backend's; VERSION_1 is always added. */
int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_backend_ops *ops, const struct guest_mem *mem,
		     uint64_t features, unsigned nr_queues, uint16_t queue_max,
		     const struct virtio_mmio_hooks *hooks);
/* Queue `q` was kicked: serve it if the device is live. Takes dev.lock. */
void virtio_mmio_notify(struct virtio_mmio *t, unsigned q);
bool virtio_mmio_live(const struct virtio_mmio *t);
/* The backend's event_fd fired: run on_event under dev.lock. */
void virtio_mmio_backend_event(struct virtio_mmio *t);
bool virtio_mmio_has_feature(const struct virtio_mmio *t, unsigned bit);
/* Wrappers over the queue that turn a broken ring into NEEDS_RESET. */
int virtio_mmio_pop(struct virtio_mmio *t, unsigned q, struct virtq_chain *chain);
void virtio_mmio_push(struct virtio_mmio *t, unsigned q, uint16_t head, uint32_t written);
/* Interrupts the driver if queue q's suppression rules allow. */
void virtio_mmio_flush(struct virtio_mmio *t, unsigned q);
/* The device found the driver broke the protocol: set DEVICE_NEEDS_RESET
 * and tell the driver through a config interrupt. Stops all queue work. */
void virtio_mmio_fail(struct virtio_mmio *t, const char *why);
/* Bumps the config generation and sends a config-change interrupt. */
void virtio_mmio_config_changed(struct virtio_mmio *t);

#endif
