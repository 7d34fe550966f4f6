/* bzImage loader for the Linux 64-bit boot protocol (2.12+): checks the
 * setup header, loads the protected-mode payload at an aligned address and
 * copies the header into the zero page. */
#ifndef EMBER_BOOT_BZIMAGE_H
#define EMBER_BOOT_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/bootparams.h"
#include "boot/image.h"
#include "vmm/guest_mem.h"

#define BZIMAGE_MIN_VERSION 0x020c  /* 2.12: xloadflags */
#define BZIMAGE_HDR_MIN_END 0x264   /* through init_size */
#define BZIMAGE_ENTRY64_OFFSET 0x200 /* 64-bit entry from the load address */

/* True if `buf` carries the "HdrS" setup header magic. */
bool bzimage_probe(const uint8_t *buf, size_t len);
/* Validates and loads; fills `zp` (BP_SIZE bytes, zeroed first) with the
 * image's setup header and `img` with where the kernel went. */
int bzimage_load(const struct guest_mem *mem, const uint8_t *buf, size_t len, uint8_t *zp,
		 struct boot_image *img);

#endif
