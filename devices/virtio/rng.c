#include "devices/virtio/rng.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "vmm/log.h"

struct rng {
	struct virtio_mmio t;
	rng_source_fn source;
	struct virtq_chain chain;
	_Atomic uint64_t stats[RNG_STAT_COUNT];
};

const char *const rng_stat_names[RNG_STAT_COUNT] = {
	[RNG_STAT_EVENT_COUNT] = "entropy_event_count",
	[RNG_STAT_BYTES] = "entropy_bytes",
	[RNG_STAT_HOST_RNG_FAILS] = "host_rng_fails",
};

/* Bumped only under dev.lock by the thread serving the queue: a relaxed
 * load and store is enough for readers elsewhere to see whole values. */
static void rng_count(struct rng *r, enum rng_stat s, uint64_t n)
{
	atomic_store_explicit(&r->stats[s], atomic_load_explicit(&r->stats[s], memory_order_relaxed) + n,
			      memory_order_relaxed);
}

void rng_get_stats(const struct virtio_mmio *t, struct rng_stats *out)
{
	const struct rng *r = (const struct rng *)t;

	for (unsigned i = 0; i < RNG_STAT_COUNT; i++)
		out->v[i] = atomic_load_explicit(&r->stats[i], memory_order_relaxed);
}

static ssize_t rng_getrandom(void *buf, size_t len)
{
	ssize_t n;

	do
		n = getrandom(buf, len, 0);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* Fills the writable part of one chain, up to VIRTIO_RNG_MAX_REQUEST. */
static uint32_t rng_fill(struct rng *r, const struct virtq_chain *c)
{
	uint32_t left = c->in_len < VIRTIO_RNG_MAX_REQUEST ? (uint32_t)c->in_len : VIRTIO_RNG_MAX_REQUEST;
	uint32_t done = 0;

	for (unsigned i = c->nr_out; i < c->nr_out + c->nr_in && left; i++) {
		uint8_t *p = c->iov[i].iov_base;
		size_t want = c->iov[i].iov_len < left ? c->iov[i].iov_len : left;

		while (want) {
			ssize_t n = r->source(p, want);

			if (n <= 0) {
				rng_count(r, RNG_STAT_HOST_RNG_FAILS, 1);
				log_error("virtio-rng: entropy source failed: %s", n ? strerror((int)-n) : "no bytes");
				return done;
			}
			p += n, want -= (size_t)n, left -= (uint32_t)n, done += (uint32_t)n;
		}
	}
	return done;
}

static void rng_process(struct virtio_mmio *t, unsigned q)
{
	struct rng *r = (struct rng *)t;

	rng_count(r, RNG_STAT_EVENT_COUNT, 1);
	while (virtio_mmio_pop(t, q, &r->chain) > 0) {
		uint32_t n = rng_fill(r, &r->chain);

		rng_count(r, RNG_STAT_BYTES, n);
		virtio_mmio_push(t, q, r->chain.head, n);
	}
	virtio_mmio_flush(t, q);
}

static void rng_destroy(struct virtio_mmio *t)
{
	free(t);
}

static const struct virtio_backend_ops rng_ops = {
	.kind = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.process = rng_process,
	.destroy = rng_destroy,
};

int rng_create(const struct guest_mem *mem, rng_source_fn source, const struct virtio_mmio_hooks *hooks,
	       struct virtio_mmio **out)
{
	struct rng *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return err_fail(-ENOMEM, "virtio-rng: device state");
	ret = virtio_mmio_init(&r->t, &rng_ops, mem,
			       VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC), 1,
			       VIRTIO_RNG_QUEUE_SIZE, hooks);
	if (ret) {
		free(r);
		return ret;
	}
	r->source = source ? source : rng_getrandom;
	*out = &r->t;
	return 0;
}
