/* ACPI tables for a hardware-reduced x86 microVM: RSDP, XSDT, FADT, MADT
 * and DSDT, written into the BIOS area [LAYOUT_BIOS_START, LAYOUT_BIOS_END).
 *
 * The RSDP sits at LAYOUT_BIOS_START so a kernel that scans the BIOS area
 * finds it; its address is also returned for PVH start_info.rsdp_paddr
 * and boot_params.acpi_rsdp_addr. Offsets are from ACPI 6.5 chapter 5. */
#ifndef EMBER_BOOT_ACPI_H
#define EMBER_BOOT_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

/* The SLP_TYP of \_S5_. A hardware-reduced OSPM powers off by writing
 * (ACPI_S5_SLP_TYP << 2) | ACPI_SLP_EN, i.e. 0x34, to the sleep control
 * register (LAYOUT_ACPI_SLEEP_CONTROL_PORT). 5 is QEMU's and Cloud
 * Hypervisor's choice too, so the value reads the same in every VMM. */
#define ACPI_S5_SLP_TYP 5
#define ACPI_SLP_TYP_SHIFT 2
#define ACPI_SLP_TYP_MASK 0x1c
#define ACPI_SLP_EN 0x20
/* Written to the sleep status register to clear the wake status. */
#define ACPI_WAK_STS 0x80

/* KVM's in-kernel IOAPIC has 24 pins (KVM_IOAPIC_NUM_PINS), GSI base 0. */
#define ACPI_IOAPIC_PINS 24
#define ACPI_MAX_VIRTIO 64

struct acpi_virtio_dev {
	uint64_t base;
	uint64_t size;
	uint32_t gsi;
};

struct acpi_config {
	uint32_t nr_vcpus; /* 1..LAYOUT_MAX_VCPUS */
	const struct acpi_virtio_dev *virtio;
	unsigned nr_virtio; /* 0..ACPI_MAX_VIRTIO */
	bool pvpanic;       /* describe pvpanic-mmio (QEMU0001) at LAYOUT_PVPANIC_ADDR */
};

/* Table signatures, revisions and field offsets (tests decode with these). */
#define ACPI_RSDP_SIZE 36
#define ACPI_HDR_SIZE 36
#define ACPI_FADT_SIZE 276
#define ACPI_FADT_REVISION 6
#define ACPI_FADT_MINOR 5
#define ACPI_MADT_REVISION 5
#define ACPI_DSDT_REVISION 2 /* 64-bit AML integers */
#define ACPI_OEM_ID "EMBER "
#define ACPI_OEM_TABLE_ID "EMBERVM "
#define ACPI_CREATOR_ID "EMBR"
#define ACPI_HYPERVISOR_ID "EMBERVMM"

#define ACPI_FADT_IAPC_BOOT_ARCH 109
#define ACPI_FADT_FLAGS 112
#define ACPI_FADT_RESET_REG 116
#define ACPI_FADT_RESET_VALUE 128
#define ACPI_FADT_MINOR_VERSION 131
#define ACPI_FADT_X_DSDT 140
#define ACPI_FADT_SLEEP_CONTROL 244
#define ACPI_FADT_SLEEP_STATUS 256
#define ACPI_FADT_HYPERVISOR_ID 268

#define ACPI_IAPC_8042 (1u << 1)
#define ACPI_IAPC_NO_VGA (1u << 2)
#define ACPI_FADT_PWR_BUTTON (1u << 4)  /* no fixed power button */
#define ACPI_FADT_SLP_BUTTON (1u << 5)  /* no fixed sleep button */
#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_FADT_HW_REDUCED (1u << 20)

#define ACPI_GAS_SYSTEM_IO 1
#define ACPI_GAS_ACCESS_BYTE 1

#define ACPI_MADT_PCAT_COMPAT 1
#define ACPI_MADT_LAPIC 0
#define ACPI_MADT_IOAPIC 1
#define ACPI_MADT_LAPIC_NMI 4

/* Writes every table; on success *rsdp_out is the RSDP's guest address.
 * Fails with -EINVAL for a bad config (vCPU count, virtio count, ranges,
 * GSIs that clash) and -ENOSPC / -EFAULT if the tables do not fit the BIOS
 * area or guest memory, with err_last() saying which. */
int acpi_write_tables(const struct guest_mem *mem, const struct acpi_config *cfg,
		      uint64_t *rsdp_out);

/* The IOAPIC id the MADT and the MP table announce: one past the last APIC
 * id, so it never equals a vCPU's. */
static inline uint8_t acpi_ioapic_id(uint32_t nr_vcpus)
{
	return (uint8_t)nr_vcpus;
}

#endif
