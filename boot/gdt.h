/* The boot GDT and the segment registers loaded from it.
 *
 * Firecracker's layout: 0 null, 1 code, 2 data, 3 TSS. The code descriptor
 * is 64-bit for the Linux 64-bit entry and 32-bit for PVH, which starts in
 * protected mode. KVM takes segment registers as decoded values, so the
 * same descriptors are decoded into struct kvm_segment here; keeping one
 * source means memory and registers cannot disagree. */
#ifndef EMBER_BOOT_GDT_H
#define EMBER_BOOT_GDT_H

#include <linux/kvm.h>
#include <stdint.h>

#include "boot/loader.h"
#include "vmm/guest_mem.h"

enum gdt_index { GDT_NULL = 0, GDT_CODE, GDT_DATA, GDT_TSS, GDT_ENTRIES };

#define GDT_SELECTOR(index) ((uint16_t)((index) * 8))
#define GDT_LIMIT ((uint16_t)(GDT_ENTRIES * 8 - 1))
#define IDT_LIMIT ((uint16_t)7) /* one empty gate: the kernel installs its own IDT */

/* Packs a descriptor. `flags` is Firecracker's notation: access byte in
 * bits 0-7, the G/DB/L/AVL nibble in bits 12-15. */
uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);
void gdt_table(enum boot_entry_mode mode, uint64_t table[GDT_ENTRIES]);
/* Decodes descriptor `entry` found at GDT slot `index`. */
void gdt_segment(uint64_t entry, unsigned index, struct kvm_segment *seg);
/* Writes the table at LAYOUT_GDT_ADDR and an empty IDT at LAYOUT_IDT_ADDR. */
int gdt_write(const struct guest_mem *mem, enum boot_entry_mode mode);

#endif
