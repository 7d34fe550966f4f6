#include "tests/virtio/racer.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

/* The registers a hostile driver flips mid-flight: queue selection, size
 * and readiness (the SIGFPE of a size set to 0 under a request), status
 * (resets), notifies and interrupt acks. */
static const uint16_t hot_regs[] = {
	VIRTIO_MMIO_QUEUE_SEL, VIRTIO_MMIO_QUEUE_NUM,      VIRTIO_MMIO_QUEUE_READY,
	VIRTIO_MMIO_STATUS,    VIRTIO_MMIO_QUEUE_NOTIFY,   VIRTIO_MMIO_INTERRUPT_ACK,
};

static void next_step(struct racer *r, uint64_t n, uint8_t b[4])
{
	if (r->script && r->script_len) {
		for (unsigned i = 0; i < 4; i++)
			b[i] = r->script[(n * 4 + i) % r->script_len];
		return;
	}
	/* xorshift32: the same storm every run, so a failure reproduces. */
	r->seed ^= r->seed << 13;
	r->seed ^= r->seed >> 17;
	r->seed ^= r->seed << 5;
	memcpy(b, &r->seed, 4);
}

static void write_register(struct virtio_mmio *t, uint8_t which, uint8_t value)
{
	uint16_t off = hot_regs[which % (sizeof(hot_regs) / sizeof(hot_regs[0]))];
	uint32_t v = value;

	/* Values a driver would write, 0 half the time: queue 0 stopped,
	 * its size set to 0, a reset. */
	if (value & 1)
		v = 0;
	else if (off == VIRTIO_MMIO_QUEUE_NUM)
		v = 1u << (value % 9);
	else if (off != VIRTIO_MMIO_STATUS)
		v = (value >> 1) & 3;
	pthread_mutex_lock(&t->dev.lock);
	t->dev.ops->write(&t->dev, off, (const uint8_t *)&v, 4);
	pthread_mutex_unlock(&t->dev.lock);
}

static void *race(void *opaque)
{
	struct racer *r = opaque;
	uint64_t n = 0;

	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		uint8_t b[4];
		size_t off;

		next_step(r, n++, b);
		off = ((size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3]) % r->len;
		switch (b[0] & 15) {
		case 0:
			sched_yield();
			break;
		case 1:
		case 2:
			if (r->regs)
				write_register(r->regs, b[1], b[2]);
			break;
		case 3: /* a 16-bit index or flags word, as the driver publishes them */
			if (off + 2 <= r->len)
				__atomic_store_n((uint16_t *)(r->ram + (off & ~(size_t)1)), (uint16_t)(b[1] << 8 | b[3]),
						 __ATOMIC_RELEASE);
			break;
		default: /* a byte anywhere: addresses, lengths, flags, next, data */
			__atomic_store_n(r->ram + off, (uint8_t)(b[0] ^ b[3]), __ATOMIC_RELAXED);
		}
		atomic_store_explicit(&r->steps, n, memory_order_relaxed);
	}
	return NULL;
}

int racer_start(struct racer *r)
{
	if (!r->ram || !r->len)
		return -EINVAL;
	atomic_store(&r->stop, false);
	atomic_store(&r->steps, 0);
	if (!r->seed)
		r->seed = 0x2545f491u;
	return -pthread_create(&r->thread, NULL, race, r);
}

uint64_t racer_steps(struct racer *r)
{
	return atomic_load_explicit(&r->steps, memory_order_relaxed);
}

uint64_t racer_stop(struct racer *r)
{
	atomic_store(&r->stop, true);
	pthread_join(r->thread, NULL);
	return atomic_load(&r->steps);
}

bool racer_within_bound(struct virtio_mmio *t)
{
	bool ok = true;

	pthread_mutex_lock(&t->dev.lock);
	for (unsigned q = 0; q < t->nr_queues; q++)
		ok &= (uint16_t)(t->queues[q].last_avail - t->queues[q].next_used) <= t->queues[q].size;
	pthread_mutex_unlock(&t->dev.lock);
	return ok;
}

bool racer_serve(struct racer *r, struct virtio_mmio *t, unsigned turns, uint64_t steps)
{
	for (uint64_t i = 0; i < turns || (racer_steps(r) < steps && i < 1000ull * turns); i++) {
		for (unsigned q = 0; q < t->nr_queues; q++)
			virtio_mmio_notify(t, q);
		sched_yield();
		virtio_mmio_backend_event(t);
		if (!racer_within_bound(t))
			return false;
		sched_yield();
	}
	return true;
}
