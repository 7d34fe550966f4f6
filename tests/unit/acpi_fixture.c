#include "acpi_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/log.h"

#define BIOS ACPI_FIX_BIOS
#define BIOS_END ACPI_FIX_BIOS_END

uint8_t acpi_fix_sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* Checks a description header and returns the table. */
static const uint8_t *table_at(const struct boot_fixture *f, uint64_t gpa, const char *sig,
			       uint8_t rev)
{
	const uint8_t *t = fix_at(f, gpa);
	uint32_t len = fix_le32(t + 4);

	assert_true(gpa >= BIOS && gpa + len <= BIOS_END);
	assert_int_equal(gpa % 8, 0);
	assert_memory_equal(t, sig, 4);
	assert_int_equal(t[8], rev);
	assert_int_equal(acpi_fix_sum8(t, len), 0);
	assert_memory_equal(t + 10, "EMBER ", 6);
	assert_memory_equal(t + 16, "EMBERVM ", 8);
	assert_int_equal(fix_le32(t + 24), 1);
	assert_memory_equal(t + 28, "EMBR", 4);
	assert_int_equal(fix_le32(t + 32), 1);
	return t;
}

void acpi_fix_find_tables(const struct boot_fixture *f, struct acpi_fix_tables *t)
{
	const uint8_t *r = fix_at(f, BIOS);

	memset(t, 0, sizeof(*t));
	t->rsdp = r;
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(acpi_fix_sum8(r, 20), 0);
	assert_memory_equal(r + 9, "EMBER ", 6);
	assert_int_equal(r[15], 2);
	assert_int_equal(fix_le32(r + 16), 0); /* no RSDT */
	assert_int_equal(fix_le32(r + 20), 36);
	assert_int_equal(acpi_fix_sum8(r, 36), 0);
	assert_int_equal(r[33] | r[34] | r[35], 0);
	t->xsdt_gpa = fix_le64(r + 24);
	t->xsdt = table_at(f, t->xsdt_gpa, "XSDT", 1);
	assert_int_equal(fix_le32(t->xsdt + 4), 36 + 2 * 8);
	t->fadt_gpa = fix_le64(t->xsdt + 36);
	t->madt_gpa = fix_le64(t->xsdt + 44);
	t->fadt = table_at(f, t->fadt_gpa, "FACP", 6);
	t->madt = table_at(f, t->madt_gpa, "APIC", 5);
	t->dsdt_gpa = fix_le64(t->fadt + 140);
	t->dsdt = table_at(f, t->dsdt_gpa, "DSDT", 2);
	/* In order and disjoint: RSDP < XSDT < FADT < MADT < DSDT. */
	assert_true(BIOS + 36 <= t->xsdt_gpa);
	assert_true(t->xsdt_gpa + fix_le32(t->xsdt + 4) <= t->fadt_gpa);
	assert_true(t->fadt_gpa + fix_le32(t->fadt + 4) <= t->madt_gpa);
	assert_true(t->madt_gpa + fix_le32(t->madt + 4) <= t->dsdt_gpa);
}

struct acpi_virtio_dev acpi_fix_virtio[ACPI_MAX_VIRTIO + 1];

void acpi_fix_fill_virtio(unsigned n)
{
	uint32_t gsi = 5;

	for (unsigned i = 0; i < n; i++, gsi++) {
		if (gsi == 8)
			gsi++;
		acpi_fix_virtio[i] = (struct acpi_virtio_dev){ 0xd0000000ULL + 0x1000ULL * i, 0x1000, gsi };
	}
}

void acpi_fix_write_ok(struct boot_fixture *f, const struct acpi_config *cfg)
{
	uint64_t rsdp = 1;

	err_clear();
	assert_int_equal(acpi_write_tables(&f->mem, cfg, &rsdp), 0);
	assert_int_equal(rsdp, BIOS);
}
