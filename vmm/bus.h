/* A PIO or MMIO bus: maps [base, base+len) ranges to devices.
 *
 * Ranges are registered while the VM is built, before any vCPU runs, and
 * never change afterwards, so lookups take no lock; the device's own lock
 * serialises its accesses. */
#ifndef EMBER_BUS_H
#define EMBER_BUS_H

#include <stdint.h>

#include "devices/device.h"

struct bus_range {
	uint64_t base;
	uint64_t len;
	struct device *dev;
};

struct bus {
	const char *name;
	struct bus_range *ranges; /* sorted by base, never overlapping */
	unsigned nr;
	unsigned cap;
};

void bus_init(struct bus *bus, const char *name);
void bus_fini(struct bus *bus);
/* -EEXIST if the range overlaps one already registered; -EINVAL if empty,
 * wrapping or without a device. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, struct device *dev);
unsigned bus_nr_ranges(const struct bus *bus);
/* len must be 1, 2, 4 or 8 and lie inside one range. An unmapped read
 * returns -ENOENT with all ones in data; other refusals return -EINVAL. */
int bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len);
int bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len);

#endif
