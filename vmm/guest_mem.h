/* Guest physical memory as a small set of bounded regions.
 *
 * boot/, devices/ and snapshot/ see guest memory only through this view:
 * every access names a guest physical address and a length and is checked,
 * with overflow-safe arithmetic, to lie wholly inside one region. Nothing
 * here allocates or maps memory; the HAL does that and hands us pointers. */
#ifndef EMBER_GUEST_MEM_H
#define EMBER_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 8

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_mem {
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned nr_regions;
};

void guest_mem_init(struct guest_mem *mem);
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

#endif
