#include "devices/virtio/queue.h"

#include <errno.h>
#include <string.h>

#include "vmm/log.h"

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* The rings are shared with a guest running on other CPUs: index words
 * are read with acquire and published with release semantics. */
static uint16_t load16(const struct guest_mem *mem, uint64_t gpa)
{
	const uint16_t *p = guest_mem_ptr(mem, gpa, 2);

	return p ? __atomic_load_n(p, __ATOMIC_ACQUIRE) : 0;
}

/* Forced inline: the dirty mark made it big enough for GCC to outline it
 * off the walker's hot path. */
static inline __attribute__((always_inline)) void store16(const struct guest_mem *mem, uint64_t gpa, uint16_t v)
{
	uint16_t *p = guest_mem_ptr(mem, gpa, 2);

	if (p) {
		__atomic_store_n(p, v, __ATOMIC_RELEASE);
		guest_mem_mark_dirty(mem, gpa, 2);
	}
}

void virtq_init(struct virtq *q, const struct guest_mem *mem, uint16_t max_size)
{
	memset(q, 0, sizeof(*q));
	q->mem = mem;
	q->max_size = max_size;
	q->size = max_size;
}

void virtq_reset(struct virtq *q)
{
	uint32_t generation = q->generation;

	virtq_init(q, q->mem, q->max_size);
	q->generation = generation + 1;
}

void virtq_stop(struct virtq *q)
{
	q->ready = false;
	q->last_avail = q->next_used = q->signalled_used = 0;
	q->signalled_valid = false;
	q->generation++;
}

static uint64_t avail_event_off(const struct virtq *q)
{
	return 4 + 8ULL * q->size;
}

static uint64_t used_event_off(const struct virtq *q)
{
	return 4 + 2ULL * q->size;
}

static int check_area(const struct virtq *q, const char *name, uint64_t gpa, uint64_t align, uint64_t len)
{
	if (gpa & (align - 1))
		return err_fail(-EINVAL, "%s ring at 0x%llx is not %llu-byte aligned", name,
				(unsigned long long)gpa, (unsigned long long)align);
	if (!guest_mem_contains(q->mem, gpa, len))
		return err_fail(-EINVAL, "%s ring 0x%llx+0x%llx lies outside guest memory", name,
				(unsigned long long)gpa, (unsigned long long)len);
	return 0;
}

int virtq_validate(const struct virtq *q)
{
	uint64_t ev = q->event_idx ? 2 : 0;
	int ret;

	if (!q->size || q->size > q->max_size || (q->size & (q->size - 1)))
		return err_fail(-EINVAL, "queue size %u is not a power of two in 1..%u", q->size,
				q->max_size);
	ret = check_area(q, "descriptor", q->desc, 16, (uint64_t)VIRTQ_DESC_SIZE * q->size);
	if (!ret)
		ret = check_area(q, "avail", q->avail, 2, used_event_off(q) + ev);
	if (!ret)
		ret = check_area(q, "used", q->used, 4, avail_event_off(q) + ev);
	return ret;
}

static int read_desc(const struct guest_mem *mem, uint64_t table, uint16_t idx, struct virtq_desc *d)
{
	const uint8_t *p = guest_mem_ptr(mem, table + (uint64_t)idx * VIRTQ_DESC_SIZE, VIRTQ_DESC_SIZE);

	if (!p)
		return err_fail(-EINVAL, "descriptor %u of table 0x%llx lies outside guest memory", idx,
				(unsigned long long)table);
	/* One copy: the guest may rewrite the descriptor while we look. */
	memcpy(&d->addr, p, 8);
	memcpy(&d->len, p + 8, 4);
	memcpy(&d->flags, p + 12, 2);
	memcpy(&d->next, p + 14, 2);
	return 0;
}

/* Switches the walk to the indirect table `d` points at. A walk enters at
 * most one indirect table, whatever its address: a table that is the
 * descriptor table itself (or overlaps it) is nested all the same, so the
 * walk is at most 1 + VIRTQ_MAX_SIZE steps. */
static int enter_indirect(const struct virtq *q, const struct virtq_desc *d, uint16_t idx, unsigned seen,
			  bool *in_indirect, uint64_t *table, uint32_t *entries)
{
	if (!q->indirect)
		return err_fail(-EINVAL, "descriptor %u is INDIRECT but INDIRECT_DESC was not negotiated", idx);
	if (*in_indirect)
		return err_fail(-EINVAL, "descriptor %u: nested indirect table", idx);
	if (seen != 1)
		return err_fail(-EINVAL, "descriptor %u: INDIRECT in the middle of a chain", idx);
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return err_fail(-EINVAL, "descriptor %u has both INDIRECT and NEXT", idx);
	if (!d->len || d->len % VIRTQ_DESC_SIZE || d->len / VIRTQ_DESC_SIZE > VIRTQ_MAX_SIZE)
		return err_fail(-EINVAL, "descriptor %u: indirect table of %u bytes (16-byte entries, at most %u)",
				idx, d->len, VIRTQ_MAX_SIZE);
	if (!guest_mem_contains(q->mem, d->addr, d->len))
		return err_fail(-EINVAL, "descriptor %u: indirect table 0x%llx+%u lies outside guest memory", idx,
				(unsigned long long)d->addr, d->len);
	*table = d->addr;
	*entries = d->len / VIRTQ_DESC_SIZE;
	*in_indirect = true;
	return 0;
}

static int add_segment(const struct virtq *q, struct virtq_chain *c, const struct virtq_desc *d, uint16_t idx)
{
	void *host = guest_mem_ptr(q->mem, d->addr, d->len);
	struct iovec *iov = &c->iov[c->nr_out + c->nr_in];

	if (!host)
		return err_fail(-EINVAL, "descriptor %u: buffer 0x%llx+%u lies outside guest memory", idx,
				(unsigned long long)d->addr, d->len);
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		c->nr_in++;
		c->in_len += d->len;
		/* Marked now because devices write through the iovec (io_uring,
		 * preadv, memcpy) where we cannot see it; a chain dropped
		 * unwritten only costs a spare page in the diff. */
		guest_mem_mark_dirty(q->mem, d->addr, d->len);
	} else {
		if (c->nr_in)
			return err_fail(-EINVAL, "descriptor %u: device-readable buffer after a writable one",
					idx);
		c->nr_out++;
		c->out_len += d->len;
	}
	*iov = (struct iovec){ host, d->len };
	return 0;
}

static int walk_chain(const struct virtq *q, uint16_t head, struct virtq_chain *c)
{
	uint64_t table = q->desc;
	uint32_t entries = q->size;
	uint16_t idx = head;
	unsigned seen = 0;
	bool in_indirect = false;
	struct virtq_desc d = { 0 };
	int ret;

	c->head = head;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	for (;;) {
		if (idx >= entries)
			return err_fail(-EINVAL, "descriptor %u is past the end of a %u-entry table", idx,
					entries);
		/* Every table holds at most `entries` distinct descriptors, so a
		 * longer walk has gone round a loop. */
		if (++seen > entries)
			return err_fail(-EINVAL, "chain from head %u is longer than the queue (%u)", head,
					entries);
		ret = read_desc(q->mem, table, idx, &d);
		if (ret)
			return ret;
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			ret = enter_indirect(q, &d, idx, seen, &in_indirect, &table, &entries);
			if (ret)
				return ret;
			idx = 0;
			seen = 0;
			continue;
		}
		ret = add_segment(q, c, &d, idx);
		if (ret)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *chain)
{
	uint16_t avail_idx, pending, head, outstanding;
	int ret;

	if (!q->ready)
		return 0;
	avail_idx = load16(q->mem, q->avail + 2);
	pending = (uint16_t)(avail_idx - q->last_avail);
	if (!pending && q->event_idx) {
		/* Ask for a kick at the next buffer, then look once more: the
		 * driver may have posted one before it saw our avail_event. */
		store16(q->mem, q->used + avail_event_off(q), avail_idx);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = load16(q->mem, q->avail + 2);
		pending = (uint16_t)(avail_idx - q->last_avail);
	}
	if (!pending)
		return 0;
	if (pending > q->size)
		return err_fail(-EINVAL, "avail index %u is %u entries ahead of %u in a queue of %u", avail_idx,
				pending, q->last_avail, q->size);
	/* A driver can never have more chains out than the queue has entries
	 * (their heads are distinct descriptors). Counting them here, for
	 * every device, bounds what any device may hold at once. */
	outstanding = (uint16_t)(q->last_avail - q->next_used);
	if (outstanding >= q->size)
		return err_fail(-EINVAL, "%u chains outstanding in a queue of %u, and the driver posted more",
				outstanding, q->size);
	head = load16(q->mem, q->avail + 4 + 2ULL * (q->last_avail % q->size));
	ret = walk_chain(q, head, chain);
	if (ret)
		return ret;
	q->last_avail++;
	if (q->event_idx)
		store16(q->mem, q->used + avail_event_off(q), q->last_avail);
	return 1;
}

int virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	uint64_t slot;
	uint8_t *p;
	uint32_t id = head;

	/* The driver stopped (and perhaps resized) the queue while this chain
	 * was out: nobody waits for it in that ring any more. */
	if (!q->ready || !q->size) {
		log_debug("completion of descriptor %u dropped: the queue was stopped", head);
		return 0;
	}
	slot = q->used + 4 + (uint64_t)VIRTQ_USED_ELEM_SIZE * (q->next_used % q->size);
	p = guest_mem_ptr(q->mem, slot, VIRTQ_USED_ELEM_SIZE);
	if (head >= q->size || !p)
		return err_fail(-EINVAL, "cannot return descriptor %u to a queue of %u", head, q->size);
	memcpy(p, &id, 4);
	memcpy(p + 4, &written, 4);
	guest_mem_mark_dirty(q->mem, slot, VIRTQ_USED_ELEM_SIZE);
	q->next_used++;
	store16(q->mem, q->used + 2, q->next_used);
	return 0;
}

bool virtq_needs_interrupt(struct virtq *q)
{
	uint16_t old = q->signalled_used, now = q->next_used, event;
	bool valid = q->signalled_valid;

	/* Our used-index store must be visible before we read the driver's
	 * wish, or both sides can miss each other. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(load16(q->mem, q->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	event = load16(q->mem, q->avail + used_event_off(q));
	q->signalled_used = now;
	q->signalled_valid = true;
	return !valid || (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

static size_t chain_copy(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len, bool to_iov)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t take;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - off;
		if (take > len - done)
			take = len - done;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + off, (const uint8_t *)buf + done, take);
		else
			memcpy((uint8_t *)buf + done, (const uint8_t *)iov[i].iov_base + off, take);
		done += take;
		off = 0;
	}
	return done;
}

size_t virtq_chain_read(const struct virtq_chain *c, size_t off, void *dst, size_t len)
{
	return chain_copy(c->iov, c->nr_out, off, dst, len, false);
}

size_t virtq_chain_write(const struct virtq_chain *c, size_t off, const void *src, size_t len)
{
	return chain_copy(c->iov + c->nr_out, c->nr_in, off, (void *)src, len, true);
}

void virtq_save(const struct virtq *q, struct state_writer *w)
{
	state_put_u16(w, q->size);
	state_put_u8(w, q->ready);
	state_put_u8(w, q->event_idx);
	state_put_u8(w, q->indirect);
	state_put_u64(w, q->desc);
	state_put_u64(w, q->avail);
	state_put_u64(w, q->used);
	state_put_u16(w, q->last_avail);
	state_put_u16(w, q->next_used);
	state_put_u16(w, q->signalled_used);
	state_put_u8(w, q->signalled_valid);
}

void virtq_restore(struct virtq *q, struct state_reader *r)
{
	struct virtq t = *q;
	uint8_t ready, event_idx, indirect, valid;

	t.size = state_get_u16(r);
	ready = state_get_u8(r);
	event_idx = state_get_u8(r);
	indirect = state_get_u8(r);
	t.desc = state_get_u64(r);
	t.avail = state_get_u64(r);
	t.used = state_get_u64(r);
	t.last_avail = state_get_u16(r);
	t.next_used = state_get_u16(r);
	t.signalled_used = state_get_u16(r);
	valid = state_get_u8(r);
	if (state_reader_error(r))
		return;
	if (ready > 1 || event_idx > 1 || indirect > 1 || valid > 1 || t.size > t.max_size) {
		state_reader_reject(r, "virtqueue record: bad flag or size");
		return;
	}
	t.ready = ready, t.event_idx = event_idx, t.indirect = indirect, t.signalled_valid = valid;
	if (t.ready && virtq_validate(&t)) {
		state_reader_reject(r, "virtqueue record: live queue with invalid rings");
		return;
	}
	*q = t;
}
