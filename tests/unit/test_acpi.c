/* The ACPI tables, decoded back from guest memory at the spec's byte
 * offsets (ACPI 6.5 ch. 5), with an AML decoder for the DSDT that is
 * independent of boot/aml.c; and boot_load handing the RSDP to PVH and
 * boot_params kernels. test_acpi_iasl.c runs ACPICA's own tools on them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/acpi.h"
#include "boot/loader.h"
#include "acpi_fixture.h"
#include "boot_fixture.h"
#include "vmm/log.h"

#define BIOS ACPI_FIX_BIOS
#define BIOS_END ACPI_FIX_BIOS_END
/* ---- an AML decoder for the subset ember emits ---- */

#define MAX_DEVS 80

struct res {
	bool io, irq, mem, ext;
	uint16_t io_min, io_max;
	uint8_t io_info, io_align, io_len;
	uint16_t irq_mask;
	uint8_t mem_rw;
	uint32_t mem_base, mem_len;
	uint8_t ext_flags;
	uint32_t ext_gsi;
	unsigned nr; /* descriptors before the end tag */
};

struct dev {
	char name[5];
	bool hid_eisa, hid_str, has_uid;
	uint32_t hid_eisa_val;
	char hid[16];
	uint64_t uid;
	bool has_crs;
	struct res crs;
};

struct dsdt {
	char scope[8];
	struct dev devs[MAX_DEVS];
	unsigned nr;
	bool s5;
	unsigned s5_count;
	uint64_t s5_vals[4];
};

struct cur {
	const uint8_t *p;
	size_t pos, end;
};

static uint8_t take(struct cur *c)
{
	assert_true(c->pos < c->end);
	return c->p[c->pos++];
}

/* PkgLength: returns the end offset of the object it starts. */
static size_t pkglen(struct cur *c)
{
	size_t start = c->pos;
	uint8_t lead = take(c);
	unsigned follow = lead >> 6;
	uint32_t v;

	if (!follow)
		return start + (lead & 0x3f);
	assert_int_equal(lead & 0x30, 0);
	v = lead & 0x0f;
	for (unsigned i = 0; i < follow; i++)
		v |= (uint32_t)take(c) << (4 + 8 * i);
	/* The shortest form: a value that fits fewer bytes means a bug. */
	assert_true(follow == 1 ? v > 0x3f : v > (1u << (4 + 8 * (follow - 1))) - 1);
	assert_true(start + v <= c->end);
	return start + v;
}

static void nameseg(struct cur *c, char out[5])
{
	for (int i = 0; i < 4; i++) {
		out[i] = (char)take(c);
		assert_true((out[i] >= 'A' && out[i] <= 'Z') || out[i] == '_' ||
			    (i && out[i] >= '0' && out[i] <= '9'));
	}
	out[4] = 0;
}

static uint64_t integer(struct cur *c)
{
	uint8_t op = take(c);
	unsigned n;
	uint64_t v = 0;

	switch (op) {
	case 0x00: return 0;
	case 0x01: return 1;
	case 0x0a: n = 1; break;
	case 0x0b: n = 2; break;
	case 0x0c: n = 4; break;
	case 0x0e: n = 8; break;
	default: fail_msg("not an integer opcode: 0x%02x", op); return 0;
	}
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)take(c) << (8 * i);
	return v;
}

static void resources(const uint8_t *b, size_t len, struct res *r)
{
	size_t i = 0;

	memset(r, 0, sizeof(*r));
	while (i < len) {
		uint8_t tag = b[i];

		if (!(tag & 0x80)) {
			unsigned type = (tag >> 3) & 0x0f, n = tag & 7;

			assert_true(i + 1 + n <= len);
			if (type == 0x0f) { /* end tag: last, checksum 0 */
				assert_int_equal(n, 1);
				assert_int_equal(b[i + 1], 0);
				assert_int_equal(i + 2, len);
				return;
			}
			if (type == 0x08) {
				assert_int_equal(n, 7);
				r->io = true;
				r->io_info = b[i + 1];
				r->io_min = fix_le16(b + i + 2);
				r->io_max = fix_le16(b + i + 4);
				r->io_align = b[i + 6];
				r->io_len = b[i + 7];
			} else if (type == 0x04) {
				assert_int_equal(n, 2); /* IRQNoFlags */
				r->irq = true;
				r->irq_mask = fix_le16(b + i + 1);
			} else {
				fail_msg("unexpected small resource type %u", type);
			}
			i += 1 + n;
		} else {
			unsigned n;

			assert_true(i + 3 <= len);
			n = fix_le16(b + i + 1);
			assert_true(i + 3 + n <= len);
			if (tag == 0x86) {
				assert_int_equal(n, 9);
				r->mem = true;
				r->mem_rw = b[i + 3];
				r->mem_base = fix_le32(b + i + 4);
				r->mem_len = fix_le32(b + i + 8);
			} else if (tag == 0x89) {
				assert_int_equal(n, 6);
				r->ext = true;
				r->ext_flags = b[i + 3];
				assert_int_equal(b[i + 4], 1);
				r->ext_gsi = fix_le32(b + i + 5);
			} else {
				fail_msg("unexpected large resource 0x%02x", tag);
			}
			i += 3 + n;
		}
		r->nr++;
	}
	fail_msg("resource template without an end tag");
}

static void name_in_device(struct cur *c, struct dev *d)
{
	char seg[5];

	nameseg(c, seg);
	if (!strcmp(seg, "_HID")) {
		if (c->p[c->pos] == 0x0d) {
			size_t n = 0;

			take(c);
			while (c->p[c->pos]) {
				assert_true(n < sizeof(d->hid) - 1);
				d->hid[n++] = (char)take(c);
			}
			take(c);
			d->hid_str = true;
		} else {
			assert_int_equal(take(c), 0x0c); /* EisaId is always a DWord */
			c->pos -= 1;
			d->hid_eisa_val = (uint32_t)integer(c);
			d->hid_eisa = true;
		}
	} else if (!strcmp(seg, "_UID")) {
		d->uid = integer(c);
		d->has_uid = true;
	} else if (!strcmp(seg, "_CRS")) {
		size_t end, blen;

		assert_int_equal(take(c), 0x11);
		end = pkglen(c);
		blen = integer(c);
		assert_int_equal(c->pos + blen, end);
		resources(c->p + c->pos, blen, &d->crs);
		d->has_crs = true;
		c->pos = end;
	} else {
		fail_msg("unexpected name %s in a device", seg);
	}
}

static void device(struct cur *c, struct dev *d)
{
	size_t end;
	struct cur in;

	memset(d, 0, sizeof(*d));
	assert_int_equal(take(c), 0x5b);
	assert_int_equal(take(c), 0x82);
	end = pkglen(c);
	nameseg(c, d->name);
	in = (struct cur){ c->p, c->pos, end };
	while (in.pos < end) {
		assert_int_equal(take(&in), 0x08);
		name_in_device(&in, d);
	}
	assert_int_equal(in.pos, end);
	c->pos = end;
}

static void decode_dsdt(const uint8_t *t, struct dsdt *out)
{
	struct cur c = { t, 36, fix_le32(t + 4) };

	memset(out, 0, sizeof(*out));
	while (c.pos < c.end) {
		uint8_t op = take(&c);

		if (op == 0x10) {
			size_t end = pkglen(&c);
			struct cur in;

			assert_int_equal(take(&c), '\\');
			nameseg(&c, out->scope);
			in = (struct cur){ t, c.pos, end };
			while (in.pos < end) {
				assert_true(out->nr < MAX_DEVS);
				device(&in, &out->devs[out->nr++]);
			}
			c.pos = end;
		} else if (op == 0x08) {
			char seg[5];
			size_t end;

			nameseg(&c, seg);
			assert_string_equal(seg, "_S5_");
			assert_int_equal(take(&c), 0x12);
			end = pkglen(&c);
			out->s5_count = take(&c);
			assert_true(out->s5_count <= 4);
			for (unsigned i = 0; i < out->s5_count; i++)
				out->s5_vals[i] = integer(&c);
			assert_int_equal(c.pos, end);
			out->s5 = true;
		} else {
			fail_msg("unexpected top-level opcode 0x%02x", op);
		}
	}
	assert_int_equal(c.pos, c.end);
}

static const struct dev *find_dev(const struct dsdt *d, const char *name)
{
	for (unsigned i = 0; i < d->nr; i++)
		if (!strcmp(d->devs[i].name, name))
			return &d->devs[i];
	return NULL;
}

/* ---- tests ---- */

static void test_rsdp_and_xsdt(void **state)
{
	struct boot_fixture f;
	struct acpi_config cfg = { .nr_vcpus = 1 };
	struct acpi_fix_tables t;

	(void)state;
	boot_fixture_init(&f, 2 * FIX_MiB, 0);
	acpi_fix_write_ok(&f, &cfg);
	acpi_fix_find_tables(&f, &t);
	assert_int_equal(t.xsdt_gpa, BIOS + 0x30);
	assert_int_equal(fix_le32(t.madt + 4), 36 + 8 + 8 + 12 + 6);
	boot_fixture_free(&f);
}

static void test_fadt_fields(void **state)
{
	struct boot_fixture f;
	struct acpi_config cfg = { .nr_vcpus = 2 };
	struct acpi_fix_tables t;
	const uint8_t *a;

	(void)state;
	boot_fixture_init(&f, 2 * FIX_MiB, 0);
	acpi_fix_write_ok(&f, &cfg);
	acpi_fix_find_tables(&f, &t);
	a = t.fadt;
	assert_int_equal(fix_le32(a + 4), 276);
	assert_int_equal(fix_le32(a + 36), 0);  /* FIRMWARE_CTRL: no FACS */
	assert_int_equal(fix_le32(a + 40), 0);  /* DSDT: X_DSDT instead */
	assert_int_equal(fix_le16(a + 46), 0);  /* SCI_INT */
	assert_int_equal(fix_le32(a + 48), 0);  /* SMI_CMD */
	for (size_t off = 56; off < 88; off += 4)
		assert_int_equal(fix_le32(a + off), 0); /* no PM1/PM2/PM_TMR/GPE blocks */
	assert_int_equal(fix_le16(a + 109), 0x0006); /* 8042 | VGA not present */
	assert_int_equal(fix_le32(a + 112), (1u << 20) | (1u << 10) | (1u << 5) | (1u << 4));
	/* RESET_REG: System I/O, 8 bits at bit 0, byte access, port 0x3c2. */
	assert_int_equal(a[116], 1);
	assert_int_equal(a[117], 8);
	assert_int_equal(a[118], 0);
	assert_int_equal(a[119], 1);
	assert_int_equal(fix_le64(a + 120), 0x3c2);
	assert_int_equal(a[128], 1);
	assert_int_equal(fix_le16(a + 129), 0);   /* ARM_BOOT_ARCH */
	assert_int_equal(a[131], 5);              /* minor version: 6.5 */
	assert_int_equal(fix_le64(a + 132), 0);   /* X_FIRMWARE_CTRL */
	assert_int_equal(fix_le64(a + 140), t.dsdt_gpa);
	for (size_t off = 148; off < 244; off++)
		assert_int_equal(a[off], 0);      /* X_PM1a_EVT_BLK .. X_GPE1_BLK */
	/* SLEEP_CONTROL_REG and SLEEP_STATUS_REG. */
	assert_int_equal(a[244], 1);
	assert_int_equal(a[245], 8);
	assert_int_equal(a[246], 0);
	assert_int_equal(a[247], 1);
	assert_int_equal(fix_le64(a + 248), 0x3c0);
	assert_int_equal(a[256], 1);
	assert_int_equal(a[257], 8);
	assert_int_equal(a[258], 0);
	assert_int_equal(a[259], 1);
	assert_int_equal(fix_le64(a + 260), 0x3c1);
	assert_memory_equal(a + 268, "EMBERVMM", 8);
	/* What Linux writes to power off: SLP_TYP in bits 2-4, SLP_EN bit 5. */
	assert_int_equal((ACPI_S5_SLP_TYP << ACPI_SLP_TYP_SHIFT) | ACPI_SLP_EN, 0x34);
	boot_fixture_free(&f);
}

static void check_madt(const uint8_t *m, uint32_t n)
{
	const uint8_t *e = m + 44;

	assert_int_equal(fix_le32(m + 4), 44 + 8 * n + 12 + 6);
	assert_int_equal(fix_le32(m + 36), 0xfee00000);
	assert_int_equal(fix_le32(m + 40), 1); /* PCAT_COMPAT */
	for (uint32_t i = 0; i < n; i++, e += 8) {
		assert_int_equal(e[0], 0);
		assert_int_equal(e[1], 8);
		assert_int_equal(e[2], i);
		assert_int_equal(e[3], i);
		assert_int_equal(fix_le32(e + 4), 1);
	}
	assert_int_equal(e[0], 1);
	assert_int_equal(e[1], 12);
	assert_int_equal(e[2], n); /* IOAPIC id: past every APIC id */
	assert_int_equal(e[3], 0);
	assert_int_equal(fix_le32(e + 4), 0xfec00000);
	assert_int_equal(fix_le32(e + 8), 0);
	e += 12;
	assert_int_equal(e[0], 4);
	assert_int_equal(e[1], 6);
	assert_int_equal(e[2], 0xff);
	assert_int_equal(fix_le16(e + 3), 0);
	assert_int_equal(e[5], 1);
	assert_ptr_equal(e + 6, m + fix_le32(m + 4));
}

static void test_madt_vcpus(void **state)
{
	static const uint32_t counts[] = { 1, 2, 7, 32 };

	(void)state;
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct boot_fixture f;
		struct acpi_config cfg = { .nr_vcpus = counts[i] };
		struct acpi_fix_tables t;

		boot_fixture_init(&f, 2 * FIX_MiB, 0);
		acpi_fix_write_ok(&f, &cfg);
		acpi_fix_find_tables(&f, &t);
		check_madt(t.madt, counts[i]);
		assert_int_equal(acpi_ioapic_id(counts[i]), counts[i]);
		boot_fixture_free(&f);
	}
}

static void check_legacy_devices(const struct dsdt *d)
{
	const struct dev *com1 = find_dev(d, "COM1"), *rtc = find_dev(d, "RTC_");
	const struct dev *kbd = find_dev(d, "PS2K");

	assert_string_equal(d->scope, "_SB_");
	assert_non_null(com1);
	assert_true(com1->hid_eisa);
	assert_int_equal(com1->hid_eisa_val, 0x0105d041); /* PNP0501 */
	assert_true(com1->has_uid);
	assert_int_equal(com1->uid, 0);
	assert_true(com1->has_crs);
	assert_int_equal(com1->crs.nr, 2);
	assert_true(com1->crs.io && com1->crs.irq);
	assert_int_equal(com1->crs.io_info, 1);
	assert_int_equal(com1->crs.io_min, 0x3f8);
	assert_int_equal(com1->crs.io_max, 0x3f8);
	assert_int_equal(com1->crs.io_len, 8);
	assert_int_equal(com1->crs.irq_mask, 1u << 4);

	assert_non_null(rtc);
	assert_true(rtc->hid_eisa);
	assert_int_equal(rtc->hid_eisa_val, 0x000bd041); /* PNP0B00 */
	assert_false(rtc->has_uid);
	assert_int_equal(rtc->crs.nr, 2);
	assert_int_equal(rtc->crs.io_min, 0x70);
	assert_int_equal(rtc->crs.io_max, 0x70);
	assert_int_equal(rtc->crs.io_len, 2);
	assert_int_equal(rtc->crs.irq_mask, 1u << 8);

	assert_non_null(kbd);
	assert_true(kbd->hid_eisa);
	assert_int_equal(kbd->hid_eisa_val, 0x0303d041); /* PNP0303 */
	assert_int_equal(kbd->crs.nr, 3); /* data port, command port, IRQ */
	assert_true(kbd->crs.io && kbd->crs.irq);
	assert_int_equal(kbd->crs.irq_mask, 1u << 1);

	assert_true(d->s5);
	assert_int_equal(d->s5_count, 4);
	assert_int_equal(d->s5_vals[0], ACPI_S5_SLP_TYP);
	assert_int_equal(d->s5_vals[1], ACPI_S5_SLP_TYP);
	assert_int_equal(d->s5_vals[2], 0);
	assert_int_equal(d->s5_vals[3], 0);
}

static void check_virtio(const struct dsdt *d, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char name[5];
		const struct dev *v;

		snprintf(name, sizeof(name), "VR%02X", i);
		v = find_dev(d, name);
		assert_non_null(v);
		assert_true(v->hid_str);
		assert_string_equal(v->hid, "LNRO0005");
		assert_true(v->has_uid);
		assert_int_equal(v->uid, i);
		assert_int_equal(v->crs.nr, 2);
		assert_true(v->crs.mem && v->crs.ext);
		assert_int_equal(v->crs.mem_rw, 1);
		assert_int_equal(v->crs.mem_base, acpi_fix_virtio[i].base);
		assert_int_equal(v->crs.mem_len, acpi_fix_virtio[i].size);
		assert_int_equal(v->crs.ext_flags, 0x03); /* consumer, edge, high, exclusive */
		assert_int_equal(v->crs.ext_gsi, acpi_fix_virtio[i].gsi);
	}
}

static void check_pvpanic(const struct dsdt *d)
{
	const struct dev *p = find_dev(d, "PEVT");

	assert_non_null(p);
	assert_true(p->hid_str);
	assert_string_equal(p->hid, "QEMU0001");
	assert_int_equal(p->crs.nr, 1);
	assert_true(p->crs.mem);
	assert_int_equal(p->crs.mem_rw, 1);
	assert_int_equal(p->crs.mem_base, 0xc0000000);
	assert_int_equal(p->crs.mem_len, 2);
}

static void test_dsdt_minimal(void **state)
{
	struct boot_fixture f;
	struct acpi_config cfg = { .nr_vcpus = 1 };
	struct acpi_fix_tables t;
	static struct dsdt d;

	(void)state;
	boot_fixture_init(&f, 2 * FIX_MiB, 0);
	acpi_fix_write_ok(&f, &cfg);
	acpi_fix_find_tables(&f, &t);
	decode_dsdt(t.dsdt, &d);
	assert_int_equal(d.nr, 3);
	check_legacy_devices(&d);
	assert_null(find_dev(&d, "PEVT"));
	boot_fixture_free(&f);
}

static void test_dsdt_virtio_and_pvpanic(void **state)
{
	struct boot_fixture f;
	struct acpi_config cfg = { .nr_vcpus = 2, .virtio = acpi_fix_virtio, .nr_virtio = 4, .pvpanic = true };
	struct acpi_fix_tables t;
	static struct dsdt d;

	(void)state;
	acpi_fix_fill_virtio(4);
	boot_fixture_init(&f, 2 * FIX_MiB, 0);
	acpi_fix_write_ok(&f, &cfg);
	acpi_fix_find_tables(&f, &t);
	decode_dsdt(t.dsdt, &d);
	assert_int_equal(d.nr, 3 + 4 + 1);
	check_legacy_devices(&d);
	check_virtio(&d, 4);
	assert_int_equal(acpi_fix_virtio[3].gsi, 9);
	check_pvpanic(&d);
	/* Order: COM1, RTC, PS2K, the virtio devices by index, then pvpanic. */
	assert_string_equal(d.devs[0].name, "COM1");
	assert_string_equal(d.devs[2].name, "PS2K");
	assert_string_equal(d.devs[3].name, "VR00");
	assert_string_equal(d.devs[6].name, "VR03");
	assert_string_equal(d.devs[7].name, "PEVT");
	boot_fixture_free(&f);
}

/* The largest configuration: 32 vCPUs, 64 virtio devices, pvpanic. The
 * \_SB scope then needs a multi-byte PkgLength. */
static void test_largest_config_fits(void **state)
{
	struct boot_fixture f;
	struct acpi_config cfg = { .nr_vcpus = 32, .virtio = acpi_fix_virtio, .nr_virtio = ACPI_MAX_VIRTIO,
				   .pvpanic = true };
	struct acpi_fix_tables t;
	static struct dsdt d;

	(void)state;
	acpi_fix_fill_virtio(ACPI_MAX_VIRTIO);
	boot_fixture_init(&f, 2 * FIX_MiB, 0);
	acpi_fix_write_ok(&f, &cfg);
	acpi_fix_find_tables(&f, &t);
	check_madt(t.madt, 32);
	decode_dsdt(t.dsdt, &d);
	assert_int_equal(d.nr, 3 + ACPI_MAX_VIRTIO + 1);
	check_legacy_devices(&d);
	check_virtio(&d, ACPI_MAX_VIRTIO);
	check_pvpanic(&d);
	assert_int_equal(t.dsdt[36 + 1] >> 6, 1); /* a 2-byte PkgLength for \_SB */
	boot_fixture_free(&f);
}

static bool bios_area_zero(const struct boot_fixture *f)
{
	const uint8_t *p = fix_at(f, BIOS);

	for (uint64_t i = 0; i < BIOS_END - BIOS; i++)
		if (p[i])
			return false;
	return true;
}

static void expect_fail(const struct acpi_config *cfg, int err, const char *msg)
{
	struct boot_fixture f;
	uint64_t rsdp = 1;

	boot_fixture_init(&f, 2 * FIX_MiB, 0);
	err_clear();
	assert_int_equal(acpi_write_tables(&f.mem, cfg, &rsdp), err);
	assert_int_equal(rsdp, 0);
	if (!strstr(err_last(), msg))
		fail_msg("message \"%s\" lacks \"%s\"", err_last(), msg);
	assert_true(bios_area_zero(&f));
	boot_fixture_free(&f);
}

static void test_bad_vcpu_counts(void **state)
{
	struct acpi_config cfg = { .nr_vcpus = 0 };

	(void)state;
	expect_fail(&cfg, -EINVAL, "0 vCPUs");
	cfg.nr_vcpus = 33;
	expect_fail(&cfg, -EINVAL, "33 vCPUs");
	cfg.nr_vcpus = UINT32_MAX;
	expect_fail(&cfg, -EINVAL, "vCPUs");
}

static void test_bad_virtio(void **state)
{
	struct acpi_config cfg = { .nr_vcpus = 1, .virtio = acpi_fix_virtio };

	(void)state;
	acpi_fix_fill_virtio(ACPI_MAX_VIRTIO + 1);
	cfg.nr_virtio = ACPI_MAX_VIRTIO + 1;
	expect_fail(&cfg, -EINVAL, "65 virtio devices");
	cfg.nr_virtio = UINT32_MAX;
	expect_fail(&cfg, -EINVAL, "virtio devices");
	cfg.nr_virtio = 1;
	cfg.virtio = NULL;
	expect_fail(&cfg, -EINVAL, "no list");
	cfg.virtio = acpi_fix_virtio;

	cfg.nr_virtio = 3;
	acpi_fix_fill_virtio(3);
	acpi_fix_virtio[2].size = 0;
	expect_fail(&cfg, -EINVAL, "virtio device 2: window");
	acpi_fix_fill_virtio(3);
	acpi_fix_virtio[1].base = 0xfffff000ULL;
	acpi_fix_virtio[1].size = 0x2000;
	expect_fail(&cfg, -EINVAL, "below 4 GiB");
	acpi_fix_virtio[1].base = 0x100000000ULL;
	acpi_fix_virtio[1].size = 0x1000;
	expect_fail(&cfg, -EINVAL, "below 4 GiB");
	acpi_fix_virtio[1].base = 0xd0000000ULL;
	acpi_fix_virtio[1].size = 0x100000000ULL;
	expect_fail(&cfg, -EINVAL, "below 4 GiB");
	/* The last page below 4 GiB is a valid window. */
	acpi_fix_virtio[1].base = 0xfffff000ULL;
	acpi_fix_virtio[1].size = 0x1000;
	{
		struct boot_fixture f;

		boot_fixture_init(&f, 2 * FIX_MiB, 0);
		acpi_fix_write_ok(&f, &cfg);
		boot_fixture_free(&f);
	}

	/* GSIs: never a legacy device's, never shared. */
	static const uint32_t legacy[] = { 0, 1, 2, 4, 8 };

	for (size_t i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++) {
		acpi_fix_fill_virtio(3);
		acpi_fix_virtio[2].gsi = legacy[i];
		expect_fail(&cfg, -EINVAL, "belongs to a legacy device");
	}
	acpi_fix_fill_virtio(3);
	acpi_fix_virtio[2].gsi = acpi_fix_virtio[0].gsi;
	expect_fail(&cfg, -EINVAL, "virtio devices 0 and 2 share GSI 5");
	acpi_fix_fill_virtio(3);
	acpi_fix_virtio[0].gsi = 100;
	acpi_fix_virtio[1].gsi = 100;
	expect_fail(&cfg, -EINVAL, "share GSI 100");
}

static void test_memory_too_small(void **state)
{
	struct acpi_config cfg = { .nr_vcpus = 1 };
	struct boot_fixture f;
	uint64_t rsdp = 1;

	(void)state;
	/* No BIOS area at all. */
	boot_fixture_init(&f, 512 * 1024, 0);
	err_clear();
	assert_int_equal(acpi_write_tables(&f.mem, &cfg, &rsdp), -EFAULT);
	assert_int_equal(rsdp, 0);
	assert_non_null(strstr(err_last(), "does not cover the BIOS area"));
	boot_fixture_free(&f);
	/* Memory ending inside the tables. */
	boot_fixture_init(&f, BIOS + 0x100, 0);
	assert_int_equal(acpi_write_tables(&f.mem, &cfg, &rsdp), -EFAULT);
	assert_int_equal(f.low[BIOS], 0); /* nothing half-written */
	boot_fixture_free(&f);
	/* Exactly up to 1 MiB is enough. */
	boot_fixture_init(&f, BIOS_END, 0);
	acpi_fix_write_ok(&f, &cfg);
	boot_fixture_free(&f);
}

/* ---- boot_load hands the RSDP over ---- */

#define IMG_CAP 0x20000
static uint8_t img[IMG_CAP];

static void test_loader_pvh_rsdp(void **state)
{
	struct boot_fixture f;
	struct acpi_config acpi = { .nr_vcpus = 2 };
	struct boot_config cfg = { .kernel = img, .kernel_len = fix_elf_pvh(img, IMG_CAP),
				   .nr_vcpus = 2, .acpi = &acpi };
	struct boot_info info;
	struct acpi_fix_tables t;

	(void)state;
	boot_fixture_init(&f, 32 * FIX_MiB, 0);
	assert_int_equal(boot_load(&f.mem, &cfg, &info), 0);
	assert_int_equal(info.mode, BOOT_ENTRY_PVH);
	assert_int_equal(info.rsdp_addr, BIOS);
	assert_int_equal(fix_le64(fix_at(&f, 0x6000 + 0x20)), BIOS); /* start_info.rsdp_paddr */
	acpi_fix_find_tables(&f, &t);
	check_madt(t.madt, 2);
	assert_memory_equal(fix_at(&f, 0x9fc00), "_MP_", 4);
	assert_memory_equal(fix_at(&f, 0x9fc10), "PCMP", 4);
	boot_fixture_free(&f);

	/* Without an ACPI config: no tables, rsdp_paddr 0. */
	cfg.acpi = NULL;
	boot_fixture_init(&f, 32 * FIX_MiB, 0);
	assert_int_equal(boot_load(&f.mem, &cfg, &info), 0);
	assert_int_equal(info.rsdp_addr, 0);
	assert_int_equal(fix_le64(fix_at(&f, 0x6000 + 0x20)), 0);
	assert_true(bios_area_zero(&f));
	assert_int_equal(fix_le32(fix_at(&f, 0x9fc00)), 0);
	boot_fixture_free(&f);
}

static void test_loader_bzimage_rsdp(void **state)
{
	struct boot_fixture f;
	struct acpi_config acpi = { .nr_vcpus = 1, .virtio = acpi_fix_virtio, .nr_virtio = 2 };
	struct boot_config cfg = { .kernel = img, .kernel_len = fix_bzimage(img, IMG_CAP, 4, 0x1000),
				   .acpi = &acpi };
	struct boot_info info;
	struct acpi_fix_tables t;
	static struct dsdt d;

	(void)state;
	acpi_fix_fill_virtio(2);
	boot_fixture_init(&f, 32 * FIX_MiB, 0);
	assert_int_equal(boot_load(&f.mem, &cfg, &info), 0); /* nr_vcpus 0: unchecked */
	assert_int_equal(info.mode, BOOT_ENTRY_LINUX64);
	assert_int_equal(info.rsdp_addr, BIOS);
	assert_int_equal(fix_le64(fix_at(&f, 0x7000 + 0x070)), BIOS); /* boot_params.acpi_rsdp_addr */
	acpi_fix_find_tables(&f, &t);
	decode_dsdt(t.dsdt, &d);
	check_virtio(&d, 2);
	boot_fixture_free(&f);

	cfg.acpi = NULL;
	boot_fixture_init(&f, 32 * FIX_MiB, 0);
	assert_int_equal(boot_load(&f.mem, &cfg, &info), 0);
	assert_int_equal(fix_le64(fix_at(&f, 0x7000 + 0x070)), 0);
	boot_fixture_free(&f);
}

static void test_loader_acpi_errors(void **state)
{
	struct boot_fixture f;
	struct acpi_config acpi = { .nr_vcpus = 2 };
	struct boot_config cfg = { .kernel = img, .kernel_len = fix_elf_pvh(img, IMG_CAP),
				   .nr_vcpus = 3, .acpi = &acpi };
	struct boot_info info;

	(void)state;
	boot_fixture_init(&f, 32 * FIX_MiB, 0);
	err_clear();
	assert_int_equal(boot_load(&f.mem, &cfg, &info), -EINVAL);
	assert_non_null(strstr(err_last(), "3 vCPUs but its ACPI config 2"));
	cfg.nr_vcpus = 0;
	acpi.nr_vcpus = 40;
	err_clear();
	assert_int_equal(boot_load(&f.mem, &cfg, &info), -EINVAL);
	assert_non_null(strstr(err_last(), "40 vCPUs"));
	boot_fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsdp_and_xsdt),
		cmocka_unit_test(test_fadt_fields),
		cmocka_unit_test(test_madt_vcpus),
		cmocka_unit_test(test_dsdt_minimal),
		cmocka_unit_test(test_dsdt_virtio_and_pvpanic),
		cmocka_unit_test(test_largest_config_fits),
		cmocka_unit_test(test_bad_vcpu_counts),
		cmocka_unit_test(test_bad_virtio),
		cmocka_unit_test(test_memory_too_small),
		cmocka_unit_test(test_loader_pvh_rsdp),
		cmocka_unit_test(test_loader_bzimage_rsdp),
		cmocka_unit_test(test_loader_acpi_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
