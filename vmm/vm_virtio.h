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
	char id[DRIVE_ID_MAX + 1]; /* the drive id for a disk (metrics name it), else "" */
	struct vm_virtio_kick kicks[VIRTIO_MAX_QUEUES];
};

int vm_virtio_add_blk(struct vm *vm, const struct drive_spec *drive);
int vm_virtio_add_rng(struct vm *vm);
/* Puts every device's kick eventfds on the loop. */
int vm_virtio_attach(struct vm *vm, struct event_loop *loop);
void vm_virtio_destroy(struct vm *vm);

#endif
