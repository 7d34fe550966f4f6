#include "tests/virtio/vq_driver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void put16(struct vq_driver *d, uint64_t gpa, uint16_t v)
{
	__atomic_store_n((uint16_t *)(d->ram + gpa), v, __ATOMIC_RELEASE);
}

static uint16_t get16(const struct vq_driver *d, uint64_t gpa)
{
	return __atomic_load_n((const uint16_t *)(d->ram + gpa), __ATOMIC_ACQUIRE);
}

int vq_driver_init(struct vq_driver *d, size_t ram_size, uint16_t size)
{
	memset(d, 0, sizeof(*d));
	d->ram = aligned_alloc(4096, ram_size);
	if (!d->ram)
		return -ENOMEM;
	memset(d->ram, 0, ram_size);
	d->ram_size = ram_size;
	d->size = size;
	d->data_next = VQ_DRIVER_DATA;
	guest_mem_init(&d->mem);
	return guest_mem_add_region(&d->mem, 0, ram_size, d->ram);
}

void vq_driver_clear(struct vq_driver *d)
{
	memset(d->ram, 0, d->ram_size);
	d->avail_idx = d->next_desc = d->used_seen = 0;
	d->data_next = VQ_DRIVER_DATA;
}

void vq_driver_fini(struct vq_driver *d)
{
	free(d->ram);
	d->ram = NULL;
}

void vq_driver_attach(const struct vq_driver *d, struct virtq *q, bool event_idx, bool indirect)
{
	virtq_init(q, &d->mem, d->size);
	q->desc = VQ_DRIVER_DESC;
	q->avail = VQ_DRIVER_AVAIL;
	q->used = VQ_DRIVER_USED;
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->ready = true;
}

uint64_t vq_driver_alloc(struct vq_driver *d, uint32_t len)
{
	uint64_t at = d->data_next;

	d->data_next = (at + len + 15) & ~15ULL;
	if (d->data_next > d->ram_size)
		abort(); /* a test asked for more RAM than it made */
	return at;
}

void *vq_driver_host(struct vq_driver *d, uint64_t gpa)
{
	return d->ram + gpa;
}

void vq_driver_set_desc(struct vq_driver *d, uint16_t idx, uint64_t addr, uint32_t len, uint16_t flags,
			uint16_t next)
{
	uint8_t *p = d->ram + VQ_DRIVER_DESC + (uint64_t)idx * VIRTQ_DESC_SIZE;

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static void write_table(struct vq_driver *d, uint8_t *table, struct vq_seg *segs, unsigned n,
			uint16_t first)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t flags = (segs[i].write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
		uint16_t next = (uint16_t)(i + 1 < n ? first + i + 1 : 0);
		uint8_t *p = table + (size_t)i * VIRTQ_DESC_SIZE;

		if (!segs[i].addr)
			segs[i].addr = vq_driver_alloc(d, segs[i].len);
		memcpy(p, &segs[i].addr, 8);
		memcpy(p + 8, &segs[i].len, 4);
		memcpy(p + 12, &flags, 2);
		memcpy(p + 14, &next, 2);
	}
}

uint16_t vq_driver_chain(struct vq_driver *d, struct vq_seg *segs, unsigned n)
{
	uint16_t head = d->next_desc;

	if ((unsigned)head + n > d->size)
		abort();
	write_table(d, d->ram + VQ_DRIVER_DESC + (uint64_t)head * VIRTQ_DESC_SIZE, segs, n, head);
	d->next_desc = (uint16_t)(head + n);
	return head;
}

uint16_t vq_driver_chain_indirect(struct vq_driver *d, struct vq_seg *segs, unsigned n)
{
	uint64_t table = vq_driver_alloc(d, n * VIRTQ_DESC_SIZE);
	uint16_t head = d->next_desc++;

	write_table(d, d->ram + table, segs, n, 0);
	vq_driver_set_desc(d, head, table, n * VIRTQ_DESC_SIZE, VIRTQ_DESC_F_INDIRECT, 0);
	return head;
}

void vq_driver_post(struct vq_driver *d, uint16_t head)
{
	uint64_t slot = VQ_DRIVER_AVAIL + 4 + 2ULL * (d->avail_idx % d->size);

	memcpy(d->ram + slot, &head, 2);
	d->avail_idx++;
	put16(d, VQ_DRIVER_AVAIL + 2, d->avail_idx);
}

void vq_driver_set_avail_idx(struct vq_driver *d, uint16_t idx)
{
	d->avail_idx = idx;
	put16(d, VQ_DRIVER_AVAIL + 2, idx);
}

void vq_driver_set_avail_flags(struct vq_driver *d, uint16_t flags)
{
	put16(d, VQ_DRIVER_AVAIL, flags);
}

void vq_driver_set_used_event(struct vq_driver *d, uint16_t v)
{
	put16(d, VQ_DRIVER_AVAIL + 4 + 2ULL * d->size, v);
}

uint16_t vq_driver_avail_event(const struct vq_driver *d)
{
	return get16(d, VQ_DRIVER_USED + 4 + 8ULL * d->size);
}

uint16_t vq_driver_used_idx(const struct vq_driver *d)
{
	return get16(d, VQ_DRIVER_USED + 2);
}

bool vq_driver_take_used(struct vq_driver *d, uint32_t *id, uint32_t *len)
{
	uint64_t slot;

	if (vq_driver_used_idx(d) == d->used_seen)
		return false;
	slot = VQ_DRIVER_USED + 4 + 8ULL * (d->used_seen % d->size);
	memcpy(id, d->ram + slot, 4);
	memcpy(len, d->ram + slot + 4, 4);
	d->used_seen++;
	return true;
}

void vq_driver_recycle(struct vq_driver *d)
{
	d->next_desc = 0;
	d->data_next = VQ_DRIVER_DATA;
}
