/* Shared by the ACPI unit tests: finds and checks the tables boot/acpi.c
 * wrote into a boot_fixture's BIOS area, by the spec's byte offsets. */
#ifndef EMBER_TEST_ACPI_FIXTURE_H
#define EMBER_TEST_ACPI_FIXTURE_H

#include <stdint.h>

#include "boot/acpi.h"
#include "boot_fixture.h"

#define ACPI_FIX_BIOS 0xe0000ULL
#define ACPI_FIX_BIOS_END 0x100000ULL

struct acpi_fix_tables {
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt;
	uint64_t xsdt_gpa, fadt_gpa, madt_gpa, dsdt_gpa;
};

uint8_t acpi_fix_sum8(const uint8_t *p, size_t len);
/* Follows RSDP -> XSDT -> FADT/MADT -> DSDT, checking signatures,
 * revisions, lengths, checksums, OEM fields and placement. */
void acpi_fix_find_tables(const struct boot_fixture *f, struct acpi_fix_tables *t);

/* virtio windows at 0xd0000000 + 0x1000 * i with GSIs 5, 6, 7, 9, 10, ...
 * (the RTC's 8 skipped). */
extern struct acpi_virtio_dev acpi_fix_virtio[ACPI_MAX_VIRTIO + 1];
void acpi_fix_fill_virtio(unsigned n);
/* acpi_write_tables must succeed and return the RSDP at the BIOS area. */
void acpi_fix_write_ok(struct boot_fixture *f, const struct acpi_config *cfg);

#endif
