/* struct boot_params (the "zero page") of the Linux x86 boot protocol,
 * assembled by byte offset in a page-sized buffer and written at
 * LAYOUT_ZERO_PAGE_ADDR. Offsets are from Documentation/arch/x86/boot.rst
 * and zero-page.rst. */
#ifndef EMBER_BOOT_BOOTPARAMS_H
#define EMBER_BOOT_BOOTPARAMS_H

#include <stdint.h>

#include "boot/e820.h"
#include "boot/loader.h"
#include "vmm/guest_mem.h"

#define BP_SIZE 0x1000
#define BP_ACPI_RSDP_ADDR 0x070 /* 64-bit; read by kernels since 5.0 */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_HDR 0x1f1 /* struct setup_header starts here, as in the image */
#define BP_SETUP_SECTS 0x1f1
#define BP_BOOT_FLAG 0x1fe
#define BP_JUMP 0x200
#define BP_HEADER 0x202
#define BP_VERSION 0x206
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS 0x211
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_HEAP_END_PTR 0x224
#define BP_CMD_LINE_PTR 0x228
#define BP_INITRD_ADDR_MAX 0x22c
#define BP_KERNEL_ALIGNMENT 0x230
#define BP_RELOCATABLE 0x234
#define BP_XLOADFLAGS 0x236
#define BP_CMDLINE_SIZE 0x238
#define BP_SETUP_DATA 0x250
#define BP_PREF_ADDRESS 0x258
#define BP_INIT_SIZE 0x260
#define BP_HDR_MAX_END 0x290 /* edd_mbr_sig_buffer: the header never reaches it */
#define BP_E820_TABLE 0x2d0
#define BP_E820_ENTRY_SIZE 20

#define BP_BOOT_FLAG_MAGIC 0xaa55
#define BP_HEADER_MAGIC 0x53726448 /* "HdrS" */
#define BP_LOADED_HIGH 0x01
#define BP_CAN_USE_HEAP 0x80
#define BP_XLF_KERNEL_64 0x0001
#define BP_XLF_CAN_BE_LOADED_ABOVE_4G 0x0002
#define BP_LOADER_UNDEFINED 0xff /* type_of_loader: no assigned loader id */
#define BP_HEAP_END 0xfe00

/* The header fields a loader with no setup header to copy (ELF vmlinux)
 * must still provide: magic numbers, a protocol version and limits. */
void bootparams_synthesize(uint8_t zp[BP_SIZE]);
/* Fills the loader-owned fields (loader type, flags, command line, initrd,
 * E820) into `zp`, which holds the setup header, and writes it to guest
 * memory at LAYOUT_ZERO_PAGE_ADDR. */
int bootparams_write(const struct guest_mem *mem, uint8_t zp[BP_SIZE],
		     const struct boot_info *info, const struct e820_map *map);

#endif
