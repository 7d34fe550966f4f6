/* Hands out what each virtio-mmio device needs: a 4 KiB MMIO window in
 * the 32-bit hole and its own GSI. Deterministic (slot i always gets the
 * same window and line) so a snapshot restores devices where they were. */
#ifndef EMBER_RESOURCES_H
#define EMBER_RESOURCES_H

#include <stdint.h>

/* GSIs 5..23 of the IOAPIC less the RTC's 8: virtio interrupts are edge
 * triggered and cannot share a line. */
#define RESOURCES_MAX_VIRTIO 18

struct resources {
	unsigned nr_virtio;
};

void resources_init(struct resources *r);
/* -ENOSPC (with a message) when the lines run out. */
int resources_alloc_virtio(struct resources *r, uint64_t *base, uint32_t *gsi);

#endif
