/* The kernel command line, NUL-terminated at LAYOUT_CMDLINE_ADDR. */
#ifndef EMBER_BOOT_CMDLINE_H
#define EMBER_BOOT_CMDLINE_H

#include <stdint.h>

#include "vmm/guest_mem.h"

/* Writes `cmdline` (NULL means empty). `max_len` is the longest command line
 * the kernel accepts, without the NUL (bzImage cmdline_size); it is further
 * capped by LAYOUT_CMDLINE_MAX. Too long is -E2BIG, never a truncation, since
 * a silently cut command line boots the wrong system. Sets `*size` to the
 * bytes written including the NUL. */
int cmdline_write(const struct guest_mem *mem, const char *cmdline, uint64_t max_len,
		  uint64_t *size);

#endif
