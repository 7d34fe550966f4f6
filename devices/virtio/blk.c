#include "devices/virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <liburing.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "boot/le.h"
#include "devices/virtio/blk_ring.h"
#include "vmm/log.h"

#define BLK_HEADER 16u
#define BLK_SEGMENT 16u /* discard / write-zeroes range */
#define BLK_MAX_RANGE_SECTORS (UINT32_MAX / VIRTIO_BLK_SECTOR)

/* An IN or OUT request on the ring. Everything the completion needs is
 * copied here, since the popped chain is reused for the next request. */
struct blk_slot {
	uint8_t *status;  /* the chain's last writable byte, in guest RAM */
	struct iovec *iov; /* VIRTIO_BLK_SEG_MAX entries of blk.iov_store */
	unsigned n;
	uint64_t off;     /* file offset */
	uint64_t len;     /* data bytes */
	uint32_t epoch;   /* blk.epoch when submitted */
	uint32_t generation; /* its queue's generation when submitted */
	uint16_t head;
	uint8_t q;
	bool write;
};

struct blk {
	struct virtio_mmio t;
	int fd;
	bool read_only;
	uint64_t capacity; /* sectors */
	uint8_t id[VIRTIO_BLK_ID_BYTES];
	uint8_t config[VIRTIO_BLK_CONFIG_LEN];
	struct virtq_chain chain;
	struct iovec data[VIRTQ_MAX_SIZE];
	/* The io_uring path; uring false means everything is synchronous. */
	bool uring;
	struct io_uring ring;
	int event_fd;             /* the ring signals each CQE here */
	unsigned depth;           /* slots */
	struct blk_slot *slots;
	struct iovec *iov_store;
	uint16_t *free_slots;     /* a stack of free slot indices */
	unsigned nr_free;
	unsigned writes_in_flight;
	uint32_t epoch;           /* bumped by reset: older completions are not pushed */
	bool stalled[VIRTIO_MAX_QUEUES]; /* chains left in the avail ring for want of a slot */
	bool pushed[VIRTIO_MAX_QUEUES];  /* used entries not yet flushed */
	_Atomic uint64_t stats[BLK_STAT_COUNT];
};

const char *const blk_stat_names[BLK_STAT_COUNT] = {
	[BLK_STAT_READ_BYTES] = "read_bytes",
	[BLK_STAT_WRITE_BYTES] = "write_bytes",
	[BLK_STAT_READ_COUNT] = "read_count",
	[BLK_STAT_WRITE_COUNT] = "write_count",
	[BLK_STAT_FLUSH_COUNT] = "flush_count",
	[BLK_STAT_EXECUTE_FAILS] = "execute_fails",
	[BLK_STAT_INVALID_REQS] = "invalid_reqs_count",
	[BLK_STAT_QUEUE_EVENTS] = "queue_event_count",
	[BLK_STAT_NO_AVAIL_BUFFER] = "no_avail_buffer",
	[BLK_STAT_IO_ENGINE_THROTTLED] = "io_engine_throttled_events",
};

/* Only the thread serving the device bumps counters, and it holds dev.lock:
 * a relaxed load and store suffices (readers on other threads see whole
 * values) and spares a locked add per request. */
static void blk_count(struct blk *b, enum blk_stat s, uint64_t n)
{
	atomic_store_explicit(&b->stats[s], atomic_load_explicit(&b->stats[s], memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* A request that moved `len` bytes and succeeded. */
static void blk_count_done(struct blk *b, bool write, uint64_t len)
{
	blk_count(b, write ? BLK_STAT_WRITE_COUNT : BLK_STAT_READ_COUNT, 1);
	blk_count(b, write ? BLK_STAT_WRITE_BYTES : BLK_STAT_READ_BYTES, len);
}

void blk_get_stats(const struct virtio_mmio *t, struct blk_stats *out)
{
	const struct blk *b = (const struct blk *)t;

	for (unsigned i = 0; i < BLK_STAT_COUNT; i++)
		out->v[i] = atomic_load_explicit(&b->stats[i], memory_order_relaxed);
}

static struct blk *blk_of(struct virtio_mmio *t)
{
	return (struct blk *)t;
}

uint64_t blk_capacity_sectors(const struct virtio_mmio *t)
{
	return ((const struct blk *)t)->capacity;
}

/* The iovecs covering bytes [skip, skip+len) of iov[0..n). */
static unsigned iov_slice(const struct iovec *iov, unsigned n, uint64_t skip, uint64_t len, struct iovec *out)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len; i++) {
		uint64_t take;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - skip;
		if (take > len)
			take = len;
		out[k++] = (struct iovec){ (uint8_t *)iov[i].iov_base + skip, take };
		len -= take;
		skip = 0;
	}
	return k;
}

static bool range_ok(const struct blk *b, uint64_t sector, uint64_t sectors)
{
	return sector <= b->capacity && sectors <= b->capacity - sector;
}

/* preadv/pwritev until done: the kernel may move fewer bytes than asked. */
static int blk_rw(struct blk *b, struct iovec *iov, unsigned n, uint64_t off, bool write)
{
	while (n) {
		ssize_t r = write ? pwritev(b->fd, iov, (int)n, (off_t)off) : preadv(b->fd, iov, (int)n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) {
			if (write)
				return -EIO;
			/* The file shrank under us: the rest reads as zeroes. */
			for (unsigned i = 0; i < n; i++)
				memset(iov[i].iov_base, 0, iov[i].iov_len);
			return 0;
		}
		off += (uint64_t)r;
		while (n && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++, n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* Checks an IN or OUT request and finds its data buffers: b->data[0, *n)
 * covering *len bytes. VIRTIO_BLK_S_OK or the status to answer with. */
static uint8_t blk_data_check(struct blk *b, const struct virtq_chain *c, uint64_t sector, bool write,
			      unsigned *n, uint64_t *len)
{
	*len = write ? c->out_len - BLK_HEADER : c->in_len - 1;
	if ((write && b->read_only) || *len % VIRTIO_BLK_SECTOR || !range_ok(b, sector, *len / VIRTIO_BLK_SECTOR)) {
		blk_count(b, BLK_STAT_INVALID_REQS, 1);
		return VIRTIO_BLK_S_IOERR;
	}
	*n = write ? iov_slice(c->iov, c->nr_out, BLK_HEADER, *len, b->data)
		   : iov_slice(c->iov + c->nr_out, c->nr_in, 0, *len, b->data);
	return VIRTIO_BLK_S_OK;
}

static void blk_log_io(bool write, uint64_t len, uint64_t off, int err)
{
	log_error("virtio-blk: %s of %llu bytes at sector %llu: %s", write ? "write" : "read",
		  (unsigned long long)len, (unsigned long long)(off / VIRTIO_BLK_SECTOR), strerror(-err));
}

static uint8_t blk_data(struct blk *b, const struct virtq_chain *c, uint64_t sector, bool write, uint32_t *written)
{
	uint64_t len;
	unsigned n;
	uint8_t status = blk_data_check(b, c, sector, write, &n, &len);
	int ret;

	if (status != VIRTIO_BLK_S_OK)
		return status;
	ret = blk_rw(b, b->data, n, sector * VIRTIO_BLK_SECTOR, write);
	if (ret) {
		blk_log_io(write, len, sector * VIRTIO_BLK_SECTOR, ret);
		blk_count(b, BLK_STAT_EXECUTE_FAILS, 1);
		return VIRTIO_BLK_S_IOERR;
	}
	blk_count_done(b, write, len);
	if (!write)
		*written += (uint32_t)len;
	return VIRTIO_BLK_S_OK;
}

static int punch(struct blk *b, int mode, uint64_t off, uint64_t len)
{
	return fallocate(b->fd, mode | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) ? -errno : 0;
}

/* Zeroes a range with metadata operations only, never by writing data:
 * one guest request may cover 4 GiB, and the event loop must not spend
 * that on it. With unmap allowed, a hole; otherwise zeroed blocks that
 * stay allocated (the spec's "should not deallocate"): ZERO_RANGE, or
 * where the file system lacks it (tmpfs), a hole allocated again.
 * -EOPNOTSUPP when the file system can do neither. */
static int zero_range(struct blk *b, uint64_t off, uint64_t len, bool may_unmap)
{
	int ret;

	if (may_unmap && punch(b, FALLOC_FL_PUNCH_HOLE, off, len) == 0)
		return 0;
	ret = punch(b, FALLOC_FL_ZERO_RANGE, off, len);
	if (ret != -EOPNOTSUPP)
		return ret;
	ret = punch(b, FALLOC_FL_PUNCH_HOLE, off, len);
	if (ret || may_unmap)
		return ret;
	return punch(b, 0, off, len);
}

static uint8_t blk_discard(struct blk *b, const struct virtq_chain *c, bool zeroes)
{
	uint8_t seg[BLK_SEGMENT];
	uint64_t sector, off, len;
	uint32_t sectors, flags;
	int ret;

	if (b->read_only)
		goto invalid;
	/* We advertise max_*_seg = 1. */
	if (c->out_len != BLK_HEADER + BLK_SEGMENT)
		goto invalid;
	virtq_chain_read(c, BLK_HEADER, seg, sizeof(seg));
	memcpy(&sector, seg, 8);
	memcpy(&sectors, seg + 8, 4);
	memcpy(&flags, seg + 12, 4);
	if (flags & ~VIRTIO_BLK_WRITE_ZEROES_UNMAP || (!zeroes && flags)) {
		blk_count(b, BLK_STAT_INVALID_REQS, 1);
		return VIRTIO_BLK_S_UNSUPP;
	}
	if (!range_ok(b, sector, sectors) || sectors > BLK_MAX_RANGE_SECTORS)
		goto invalid;
	off = sector * VIRTIO_BLK_SECTOR;
	len = (uint64_t)sectors * VIRTIO_BLK_SECTOR;
	if (!zeroes) {
		/* Discard is a hint: a file system that cannot punch holes
		 * simply keeps the data. */
		ret = punch(b, FALLOC_FL_PUNCH_HOLE, off, len);
		if (ret == -EOPNOTSUPP)
			ret = 0;
	} else {
		ret = zero_range(b, off, len, flags & VIRTIO_BLK_WRITE_ZEROES_UNMAP);
		if (ret == -EOPNOTSUPP) {
			/* The guest falls back to writing zeroes itself, as
			 * ordinary requests under the per-turn budget. */
			blk_count(b, BLK_STAT_EXECUTE_FAILS, 1);
			return VIRTIO_BLK_S_UNSUPP;
		}
	}
	if (ret) {
		blk_count(b, BLK_STAT_EXECUTE_FAILS, 1);
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
invalid:
	blk_count(b, BLK_STAT_INVALID_REQS, 1);
	return VIRTIO_BLK_S_IOERR;
}



/* io_uring: IN and OUT become readv/writev SQEs, one slot each, submitted
 * once per kick and completed from the ring's eventfd (on_event). */

static void blk_push(struct blk *b, unsigned q, uint16_t head, uint32_t written)
{
	virtio_mmio_push(&b->t, q, head, written);
	b->pushed[q] = true;
}

/* Interrupts the driver for queues that got used entries, once each. */
static void blk_flush(struct blk *b)
{
	for (unsigned q = 0; q < b->t.nr_queues; q++)
		if (b->pushed[q]) {
			b->pushed[q] = false;
			virtio_mmio_flush(&b->t, q);
		}
}

/* Whether the queue slot s came from still is the ring it came from: no
 * reset of the device and no stop of the queue since. */
static bool slot_current(const struct blk *b, const struct blk_slot *s)
{
	return s->epoch == b->epoch && s->generation == b->t.queues[s->q].generation;
}

/* Finishes slot i's request with the ring's result `res`. A completion
 * from before a reset is dropped: its chain belongs to a dead queue. */
static void blk_complete(struct blk *b, uint64_t i, int res)
{
	struct blk_slot *s;
	uint8_t status = VIRTIO_BLK_S_OK;

	if (i >= b->depth) {
		log_error("virtio-blk: io_uring completion for unknown slot %llu", (unsigned long long)i);
		return;
	}
	s = &b->slots[i];
	if (res < 0) {
		blk_log_io(s->write, s->len, s->off, res);
		status = VIRTIO_BLK_S_IOERR;
	} else if ((uint64_t)res < s->len && slot_current(b, s)) {
		/* A short transfer: blk_rw finishes it, zero-filling a read
		 * that ran into the end of a shrunk file. Not for a request a
		 * reset orphaned: nobody reads its status, and a reset runs on
		 * a vCPU thread, whose filter has no preadv/pwritev. */
		unsigned n = iov_slice(s->iov, s->n, (uint64_t)res, s->len - (uint64_t)res, b->data);
		int ret = blk_rw(b, b->data, n, s->off + (uint64_t)res, s->write);

		if (ret) {
			blk_log_io(s->write, s->len, s->off, ret);
			status = VIRTIO_BLK_S_IOERR;
		}
	}
	/* Counted even when a reset orphaned the request: the I/O happened. */
	if (status == VIRTIO_BLK_S_OK)
		blk_count_done(b, s->write, s->len);
	else
		blk_count(b, BLK_STAT_EXECUTE_FAILS, 1);
	if (s->write)
		b->writes_in_flight--;
	b->free_slots[b->nr_free++] = (uint16_t)i;
	if (!slot_current(b, s))
		return;
	*s->status = status;
	blk_push(b, s->q, s->head, !s->write && status == VIRTIO_BLK_S_OK ? (uint32_t)(s->len + 1) : 1);
}

static unsigned blk_in_flight(const struct blk *b)
{
	return b->depth - b->nr_free;
}

/* Completes every CQE the ring holds; returns how many. */
static unsigned blk_reap(struct blk *b)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&b->ring, head, cqe) {
		blk_complete(b, cqe->user_data, cqe->res);
		n++;
	}
	io_uring_cq_advance(&b->ring, n);
	return n;
}

/* Hands every prepared SQE to the kernel. The kernel may take fewer than
 * offered (or fail transiently); what it leaves stays queued, so retry a
 * bounded number of times rather than spin. */
static void blk_submit(struct blk *b)
{
	int ret = 0;

	for (unsigned tries = 0; io_uring_sq_ready(&b->ring) && tries < 64; tries++) {
		ret = io_uring_submit(&b->ring);
		if (ret == -EBUSY || ret == -EAGAIN) {
			/* Out of kernel resources: let completions free some. */
			struct io_uring_cqe *cqe;

			if (blk_in_flight(b) > io_uring_sq_ready(&b->ring) && !io_uring_wait_cqe(&b->ring, &cqe))
				blk_reap(b);
		}
	}
	if (io_uring_sq_ready(&b->ring))
		log_error("virtio-blk: io_uring_submit left %u requests queued: %s", io_uring_sq_ready(&b->ring),
			  ret < 0 ? strerror(-ret) : "no progress");
}

/* Blocks until the ring has completed something, then completes it all.
 * Non-zero when waiting is impossible (nothing submitted, or the ring
 * failed), so callers' loops end. */
static int blk_wait(struct blk *b)
{
	struct io_uring_cqe *cqe;
	int ret;

	if (blk_in_flight(b) <= io_uring_sq_ready(&b->ring))
		return -EAGAIN;
	do
		ret = io_uring_wait_cqe(&b->ring, &cqe);
	while (ret == -EINTR);
	if (ret) {
		log_error("virtio-blk: io_uring_wait_cqe: %s", strerror(-ret));
		return ret;
	}
	blk_reap(b);
	return 0;
}

/* Until no request is in flight: the kernel must be done with guest
 * memory before a reset hands it back or destroy frees the ring. */
static void blk_drain(struct blk *b)
{
	if (!b->uring)
		return;
	blk_submit(b);
	while (blk_in_flight(b) && !blk_wait(b))
		;
}

/* A FLUSH covers the writes already completed to the driver, and also the
 * ones it submitted earlier that are still on the ring: wait for those
 * (completing them) rather than order an fsync SQE behind them. */
static void blk_wait_writes(struct blk *b)
{
	if (!b->uring || !b->writes_in_flight)
		return;
	blk_submit(b);
	while (b->writes_in_flight && !blk_wait(b))
		;
}

/* Puts an IN/OUT request on the ring. False: serve it synchronously
 * (nothing to transfer, more segments than a slot holds, or no SQE). */
static bool blk_queue(struct blk *b, unsigned q, const struct virtq_chain *c, uint64_t sector, bool write,
		      unsigned n, uint64_t len)
{
	struct io_uring_sqe *sqe;
	struct blk_slot *s;
	uint16_t i;

	if (!len || n > VIRTIO_BLK_SEG_MAX || !b->nr_free)
		return false;
	sqe = io_uring_get_sqe(&b->ring);
	if (!sqe)
		return false;
	i = b->free_slots[--b->nr_free];
	s = &b->slots[i];
	memcpy(s->iov, b->data, n * sizeof(*s->iov));
	s->n = n;
	s->off = sector * VIRTIO_BLK_SECTOR;
	s->len = len;
	s->head = c->head;
	s->q = (uint8_t)q;
	s->write = write;
	s->epoch = b->epoch;
	s->generation = b->t.queues[q].generation;
	/* The status byte is the chain's last writable byte. */
	iov_slice(c->iov + c->nr_out, c->nr_in, c->in_len - 1, 1, b->data);
	s->status = b->data[0].iov_base;
	if (write) {
		io_uring_prep_writev(sqe, b->fd, s->iov, n, s->off);
		b->writes_in_flight++;
	} else {
		io_uring_prep_readv(sqe, b->fd, s->iov, n, s->off);
	}
	io_uring_sqe_set_data64(sqe, i);
	return true;
}

/* Serves one request: 1 when it went on the ring, else 0 with *status and
 * *written for an immediate answer. */
static int blk_request(struct blk *b, unsigned q, const struct virtq_chain *c, uint8_t *status, uint32_t *written)
{
	uint8_t hdr[BLK_HEADER];
	uint32_t type;
	uint64_t sector, len;
	unsigned n;

	*status = VIRTIO_BLK_S_IOERR;
	if (c->out_len < BLK_HEADER) {
		blk_count(b, BLK_STAT_INVALID_REQS, 1);
		return 0;
	}
	virtq_chain_read(c, 0, hdr, sizeof(hdr));
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool write = type == VIRTIO_BLK_T_OUT;

		if (!b->uring) {
			*status = blk_data(b, c, sector, write, written);
			return 0;
		}
		*status = blk_data_check(b, c, sector, write, &n, &len);
		if (*status != VIRTIO_BLK_S_OK)
			return 0;
		if (blk_queue(b, q, c, sector, write, n, len))
			return 1;
		*status = blk_data(b, c, sector, write, written);
		return 0;
	}
	case VIRTIO_BLK_T_FLUSH:
		blk_count(b, BLK_STAT_FLUSH_COUNT, 1);
		blk_wait_writes(b);
		*status = b->read_only || !fdatasync(b->fd) ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		if (*status != VIRTIO_BLK_S_OK)
			blk_count(b, BLK_STAT_EXECUTE_FAILS, 1);
		return 0;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t room = c->in_len - 1;
		size_t id_len = room < VIRTIO_BLK_ID_BYTES ? (size_t)room : VIRTIO_BLK_ID_BYTES;

		*written += (uint32_t)virtq_chain_write(c, 0, b->id, id_len);
		*status = VIRTIO_BLK_S_OK;
		return 0;
	}
	case VIRTIO_BLK_T_DISCARD: *status = blk_discard(b, c, false); return 0;
	case VIRTIO_BLK_T_WRITE_ZEROES: *status = blk_discard(b, c, true); return 0;
	default:
		blk_count(b, BLK_STAT_INVALID_REQS, 1);
		*status = VIRTIO_BLK_S_UNSUPP;
		return 0;
	}
}

/* Serves queue q until it is empty or out of slots; returns the chains taken. */
static unsigned blk_serve(struct blk *b, unsigned q)
{
	struct virtio_mmio *t = &b->t;
	struct virtq_chain *c = &b->chain;
	unsigned taken = 0;

	for (;;) {
		uint32_t written = 0;
		uint8_t status;

		/* A chain we could not put on the ring would have to be
		 * served synchronously; leave it in the avail ring until a
		 * completion frees a slot. */
		if (b->uring && !b->nr_free) {
			if (!b->stalled[q])
				blk_count(b, BLK_STAT_IO_ENGINE_THROTTLED, 1);
			b->stalled[q] = true;
			break;
		}
		if (virtio_mmio_pop(t, q, c) <= 0)
			break;
		taken++;
		/* A request needs its header and a status byte; without a
		 * writable byte there is nowhere to say it failed. */
		if (!c->in_len) {
			blk_count(b, BLK_STAT_INVALID_REQS, 1);
			virtio_mmio_fail(t, "virtio-blk request without a status byte");
			break;
		}
		if (blk_request(b, q, c, &status, &written))
			continue;
		virtq_chain_write(c, c->in_len - 1, &status, 1);
		blk_push(b, q, c->head, written + 1);
	}
	if (b->uring)
		blk_submit(b);
	blk_flush(b);
	return taken;
}

/* A queue notification. */
static void blk_process(struct virtio_mmio *t, unsigned q)
{
	struct blk *b = blk_of(t);
	bool was_stalled = b->stalled[q];

	blk_count(b, BLK_STAT_QUEUE_EVENTS, 1);
	if (!blk_serve(b, q) && !was_stalled && !b->stalled[q])
		blk_count(b, BLK_STAT_NO_AVAIL_BUFFER, 1);
}

/* The ring's eventfd fired: complete what finished, one interrupt per
 * queue, and take up chains that waited for a free slot. */
static void blk_on_event(struct virtio_mmio *t)
{
	struct blk *b = blk_of(t);
	uint64_t count;

	if (!b->uring)
		return;
	if (read(b->event_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_error("virtio-blk: eventfd: %m");
	blk_reap(b);
	for (unsigned q = 0; q < t->nr_queues; q++)
		if (b->stalled[q] && b->nr_free) {
			b->stalled[q] = false;
			if (virtio_mmio_live(t) && t->queues[q].ready)
				blk_serve(b, q);
		}
	blk_flush(b);
}

static int blk_event_fd(struct virtio_mmio *t)
{
	return blk_of(t)->uring ? blk_of(t)->event_fd : -1;
}

/* Runs under dev.lock (a driver's status write, or a VM reset): waits for
 * the kernel to finish with guest memory, then forgets the requests (the
 * queues they came from are going away). */
static void blk_reset(struct virtio_mmio *t)
{
	struct blk *b = blk_of(t);

	b->epoch++;
	blk_drain(b);
	memset(b->stalled, 0, sizeof(b->stalled));
	memset(b->pushed, 0, sizeof(b->pushed));
}

/* Before a save or restore: complete in-flight requests to the driver so
 * the saved queues hold no chain the device took but never returned. */
static void blk_quiesce(struct virtio_mmio *t)
{
	struct blk *b = blk_of(t);

	blk_drain(b);
	blk_flush(b);
}

static void blk_config_read(struct virtio_mmio *t, uint32_t off, uint8_t *data, uint32_t len)
{
	memcpy(data, blk_of(t)->config + off, len);
}

static void blk_save(struct virtio_mmio *t, struct state_writer *w)
{
	struct blk *b = blk_of(t);

	state_put_u64(w, b->capacity);
	state_put_u8(w, b->read_only);
}

/* The disk is not in the snapshot; it must be the same shape. */
static void blk_restore(struct virtio_mmio *t, struct state_reader *r)
{
	struct blk *b = blk_of(t);
	uint64_t capacity = state_get_u64(r);
	uint8_t ro = state_get_u8(r);

	if (!state_reader_error(r) && (capacity != b->capacity || ro != b->read_only))
		state_reader_reject(r, "virtio-blk record: the drive's size or read-only mode changed");
}

static void blk_uring_fini(struct blk *b)
{
	if (b->uring) {
		io_uring_queue_exit(&b->ring);
		b->uring = false;
	}
	if (b->event_fd >= 0)
		close(b->event_fd);
	b->event_fd = -1;
	free(b->slots);
	free(b->iov_store);
	free(b->free_slots);
}

static void blk_destroy(struct virtio_mmio *t)
{
	struct blk *b = blk_of(t);

	/* Completions are dropped: nobody is left to read them. */
	b->epoch++;
	blk_drain(b);
	blk_uring_fini(b);
	close(b->fd);
	free(b);
}

static const struct virtio_backend_ops blk_ops = {
	.kind = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.config_len = VIRTIO_BLK_CONFIG_LEN,
	.config_read = blk_config_read,
	.process = blk_process,
	.reset = blk_reset,
	.event_fd = blk_event_fd,
	.on_event = blk_on_event,
	.quiesce = blk_quiesce,
	.save = blk_save,
	.restore = blk_restore,
	.destroy = blk_destroy,
};

static void blk_fill_config(struct blk *b)
{
	le64_write(b->config + VIRTIO_BLK_CFG_CAPACITY, b->capacity);
	le32_write(b->config + VIRTIO_BLK_CFG_SEG_MAX, VIRTIO_BLK_SEG_MAX);
	le32_write(b->config + VIRTIO_BLK_CFG_BLK_SIZE, VIRTIO_BLK_SECTOR);
	le32_write(b->config + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, BLK_MAX_RANGE_SECTORS);
	le32_write(b->config + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 1);
	le32_write(b->config + VIRTIO_BLK_CFG_DISCARD_ALIGN, 1);
	le32_write(b->config + VIRTIO_BLK_CFG_MAX_WZ_SECTORS, BLK_MAX_RANGE_SECTORS);
	le32_write(b->config + VIRTIO_BLK_CFG_MAX_WZ_SEG, 1);
	b->config[VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = 1;
}

int blk_set_backing(struct virtio_mmio *t, int fd, uint64_t size)
{
	struct blk *b = blk_of(t);

	if (size / VIRTIO_BLK_SECTOR == 0)
		return err_fail(-EINVAL, "the new backing file holds no whole sector");
	pthread_mutex_lock(&t->dev.lock);
	/* Requests already on the ring finish against the old file. */
	blk_drain(b);
	blk_flush(b);
	close(b->fd);
	b->fd = fd;
	b->capacity = size / VIRTIO_BLK_SECTOR;
	blk_fill_config(b);
	virtio_mmio_config_changed(t);
	pthread_mutex_unlock(&t->dev.lock);
	return 0;
}

/* Sets up the io_uring path with `depth` slots; on failure the device
 * stays synchronous (io_uring may be disabled or unsupported). */
static void blk_uring_init(struct blk *b, unsigned depth)
{
	int ret;

	b->slots = calloc(depth, sizeof(*b->slots));
	b->iov_store = calloc((size_t)depth * VIRTIO_BLK_SEG_MAX, sizeof(*b->iov_store));
	b->free_slots = calloc(depth, sizeof(*b->free_slots));
	if (!b->slots || !b->iov_store || !b->free_slots) {
		log_info("virtio-blk: no memory for %u io_uring slots; serving requests synchronously", depth);
		goto fail;
	}
	b->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->event_fd < 0) {
		log_info("virtio-blk: eventfd: %m; serving requests synchronously");
		goto fail;
	}
	ret = blk_ring_open(&b->ring, depth, b->event_fd);
	if (ret) {
		log_info("virtio-blk: %s; serving requests synchronously", err_last());
		goto fail;
	}
	b->uring = true;
	b->depth = depth;
	for (unsigned i = 0; i < depth; i++) {
		b->slots[i].iov = b->iov_store + (size_t)i * VIRTIO_BLK_SEG_MAX;
		b->free_slots[i] = (uint16_t)(depth - 1 - i);
	}
	b->nr_free = depth;
	return;
fail:
	blk_uring_fini(b);
	b->slots = NULL;
	b->iov_store = NULL;
	b->free_slots = NULL;
}

int blk_create(const struct guest_mem *mem, const struct blk_config *cfg, const struct virtio_mmio_hooks *hooks,
	       struct virtio_mmio **out)
{
	uint64_t features = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
			    VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
			    VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	struct blk *b;
	int ret;

	if (cfg->fd < 0)
		return err_fail(-EBADF, "virtio-blk: no file");
	if (cfg->size < VIRTIO_BLK_SECTOR)
		return err_fail(-EINVAL, "virtio-blk: a disk of %llu bytes holds no 512-byte sector",
				(unsigned long long)cfg->size);
	features |= cfg->read_only ? VIRTIO_BIT(VIRTIO_BLK_F_RO)
				   : VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	b = calloc(1, sizeof(*b));
	if (!b)
		return err_fail(-ENOMEM, "virtio-blk: device state");
	ret = virtio_mmio_init(&b->t, &blk_ops, mem, features, 1, VIRTIO_BLK_QUEUE_SIZE, hooks);
	if (ret) {
		free(b);
		return ret;
	}
	b->fd = cfg->fd;
	b->event_fd = -1;
	b->read_only = cfg->read_only;
	b->capacity = cfg->size / VIRTIO_BLK_SECTOR;
	if (cfg->id)
		memcpy(b->id, cfg->id, strnlen(cfg->id, VIRTIO_BLK_ID_BYTES));
	blk_fill_config(b);
	if (!cfg->sync_io)
		blk_uring_init(b, cfg->depth && cfg->depth < VIRTIO_BLK_QUEUE_SIZE ? cfg->depth : VIRTIO_BLK_QUEUE_SIZE);
	*out = &b->t;
	return 0;
}
