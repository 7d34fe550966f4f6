/* The ACPI tables: each is assembled by byte offset in a host buffer,
 * checksummed, then copied into the BIOS area in this order:
 *   RSDP (at LAYOUT_BIOS_START) -> XSDT -> FADT -> MADT -> DSDT
 * with the DSDT reached through FADT.X_DSDT. */
#include "boot/acpi.h"

#include <errno.h>
#include <string.h>

#include "boot/aml.h"
#include "boot/layout.h"
#include "boot/le.h"
#include "vmm/log.h"

#define ACPI_ALIGN 16
#define ACPI_XSDT_ENTRIES 2 /* FADT, MADT */
#define ACPI_MADT_MAX (ACPI_HDR_SIZE + 8 + LAYOUT_MAX_VCPUS * 8 + 12 + 6)

/* GSIs that legacy devices own: PIT, i8042, the PIC cascade, COM1, RTC.
 * virtio interrupts are edge-triggered and cannot share a line with them. */
#define ACPI_LEGACY_GSIS ((1u << 0) | (1u << LAYOUT_I8042_IRQ) | (1u << 2) | \
			  (1u << LAYOUT_COM1_IRQ) | (1u << LAYOUT_RTC_IRQ))

static uint8_t acpi_sum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum;
}

/* Sets the byte at `at` so the `len` bytes sum to zero. */
static void acpi_checksum(uint8_t *p, size_t len, size_t at)
{
	p[at] = 0;
	p[at] = (uint8_t)(0x100 - acpi_sum(p, len));
}

/* The common 36-byte description header; the checksum comes last. */
static void acpi_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	le32_write(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, ACPI_OEM_TABLE_ID, 8);
	le32_write(t + 24, 1);                 /* OEM revision */
	memcpy(t + 28, ACPI_CREATOR_ID, 4);
	le32_write(t + 32, 1);                 /* creator revision */
	acpi_checksum(t, len, 9);
}

/* Generic Address Structure: one byte-wide System I/O register. */
static void acpi_gas_io8(uint8_t *g, uint16_t port)
{
	g[0] = ACPI_GAS_SYSTEM_IO;
	g[1] = 8; /* register bit width */
	g[2] = 0; /* bit offset */
	g[3] = ACPI_GAS_ACCESS_BYTE;
	le64_write(g + 4, port);
}

static int acpi_check_config(const struct acpi_config *cfg)
{
	if (cfg->nr_vcpus < 1 || cfg->nr_vcpus > LAYOUT_MAX_VCPUS)
		return err_fail(-EINVAL, "%u vCPUs: the MADT describes 1 to %d", cfg->nr_vcpus,
				LAYOUT_MAX_VCPUS);
	if (cfg->nr_virtio > ACPI_MAX_VIRTIO)
		return err_fail(-EINVAL, "%u virtio devices: at most %d", cfg->nr_virtio,
				ACPI_MAX_VIRTIO);
	if (cfg->nr_virtio && !cfg->virtio)
		return err_fail(-EINVAL, "%u virtio devices but no list", cfg->nr_virtio);
	for (unsigned i = 0; i < cfg->nr_virtio; i++) {
		const struct acpi_virtio_dev *d = &cfg->virtio[i];

		/* Memory32Fixed: the whole window must lie below 4 GiB. */
		if (d->size == 0 || d->size > UINT32_MAX || d->base > UINT32_MAX ||
		    d->base + d->size > 0x100000000ULL)
			return err_fail(-EINVAL, "virtio device %u: window 0x%llx+0x%llx is not a "
					"non-empty range below 4 GiB", i,
					(unsigned long long)d->base, (unsigned long long)d->size);
		if (d->gsi < 32 && (ACPI_LEGACY_GSIS & (1u << d->gsi)))
			return err_fail(-EINVAL, "virtio device %u: GSI %u belongs to a legacy "
					"device (PIT, i8042, cascade, COM1 or RTC)", i, d->gsi);
		for (unsigned j = 0; j < i; j++)
			if (cfg->virtio[j].gsi == d->gsi)
				return err_fail(-EINVAL, "virtio devices %u and %u share GSI %u "
						"(edge-triggered lines cannot be shared)", j, i, d->gsi);
	}
	return 0;
}

static void acpi_dsdt_com1(struct aml_writer *w)
{
	struct aml_res r;
	size_t dev = aml_device_begin(w, "COM1");

	aml_name_eisaid(w, "_HID", "PNP0501");
	aml_name_integer(w, "_UID", 0);
	aml_res_init(&r);
	aml_res_io(&r, LAYOUT_COM1_PORT, 1, 8);
	aml_res_irq_noflags(&r, LAYOUT_COM1_IRQ);
	aml_name(w, "_CRS");
	aml_resource_template(w, &r);
	aml_end(w, dev);
}

static void acpi_dsdt_rtc(struct aml_writer *w)
{
	struct aml_res r;
	size_t dev = aml_device_begin(w, "RTC");

	aml_name_eisaid(w, "_HID", "PNP0B00");
	aml_res_init(&r);
	aml_res_io(&r, LAYOUT_RTC_PORT, 1, 2); /* index and data */
	aml_res_irq_noflags(&r, LAYOUT_RTC_IRQ);
	aml_name(w, "_CRS");
	aml_resource_template(w, &r);
	aml_end(w, dev);
}

/* Edge-triggered, active high: ember signals virtio interrupts through
 * irqfd without a resample fd, i.e. as pulses. A level-triggered IOAPIC
 * pin would drop a pulse that arrives while the previous one is still
 * unacknowledged (remote IRR set); an edge pin latches it. Firecracker
 * makes the same choice. */
static void acpi_dsdt_virtio(struct aml_writer *w, unsigned idx, const struct acpi_virtio_dev *d)
{
	static const char hex[] = "0123456789ABCDEF";
	char name[5] = { 'V', 'R', hex[(idx >> 4) & 0xf], hex[idx & 0xf], 0 };
	struct aml_res r;
	size_t dev = aml_device_begin(w, name);

	aml_name_string(w, "_HID", "LNRO0005");
	aml_name_integer(w, "_UID", idx);
	aml_res_init(&r);
	aml_res_mem32_fixed(&r, true, (uint32_t)d->base, (uint32_t)d->size);
	aml_res_ext_irq(&r, AML_IRQ_CONSUMER | AML_IRQ_EDGE, d->gsi);
	aml_name(w, "_CRS");
	aml_resource_template(w, &r);
	aml_end(w, dev);
}

static void acpi_dsdt_pvpanic(struct aml_writer *w)
{
	struct aml_res r;
	size_t dev = aml_device_begin(w, "PEVT");

	aml_name_string(w, "_HID", "QEMU0001");
	aml_res_init(&r);
	aml_res_mem32_fixed(&r, true, (uint32_t)LAYOUT_PVPANIC_ADDR, (uint32_t)LAYOUT_PVPANIC_LEN);
	aml_name(w, "_CRS");
	aml_resource_template(w, &r);
	aml_end(w, dev);
}

/* The PS/2 controller. Under hardware-reduced ACPI Linux has no legacy
 * PIC, so ISA IRQ numbers are not fixed: the i8042 driver learns its IRQ
 * from this _CRS (through PNP). With i8042.nopnp it asks for IRQ 1, which
 * does not exist, the keyboard never binds and Ctrl-Alt-Del is lost. */
static void acpi_dsdt_kbd(struct aml_writer *w)
{
	struct aml_res r;
	size_t dev = aml_device_begin(w, "PS2K");

	aml_name_eisaid(w, "_HID", "PNP0303");
	aml_res_init(&r);
	aml_res_io(&r, LAYOUT_I8042_PORT, 1, 1);
	aml_res_io(&r, LAYOUT_I8042_CMD_PORT, 1, 1);
	aml_res_irq_noflags(&r, LAYOUT_I8042_IRQ);
	aml_name(w, "_CRS");
	aml_resource_template(w, &r);
	aml_end(w, dev);
}

/* The DSDT, header included, into `w`. */
static int acpi_build_dsdt(struct aml_writer *w, const struct acpi_config *cfg)
{
	uint8_t hdr[ACPI_HDR_SIZE] = { 0 };
	size_t sb, pkg;

	aml_bytes(w, hdr, sizeof(hdr)); /* filled in once the length is known */
	sb = aml_scope_begin(w, "\\_SB");
	acpi_dsdt_com1(w);
	acpi_dsdt_rtc(w);
	acpi_dsdt_kbd(w);
	for (unsigned i = 0; i < cfg->nr_virtio; i++)
		acpi_dsdt_virtio(w, i, &cfg->virtio[i]);
	if (cfg->pvpanic)
		acpi_dsdt_pvpanic(w);
	aml_end(w, sb);
	/* \_S5_: SLP_TYPa, SLP_TYPb, two reserved. */
	aml_name(w, "_S5");
	pkg = aml_package_begin(w, 4);
	aml_integer(w, ACPI_S5_SLP_TYP);
	aml_integer(w, ACPI_S5_SLP_TYP);
	aml_integer(w, 0);
	aml_integer(w, 0);
	aml_end(w, pkg);
	if (aml_error(w))
		return err_wrap(aml_error(w), "building the DSDT");
	acpi_header(w->buf, "DSDT", (uint32_t)w->len, ACPI_DSDT_REVISION);
	return 0;
}

static void acpi_build_fadt(uint8_t t[ACPI_FADT_SIZE], uint64_t dsdt)
{
	memset(t, 0, ACPI_FADT_SIZE);
	/* No SCI, no PM1/GPE blocks, no FACS: a hardware-reduced machine
	 * keeps only the sleep and reset registers. */
	le16_write(t + ACPI_FADT_IAPC_BOOT_ARCH, ACPI_IAPC_8042 | ACPI_IAPC_NO_VGA);
	le32_write(t + ACPI_FADT_FLAGS, ACPI_FADT_HW_REDUCED | ACPI_FADT_RESET_REG_SUP |
		   ACPI_FADT_PWR_BUTTON | ACPI_FADT_SLP_BUTTON);
	acpi_gas_io8(t + ACPI_FADT_RESET_REG, LAYOUT_ACPI_RESET_PORT);
	t[ACPI_FADT_RESET_VALUE] = LAYOUT_ACPI_RESET_VALUE;
	t[ACPI_FADT_MINOR_VERSION] = ACPI_FADT_MINOR;
	le64_write(t + ACPI_FADT_X_DSDT, dsdt); /* the 32-bit DSDT field stays 0 */
	acpi_gas_io8(t + ACPI_FADT_SLEEP_CONTROL, LAYOUT_ACPI_SLEEP_CONTROL_PORT);
	acpi_gas_io8(t + ACPI_FADT_SLEEP_STATUS, LAYOUT_ACPI_SLEEP_STATUS_PORT);
	memcpy(t + ACPI_FADT_HYPERVISOR_ID, ACPI_HYPERVISOR_ID, 8);
	acpi_header(t, "FACP", ACPI_FADT_SIZE, ACPI_FADT_REVISION);
}

/* Returns the MADT's length. No Interrupt Source Overrides: with KVM's
 * default GSI routing the PIT (GSI 0) reaches IOAPIC pin 0, so ISA IRQs
 * map 1:1 (an override of IRQ 0 to GSI 2 would match QEMU's own routing
 * table, which ember does not install), and a hardware-reduced OSPM has
 * no SCI to override. */
static size_t acpi_build_madt(uint8_t t[ACPI_MADT_MAX], uint32_t nr_vcpus)
{
	size_t len = ACPI_HDR_SIZE + 8;
	uint8_t *e;

	memset(t, 0, ACPI_MADT_MAX);
	le32_write(t + 36, (uint32_t)LAYOUT_LAPIC_ADDR);
	le32_write(t + 40, ACPI_MADT_PCAT_COMPAT);
	for (uint32_t i = 0; i < nr_vcpus; i++) {
		e = t + len;
		e[0] = ACPI_MADT_LAPIC;
		e[1] = 8;
		e[2] = (uint8_t)i; /* ACPI processor UID */
		e[3] = (uint8_t)i; /* APIC id: KVM gives vCPU i APIC id i */
		le32_write(e + 4, 1); /* enabled */
		len += 8;
	}
	e = t + len;
	e[0] = ACPI_MADT_IOAPIC;
	e[1] = 12;
	e[2] = acpi_ioapic_id(nr_vcpus);
	le32_write(e + 4, (uint32_t)LAYOUT_IOAPIC_ADDR);
	le32_write(e + 8, 0); /* GSI base */
	len += 12;
	e = t + len;
	e[0] = ACPI_MADT_LAPIC_NMI;
	e[1] = 6;
	e[2] = 0xff;          /* every processor */
	le16_write(e + 3, 0); /* flags: conforms to the bus */
	e[5] = 1;             /* LINT1 */
	len += 6;
	acpi_header(t, "APIC", (uint32_t)len, ACPI_MADT_REVISION);
	return len;
}

static void acpi_build_rsdp(uint8_t r[ACPI_RSDP_SIZE], uint64_t xsdt)
{
	memset(r, 0, ACPI_RSDP_SIZE);
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, ACPI_OEM_ID, 6);
	r[15] = 2;                     /* revision: ACPI 2.0+, XSDT present */
	le32_write(r + 16, 0);         /* no RSDT */
	le32_write(r + 20, ACPI_RSDP_SIZE);
	le64_write(r + 24, xsdt);
	acpi_checksum(r, 20, 8);       /* the ACPI 1.0 part */
	acpi_checksum(r, ACPI_RSDP_SIZE, 32);
}

static uint64_t acpi_align(uint64_t v)
{
	return (v + ACPI_ALIGN - 1) & ~(uint64_t)(ACPI_ALIGN - 1);
}

struct acpi_blob {
	uint64_t gpa;
	const uint8_t *data;
	size_t len;
};

static int acpi_copy_out(const struct guest_mem *mem, const struct acpi_blob *b, unsigned n)
{
	uint64_t end = b[n - 1].gpa + b[n - 1].len;
	int ret;

	/* The AML writer's bound keeps `end` inside the BIOS area; guest
	 * memory may still be too small to hold it. */
	if (!guest_mem_contains(mem, LAYOUT_BIOS_START, end - LAYOUT_BIOS_START))
		return err_fail(-EFAULT, "guest memory does not cover the BIOS area "
				"[0x%llx, 0x%llx) for the ACPI tables",
				(unsigned long long)LAYOUT_BIOS_START, (unsigned long long)end);
	for (unsigned i = 0; i < n; i++) {
		ret = guest_mem_write(mem, b[i].gpa, b[i].data, b[i].len);
		if (ret)
			return err_wrap(ret, "writing ACPI tables");
	}
	return 0;
}

int acpi_write_tables(const struct guest_mem *mem, const struct acpi_config *cfg,
		      uint64_t *rsdp_out)
{
	uint8_t rsdp[ACPI_RSDP_SIZE], fadt[ACPI_FADT_SIZE], madt[ACPI_MADT_MAX];
	uint8_t xsdt[ACPI_HDR_SIZE + 8 * ACPI_XSDT_ENTRIES] = { 0 };
	struct aml_writer dsdt;
	struct acpi_blob b[5];
	size_t madt_len;
	int ret;

	*rsdp_out = 0;
	ret = acpi_check_config(cfg);
	if (ret)
		return ret;
	madt_len = acpi_build_madt(madt, cfg->nr_vcpus);
	b[0] = (struct acpi_blob){ LAYOUT_BIOS_START, rsdp, sizeof(rsdp) };
	b[1] = (struct acpi_blob){ acpi_align(b[0].gpa + b[0].len), xsdt, sizeof(xsdt) };
	b[2] = (struct acpi_blob){ acpi_align(b[1].gpa + b[1].len), fadt, sizeof(fadt) };
	b[3] = (struct acpi_blob){ acpi_align(b[2].gpa + b[2].len), madt, madt_len };
	b[4].gpa = acpi_align(b[3].gpa + b[3].len);

	aml_init(&dsdt, LAYOUT_BIOS_END - b[4].gpa);
	ret = acpi_build_dsdt(&dsdt, cfg);
	if (ret) {
		aml_free(&dsdt);
		return ret;
	}
	b[4].data = dsdt.buf;
	b[4].len = dsdt.len;

	acpi_build_fadt(fadt, b[4].gpa);
	le64_write(xsdt + ACPI_HDR_SIZE, b[2].gpa);
	le64_write(xsdt + ACPI_HDR_SIZE + 8, b[3].gpa);
	acpi_header(xsdt, "XSDT", sizeof(xsdt), 1);
	acpi_build_rsdp(rsdp, b[1].gpa);

	ret = acpi_copy_out(mem, b, 5);
	aml_free(&dsdt);
	if (ret)
		return ret;
	*rsdp_out = LAYOUT_BIOS_START;
	return 0;
}
