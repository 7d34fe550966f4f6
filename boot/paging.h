/* Boot page tables for the Linux 64-bit entry: an identity map of the
 * first 4 GiB with 2 MiB pages (PML4 -> PDPT -> 4 page directories), so the
 * kernel, boot_params and the command line are reachable wherever they sit
 * below the MMIO gap. The kernel replaces these tables early. */
#ifndef EMBER_BOOT_PAGING_H
#define EMBER_BOOT_PAGING_H

#include <stdint.h>

#include "vmm/guest_mem.h"

#define PAGING_PRESENT 0x1ULL
#define PAGING_WRITABLE 0x2ULL
#define PAGING_LARGE 0x80ULL /* PS: this PD entry maps a 2 MiB page */

int paging_write(const struct guest_mem *mem);

#endif
