#include "vmm/guest_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

void guest_mem_init(struct guest_mem *mem)
{
	memset(mem, 0, sizeof(*mem));
}

void guest_mem_fini(struct guest_mem *mem)
{
	for (unsigned i = 0; i < mem->nr_regions; i++)
		free(mem->regions[i].dirty);
	guest_mem_init(mem);
}

static bool range_end(uint64_t start, uint64_t len, uint64_t *end)
{
	return !__builtin_add_overflow(start, len, end);
}

static size_t region_words(const struct guest_region *r)
{
	/* Written so that a size near 2^64 cannot overflow the rounding. */
	uint64_t pages = (r->size >> GUEST_MEM_PAGE_SHIFT) + !!(r->size & ((1u << GUEST_MEM_PAGE_SHIFT) - 1));

	return (size_t)((pages + 63) / 64);
}

/* A clear bitmap for `r`: reused if it has one, since a marker may still
 * hold the old pointer. */
static int dirty_reset(struct guest_region *r)
{
	size_t words = region_words(r);
	uint64_t *bm = r->dirty;

	if (bm) {
		for (size_t i = 0; i < words; i++)
			__atomic_store_n(&bm[i], 0, __ATOMIC_RELAXED);
		return 0;
	}
	bm = calloc(words, sizeof(*bm));
	if (!bm)
		return err_fail(-ENOMEM, "no memory for the dirty bitmap of region 0x%llx+0x%llx",
				(unsigned long long)r->gpa, (unsigned long long)r->size);
	__atomic_store_n(&r->dirty, bm, __ATOMIC_RELEASE);
	return 0;
}

int guest_mem_add_region(struct guest_mem *mem, uint64_t gpa, uint64_t size, void *host)
{
	uint64_t end;

	if (size == 0 || !host)
		return err_fail(-EINVAL, "empty region at 0x%llx", (unsigned long long)gpa);
	if (!range_end(gpa, size, &end))
		return err_fail(-EINVAL, "region 0x%llx+0x%llx wraps the address space",
				(unsigned long long)gpa, (unsigned long long)size);
	if (mem->nr_regions >= GUEST_MEM_MAX_REGIONS)
		return err_fail(-ENOSPC, "more than %d guest memory regions", GUEST_MEM_MAX_REGIONS);
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		if (gpa < r->gpa + r->size && r->gpa < end)
			return err_fail(-EEXIST, "region 0x%llx-0x%llx overlaps 0x%llx-0x%llx",
					(unsigned long long)gpa, (unsigned long long)end,
					(unsigned long long)r->gpa,
					(unsigned long long)(r->gpa + r->size));
	}
	mem->regions[mem->nr_regions] = (struct guest_region){ gpa, size, host, NULL };
	if (__atomic_load_n(&mem->tracking, __ATOMIC_RELAXED)) {
		int ret = dirty_reset(&mem->regions[mem->nr_regions]);

		if (ret)
			return ret;
	}
	mem->nr_regions++;
	return 0;
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (len == 0)
		len = 1;
	if (!range_end(gpa, len, &end))
		return NULL;
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		/* r->gpa + r->size cannot wrap: guest_mem_add_region refused that. */
		if (gpa >= r->gpa && end <= r->gpa + r->size)
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

bool guest_mem_contains(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	return guest_mem_ptr(mem, gpa, len) != NULL;
}

static int range_fault(uint64_t gpa, uint64_t len)
{
	return err_set(-EFAULT, "guest range 0x%llx+0x%llx is outside guest memory",
		       (unsigned long long)gpa, (unsigned long long)len);
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len)
{
	void *src = guest_mem_ptr(mem, gpa, len);

	if (!src)
		return range_fault(gpa, len);
	memcpy(dst, src, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = guest_mem_ptr(mem, gpa, len);

	if (!dst)
		return range_fault(gpa, len);
	memcpy(dst, src, len);
	guest_mem_mark_dirty(mem, gpa, len);
	return 0;
}

int guest_mem_fill(const struct guest_mem *mem, uint64_t gpa, uint8_t byte, uint64_t len)
{
	void *dst = guest_mem_ptr(mem, gpa, len);

	if (!dst)
		return range_fault(gpa, len);
	memset(dst, byte, len);
	guest_mem_mark_dirty(mem, gpa, len);
	return 0;
}

uint64_t guest_mem_total(const struct guest_mem *mem)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < mem->nr_regions; i++)
		total += mem->regions[i].size;
	return total;
}

uint64_t guest_mem_low_end(const struct guest_mem *mem)
{
	for (unsigned i = 0; i < mem->nr_regions; i++)
		if (mem->regions[i].gpa == 0)
			return mem->regions[i].size;
	return 0;
}

int guest_mem_track_dirty(struct guest_mem *mem, bool on)
{
	for (unsigned i = 0; on && i < mem->nr_regions; i++) {
		int ret = dirty_reset(&mem->regions[i]);

		if (ret)
			return ret;
	}
	__atomic_store_n(&mem->tracking, on, __ATOMIC_RELEASE);
	return 0;
}

size_t guest_mem_dirty_words(const struct guest_mem *mem, unsigned index)
{
	return index < mem->nr_regions ? region_words(&mem->regions[index]) : 0;
}

/* Sets bits [first, last]. Reading first skips the locked OR when the
 * page is already dirty, which is the common case for ring pages. */
static void dirty_set(uint64_t *bm, uint64_t first, uint64_t last)
{
	for (uint64_t w = first / 64; w <= last / 64; w++) {
		uint64_t mask = ~0ULL;

		if (w == first / 64)
			mask &= ~0ULL << (first % 64);
		if (w == last / 64)
			mask &= ~0ULL >> (63 - last % 64);
		if ((__atomic_load_n(&bm[w], __ATOMIC_RELAXED) & mask) != mask)
			__atomic_fetch_or(&bm[w], mask, __ATOMIC_RELAXED);
	}
}

void guest_mem_mark_dirty_slow(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (!len)
		return;
	/* A wrapping range is clamped: no region reaches the last byte. */
	if (!range_end(gpa, len, &end))
		end = UINT64_MAX;
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];
		uint64_t *bm = __atomic_load_n(&r->dirty, __ATOMIC_ACQUIRE);
		uint64_t r_end = r->gpa + r->size, lo, hi;

		if (!bm || end <= r->gpa || gpa >= r_end)
			continue;
		lo = (gpa > r->gpa ? gpa : r->gpa) - r->gpa;
		hi = (end < r_end ? end : r_end) - r->gpa;
		dirty_set(bm, lo >> GUEST_MEM_PAGE_SHIFT, (hi - 1) >> GUEST_MEM_PAGE_SHIFT);
	}
}

int guest_mem_take_dirty(struct guest_mem *mem, unsigned index, uint64_t *out, size_t words)
{
	size_t need;
	uint64_t *bm;

	if (index >= mem->nr_regions)
		return err_fail(-EINVAL, "no guest memory region %u", index);
	need = region_words(&mem->regions[index]);
	if (words < need)
		return err_fail(-EINVAL, "region %u needs a %zu-word dirty bitmap, got %zu words", index, need,
				words);
	bm = mem->regions[index].dirty;
	if (!__atomic_load_n(&mem->tracking, __ATOMIC_RELAXED))
		return err_fail(-ENOENT, "dirty page tracking is off");
	for (size_t i = 0; i < need; i++)
		if (__atomic_load_n(&bm[i], __ATOMIC_RELAXED))
			out[i] |= __atomic_exchange_n(&bm[i], 0, __ATOMIC_RELAXED);
	return 0;
}
