/* The MC146818 CMOS real-time clock and its 128 bytes of CMOS RAM, as
 * Linux's rtc_cmos driver and its boot-time clock read see them.
 *
 * Register the device on the 2-byte PIO range at LAYOUT_RTC_PORT (0x70):
 * offset 0 is the index port (write-only; bit 7 is the NMI mask on a PC,
 * which is ignored here; reads return 0xff), offset 1 the data port, which
 * reads and writes the register the index selects:
 *   0x00 seconds   0x02 minutes   0x04 hours     0x06 weekday (1 = Sunday)
 *   0x07 day       0x08 month     0x09 year      0x32 century
 *   0x01/0x03/0x05 alarm seconds/minutes/hours (stored, never fire)
 *   0x0a status A: bit 7 UIP always reads 0, bits 0-6 (divider, rate) are
 *        stored. Linux polls UIP before every read: with no RTC the port
 *        floats to 0xff, UIP never clears and the kernel waits ~2 s.
 *   0x0b status B: SET (7), PIE/AIE/UIE (6-4), SQWE (3), DM (2, 1 = binary),
 *        24/12 (1, 1 = 24 h), DSE (0), all stored. Setting SET clears UIE,
 *        as on the MC146818.
 *   0x0c status C: reads 0 (no flag is ever raised, see below).
 *   0x0d status D: reads 0x80 (VRT: battery and RAM valid); Linux's probe
 *        requires bit 6 clear.
 *   0x0e-0x7f general CMOS RAM (114 bytes) except 0x32.
 *
 * Time: the VMM supplies now(), the host's Unix time in seconds. The clock
 * reads now() + offset, converted to a UTC calendar on every read, encoded
 * in BCD or binary and 12 or 24 h as register B says at the time of the
 * read (so a mode change re-encodes the time, unlike silicon, which would
 * keep the old bytes until the next update). The offset starts at 0 and
 * follows guest writes, like QEMU: with SET clear a write to a time
 * register sets that field of the current time at once; setting SET
 * freezes the clock registers as raw bytes (reads return them, writes
 * change them, as on silicon) and clearing SET decodes them, in the modes
 * register B then holds, into the new current time. Out-of-range fields
 * are normalised like mktime() (month 13 is January of the next year); the
 * time saturates at 0000-01-01 and 9999-12-31 23:59:59. The divider bits
 * do not stop the clock. The weekday is always derived from the date: a
 * written weekday shows only while SET holds the clock frozen.
 *
 * Device reset (the VM rebooting) keeps the RAM, the time and the modes,
 * since they live on the battery; like the MC146818 RESET pin it clears
 * the interrupt enables and SQWE in register B.
 *
 * Interrupts: none. The periodic, alarm and update-ended interrupt enables
 * are accepted and stored, but no timer runs and IRQ 8 is never raised, so
 * register C stays 0. Linux's rtc_cmos reads the time and registers the
 * RTC without them (alarms and /dev/rtc interrupts are then unavailable).
 *
 * Accesses wider than one byte read all ones and are ignored on write, as
 * for the serial; Linux only uses inb/outb here.
 *
 * Locking: device ops expect dev->lock held by the caller, as the bus does.
 * now() is called with dev->lock held and must not call into the device. */
#ifndef EMBER_CMOS_H
#define EMBER_CMOS_H

#include <stdint.h>

#include "devices/device.h"

#define CMOS_RANGE_LEN 2
#define CMOS_NREGS 128

struct cmos_config {
	/* Host time, Unix seconds (UTC). Required. */
	int64_t (*now)(void *opaque);
	void *now_opaque;
};

/* Creates the RTC in its power-on state: status A 0x26 (32.768 kHz time
 * base, 1024 Hz rate), status B 0x02 (24 h, BCD), clock at host time, RAM
 * zeroed. The config is copied. Free with dev->ops->destroy(dev). */
int cmos_create(const struct cmos_config *cfg, struct device **out);

#endif
