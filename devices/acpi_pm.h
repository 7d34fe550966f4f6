/* The hardware-reduced ACPI power-management registers: the FADT's
 * SLEEP_CONTROL_REG and SLEEP_STATUS_REG (ACPI 6, 4.8.3.7) and RESET_REG.
 * A hardware-reduced platform has no PM1 blocks, so these three bytes are
 * how Linux powers the VM off (acpi_hw_extended_sleep) and resets it
 * (acpi_reboot, `reboot=a`).
 *
 * Register the device on the 3-byte PIO range at
 * LAYOUT_ACPI_SLEEP_CONTROL_PORT (0x3c0); the FADT points at:
 *   offset 0 (0x3c0) SLEEP_CONTROL_REG, write-only, reads 0:
 *            bits 2-4 SLP_TYPx, bit 5 SLP_EN; bits 0-1 and 6-7 reserved.
 *            SLP_EN with SLP_TYP == cfg.s5_slp_typ (the \_S5 package value
 *            the DSDT gives) calls on_poweroff. Other sleep types (S1-S4)
 *            are not supported and are logged and ignored: the guest stays
 *            running, as if it woke up at once.
 *   offset 1 (0x3c1) SLEEP_STATUS_REG: bit 7 WAK_STS, write 1 to clear.
 *            Nothing ever wakes the machine from a sleep state, so it
 *            always reads 0 and writes are accepted and ignored.
 *   offset 2 (0x3c2) RESET_REG: writing ACPI_PM_RESET_VALUE (1) calls
 *            on_reset; other values are ignored. Reads 0.
 * Accesses wider than one byte read all ones and are ignored on write: the
 * FADT describes each register as 8 bits wide.
 *
 * The device has no state of its own; its snapshot record carries only a
 * version so a future model can grow.
 *
 * Locking: device ops expect dev->lock held by the caller. on_poweroff and
 * on_reset run with it held; they should only record the request (e.g.
 * write an eventfd) and must not call back into the device. */
#ifndef EMBER_ACPI_PM_H
#define EMBER_ACPI_PM_H

#include <stdint.h>

#include "devices/device.h"

#define ACPI_PM_RANGE_LEN 3
/* The \_S5 SLP_TYP value to pass when boot/acpi.h does not say otherwise. */
#define ACPI_PM_DEFAULT_S5_SLP_TYP 5
#define ACPI_PM_SLP_TYP_MAX 7 /* a 3-bit field */
/* The FADT RESET_VALUE; equal to LAYOUT_ACPI_RESET_VALUE (the unit test
 * checks), spelled here so devices/ does not depend on boot/. */
#define ACPI_PM_RESET_VALUE 0x1

struct acpi_pm_config {
	/* SLP_TYP of \_S5 in the DSDT; 0-7. */
	uint8_t s5_slp_typ;
	/* The guest entered S5 (power off). May be NULL. */
	void (*on_poweroff)(void *opaque);
	/* The guest wrote the reset value to RESET_REG. May be NULL. */
	void (*on_reset)(void *opaque);
	void *opaque;
};

/* Creates the registers; -EINVAL if s5_slp_typ does not fit in 3 bits.
 * The config is copied. Free with dev->ops->destroy(dev). */
int acpi_pm_create(const struct acpi_pm_config *cfg, struct device **out);

#endif
