#include "boot/cmdline.h"

#include <errno.h>
#include <string.h>

#include "boot/layout.h"
#include "vmm/log.h"

int cmdline_write(const struct guest_mem *mem, const char *cmdline, uint64_t max_len,
		  uint64_t *size)
{
	uint64_t limit = max_len < LAYOUT_CMDLINE_MAX - 1 ? max_len : LAYOUT_CMDLINE_MAX - 1;
	size_t len;
	int ret;

	if (!cmdline)
		cmdline = "";
	/* strnlen: never scan further than one byte past what we would accept. */
	len = strnlen(cmdline, (size_t)limit + 1);
	if (len > limit)
		return err_fail(-E2BIG, "the kernel command line is longer than %llu bytes",
				(unsigned long long)limit);
	ret = guest_mem_write(mem, LAYOUT_CMDLINE_ADDR, cmdline, len + 1);
	if (ret)
		return err_wrap(ret, "writing the kernel command line");
	*size = len + 1;
	return 0;
}
