/* Small kernel images built in memory for VM-level unit tests. */
#ifndef EMBER_TEST_GUEST_IMAGE_H
#define EMBER_TEST_GUEST_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* An ELF64 vmlinux with one PT_LOAD of `code_len` bytes at 1 MiB and a
 * XEN_ELFNOTE_PHYS32_ENTRY note pointing at it. Returns the length
 * written into `buf` (at least 4096 bytes), or 0 if it does not fit. */
size_t guest_image_pvh_elf(uint8_t *buf, size_t cap, const uint8_t *code, size_t code_len);

#endif
