#include "vmm/guest_mem.h"

#include <errno.h>
#include <string.h>

#include "vmm/log.h"

void guest_mem_init(struct guest_mem *mem)
{
	memset(mem, 0, sizeof(*mem));
}

static bool range_end(uint64_t start, uint64_t len, uint64_t *end)
{
	return !__builtin_add_overflow(start, len, end);
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
	mem->regions[mem->nr_regions++] = (struct guest_region){ gpa, size, host };
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
	return 0;
}

int guest_mem_fill(const struct guest_mem *mem, uint64_t gpa, uint8_t byte, uint64_t len)
{
	void *dst = guest_mem_ptr(mem, gpa, len);

	if (!dst)
		return range_fault(gpa, len);
	memset(dst, byte, len);
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
