/* The vCPU state encoding (snapshot/cpu_state.c) on its own: round trips
 * of full and edge-sized states, and a decoder that refuses every
 * malformed input (prefixes, section lengths, counts, duplicates, unknown
 * sections, trailing bytes, bad values) without touching its output; and
 * the VM-wide state moving to and from the container's records. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "snapshot/cpu_state.h"
#include "vmm/log.h"

static bool msg_has(const char *needle)
{
	return strstr(err_last(), needle) != NULL;
}

static void fill_bytes(void *p, size_t len, uint32_t seed)
{
	uint8_t *b = p;

	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (uint8_t)(seed >> 16);
	}
}

/* Every stored byte is non-trivial; the fields the encoding does not keep
 * (MSR reserved, CPUID padding) stay zero, as decode leaves them. */
static struct cpu_state *sample_state(uint32_t nmsrs, uint32_t ncpuid, uint32_t seed)
{
	struct cpu_state *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	fill_bytes(&s->regs, sizeof(s->regs), seed);
	fill_bytes(&s->sregs, sizeof(s->sregs), seed + 1);
	fill_bytes(&s->xsave, sizeof(s->xsave), seed + 2);
	fill_bytes(&s->xcrs, sizeof(s->xcrs), seed + 3);
	s->xcrs.nr_xcrs = KVM_MAX_XCRS;
	fill_bytes(&s->lapic, sizeof(s->lapic), seed + 4);
	fill_bytes(&s->events, sizeof(s->events), seed + 5);
	s->mp_state.mp_state = KVM_MP_STATE_HALTED;
	s->nmsrs = nmsrs;
	for (uint32_t i = 0; i < nmsrs; i++)
		s->msrs[i] = (struct kvm_msr_entry){ .index = 0xc0000000u + i * 7, .data = 0x0123456789abcdefull ^ i };
	s->ncpuid = ncpuid;
	for (uint32_t i = 0; i < ncpuid; i++)
		s->cpuid[i] = (struct kvm_cpuid_entry2){ .function = i, .index = i & 3, .flags = i & 1,
							 .eax = 0xa0000000u + i, .ebx = 0xb0000000u + i,
							 .ecx = 0xc0000000u + i, .edx = 0xd0000000u + i };
	return s;
}

static struct state_writer encode(const struct cpu_state *s)
{
	struct state_writer w;

	state_writer_init(&w);
	assert_int_equal(cpu_state_encode(s, &w), 0);
	return w;
}

/* Decoding must fail and leave *out as it was. */
static void assert_rejected(const void *buf, size_t len, const char *why)
{
	static struct cpu_state out, before;

	memset(&out, 0x5a, sizeof(out));
	memcpy(&before, &out, sizeof(out));
	err_clear();
	assert_int_equal(cpu_state_decode(buf, len, &out), -EINVAL);
	if (why && !msg_has(why))
		fail_msg("expected \"%s\" in \"%s\"", why, err_last());
	assert_memory_equal(&out, &before, sizeof(out));
}

static void round_trip(uint32_t nmsrs, uint32_t ncpuid)
{
	struct cpu_state *s = sample_state(nmsrs, ncpuid, nmsrs * 31 + ncpuid);
	struct cpu_state *d = malloc(sizeof(*d));
	struct state_writer w = encode(s), again;

	assert_non_null(d);
	memset(d, 0xee, sizeof(*d));
	assert_int_equal(cpu_state_decode(w.buf, w.len, d), 0);
	assert_memory_equal(d, s, sizeof(*s));
	again = encode(d);
	assert_int_equal(again.len, w.len);
	assert_memory_equal(again.buf, w.buf, w.len);
	state_writer_free(&again);
	state_writer_free(&w);
	free(d);
	free(s);
}

static void test_round_trip(void **state)
{
	(void)state;
	round_trip(40, 30);
	round_trip(0, 0);
	round_trip(CPU_STATE_MAX_MSRS, CPU_STATE_MAX_CPUID);
	round_trip(1, CPU_STATE_MAX_CPUID);
}

/* Every accepted mp_state survives; size is what the format says. */
static void test_layout_and_mp_states(void **state)
{
	(void)state;
	static const uint32_t ok[] = { KVM_MP_STATE_RUNNABLE, KVM_MP_STATE_UNINITIALIZED,
				       KVM_MP_STATE_INIT_RECEIVED, KVM_MP_STATE_HALTED,
				       KVM_MP_STATE_SIPI_RECEIVED, KVM_MP_STATE_AP_RESET_HOLD };
	struct cpu_state *s = sample_state(3, 2, 7);
	struct cpu_state *d = malloc(sizeof(*d));

	assert_non_null(d);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct state_writer w;

		s->mp_state.mp_state = ok[i];
		w = encode(s);
		assert_int_equal(w.len, 4 + 9 * 8 + sizeof(struct kvm_regs) + sizeof(struct kvm_sregs) +
						sizeof(struct kvm_xsave) + sizeof(struct kvm_xcrs) +
						sizeof(struct kvm_lapic_state) + sizeof(struct kvm_vcpu_events) + 4 +
						4 + 3 * 12 + 4 + 2 * 28);
		assert_int_equal(w.buf[0], CPU_STATE_VERSION);
		assert_int_equal(cpu_state_decode(w.buf, w.len, d), 0);
		assert_int_equal(d->mp_state.mp_state, ok[i]);
		state_writer_free(&w);
	}
	free(d);
	free(s);
}

/* ---- building malformed inputs from a valid encoding ---- */

struct sec {
	uint32_t id, len;
	const uint8_t *data;
};

/* Splits a canonical encoding into its nine sections. */
static void split(const struct state_writer *w, struct sec secs[CPU_SEC_COUNT])
{
	size_t pos = 4;

	for (int i = 0; i < CPU_SEC_COUNT; i++) {
		memcpy(&secs[i].id, w->buf + pos, 4);
		memcpy(&secs[i].len, w->buf + pos + 4, 4);
		secs[i].data = w->buf + pos + 8;
		assert_int_equal(secs[i].id, i + 1);
		pos += 8 + secs[i].len;
	}
	assert_int_equal(pos, w->len);
}

static void put_sec(struct state_writer *out, uint32_t id, uint32_t len, const void *data, size_t have)
{
	state_put_u32(out, id);
	state_put_u32(out, len);
	state_put_bytes(out, data, have);
}

static void join(struct state_writer *out, const struct sec *secs, size_t n)
{
	state_writer_init(out);
	state_put_u32(out, CPU_STATE_VERSION);
	for (size_t i = 0; i < n; i++)
		put_sec(out, secs[i].id, secs[i].len, secs[i].data, secs[i].len);
	assert_int_equal(state_writer_error(out), 0);
}

static struct state_writer canonical(struct sec secs[CPU_SEC_COUNT])
{
	struct cpu_state *s = sample_state(5, 4, 99);
	struct state_writer w = encode(s);

	free(s);
	split(&w, secs);
	return w;
}

static void test_rejects_every_prefix(void **state)
{
	(void)state;
	struct sec secs[CPU_SEC_COUNT];
	struct state_writer w = canonical(secs);

	assert_rejected(NULL, 0, "no version");
	assert_rejected(w.buf, 0, "no version");
	for (size_t cut = 1; cut < w.len; cut++)
		assert_rejected(w.buf, cut, NULL);
	state_writer_free(&w);
}

static void test_rejects_version(void **state)
{
	(void)state;
	struct sec secs[CPU_SEC_COUNT];
	struct state_writer w = canonical(secs);

	w.buf[0] = 2;
	assert_rejected(w.buf, w.len, "version 2");
	w.buf[0] = 0;
	assert_rejected(w.buf, w.len, "version 0");
	state_writer_free(&w);
}

/* Each fixed section one byte short or long, with its header agreeing. */
static void test_rejects_fixed_lengths(void **state)
{
	(void)state;
	static const char *const names[] = { "regs", "sregs", "xsave", "xcrs", "lapic", "events", "mp_state" };
	static uint8_t big[8192];
	struct sec secs[CPU_SEC_COUNT], bad[CPU_SEC_COUNT];
	struct state_writer w = canonical(secs), out;

	for (int i = 0; i < CPU_SEC_MP_STATE; i++) {
		for (int delta = -1; delta <= 1; delta += 2) {
			memcpy(bad, secs, sizeof(bad));
			memcpy(big, secs[i].data, secs[i].len);
			big[secs[i].len] = 0;
			bad[i].data = big;
			bad[i].len = secs[i].len + delta;
			join(&out, bad, CPU_SEC_COUNT);
			assert_rejected(out.buf, out.len, names[i]);
			assert_true(msg_has("expected"));
			state_writer_free(&out);
		}
	}
	state_writer_free(&w);
}

/* A section header claiming more bytes than are left. */
static void test_rejects_overlong_section(void **state)
{
	(void)state;
	struct sec secs[CPU_SEC_COUNT];
	struct state_writer w = canonical(secs);
	uint32_t huge = 0xffffffffu;

	memcpy(w.buf + 8, &huge, 4); /* regs, the first section */
	assert_rejected(w.buf, w.len, "regs section at offset 4 claims 4294967295 bytes");
	state_writer_free(&w);
}

static void check_counted(uint32_t id, uint32_t count, uint32_t entries, uint32_t wire, const char *why)
{
	struct sec secs[CPU_SEC_COUNT];
	struct state_writer w = canonical(secs), out;
	size_t body = 4 + (size_t)entries * wire;
	uint8_t *p = calloc(1, body);

	assert_non_null(p);
	memcpy(p, &count, 4);
	secs[id - 1].data = p;
	secs[id - 1].len = (uint32_t)body;
	join(&out, secs, CPU_SEC_COUNT);
	assert_rejected(out.buf, out.len, why);
	state_writer_free(&out);
	state_writer_free(&w);
	free(p);
}

static void test_rejects_counts(void **state)
{
	(void)state;
	check_counted(CPU_SEC_MSRS, CPU_STATE_MAX_MSRS + 1, CPU_STATE_MAX_MSRS + 1, 12, "257 entries, at most 256");
	check_counted(CPU_SEC_CPUID, CPU_STATE_MAX_CPUID + 1, CPU_STATE_MAX_CPUID + 1, 28,
		      "257 entries, at most 256");
	check_counted(CPU_SEC_MSRS, 3, 2, 12, "3 entries take 36 bytes, not 24");
	check_counted(CPU_SEC_MSRS, 1, 2, 12, "1 entries take 12 bytes, not 24");
	check_counted(CPU_SEC_CPUID, 0xffffffffu, 1, 28, "cpuid section");
	check_counted(CPU_SEC_CPUID, 2, 1, 28, "2 entries take 56 bytes, not 28");

	/* Too short to hold the count at all. */
	struct sec secs[CPU_SEC_COUNT];
	struct state_writer w = canonical(secs), out;

	secs[CPU_SEC_MSRS - 1].len = 3;
	join(&out, secs, CPU_SEC_COUNT);
	assert_rejected(out.buf, out.len, "msrs section at offset");
	assert_true(msg_has("too short for its count"));
	state_writer_free(&out);
	state_writer_free(&w);
}

static void test_rejects_section_set(void **state)
{
	(void)state;
	struct sec secs[CPU_SEC_COUNT], more[CPU_SEC_COUNT + 1];
	struct state_writer w = canonical(secs), out;
	static const char *const names[] = { "regs", "sregs", "xsave", "xcrs", "lapic",
					     "events", "mp_state", "msrs", "cpuid" };

	/* Each section missing. */
	for (int skip = 0; skip < CPU_SEC_COUNT; skip++) {
		struct sec fewer[CPU_SEC_COUNT - 1];
		char why[64];

		for (int i = 0, j = 0; i < CPU_SEC_COUNT; i++)
			if (i != skip)
				fewer[j++] = secs[i];
		join(&out, fewer, CPU_SEC_COUNT - 1);
		snprintf(why, sizeof(why), "has no %s section", names[skip]);
		assert_rejected(out.buf, out.len, why);
		state_writer_free(&out);
	}

	/* A duplicate in place of another one. */
	memcpy(more, secs, sizeof(secs));
	more[3] = secs[1];
	join(&out, more, CPU_SEC_COUNT);
	assert_rejected(out.buf, out.len, "second sregs section");
	state_writer_free(&out);

	/* Unknown ids: 0 and one past the last. */
	for (uint32_t id = 0; id <= CPU_SEC_COUNT + 1; id += CPU_SEC_COUNT + 1) {
		memcpy(more, secs, sizeof(secs));
		more[4] = (struct sec){ id, secs[4].len, secs[4].data };
		join(&out, more, CPU_SEC_COUNT);
		assert_rejected(out.buf, out.len, "unknown section");
		state_writer_free(&out);
	}

	/* All nine, then anything at all. */
	for (size_t extra = 1; extra <= 9; extra += 8) {
		static const uint8_t junk[9] = { 1, 0, 0, 0, 0, 0, 0, 0, 0 };

		join(&out, secs, CPU_SEC_COUNT);
		state_put_bytes(&out, junk, extra);
		assert_rejected(out.buf, out.len, "trailing bytes");
		state_writer_free(&out);
	}

	/* Order is free: reversed decodes to the same state. */
	struct cpu_state *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

	assert_non_null(a);
	assert_non_null(b);
	for (int i = 0; i < CPU_SEC_COUNT; i++)
		more[i] = secs[CPU_SEC_COUNT - 1 - i];
	join(&out, more, CPU_SEC_COUNT);
	assert_int_equal(cpu_state_decode(out.buf, out.len, a), 0);
	assert_int_equal(cpu_state_decode(w.buf, w.len, b), 0);
	assert_memory_equal(a, b, sizeof(*a));
	state_writer_free(&out);
	state_writer_free(&w);
	free(a);
	free(b);
}

/* A truncated header after a valid section. */
static void test_rejects_truncated_header(void **state)
{
	(void)state;
	struct sec secs[CPU_SEC_COUNT];
	struct state_writer w = canonical(secs), out;

	join(&out, secs, 2);
	state_put_u32(&out, CPU_SEC_XSAVE);
	assert_rejected(out.buf, out.len, "section header at offset");
	state_writer_free(&out);
	state_writer_free(&w);
}

static void test_rejects_values(void **state)
{
	(void)state;
	static const uint32_t bad_mp[] = { KVM_MP_STATE_STOPPED, KVM_MP_STATE_CHECK_STOP, KVM_MP_STATE_OPERATING,
					   KVM_MP_STATE_LOAD, KVM_MP_STATE_SUSPENDED, 11, 0xffffffffu };
	struct sec secs[CPU_SEC_COUNT];
	struct state_writer w = canonical(secs), out;
	struct kvm_xcrs xcrs;

	for (size_t i = 0; i < sizeof(bad_mp) / sizeof(bad_mp[0]); i++) {
		secs[CPU_SEC_MP_STATE - 1].data = (const uint8_t *)&bad_mp[i];
		join(&out, secs, CPU_SEC_COUNT);
		assert_rejected(out.buf, out.len, "not an x86 KVM_MP_STATE");
		state_writer_free(&out);
	}
	split(&w, secs);
	memcpy(&xcrs, secs[CPU_SEC_XCRS - 1].data, sizeof(xcrs));
	xcrs.nr_xcrs = KVM_MAX_XCRS + 1;
	secs[CPU_SEC_XCRS - 1].data = (const uint8_t *)&xcrs;
	join(&out, secs, CPU_SEC_COUNT);
	assert_rejected(out.buf, out.len, "17 XCRs, at most 16");
	state_writer_free(&out);
	state_writer_free(&w);
}

/* The encoder refuses what the decoder would, and writes nothing. */
static void test_encode_refuses(void **state)
{
	(void)state;
	struct cpu_state *s = sample_state(2, 2, 3);
	struct state_writer w;

	state_writer_init(&w);
	s->nmsrs = CPU_STATE_MAX_MSRS + 1;
	assert_int_equal(cpu_state_encode(s, &w), -EINVAL);
	assert_true(msg_has("257 MSRs"));
	s->nmsrs = 2;
	s->ncpuid = CPU_STATE_MAX_CPUID + 1;
	assert_int_equal(cpu_state_encode(s, &w), -EINVAL);
	assert_true(msg_has("257 CPUID entries"));
	s->ncpuid = 2;
	s->xcrs.nr_xcrs = KVM_MAX_XCRS + 1;
	assert_int_equal(cpu_state_encode(s, &w), -EINVAL);
	assert_true(msg_has("17 XCRs"));
	s->xcrs.nr_xcrs = 1;
	s->mp_state.mp_state = KVM_MP_STATE_STOPPED;
	assert_int_equal(cpu_state_encode(s, &w), -EINVAL);
	assert_true(msg_has("mp_state 5"));
	assert_int_equal(w.len, 0);

	/* A writer that already failed stays failed. */
	s->mp_state.mp_state = KVM_MP_STATE_RUNNABLE;
	w.err = -ENOMEM;
	assert_int_equal(cpu_state_encode(s, &w), -ENOMEM);
	assert_true(msg_has("encoding vCPU state"));
	state_writer_free(&w);
	free(s);
}

/* ---- VM-wide state ---- */

static void sample_vm(struct vm_arch_state *s)
{
	fill_bytes(s, sizeof(*s), 42);
	s->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
	s->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	s->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
}

/* Through a real container file and back. */
static void test_vm_state_round_trip(void **state)
{
	(void)state;
	struct vm_arch_state s, got;
	struct snap_irqchip ic, ic2;
	struct snap_clock c, c2;
	struct snap_writer w;
	struct snap_file f;
	const uint8_t *file;
	size_t len;

	sample_vm(&s);
	vm_arch_state_to_snap(&s, &ic, &c);
	assert_ptr_equal(ic.pic_master.data, (const uint8_t *)&s.pic_master);
	assert_int_equal(ic.ioapic.len, sizeof(struct kvm_irqchip));
	assert_int_equal(ic.pit.len, sizeof(struct kvm_pit_state2));
	assert_int_equal(c.clock, s.clock.clock);
	assert_int_equal(c.flags, s.clock.flags);

	snap_writer_init(&w);
	snap_put_irqchip(&w, &ic);
	snap_put_clock(&w, &c);
	assert_int_equal(snap_writer_finish(&w, &file, &len), 0);
	assert_int_equal(snap_parse(file, len, &f), 0);
	assert_int_equal(snap_decode_irqchip(snap_find(&f, SNAP_TAG_IRQCHIP), &ic2), 0);
	assert_int_equal(snap_decode_clock(snap_find(&f, SNAP_TAG_CLOCK), &c2), 0);
	memset(&got, 0xcc, sizeof(got));
	assert_int_equal(vm_arch_state_from_snap(&ic2, &c2, &got), 0);
	assert_memory_equal(&got.pic_master, &s.pic_master, sizeof(s.pic_master));
	assert_memory_equal(&got.pic_slave, &s.pic_slave, sizeof(s.pic_slave));
	assert_memory_equal(&got.ioapic, &s.ioapic, sizeof(s.ioapic));
	assert_memory_equal(&got.pit, &s.pit, sizeof(s.pit));
	assert_int_equal(got.clock.clock, s.clock.clock);
	assert_int_equal(got.clock.flags, s.clock.flags);
	assert_int_equal(got.clock.realtime, 0); /* the container keeps clock and flags only */
	assert_int_equal(got.clock.host_tsc, 0);
	snap_file_free(&f);
	snap_writer_free(&w);
}

static void assert_vm_rejected(const struct snap_irqchip *ic, const struct snap_clock *c, const char *why)
{
	struct vm_arch_state out, before;

	memset(&out, 0x77, sizeof(out));
	before = out;
	err_clear();
	assert_int_equal(vm_arch_state_from_snap(ic, c, &out), -EINVAL);
	if (!msg_has(why))
		fail_msg("expected \"%s\" in \"%s\"", why, err_last());
	assert_memory_equal(&out, &before, sizeof(out));
}

static void test_vm_state_rejects(void **state)
{
	(void)state;
	static const char *const names[] = { "PIC master", "PIC slave", "IOAPIC", "PIT" };
	struct vm_arch_state s, swapped;
	struct snap_irqchip ic, bad;
	struct snap_clock c;

	sample_vm(&s);
	vm_arch_state_to_snap(&s, &ic, &c);
	for (int i = 0; i < 4; i++) {
		struct snap_blob *blobs = &bad.pic_master;

		for (int delta = -1; delta <= 1; delta += 2) {
			bad = ic;
			blobs[i].len += delta;
			assert_vm_rejected(&bad, &c, names[i]);
			assert_true(msg_has("expected"));
		}
		bad = ic;
		blobs[i].data = NULL;
		assert_vm_rejected(&bad, &c, "is 0 bytes");
	}

	/* A chip's state in another chip's slot. */
	swapped = s;
	swapped.pic_slave.chip_id = KVM_IRQCHIP_IOAPIC;
	vm_arch_state_to_snap(&swapped, &bad, &c);
	assert_vm_rejected(&bad, &c, "PIC slave state has chip_id 2, expected 1");
	swapped = s;
	swapped.pic_master.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	vm_arch_state_to_snap(&swapped, &bad, &c);
	assert_vm_rejected(&bad, &c, "PIC master state has chip_id 1, expected 0");
	swapped = s;
	swapped.ioapic.chip_id = 7;
	vm_arch_state_to_snap(&swapped, &bad, &c);
	assert_vm_rejected(&bad, &c, "IOAPIC state has chip_id 7, expected 2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_layout_and_mp_states),
		cmocka_unit_test(test_rejects_every_prefix),
		cmocka_unit_test(test_rejects_version),
		cmocka_unit_test(test_rejects_fixed_lengths),
		cmocka_unit_test(test_rejects_overlong_section),
		cmocka_unit_test(test_rejects_counts),
		cmocka_unit_test(test_rejects_section_set),
		cmocka_unit_test(test_rejects_truncated_header),
		cmocka_unit_test(test_rejects_values),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_vm_state_round_trip),
		cmocka_unit_test(test_vm_state_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
