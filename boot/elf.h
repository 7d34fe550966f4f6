/* ELF64 x86-64 vmlinux loader: validates headers and PT_LOAD segments,
 * copies them to their physical addresses and finds the entry point, from
 * the XEN_ELFNOTE_PHYS32_ENTRY note (PVH) when there is one. */
#ifndef EMBER_BOOT_ELF_H
#define EMBER_BOOT_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/image.h"
#include "vmm/guest_mem.h"

#define ELF_MAX_PHDRS 64
#define ELF_NOTE_PHYS32_ENTRY 18 /* XEN_ELFNOTE_PHYS32_ENTRY */

bool elf_probe(const uint8_t *buf, size_t len);
/* rel (may be NULL) hears of each segment's file range once it is copied
 * and no later segment reads it. */
int elf_load(const struct guest_mem *mem, const uint8_t *buf, size_t len,
	     const struct boot_release *rel, struct boot_image *img);
/* Searches the PT_NOTE segments for the PVH entry note. Returns 1 and sets
 * `*entry` if found, 0 if absent, negative on a malformed note. `buf` must
 * already have passed the header checks of elf_load. */
int elf_find_pvh_entry(const uint8_t *buf, size_t len, uint32_t *entry);

#endif
