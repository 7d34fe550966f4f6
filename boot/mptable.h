/* The Intel MultiProcessor Specification 1.4 tables, for kernels that find
 * CPUs and interrupt routing through them instead of ACPI: the floating
 * pointer structure and, right after it, the configuration table, both in
 * the EBDA at LAYOUT_EBDA_START where Linux's scan of the last KiB of base
 * memory finds them. */
#ifndef EMBER_BOOT_MPTABLE_H
#define EMBER_BOOT_MPTABLE_H

#include <stdint.h>

#include "vmm/guest_mem.h"

#define MP_FPS_SIZE 16
#define MP_HDR_SIZE 44
#define MP_SPEC_REV 4 /* 1.4 */
#define MP_OEM_ID "EMBER   "
#define MP_PRODUCT_ID "MICROVM     "

#define MP_ENTRY_PROCESSOR 0 /* 20 bytes; the others are 8 */
#define MP_ENTRY_BUS 1
#define MP_ENTRY_IOAPIC 2
#define MP_ENTRY_IOINT 3
#define MP_ENTRY_LINT 4

#define MP_INT 0
#define MP_NMI 1
#define MP_EXTINT 3

#define MP_CPU_ENABLED 0x01
#define MP_CPU_BSP 0x02
#define MP_LAPIC_VERSION 0x14  /* what KVM's local APIC reports */
#define MP_IOAPIC_VERSION 0x11 /* what KVM's IOAPIC reports */
#define MP_BUS_ISA 0

/* Writes both structures; 0, -EINVAL for a vCPU count outside
 * 1..LAYOUT_MAX_VCPUS, or -EFAULT if guest memory lacks the EBDA. */
int mptable_write(const struct guest_mem *mem, uint32_t nr_vcpus);

#endif
