/* ACPICA's own tools on ember's tables: iasl -d disassembles each without
 * a warning, the disassembled DSDT compiles back to the same bytes, and
 * acpiexec (the interpreter Linux runs) loads the namespace and evaluates
 * the objects a kernel will. Skipped, loudly, if acpica-tools is absent;
 * make check installs it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "acpi_fixture.h"
#include "boot/acpi.h"
#include "boot_fixture.h"

static bool have_iasl(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

static void dump(const char *dir, const char *name, const uint8_t *t)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(t, 1, fix_le32(t + 4), fp), fix_le32(t + 4));
	assert_int_equal(fclose(fp), 0);
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

/* Disassembles one table; returns the .dsl text (caller frees). */
static char *iasl_disassemble(const char *dir, const char *name)
{
	char cmd[512], path[256];
	char *log;
	int rc;

	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat >%s.log 2>&1", dir, name, name);
	rc = system(cmd);
	snprintf(path, sizeof(path), "%s/%s.log", dir, name);
	log = slurp(path);
	if (rc != 0 || strstr(log, "Error") || strstr(log, "Warning"))
		fail_msg("iasl -d %s: exit %d\n%s", name, rc, log);
	free(log);
	snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
	return slurp(path);
}

/* Compiles the disassembled DSDT back, without iasl's optimizations: the
 * AML must come out byte for byte as ember wrote it. */
static void iasl_reassemble(const char *dir, const uint8_t *dsdt)
{
	char cmd[512], path[256];
	char *log, *aml;
	uint32_t len = fix_le32(dsdt + 4);
	int rc;

	snprintf(cmd, sizeof(cmd), "cd %s && iasl -oa -p again dsdt.dsl >again.log 2>&1", dir);
	rc = system(cmd);
	snprintf(path, sizeof(path), "%s/again.log", dir);
	log = slurp(path);
	if (rc != 0 || !strstr(log, "0 Errors, 0 Warnings, 0 Remarks"))
		fail_msg("iasl could not compile the disassembled DSDT: exit %d\n%s", rc, log);
	free(log);
	snprintf(path, sizeof(path), "%s/again.aml", dir);
	aml = slurp(path);
	assert_int_equal(fix_le32((uint8_t *)aml + 4), len);
	assert_memory_equal(aml, dsdt, 4);
	assert_memory_equal(aml + 36, dsdt + 36, len - 36);
	free(aml);
}

static void expect_in(const char *text, const char *what)
{
	if (!strstr(text, what))
		fail_msg("iasl output lacks \"%s\":\n%s", what, text);
}

static void test_iasl_accepts_tables(void **state)
{
	struct boot_fixture f;
	struct acpi_config cfg = { .nr_vcpus = 4, .virtio = acpi_fix_virtio, .nr_virtio = 3, .pvpanic = true };
	struct acpi_fix_tables t;
	char dir[] = "/tmp/ember-acpi-XXXXXX", cmd[512];
	char *dsl;

	(void)state;
	if (!have_iasl()) {
		/* make check installs acpica-tools; say so loudly if it did not. */
		fprintf(stderr, "test_acpi: iasl not found, skipping the disassembler check\n");
		skip();
	}
	acpi_fix_fill_virtio(3);
	boot_fixture_init(&f, 2 * FIX_MiB, 0);
	acpi_fix_write_ok(&f, &cfg);
	acpi_fix_find_tables(&f, &t);
	assert_non_null(mkdtemp(dir));
	dump(dir, "xsdt", t.xsdt);
	dump(dir, "facp", t.fadt);
	dump(dir, "apic", t.madt);
	dump(dir, "dsdt", t.dsdt);

	dsl = iasl_disassemble(dir, "dsdt");
	expect_in(dsl, "Scope (\\_SB)");
	expect_in(dsl, "Device (COM1)");
	expect_in(dsl, "EisaId (\"PNP0501\")");
	expect_in(dsl, "IO (Decode16,");
	expect_in(dsl, "0x03F8,");
	expect_in(dsl, "IRQNoFlags ()");
	expect_in(dsl, "{4}");
	expect_in(dsl, "Device (RTC)");
	expect_in(dsl, "EisaId (\"PNP0B00\")");
	expect_in(dsl, "{8}");
	expect_in(dsl, "Device (PS2K)");
	expect_in(dsl, "EisaId (\"PNP0303\")");
	expect_in(dsl, "0x0064,");
	expect_in(dsl, "{1}");
	expect_in(dsl, "Device (VR02)");
	expect_in(dsl, "Name (_HID, \"LNRO0005\")");
	expect_in(dsl, "Memory32Fixed (ReadWrite,");
	expect_in(dsl, "0xD0002000,");
	expect_in(dsl, "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )");
	expect_in(dsl, "0x00000007,");
	expect_in(dsl, "Name (_HID, \"QEMU0001\")");
	expect_in(dsl, "0xC0000000,");
	expect_in(dsl, "Name (_S5, Package (0x04)");
	free(dsl);

	iasl_reassemble(dir, t.dsdt);

	dsl = iasl_disassemble(dir, "facp");
	expect_in(dsl, "Hardware Reduced (V5) : 1");
	expect_in(dsl, "Reset Register Supported (V2) : 1");
	expect_in(dsl, "8042 Present on ports 60/64 (V2) : 1");
	expect_in(dsl, "Hypervisor ID : 4D4D565245424D45"); /* "EMBERVMM" as a u64 */
	free(dsl);

	dsl = iasl_disassemble(dir, "apic");
	expect_in(dsl, "Local Apic Address : FEE00000");
	expect_in(dsl, "Processor ID : 03");
	expect_in(dsl, "Address : FEC00000");
	expect_in(dsl, "Interrupt Input LINT : 01");
	free(dsl);

	dsl = iasl_disassemble(dir, "xsdt");
	free(dsl);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	boot_fixture_free(&f);
}

/* acpiexec loads FADT, DSDT and MADT into ACPICA's interpreter (the one
 * Linux runs) and evaluates what a kernel will look at. */
static void test_acpiexec_evaluates_namespace(void **state)
{
	struct boot_fixture f;
	struct acpi_config cfg = { .nr_vcpus = 2, .virtio = acpi_fix_virtio, .nr_virtio = 2,
				   .pvpanic = true };
	struct acpi_fix_tables t;
	char dir[] = "/tmp/ember-acpiexec-XXXXXX", cmd[768], path[256];
	char *log;
	int rc;

	(void)state;
	if (system("command -v acpiexec >/dev/null 2>&1") != 0) {
		fprintf(stderr, "test_acpi_iasl: acpiexec not found, skipping\n");
		skip();
	}
	acpi_fix_fill_virtio(2);
	boot_fixture_init(&f, 2 * FIX_MiB, 0);
	acpi_fix_write_ok(&f, &cfg);
	acpi_fix_find_tables(&f, &t);
	assert_non_null(mkdtemp(dir));
	dump(dir, "facp", t.fadt);
	dump(dir, "dsdt", t.dsdt);
	dump(dir, "apic", t.madt);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && acpiexec -b 'evaluate \\_S5; evaluate \\_SB.COM1._HID; "
		 "evaluate \\_SB.VR01._CRS; evaluate \\_SB.VR01._UID; evaluate \\_SB.RTC._CRS; "
		 "evaluate \\_SB.PS2K._CRS; evaluate \\_SB.PEVT._HID' facp.dat dsdt.dat apic.dat >exec.log 2>&1", dir);
	rc = system(cmd);
	snprintf(path, sizeof(path), "%s/exec.log", dir);
	log = slurp(path);
	if (rc != 0 || strstr(log, "Warning") || strstr(log, "Error") || strstr(log, "AE_"))
		fail_msg("acpiexec: exit %d\n%s", rc, log);
	expect_in(log, "6 Devices");
	expect_in(log, "[Package] Contains 4 Elements:\n"
		       "    [Integer] = 0000000000000005\n"
		       "    [Integer] = 0000000000000005\n"
		       "    [Integer] = 0000000000000000\n"
		       "    [Integer] = 0000000000000000");
	expect_in(log, "[Integer] = 000000000105D041");
	/* Memory32Fixed(RW, 0xD0001000, 0x1000), Interrupt(consumer, edge) {6} */
	expect_in(log, "86 09 00 01 00 10 00 D0 00 10 00 00 89 06 00 03");
	expect_in(log, "01 06 00 00 00 79 00");
	expect_in(log, "[Integer] = 0000000000000001");
	expect_in(log, "47 01 70 00 70 00 01 02 22 00 01 79 00");
	/* IO 0x60 and 0x64 (1 byte each), IRQNoFlags {1} */
	expect_in(log, "0000: 47 01 60 00 60 00 01 01 47 01 64 00 64 00 01 01");
	expect_in(log, "0010: 22 02 00 79 00");
	expect_in(log, "[String] Length 08 = \"QEMU0001\"");
	free(log);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	boot_fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iasl_accepts_tables),
		cmocka_unit_test(test_acpiexec_evaluates_namespace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
