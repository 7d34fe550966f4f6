#include "vmm/resources.h"

#include <errno.h>

#include "boot/layout.h"
#include "vmm/log.h"

#define IOAPIC_PINS 24

void resources_init(struct resources *r)
{
	r->nr_virtio = 0;
}

static uint32_t nth_free_gsi(unsigned n)
{
	for (uint32_t gsi = LAYOUT_VIRTIO_IRQ_BASE; gsi < IOAPIC_PINS; gsi++) {
		if (gsi == LAYOUT_RTC_IRQ || gsi == LAYOUT_COM1_IRQ || gsi == LAYOUT_I8042_IRQ)
			continue;
		if (!n--)
			return gsi;
	}
	return 0;
}

int resources_alloc_virtio(struct resources *r, uint64_t *base, uint32_t *gsi)
{
	uint32_t line = nth_free_gsi(r->nr_virtio);

	if (!line || r->nr_virtio >= RESOURCES_MAX_VIRTIO)
		return err_fail(-ENOSPC, "no interrupt line left for virtio device %u (at most %d devices)",
				r->nr_virtio, RESOURCES_MAX_VIRTIO);
	*base = LAYOUT_VIRTIO_MMIO_BASE + (uint64_t)r->nr_virtio * LAYOUT_VIRTIO_MMIO_STRIDE;
	*gsi = line;
	r->nr_virtio++;
	return 0;
}
