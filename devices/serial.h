/* A 16550A UART as Linux's 8250 driver sees it (COM1 at 0x3f8, IRQ 4).
 *
 * Register it on an 8-byte PIO range: offset 0 RBR/THR (DLL with DLAB),
 * 1 IER (DLM with DLAB), 2 IIR/FCR, 3 LCR, 4 MCR, 5 LSR, 6 MSR, 7 SCR.
 *
 * The model has no baud-rate clock: a byte written to THR leaves at once
 * through the output callback, so LSR.THRE and LSR.TEMT always read 1.
 * Received bytes are pushed in by the VMM's input thread. What it does
 * differently from silicon, on purpose:
 *  - the rx FIFO holds SERIAL_FIFO_SIZE bytes whatever FCR says, and the
 *    "received data" interrupt is raised as soon as one byte waits (as if
 *    the trigger level were 1 or the character timeout had expired);
 *    IIR reports 0x4 (never 0xc), which the 8250 driver treats alike;
 *  - external input is never lost: serial_push_input takes only what fits
 *    and asks the VMM to retry through on_rx_space. LSR.OE is raised only
 *    when the guest overflows the FIFO itself in loopback mode;
 *  - MCR.OUT2 does not gate the interrupt line (QEMU and Firecracker do not
 *    gate it either; Linux sets OUT2 anyway);
 *  - the THRE interrupt is re-armed on a rising edge of IER.ETBEI while THR
 *    is empty and after every THR write, and cleared by reading IIR when it
 *    is the reported source or by clearing IER.ETBEI. This is what the 8250
 *    driver's THRE and TXEN probes expect of a working 16550A.
 * The irq line is driven with a level: 1 while any enabled interrupt is
 * pending, 0 otherwise; it is only driven when that level changes (and
 * always on reset and restore).
 *
 * Register accesses wider than one byte (len 2, 4, 8) are not split into
 * byte accesses: reads return all ones and writes are ignored, with no side
 * effect. Offsets past 7 behave the same. The 8250 driver only uses inb/outb
 * on a port UART.
 *
 * Locking: every device op (read, write, reset, save, restore) expects its
 * caller to hold dev->lock, as the bus does for read/write; the VMM holds it
 * around reset/save/restore too. serial_push_input takes the lock itself.
 * Callbacks (output, irq, on_rx_space) run with dev->lock held and must not
 * call back into the serial. */
#ifndef EMBER_SERIAL_H
#define EMBER_SERIAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "devices/device.h"

#define SERIAL_RANGE_LEN 8
#define SERIAL_FIFO_SIZE 64
/* on_rx_space fires once the FIFO drains to this level, so the input
 * thread refills while the guest is still reading the rest. */
#define SERIAL_RX_LOW_WATER (SERIAL_FIFO_SIZE / 2)

/* Where transmitted bytes go. write returns how many bytes it took or a
 * negative errno; bytes it does not take are dropped, because a UART has
 * no way to tell the guest. A NULL write discards all output. */
struct serial_output {
	ssize_t (*write)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
};

struct serial_config {
	struct irq_line irq;
	struct serial_output output;
	/* Called after serial_push_input took fewer bytes than offered, once
	 * the FIFO can take more (drained to SERIAL_RX_LOW_WATER, cleared,
	 * reset, or loopback left). It should only wake the input thread,
	 * e.g. write an eventfd. May be NULL. */
	void (*on_rx_space)(void *opaque);
	void *rx_space_opaque;
};

/* Counters for metrics, named as Firecracker's "uart" metrics; they only
 * grow. Bumped under dev->lock, read from any thread without it. */
enum serial_stat {
	SERIAL_STAT_READ_COUNT,         /* bytes the guest read from RBR */
	SERIAL_STAT_WRITE_COUNT,        /* bytes the guest sent out through THR */
	SERIAL_STAT_MISSED_READ_COUNT,  /* reads the model cannot serve (wider than a byte, past the range) */
	SERIAL_STAT_MISSED_WRITE_COUNT, /* writes dropped: too wide, or the output did not take the byte */
	SERIAL_STAT_COUNT
};
extern const char *const serial_stat_names[SERIAL_STAT_COUNT];

struct serial_stats {
	uint64_t v[SERIAL_STAT_COUNT];
};

/* Creates a serial in its power-on state. The config is copied.
 * Free with dev->ops->destroy(dev). */
int serial_create(const struct serial_config *cfg, struct device **out);

/* Feeds bytes from the host side (the guest's receive line). Takes
 * dev->lock. Returns how many bytes were accepted: fewer than len when the
 * FIFO is full, 0 while the UART is in loopback (its receiver is then
 * disconnected from the line). After a short count, on_rx_space says when
 * to try again. */
size_t serial_push_input(struct device *dev, const uint8_t *buf, size_t len);
/* `dev` must come from serial_create. Takes no lock. */
void serial_get_stats(const struct device *dev, struct serial_stats *out);

#endif
