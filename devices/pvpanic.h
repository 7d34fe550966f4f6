/* The pvpanic-mmio device (QEMU's pvpanic; ACPI _HID "QEMU0001"), through
 * which a guest tells the host it panicked. Linux's pvpanic-mmio driver
 * binds to the ACPI device, reads the supported events with ioread8 at
 * the base of the _CRS memory range, and on panic writes one event byte
 * there with iowrite8: PVPANIC_PANICKED, or PVPANIC_CRASH_LOADED instead
 * when a crash (kdump) kernel is loaded and will handle the panic itself.
 *
 * Register the device on the LAYOUT_PVPANIC_LEN (2) byte MMIO range at
 * LAYOUT_PVPANIC_ADDR:
 *   offset 0, read:  the supported events, PVPANIC_PANICKED |
 *                    PVPANIC_CRASH_LOADED (0x3).
 *   offset 0, write: bits outside the supported set are ignored (as the
 *                    pvpanic spec asks). PANICKED calls on_panic with the
 *                    supported bits written; CRASH_LOADED alone is only
 *                    recorded and logged, since the guest goes on to run
 *                    its crash kernel.
 *   offset 1:        reserved: reads all ones, writes are ignored.
 * Accesses wider than one byte read all ones and are ignored on write.
 *
 * Every event written is accumulated; pvpanic_events_seen returns them
 * (for the API or a test), and they are saved in snapshots.
 *
 * Locking: device ops expect dev->lock held by the caller. on_panic runs
 * with it held; it should only record the request (e.g. write an eventfd)
 * and must not call back into the device. */
#ifndef EMBER_PVPANIC_H
#define EMBER_PVPANIC_H

#include <stdint.h>

#include "devices/device.h"

#define PVPANIC_RANGE_LEN 2
#define PVPANIC_PANICKED 0x01
#define PVPANIC_CRASH_LOADED 0x02
#define PVPANIC_SUPPORTED (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED)

struct pvpanic_config {
	/* The guest panicked; `events` holds the supported bits it wrote
	 * (PVPANIC_PANICKED always set). May be NULL. */
	void (*on_panic)(void *opaque, uint8_t events);
	void *opaque;
};

/* Creates the device with no event seen. The config is copied. Free with
 * dev->ops->destroy(dev). */
int pvpanic_create(const struct pvpanic_config *cfg, struct device **out);

/* The events the guest has written since creation, reset or restore.
 * Takes dev->lock. */
uint8_t pvpanic_events_seen(struct device *dev);

#endif
