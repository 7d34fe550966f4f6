#include "snapshot/cpu_state.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "boot/le.h"
#include "vmm/log.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fixed sections are the KVM structs' own bytes: little-endian (x86) hosts only"
#endif

#define MSR_WIRE 12u   /* u32 index | u64 data */
#define CPUID_WIRE 28u /* function, index, flags, eax, ebx, ecx, edx */
#define SEC_HEADER 8u  /* u32 id | u32 len */

struct section {
	const char *name;
	size_t off;  /* of the struct inside struct cpu_state */
	size_t size; /* 0 for the counted sections (MSRS, CPUID) */
};

#define FIXED(id, field) [id] = { #field, offsetof(struct cpu_state, field), sizeof(((struct cpu_state *)0)->field) }

static const struct section sections[CPU_SEC_COUNT + 1] = {
	FIXED(CPU_SEC_REGS, regs),
	FIXED(CPU_SEC_SREGS, sregs),
	FIXED(CPU_SEC_XSAVE, xsave),
	FIXED(CPU_SEC_XCRS, xcrs),
	FIXED(CPU_SEC_LAPIC, lapic),
	FIXED(CPU_SEC_EVENTS, events),
	FIXED(CPU_SEC_MP_STATE, mp_state),
	[CPU_SEC_MSRS] = { "msrs", 0, 0 },
	[CPU_SEC_CPUID] = { "cpuid", 0, 0 },
};

/* Only the states x86 KVM_SET_MP_STATE knows; the others are s390/arm. */
static bool mp_state_valid(uint32_t mp)
{
	switch (mp) {
	case KVM_MP_STATE_RUNNABLE:
	case KVM_MP_STATE_UNINITIALIZED:
	case KVM_MP_STATE_INIT_RECEIVED:
	case KVM_MP_STATE_HALTED:
	case KVM_MP_STATE_SIPI_RECEIVED:
	case KVM_MP_STATE_AP_RESET_HOLD:
		return true;
	}
	return false;
}

int cpu_state_check(const struct cpu_state *s)
{
	if (s->nmsrs > CPU_STATE_MAX_MSRS)
		return err_fail(-EINVAL, "vCPU state has %u MSRs, at most %u", s->nmsrs, CPU_STATE_MAX_MSRS);
	if (s->ncpuid > CPU_STATE_MAX_CPUID)
		return err_fail(-EINVAL, "vCPU state has %u CPUID entries, at most %u", s->ncpuid,
				CPU_STATE_MAX_CPUID);
	if (s->xcrs.nr_xcrs > KVM_MAX_XCRS)
		return err_fail(-EINVAL, "vCPU state has %u XCRs, at most %u", s->xcrs.nr_xcrs, KVM_MAX_XCRS);
	if (!mp_state_valid(s->mp_state.mp_state))
		return err_fail(-EINVAL, "vCPU state has mp_state %u, not an x86 KVM_MP_STATE",
				s->mp_state.mp_state);
	return 0;
}

static void put_msrs(const struct cpu_state *s, struct state_writer *w)
{
	state_put_u32(w, 4 + s->nmsrs * MSR_WIRE);
	state_put_u32(w, s->nmsrs);
	for (uint32_t i = 0; i < s->nmsrs; i++) {
		state_put_u32(w, s->msrs[i].index);
		state_put_u64(w, s->msrs[i].data);
	}
}

static void put_cpuid(const struct cpu_state *s, struct state_writer *w)
{
	state_put_u32(w, 4 + s->ncpuid * CPUID_WIRE);
	state_put_u32(w, s->ncpuid);
	for (uint32_t i = 0; i < s->ncpuid; i++) {
		const struct kvm_cpuid_entry2 *e = &s->cpuid[i];

		state_put_u32(w, e->function);
		state_put_u32(w, e->index);
		state_put_u32(w, e->flags);
		state_put_u32(w, e->eax);
		state_put_u32(w, e->ebx);
		state_put_u32(w, e->ecx);
		state_put_u32(w, e->edx);
	}
}

int cpu_state_encode(const struct cpu_state *s, struct state_writer *w)
{
	int rc = cpu_state_check(s);

	if (rc)
		return rc;
	state_put_u32(w, CPU_STATE_VERSION);
	for (uint32_t id = 1; id <= CPU_SEC_COUNT; id++) {
		const struct section *sec = &sections[id];

		state_put_u32(w, id);
		if (id == CPU_SEC_MSRS) {
			put_msrs(s, w);
		} else if (id == CPU_SEC_CPUID) {
			put_cpuid(s, w);
		} else {
			state_put_u32(w, (uint32_t)sec->size);
			state_put_bytes(w, (const uint8_t *)s + sec->off, sec->size);
		}
	}
	rc = state_writer_error(w);
	return rc ? err_wrap(rc, "encoding vCPU state") : 0;
}

/* ---- decoding: every function validates, and writes only when out is set ---- */

static int decode_fixed(uint32_t id, const uint8_t *p, uint32_t len, size_t off, struct cpu_state *out)
{
	const struct section *sec = &sections[id];

	if (len != sec->size)
		return err_fail(-EINVAL, "vCPU state: %s section at offset %zu is %u bytes, expected %zu", sec->name,
				off, len, sec->size);
	if (id == CPU_SEC_XCRS) {
		uint32_t n = le32_read(p + offsetof(struct kvm_xcrs, nr_xcrs));

		if (n > KVM_MAX_XCRS)
			return err_fail(-EINVAL, "vCPU state: xcrs section at offset %zu has %u XCRs, at most %u", off,
					n, KVM_MAX_XCRS);
	}
	if (id == CPU_SEC_MP_STATE && !mp_state_valid(le32_read(p)))
		return err_fail(-EINVAL, "vCPU state: mp_state %u at offset %zu is not an x86 KVM_MP_STATE",
				le32_read(p), off);
	if (out)
		memcpy((uint8_t *)out + sec->off, p, len);
	return 0;
}

static void read_msrs(const uint8_t *p, uint32_t n, struct cpu_state *out)
{
	out->nmsrs = n;
	for (uint32_t i = 0; i < n; i++, p += MSR_WIRE) {
		out->msrs[i].index = le32_read(p);
		out->msrs[i].data = le64_read(p + 4);
	}
}

static void read_cpuid(const uint8_t *p, uint32_t n, struct cpu_state *out)
{
	out->ncpuid = n;
	for (uint32_t i = 0; i < n; i++, p += CPUID_WIRE) {
		struct kvm_cpuid_entry2 *e = &out->cpuid[i];

		e->function = le32_read(p);
		e->index = le32_read(p + 4);
		e->flags = le32_read(p + 8);
		e->eax = le32_read(p + 12);
		e->ebx = le32_read(p + 16);
		e->ecx = le32_read(p + 20);
		e->edx = le32_read(p + 24);
	}
}

static int decode_counted(uint32_t id, const uint8_t *p, uint32_t len, size_t off, struct cpu_state *out)
{
	const bool msrs = id == CPU_SEC_MSRS;
	const uint32_t wire = msrs ? MSR_WIRE : CPUID_WIRE;
	const uint32_t max = msrs ? CPU_STATE_MAX_MSRS : CPU_STATE_MAX_CPUID;
	const char *name = sections[id].name;
	uint32_t n;

	if (len < 4)
		return err_fail(-EINVAL, "vCPU state: %s section at offset %zu is %u bytes, too short for its count",
				name, off, len);
	n = le32_read(p);
	if (n > max)
		return err_fail(-EINVAL, "vCPU state: %s section at offset %zu has %u entries, at most %u", name, off,
				n, max);
	if ((uint64_t)n * wire != len - 4)
		return err_fail(-EINVAL, "vCPU state: %s section at offset %zu: %u entries take %llu bytes, not %u",
				name, off, n, (unsigned long long)n * wire, len - 4);
	if (out && msrs)
		read_msrs(p + 4, n, out);
	else if (out)
		read_cpuid(p + 4, n, out);
	return 0;
}

static int parse(const uint8_t *buf, size_t len, struct cpu_state *out)
{
	bool seen[CPU_SEC_COUNT + 1] = { false };
	unsigned nseen = 0;
	size_t pos = 4;

	if (!buf || len < 4)
		return err_fail(-EINVAL, "vCPU state of %zu bytes has no version", buf ? len : 0);
	if (le32_read(buf) != CPU_STATE_VERSION)
		return err_fail(-EINVAL, "vCPU state version %u, this build reads %u", le32_read(buf),
				CPU_STATE_VERSION);
	while (pos < len) {
		uint32_t id, slen;
		int rc;

		if (nseen == CPU_SEC_COUNT)
			return err_fail(-EINVAL, "vCPU state: %zu trailing bytes at offset %zu", len - pos, pos);
		if (len - pos < SEC_HEADER)
			return err_fail(-EINVAL, "vCPU state: section header at offset %zu truncated (%zu bytes left)",
					pos, len - pos);
		id = le32_read(buf + pos);
		slen = le32_read(buf + pos + 4);
		if (id == 0 || id > CPU_SEC_COUNT)
			return err_fail(-EINVAL, "vCPU state: unknown section %u at offset %zu", id, pos);
		if (seen[id])
			return err_fail(-EINVAL, "vCPU state: second %s section at offset %zu", sections[id].name, pos);
		if (slen > len - pos - SEC_HEADER)
			return err_fail(-EINVAL, "vCPU state: %s section at offset %zu claims %u bytes, %zu left",
					sections[id].name, pos, slen, len - pos - SEC_HEADER);
		rc = sections[id].size ? decode_fixed(id, buf + pos + SEC_HEADER, slen, pos, out)
				       : decode_counted(id, buf + pos + SEC_HEADER, slen, pos, out);
		if (rc)
			return rc;
		seen[id] = true;
		nseen++;
		pos += SEC_HEADER + slen;
	}
	for (uint32_t id = 1; id <= CPU_SEC_COUNT; id++)
		if (!seen[id])
			return err_fail(-EINVAL, "vCPU state has no %s section", sections[id].name);
	return 0;
}

int cpu_state_decode(const void *buf, size_t len, struct cpu_state *out)
{
	int rc = parse(buf, len, NULL);

	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	return parse(buf, len, out);
}

/* ---- VM-wide state <-> the container's IRQCHIP and CLOCK records ---- */

void vm_arch_state_to_snap(const struct vm_arch_state *s, struct snap_irqchip *ic, struct snap_clock *c)
{
	ic->pic_master = (struct snap_blob){ (const uint8_t *)&s->pic_master, sizeof(s->pic_master) };
	ic->pic_slave = (struct snap_blob){ (const uint8_t *)&s->pic_slave, sizeof(s->pic_slave) };
	ic->ioapic = (struct snap_blob){ (const uint8_t *)&s->ioapic, sizeof(s->ioapic) };
	ic->pit = (struct snap_blob){ (const uint8_t *)&s->pit, sizeof(s->pit) };
	c->clock = s->clock.clock;
	c->flags = s->clock.flags;
}

static int blob_check(const struct snap_blob *b, size_t size, const char *name)
{
	if (!b->data || b->len != size)
		return err_fail(-EINVAL, "IRQCHIP record: %s state is %zu bytes, expected %zu", name,
				b->data ? b->len : 0, size);
	return 0;
}

/* A blob in the wrong slot would program e.g. the IOAPIC from PIC state. */
static int chip_check(const struct snap_blob *b, uint32_t chip_id, const char *name)
{
	int rc = blob_check(b, sizeof(struct kvm_irqchip), name);
	uint32_t got;

	if (rc)
		return rc;
	got = le32_read(b->data + offsetof(struct kvm_irqchip, chip_id));
	if (got != chip_id)
		return err_fail(-EINVAL, "IRQCHIP record: %s state has chip_id %u, expected %u", name, got, chip_id);
	return 0;
}

int vm_arch_state_from_snap(const struct snap_irqchip *ic, const struct snap_clock *c, struct vm_arch_state *out)
{
	int rc = chip_check(&ic->pic_master, KVM_IRQCHIP_PIC_MASTER, "PIC master");

	if (!rc)
		rc = chip_check(&ic->pic_slave, KVM_IRQCHIP_PIC_SLAVE, "PIC slave");
	if (!rc)
		rc = chip_check(&ic->ioapic, KVM_IRQCHIP_IOAPIC, "IOAPIC");
	if (!rc)
		rc = blob_check(&ic->pit, sizeof(struct kvm_pit_state2), "PIT");
	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	memcpy(&out->pic_master, ic->pic_master.data, sizeof(out->pic_master));
	memcpy(&out->pic_slave, ic->pic_slave.data, sizeof(out->pic_slave));
	memcpy(&out->ioapic, ic->ioapic.data, sizeof(out->ioapic));
	memcpy(&out->pit, ic->pit.data, sizeof(out->pit));
	out->clock.clock = c->clock;
	out->clock.flags = c->flags;
	return 0;
}
