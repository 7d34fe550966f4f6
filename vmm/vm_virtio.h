/* virtio-mmio devices on the VM: each gets a window and a GSI from the
 * allocator, sits on the MMIO bus, and is wired for notifications. Queue
 * kicks arrive on eventfds (registered as ioeventfds, so the write never
 * leaves the kernel, when the HAL can) and are served on the event-loop
 * thread; interrupts go out through an irqfd when the HAL can, else as an
 * edge on the irqchip line. */
#ifndef EMBER_VM_VIRTIO_H
#define EMBER_VM_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/mmio.h"
#include "vmm/drive.h"
#include "vmm/event_loop.h"

struct vm;
struct vm_virtio;
struct spec_net;
struct spec_vsock;
struct net_stats;

/* The longest device id kept for metrics: an API iface_id (SPEC_ID_MAX). */
#define VM_VIRTIO_ID_MAX 64

struct vm_virtio_kick {
	struct vm_virtio *owner;
	unsigned queue;
	int fd;
	bool ioeventfd; /* registered with the HAL */
};

struct vm_virtio {
	struct vm *vm;
	struct virtio_mmio *dev;
	uint64_t base;
	uint32_t gsi;
	int irq_fd;     /* -1: no irqfd, raise the line through the HAL */
	bool irqfd;     /* irq_fd is registered with the HAL */
	bool ioeventfd; /* kicks are caught in the kernel */
	/* The drive id of a disk, the iface_id of a NIC (metrics name them), else "". */
	char id[VM_VIRTIO_ID_MAX + 1];
	struct hal_tap *tap; /* a NIC's TAP, closed after the device is destroyed */
	struct vm_virtio_kick kicks[VIRTIO_MAX_QUEUES];
};

int vm_virtio_add_blk(struct vm *vm, const struct spec_drive *drive);
int vm_virtio_add_rng(struct vm *vm);
/* Binds the Unix socket at s->uds_path; the device unlinks it on teardown. */
int vm_virtio_add_vsock(struct vm *vm, const struct spec_vsock *s);
/* A virtio-net NIC on the TAP n->host_dev_name, opened through the HAL,
 * with n->guest_mac (if any) and n->mtu (0: not advertised; else 68..65535).
 * The device watches the TAP itself: its event_fd goes on the loop in
 * vm_virtio_attach like any backend's. n->iface_id names it in metrics. */
int vm_virtio_add_net(struct vm *vm, const struct spec_net *n);
/* A NIC's counters; false (and zeros) for any other device. Here rather
 * than in metrics so only this module links against the device. */
bool vm_virtio_net_stats(const struct vm_virtio *v, struct net_stats *out);
/* Their names, net_stat_names (NET_STAT_COUNT of them). */
const char *const *vm_virtio_net_stat_names(void);
/* Puts every device's kick eventfds on the loop. */
int vm_virtio_attach(struct vm *vm, struct event_loop *loop);
void vm_virtio_destroy(struct vm *vm);

#endif
