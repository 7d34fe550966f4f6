/* Guest physical memory as a small set of bounded regions.
 *
 * boot/, devices/ and snapshot/ see guest memory only through this view:
 * every access names a guest physical address and a length and is checked,
 * with overflow-safe arithmetic, to lie wholly inside one region. Nothing
 * here allocates or maps memory; the HAL does that and hands us pointers.
 *
 * For diff snapshots the view can also record which pages the VMM itself
 * wrote (KVM's dirty log sees only the vCPUs): guest_mem_write/fill and
 * the virtqueue walker mark pages; the snapshot ORs the result with KVM's
 * log. The bitmap is only as good as the quiescence around it: take it
 * with the vCPUs paused and the devices quiesced, since a device marks a
 * writable buffer when it is handed out, not when the bytes land. */
#ifndef EMBER_GUEST_MEM_H
#define EMBER_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 8
#define GUEST_MEM_PAGE_SHIFT 12

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
	/* One bit per page counted from gpa (like a KVM slot's log). Kept from
	 * the first tracking start until fini, so a marker racing with "stop"
	 * never touches freed memory. */
	uint64_t *dirty;
};

struct guest_mem {
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned nr_regions;
	bool tracking; /* accessed atomically: markers run on other threads */
};

void guest_mem_init(struct guest_mem *mem);
/* Frees the dirty bitmaps; the view is empty afterwards. */
void guest_mem_fini(struct guest_mem *mem);
/* Adds [gpa, gpa+size) backed by `host`. Rejects empty, wrapping and
 * overlapping regions and more than GUEST_MEM_MAX_REGIONS. */
int guest_mem_add_region(struct guest_mem *mem, uint64_t gpa, uint64_t size, void *host);
/* Host pointer for [gpa, gpa+len) if it lies inside one region, else NULL.
 * len 0 is treated as 1 so a zero-length access still needs a valid gpa. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
bool guest_mem_contains(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
/* Copies; return 0 or -EFAULT with a message naming the range. */
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len);
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len);
int guest_mem_fill(const struct guest_mem *mem, uint64_t gpa, uint8_t byte, uint64_t len);
/* Sum of region sizes. */
uint64_t guest_mem_total(const struct guest_mem *mem);
/* Exclusive end of the region that starts at 0 (low memory), or 0. */
uint64_t guest_mem_low_end(const struct guest_mem *mem);

/* Starts (every bit clear, allocating one bit per 4 KiB page of every
 * region on first use) or stops tracking writes made through this view and
 * through device-writable buffers the virtqueue walker hands out. Only
 * while nothing else marks: before the VM runs or with it paused. */
int guest_mem_track_dirty(struct guest_mem *mem, bool on);
/* Words of 64 bits in region `index`'s bitmap, 0 for no such region. */
size_t guest_mem_dirty_words(const struct guest_mem *mem, unsigned index);
/* ORs region `index`'s bitmap into out[0, guest_mem_dirty_words) (LSB
 * first, like KVM's dirty log) and clears it, atomically per word. -ENOENT
 * when tracking is off, -EINVAL for a bad index or too few words. */
int guest_mem_take_dirty(struct guest_mem *mem, unsigned index, uint64_t *out, size_t words);

/* guest_mem_mark_dirty's out-of-line half, for when tracking is on. */
void guest_mem_mark_dirty_slow(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Marks every page of [gpa, gpa+len) that lies in a region (len 0 marks
 * nothing). Inline because it sits on the device I/O path: with tracking
 * off it costs one predictable branch. Thread-safe. */
static inline void guest_mem_mark_dirty(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	if (__builtin_expect(__atomic_load_n(&mem->tracking, __ATOMIC_RELAXED), 0))
		guest_mem_mark_dirty_slow(mem, gpa, len);
}

#endif
