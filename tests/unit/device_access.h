/* Device register and state access for device unit tests, holding the
 * device lock as the bus and the VMM do (device ops expect their caller to
 * hold it). */
#ifndef EMBER_TEST_DEVICE_ACCESS_H
#define EMBER_TEST_DEVICE_ACCESS_H

#include <stddef.h>
#include <stdint.h>

#include "devices/device.h"

uint8_t device_test_read8(struct device *dev, uint64_t offset);
void device_test_write8(struct device *dev, uint64_t offset, uint8_t value);
/* Initialises `w` and saves into it. */
int device_test_save(struct device *dev, struct state_writer *w);
/* Restores from buf; `left` (if not NULL) gets the bytes not consumed. */
int device_test_restore(struct device *dev, const uint8_t *buf, size_t len, size_t *left);

#endif
