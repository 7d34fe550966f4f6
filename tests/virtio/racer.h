/* The racing guest: a second thread that plays a vCPU rewriting its own
 * memory (rings, descriptors, avail->idx, buffers) and, optionally, the
 * device's registers, while the test or fuzz target serves the device on
 * its own thread as the event loop would. Driven by a script of bytes (a
 * fuzz input) or, with none, by a fixed-seed generator. */
#ifndef EMBER_TEST_RACER_H
#define EMBER_TEST_RACER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/mmio.h"

struct racer {
	/* What it may scribble on: [ram, ram + len), and, when regs is set,
	 * the registers of `regs` (under its lock, as a vCPU writes them). */
	uint8_t *ram;
	size_t len;
	struct virtio_mmio *regs;
	/* 4 bytes a step, used round and round; NULL: a generator. */
	const uint8_t *script;
	size_t script_len;
	/* Filled in by the racer. */
	pthread_t thread;
	_Atomic bool stop;
	_Atomic uint64_t steps;
	uint32_t seed;
};

/* Starts the thread: 0 or a negative errno. */
int racer_start(struct racer *r);
/* Steps made so far: a test serves until the racer has really raced
 * (a loaded machine may start the thread late). */
uint64_t racer_steps(struct racer *r);
/* Stops and joins it; returns the number of steps it made. */
uint64_t racer_stop(struct racer *r);
/* Whether every queue of t holds at most its size in chains (takes the
 * device lock): the walker's bound. */
bool racer_within_bound(struct virtio_mmio *t);
/* Serves t as the event loop does (each queue's notify, the backend's
 * event, then a yield, as the loop waits between turns) for at least
 * `turns` turns and until the racer has made `steps` steps (at most a
 * thousand times `turns`). False as soon as a queue holds more chains
 * than its size, the walker's bound. */
bool racer_serve(struct racer *r, struct virtio_mmio *t, unsigned turns, uint64_t steps);

#endif
