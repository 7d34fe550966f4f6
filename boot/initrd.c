#include "boot/initrd.h"

#include <errno.h>

#include "boot/layout.h"
#include "vmm/log.h"

int initrd_place(uint64_t size, uint64_t limit, uint64_t kernel_start, uint64_t kernel_end,
		 uint64_t *addr)
{
	uint64_t start = 0;

	if (size == 0)
		return err_fail(-EINVAL, "empty initrd");
	/* Below 1 MiB live the boot structures; the initrd never goes there. */
	if (limit < LAYOUT_HIMEM_START || size > limit - LAYOUT_HIMEM_START)
		return err_fail(-ENOMEM, "initrd of %llu bytes does not fit below 0x%llx",
				(unsigned long long)size, (unsigned long long)limit);
	/* Rounding down cannot cross 1 MiB, which is itself aligned. */
	start = (limit - size) & ~(INITRD_ALIGN - 1);
	if (start < kernel_end && kernel_start < start + size)
		return err_fail(-ENOMEM,
				"initrd at 0x%llx-0x%llx overlaps the kernel at 0x%llx-0x%llx: "
				"not enough memory above the kernel",
				(unsigned long long)start, (unsigned long long)(start + size),
				(unsigned long long)kernel_start, (unsigned long long)kernel_end);
	*addr = start;
	return 0;
}

int initrd_load(const struct guest_mem *mem, const uint8_t *data, size_t len, uint64_t limit,
		uint64_t kernel_start, uint64_t kernel_end, uint64_t *addr)
{
	uint64_t start = 0;
	int ret = initrd_place(len, limit, kernel_start, kernel_end, &start);

	if (ret)
		return ret;
	ret = guest_mem_write(mem, start, data, len);
	if (ret)
		return err_wrap(ret, "loading the initrd");
	*addr = start;
	return 0;
}
