/* MP floating pointer + configuration table, assembled by byte offset. */
#include "boot/mptable.h"

#include <errno.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/layout.h"
#include "boot/le.h"
#include "vmm/log.h"

/* Interrupt entries cover every pin of KVM's IOAPIC, not just ISA IRQs
 * 0-15, so a kernel without ACPI can still route the virtio GSIs above 15. */
#define MP_IOINT_COUNT ACPI_IOAPIC_PINS
#define MP_TABLE_MAX (MP_HDR_SIZE + 20 * LAYOUT_MAX_VCPUS + 8 + 8 + 8 * MP_IOINT_COUNT + 8 * 2)

_Static_assert(MP_FPS_SIZE + MP_TABLE_MAX <= LAYOUT_EBDA_END - LAYOUT_EBDA_START,
	       "the MP tables for LAYOUT_MAX_VCPUS fit the EBDA");

static uint8_t mp_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)(0x100 - sum);
}

static uint8_t *mp_entry8(uint8_t *t, size_t *len, uint8_t type)
{
	uint8_t *e = t + *len;

	e[0] = type;
	*len += 8;
	return e;
}

/* One I/O or local interrupt entry; flags 0 = conforms to the bus (ISA:
 * edge, active high). */
static void mp_int(uint8_t *e, uint8_t kind, uint8_t src_irq, uint8_t dst, uint8_t dst_pin)
{
	e[1] = kind;
	le16_write(e + 2, 0);
	e[4] = MP_BUS_ISA;
	e[5] = src_irq;
	e[6] = dst;
	e[7] = dst_pin;
}

static size_t mp_build_table(uint8_t t[MP_TABLE_MAX], uint32_t nr_vcpus)
{
	uint8_t ioapic = acpi_ioapic_id(nr_vcpus);
	size_t len = MP_HDR_SIZE;
	uint16_t count = 0;
	uint8_t *e;

	memset(t, 0, MP_TABLE_MAX);
	for (uint32_t i = 0; i < nr_vcpus; i++, count++) {
		e = t + len;
		e[0] = MP_ENTRY_PROCESSOR;
		e[1] = (uint8_t)i; /* local APIC id */
		e[2] = MP_LAPIC_VERSION;
		e[3] = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0);
		le32_write(e + 4, 0x600);   /* signature: family 6 */
		le32_write(e + 8, 0x201);   /* features: FPU, APIC */
		len += 20;
	}
	e = mp_entry8(t, &len, MP_ENTRY_BUS);
	e[1] = MP_BUS_ISA;
	memcpy(e + 2, "ISA   ", 6);
	count++;
	e = mp_entry8(t, &len, MP_ENTRY_IOAPIC);
	e[1] = ioapic;
	e[2] = MP_IOAPIC_VERSION;
	e[3] = 1; /* usable */
	le32_write(e + 4, (uint32_t)LAYOUT_IOAPIC_ADDR);
	count++;
	/* Identity: KVM's default routing sends GSI n, the PIT's 0 included,
	 * to IOAPIC pin n. */
	for (uint8_t irq = 0; irq < MP_IOINT_COUNT; irq++, count++)
		mp_int(mp_entry8(t, &len, MP_ENTRY_IOINT), MP_INT, irq, ioapic, irq);
	mp_int(mp_entry8(t, &len, MP_ENTRY_LINT), MP_EXTINT, 0, 0xff, 0);
	mp_int(mp_entry8(t, &len, MP_ENTRY_LINT), MP_NMI, 0, 0xff, 1);
	count += 2;

	memcpy(t, "PCMP", 4);
	le16_write(t + 4, (uint16_t)len);
	t[6] = MP_SPEC_REV;
	memcpy(t + 8, MP_OEM_ID, 8);
	memcpy(t + 16, MP_PRODUCT_ID, 12);
	le16_write(t + 34, count);
	le32_write(t + 36, (uint32_t)LAYOUT_LAPIC_ADDR);
	t[7] = mp_checksum(t, len);
	return len;
}

int mptable_write(const struct guest_mem *mem, uint32_t nr_vcpus)
{
	uint8_t buf[MP_FPS_SIZE + MP_TABLE_MAX];
	uint8_t *fps = buf;
	size_t len;
	int ret;

	if (nr_vcpus < 1 || nr_vcpus > LAYOUT_MAX_VCPUS)
		return err_fail(-EINVAL, "%u vCPUs: the MP table describes 1 to %d", nr_vcpus,
				LAYOUT_MAX_VCPUS);
	len = mp_build_table(buf + MP_FPS_SIZE, nr_vcpus);
	memset(fps, 0, MP_FPS_SIZE);
	memcpy(fps, "_MP_", 4);
	le32_write(fps + 4, (uint32_t)(LAYOUT_EBDA_START + MP_FPS_SIZE));
	fps[8] = 1; /* length in 16-byte units */
	fps[9] = MP_SPEC_REV;
	/* Feature bytes 0: a configuration table is present, no IMCR (the
	 * PIC is in virtual-wire mode). */
	fps[10] = mp_checksum(fps, MP_FPS_SIZE);
	ret = guest_mem_write(mem, LAYOUT_EBDA_START, buf, MP_FPS_SIZE + len);
	if (ret)
		return err_wrap(ret, "writing the MP table");
	return 0;
}
