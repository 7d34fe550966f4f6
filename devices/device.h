/* The device object: register access on a bus range, reset, state
 * save/restore, destroy. Devices never touch the OS for hardware; they see
 * guest memory as `struct guest_mem` and raise interrupts via irq_line. */
#ifndef EMBER_DEVICE_H
#define EMBER_DEVICE_H

#include <pthread.h>
#include <stdint.h>

#include "snapshot/state.h"

struct device;

struct device_ops {
	const char *kind; /* stable name, also the snapshot record kind */
	/* `offset` is relative to the start of the range the device was
	 * registered at; len is 1, 2, 4 or 8. Reads of unknown registers
	 * return all ones; writes to them are ignored. */
	void (*read)(struct device *dev, uint64_t offset, uint8_t *data, uint32_t len);
	void (*write)(struct device *dev, uint64_t offset, const uint8_t *data, uint32_t len);
	void (*reset)(struct device *dev);
	int (*save)(struct device *dev, struct state_writer *w);
	/* Validates every field: a snapshot is hostile input. */
	int (*restore)(struct device *dev, struct state_reader *r);
	void (*destroy)(struct device *dev);
};

/* The bus holds `lock` around read/write; other threads that touch device
 * state (input, event loop) take it too. */
struct device {
	const struct device_ops *ops;
	pthread_mutex_t lock;
};

void device_init(struct device *dev, const struct device_ops *ops);
void device_fini(struct device *dev);

/* An interrupt line as devices see it: the VMM wires it to the irqchip. */
struct irq_line {
	int (*set_level)(void *opaque, uint32_t gsi, int level);
	void *opaque;
	uint32_t gsi;
};

static inline int irq_line_set(const struct irq_line *line, int level)
{
	return line && line->set_level ? line->set_level(line->opaque, line->gsi, level) : 0;
}

#endif
