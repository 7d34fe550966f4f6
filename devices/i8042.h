/* A minimal i8042 keyboard controller, like Firecracker's: enough for Linux
 * booted with `i8042.noaux i8042.nomux i8042.dumbkbd` (the DSDT describes
 * it as PNP0303, which is how Linux learns its IRQ) to find a
 * controller with a keyboard port, and for `reboot=k` to reset the VM.
 *
 * Register the device on the PIO range [0x60, 0x65) (I8042_RANGE_LEN
 * bytes) so that offset 0 is the data port 0x60 and offset 4 the
 * status/command port 0x64. Offsets 1-3 belong to no register (0x61 is the
 * PC speaker / NMI status port, which this device does not model): reads
 * return 0xff and writes are ignored. As with the serial, accesses wider
 * than one byte read all ones and are ignored on write.
 *
 * Controller commands (written to offset 4):
 *   0x20 read the command byte         0x60 write the command byte (next data)
 *   0xaa self test -> 0x55             0xab keyboard interface test -> 0x00
 *   0xad / 0xae disable / enable kbd   0xa7 / 0xa8 disable / enable aux
 *   0xd0 read the output port          0xd1 write the output port (next data;
 *                                           bit 0 clear pulls the CPU reset)
 *   0xf0-0xff pulse output port bits whose mask bit is 0: every even
 *             command (0xfe included) pulses bit 0, i.e. resets the CPU.
 * Other commands are ignored. Bytes written to offset 0 with no command
 * waiting go to the keyboard, which acknowledges each with 0xfa (and
 * answers reset 0xff with 0xfa 0xaa). There is no aux (mouse) device.
 *
 * IRQ 1 is driven as a level: 1 while the output buffer holds a byte and
 * the command byte enables the keyboard interrupt. Reading a byte while
 * more wait drops and raises the line again, so an edge-triggered PIC sees
 * one interrupt per byte.
 *
 * Locking is as for the serial: device ops expect dev->lock held by the
 * caller; i8042_send_ctrl_alt_del takes it. on_reset and the irq callback
 * run with dev->lock held; on_reset should only record the request (e.g.
 * write an eventfd) and must not call back into the device. */
#ifndef EMBER_I8042_H
#define EMBER_I8042_H

#include "devices/device.h"

#define I8042_RANGE_LEN 5
#define I8042_BUF_SIZE 16

struct i8042_config {
	struct irq_line irq;
	/* The guest asked for a CPU reset. May be NULL. */
	void (*on_reset)(void *opaque);
	void *reset_opaque;
};

/* Creates the controller in its power-on state (command byte 0x05:
 * keyboard interrupt on, system flag set; output port 0x03). The config is
 * copied. Free with dev->ops->destroy(dev). */
int i8042_create(const struct i8042_config *cfg, struct device **out);

/* Queues the scan codes of Ctrl+Alt+Del (set 2 make codes 14 11 e0 71, as
 * Firecracker sends them) so a guest with `reboot=k` shuts down cleanly;
 * takes dev->lock. Returns 0, or -ENOBUFS when the output buffer has no
 * room for all four bytes (nothing is queued then). */
int i8042_send_ctrl_alt_del(struct device *dev);

#endif
