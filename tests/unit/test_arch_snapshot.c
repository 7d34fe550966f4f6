/* Architectural state through the mock HAL (vmm/arch_snapshot.c): a vCPU
 * programmed with non-reset state is captured, encoded, decoded, applied
 * to a vCPU of another mock (a new process) and captured again, equal
 * field by field; the ioctl order KVM needs; MSR probing around refused
 * MSRs; a clear error naming the vCPU and the piece for a failure at every
 * step; and the same for the PICs, IOAPIC, PIT and kvmclock. */
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

#include "hal/mock.h"
#include "snapshot/cpu_state.h"
#include "vmm/arch_snapshot.h"
#include "vmm/log.h"

#define MSR_LSTAR 0xc0000082u
#define MSR_TSC 0x10u
#define MSR_TSC_DEADLINE 0x6e0u
#define MSR_DEBUGCTL 0x1d9u /* not a saved MSR */
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u

struct rig {
	struct hal *h;
	struct hal_vm *vm;
	struct hal_vcpu *v;
};

static void rig_up(struct rig *r, uint32_t vcpu_id)
{
	assert_int_equal(hal_mock_create(&r->h), 0);
	assert_int_equal(r->h->ops->create_vm(r->h, &r->vm), 0);
	assert_int_equal(r->vm->ops->create_irqchip(r->vm), 0);
	assert_int_equal(r->vm->ops->create_pit(r->vm), 0);
	assert_int_equal(r->vm->ops->create_vcpu(r->vm, vcpu_id, &r->v), 0);
}

static void rig_down(struct rig *r)
{
	r->h->ops->destroy(r->h);
}

static bool msg_has(const char *needle)
{
	return strstr(err_last(), needle) != NULL;
}

static void assert_msg(const char *needle)
{
	if (!msg_has(needle))
		fail_msg("expected \"%s\" in \"%s\"", needle, err_last());
}

static struct cpu_state *new_state(void)
{
	struct cpu_state *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	return s;
}

static const struct kvm_msr_entry *find_msr(const struct cpu_state *s, uint32_t index)
{
	for (uint32_t i = 0; i < s->nmsrs; i++)
		if (s->msrs[i].index == index)
			return &s->msrs[i];
	return NULL;
}

static void set_msr(struct hal_vcpu *v, uint32_t index, uint64_t data)
{
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e[1];
	} one = { .m.nmsrs = 1, .e[0] = { .index = index, .data = data } };

	assert_int_equal(v->ops->set_msrs(v, &one.m), 1);
}

/* A 64-bit guest halted in its kernel, with an exception being injected. */
static void program_vcpu(struct hal_vcpu *v)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[3];
	} cpuid = { .c.nent = 3 };
	struct kvm_regs regs = { .rax = 1, .rbx = 2, .rcx = 3, .rdx = 4, .rsi = 5, .rdi = 6, .rbp = 7,
				 .r8 = 8, .r15 = 15, .rsp = 0xffffc90000003f00ull,
				 .rip = 0xffffffff81000abcull, .rflags = 0x246 };
	struct kvm_sregs sregs;
	static struct kvm_xsave xsave;
	struct kvm_xcrs xcrs = { .nr_xcrs = 1, .xcrs[0] = { .xcr = 0, .value = 7 } };
	static struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev = { .flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW };
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_HALTED };

	cpuid.e[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0xd, .ebx = 0x756e6547 };
	cpuid.e[1] = (struct kvm_cpuid_entry2){ .function = 1, .eax = 0x906ea, .ebx = 0x00010800 };
	cpuid.e[2] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 1,
						.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = 1 };
	assert_int_equal(v->ops->set_cpuid(v, &cpuid.c), 0);
	assert_int_equal(v->ops->set_regs(v, &regs), 0);
	assert_int_equal(v->ops->get_sregs(v, &sregs), 0);
	sregs.cr0 = 0x80050033;
	sregs.cr3 = 0x1000;
	sregs.cr4 = 0x3406e0;
	sregs.efer = 0xd01;
	sregs.cs.l = 1;
	sregs.gdt.base = 0xfffffe0000001000ull;
	assert_int_equal(v->ops->set_sregs(v, &sregs), 0);
	for (size_t i = 0; i < 1024; i++)
		xsave.region[i] = (uint32_t)(i * 2654435761u);
	assert_int_equal(v->ops->set_xsave(v, &xsave), 0);
	assert_int_equal(v->ops->set_xcrs(v, &xcrs), 0);
	for (size_t i = 0; i < sizeof(lapic.regs); i++)
		lapic.regs[i] = (char)(i * 7 + 1);
	assert_int_equal(v->ops->set_lapic(v, &lapic), 0);
	set_msr(v, MSR_TSC, 0x123456789aull);
	set_msr(v, MSR_TSC_DEADLINE, 0x12345a0000ull);
	set_msr(v, MSR_LSTAR, 0xffffffff81a00080ull);
	set_msr(v, 0x174, 0x10);
	set_msr(v, MSR_KVM_SYSTEM_TIME_NEW, 0x2a5d001);
	set_msr(v, 0x277, 0x0007040600070406ull);
	set_msr(v, MSR_DEBUGCTL, 1);
	ev.exception.injected = 1;
	ev.exception.nr = 14;
	ev.exception.has_error_code = 1;
	ev.exception.error_code = 2;
	ev.nmi.pending = 1;
	ev.interrupt.shadow = 1;
	assert_int_equal(v->ops->set_events(v, &ev), 0);
	assert_int_equal(v->ops->set_mp_state(v, &mp), 0);
}

/* The ops of the calls logged from `from` on, as a list. */
static size_t ops_since(struct hal *h, size_t from, enum hal_mock_op *out, size_t max)
{
	size_t n = 0;

	for (size_t i = from; i < hal_mock_calls_total(h) && n < max; i++)
		out[n++] = hal_mock_call_at(h, i)->op;
	return n;
}

static void assert_same_vcpu_state(const struct cpu_state *a, const struct cpu_state *b)
{
	assert_memory_equal(&a->regs, &b->regs, sizeof(a->regs));
	assert_memory_equal(&a->sregs, &b->sregs, sizeof(a->sregs));
	assert_memory_equal(&a->xsave, &b->xsave, sizeof(a->xsave));
	assert_memory_equal(&a->xcrs, &b->xcrs, sizeof(a->xcrs));
	assert_memory_equal(&a->lapic, &b->lapic, sizeof(a->lapic));
	assert_memory_equal(&a->events, &b->events, sizeof(a->events));
	assert_int_equal(a->mp_state.mp_state, b->mp_state.mp_state);
	assert_int_equal(a->nmsrs, b->nmsrs);
	assert_memory_equal(a->msrs, b->msrs, a->nmsrs * sizeof(a->msrs[0]));
	assert_int_equal(a->ncpuid, b->ncpuid);
	assert_memory_equal(a->cpuid, b->cpuid, a->ncpuid * sizeof(a->cpuid[0]));
	assert_memory_equal(a, b, sizeof(*a));
}

static void test_vcpu_round_trip(void **state)
{
	(void)state;
	struct rig src, dst;
	struct cpu_state *s1 = new_state(), *s2 = new_state(), *s3 = new_state();
	const uint32_t *list;
	size_t nlist = arch_saved_msrs(&list);
	struct state_writer w;

	rig_up(&src, 0);
	program_vcpu(src.v);
	assert_int_equal(arch_vcpu_capture(src.v, s1), 0);
	assert_int_equal(s1->regs.rip, 0xffffffff81000abcull);
	assert_int_equal(s1->sregs.efer, 0xd01);
	assert_int_equal(s1->xcrs.xcrs[0].value, 7);
	assert_int_equal(s1->mp_state.mp_state, KVM_MP_STATE_HALTED);
	assert_int_equal(s1->events.exception.nr, 14);
	assert_int_equal(s1->ncpuid, 3);
	assert_int_equal(s1->cpuid[2].flags, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	assert_int_equal(s1->nmsrs, nlist); /* the mock has every MSR */
	for (size_t i = 0; i < nlist; i++)
		assert_int_equal(s1->msrs[i].index, list[i]);
	assert_int_equal(find_msr(s1, MSR_LSTAR)->data, 0xffffffff81a00080ull);
	assert_int_equal(find_msr(s1, MSR_KVM_SYSTEM_TIME_NEW)->data, 0x2a5d001);
	assert_null(find_msr(s1, MSR_DEBUGCTL));

	state_writer_init(&w);
	assert_int_equal(cpu_state_encode(s1, &w), 0);
	assert_int_equal(cpu_state_decode(w.buf, w.len, s2), 0);
	state_writer_free(&w);
	assert_same_vcpu_state(s1, s2);

	rig_up(&dst, 0);
	assert_int_equal(arch_vcpu_apply(dst.v, s2), 0);
	assert_int_equal(arch_vcpu_capture(dst.v, s3), 0);
	assert_same_vcpu_state(s1, s3);
	assert_int_equal(hal_mock_vcpu_cpuid(dst.h, 0)->nent, 3);
	rig_down(&dst);
	rig_down(&src);
	free(s1);
	free(s2);
	free(s3);
}

/* mp_state first (GET_MP_STATE may change LAPIC state), events last;
 * on restore CPUID first, MSRs after the LAPIC, TSC_DEADLINE alone after
 * the other MSRs, events last. */
static void test_vcpu_order(void **state)
{
	(void)state;
	static const enum hal_mock_op cap[] = { MOCK_GET_MP_STATE, MOCK_GET_REGS, MOCK_GET_SREGS,
						MOCK_GET_XSAVE, MOCK_GET_XCRS, MOCK_GET_LAPIC,
						MOCK_GET_CPUID, MOCK_GET_MSRS, MOCK_GET_EVENTS };
	static const enum hal_mock_op app[] = { MOCK_SET_CPUID, MOCK_SET_MP_STATE, MOCK_SET_REGS,
						MOCK_SET_SREGS, MOCK_SET_XSAVE, MOCK_SET_XCRS,
						MOCK_SET_LAPIC, MOCK_SET_MSRS, MOCK_SET_MSRS, MOCK_SET_EVENTS };
	enum hal_mock_op got[16];
	struct rig r;
	struct cpu_state *s = new_state();
	size_t mark, n;

	rig_up(&r, 2);
	program_vcpu(r.v);
	mark = hal_mock_calls_total(r.h);
	assert_int_equal(arch_vcpu_capture(r.v, s), 0);
	n = ops_since(r.h, mark, got, 16);
	assert_int_equal(n, sizeof(cap) / sizeof(cap[0]));
	assert_memory_equal(got, cap, sizeof(cap));

	mark = hal_mock_calls_total(r.h);
	assert_int_equal(arch_vcpu_apply(r.v, s), 0);
	n = ops_since(r.h, mark, got, 16);
	assert_int_equal(n, sizeof(app) / sizeof(app[0]));
	assert_memory_equal(got, app, sizeof(app));
	assert_int_equal(hal_mock_call_at(r.h, mark + 7)->args[1], s->nmsrs - 1);
	assert_int_equal(hal_mock_call_at(r.h, mark + 8)->args[1], 1); /* TSC_DEADLINE alone */
	assert_int_equal(hal_mock_call_at(r.h, mark)->args[0], 2);     /* on vCPU 2 */
	rig_down(&r);
	free(s);
}

/* The backend refuses some MSRs: capture leaves them out and keeps going. */
static void test_msr_probe_skips_refused(void **state)
{
	(void)state;
	static const uint32_t refused[] = { 0x174, 0xc0000083, 0xc0000084, 0x4b564d05, MSR_TSC_DEADLINE };
	struct rig r;
	struct cpu_state *s = new_state();
	const uint32_t *list;
	size_t nlist = arch_saved_msrs(&list), j = 0;

	rig_up(&r, 0);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		assert_int_equal(hal_mock_msr_reject(r.h, refused[i]), 0);
	set_msr(r.v, MSR_LSTAR, 0xabc);
	assert_int_equal(arch_vcpu_capture(r.v, s), 0);
	assert_int_equal(s->nmsrs, nlist - 5);
	for (size_t i = 0; i < nlist; i++) {
		bool is_refused = false;

		for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++)
			is_refused |= list[i] == refused[k];
		if (is_refused) {
			assert_null(find_msr(s, list[i]));
			continue;
		}
		assert_int_equal(s->msrs[j++].index, list[i]); /* list order kept */
	}
	assert_int_equal(j, s->nmsrs);
	assert_int_equal(find_msr(s, MSR_LSTAR)->data, 0xabc);
	/* One read per refusal: the two adjacent ones cost an empty read. */
	assert_int_equal(hal_mock_call_count(r.h, MOCK_GET_MSRS), 5);
	/* Without TSC_DEADLINE in the state, one SET_MSRS call does it all. */
	rig_down(&r);
	rig_up(&r, 0);
	assert_int_equal(arch_vcpu_apply(r.v, s), 0);
	assert_int_equal(hal_mock_call_count(r.h, MOCK_SET_MSRS), 1);
	rig_down(&r);
	free(s);
}

/* An MSR the restoring host refuses fails the restore, naming it. */
static void test_apply_refused_msr(void **state)
{
	(void)state;
	struct rig src, dst;
	struct cpu_state *s = new_state();

	rig_up(&src, 1);
	program_vcpu(src.v);
	assert_int_equal(arch_vcpu_capture(src.v, s), 0);
	rig_up(&dst, 1);
	assert_int_equal(hal_mock_msr_reject(dst.h, MSR_LSTAR), 0);
	err_clear();
	assert_int_equal(arch_vcpu_apply(dst.v, s), -EINVAL);
	assert_msg("vCPU 1: restoring MSRs");
	assert_msg("MSR 0xc0000082 refused");
	assert_int_equal(hal_mock_call_count(dst.h, MOCK_SET_EVENTS), 0);
	rig_down(&dst);

	rig_up(&dst, 1);
	assert_int_equal(hal_mock_msr_reject(dst.h, MSR_TSC_DEADLINE), 0);
	assert_int_equal(arch_vcpu_apply(dst.v, s), -EINVAL);
	assert_msg("MSR 0x6e0 refused (0 of 1 written before it)");
	rig_down(&dst);
	rig_down(&src);
	free(s);
}

/* A zero deadline (the timer fired just before the snapshot) is re-armed
 * at the saved TSC, and TSC_DEADLINE goes last wherever it was stored. */
static void test_tsc_deadline(void **state)
{
	(void)state;
	struct rig r;
	struct cpu_state *s = new_state(), *got = new_state();

	s->mp_state.mp_state = KVM_MP_STATE_RUNNABLE;
	s->nmsrs = 3;
	s->msrs[0] = (struct kvm_msr_entry){ .index = MSR_TSC_DEADLINE, .data = 0 };
	s->msrs[1] = (struct kvm_msr_entry){ .index = MSR_LSTAR, .data = 5 };
	s->msrs[2] = (struct kvm_msr_entry){ .index = MSR_TSC, .data = 0x777777 };
	rig_up(&r, 0);
	assert_int_equal(arch_vcpu_apply(r.v, s), 0);
	assert_int_equal(hal_mock_call_count(r.h, MOCK_SET_MSRS), 2);
	assert_int_equal(hal_mock_last_call(r.h, MOCK_SET_MSRS)->args[1], 1);
	assert_int_equal(arch_vcpu_capture(r.v, got), 0);
	assert_int_equal(find_msr(got, MSR_TSC_DEADLINE)->data, 0x777777);
	assert_int_equal(find_msr(got, MSR_LSTAR)->data, 5);
	rig_down(&r);

	/* No MSRs at all: no SET_MSRS. */
	s->nmsrs = 0;
	rig_up(&r, 0);
	assert_int_equal(arch_vcpu_apply(r.v, s), 0);
	assert_int_equal(hal_mock_call_count(r.h, MOCK_SET_MSRS), 0);
	rig_down(&r);
	free(s);
	free(got);
}

struct step {
	enum hal_mock_op op;
	unsigned nth;
	const char *what;
};

static void test_apply_fails_at_each_step(void **state)
{
	(void)state;
	static const struct step steps[] = {
		{ MOCK_SET_CPUID, 1, "vCPU 3: restoring CPUID" },
		{ MOCK_SET_MP_STATE, 1, "vCPU 3: restoring mp_state" },
		{ MOCK_SET_REGS, 1, "vCPU 3: restoring regs" },
		{ MOCK_SET_SREGS, 1, "vCPU 3: restoring sregs" },
		{ MOCK_SET_XSAVE, 1, "vCPU 3: restoring xsave" },
		{ MOCK_SET_XCRS, 1, "vCPU 3: restoring xcrs" },
		{ MOCK_SET_LAPIC, 1, "vCPU 3: restoring LAPIC" },
		{ MOCK_SET_MSRS, 1, "vCPU 3: restoring MSRs" },
		{ MOCK_SET_MSRS, 2, "vCPU 3: restoring MSRs" },
		{ MOCK_SET_EVENTS, 1, "vCPU 3: restoring events" },
	};
	struct rig src;
	struct cpu_state *s = new_state();

	rig_up(&src, 3);
	program_vcpu(src.v);
	assert_int_equal(arch_vcpu_capture(src.v, s), 0);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct rig r;

		rig_up(&r, 3);
		hal_mock_fail_nth(r.h, steps[i].op, steps[i].nth, -EIO);
		err_clear();
		assert_int_equal(arch_vcpu_apply(r.v, s), -EIO);
		assert_msg(steps[i].what);
		assert_msg("injected failure");
		/* Nothing after the failed step ran. */
		assert_int_equal(hal_mock_last_call(r.h, steps[i].op)->result, -EIO);
		if (steps[i].op != MOCK_SET_EVENTS)
			assert_int_equal(hal_mock_call_count(r.h, MOCK_SET_EVENTS), 0);
		rig_down(&r);
	}
	rig_down(&src);
	free(s);
}

static void test_capture_fails_at_each_step(void **state)
{
	(void)state;
	static const struct step steps[] = {
		{ MOCK_GET_MP_STATE, 1, "vCPU 1: saving mp_state" }, { MOCK_GET_REGS, 1, "vCPU 1: saving regs" },
		{ MOCK_GET_SREGS, 1, "vCPU 1: saving sregs" },       { MOCK_GET_XSAVE, 1, "vCPU 1: saving xsave" },
		{ MOCK_GET_XCRS, 1, "vCPU 1: saving xcrs" },         { MOCK_GET_LAPIC, 1, "vCPU 1: saving LAPIC" },
		{ MOCK_GET_CPUID, 1, "vCPU 1: saving CPUID" },       { MOCK_GET_MSRS, 1, "vCPU 1: saving MSRs" },
		{ MOCK_GET_EVENTS, 1, "vCPU 1: saving events" },
	};
	struct cpu_state *s = new_state();

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct rig r;

		rig_up(&r, 1);
		hal_mock_fail_nth(r.h, steps[i].op, steps[i].nth, -EIO);
		err_clear();
		assert_int_equal(arch_vcpu_capture(r.v, s), -EIO);
		assert_msg(steps[i].what);
		assert_msg("injected failure");
		rig_down(&r);
	}
	free(s);
}

/* An invalid state is refused before any ioctl. */
static void test_apply_refuses_bad_state(void **state)
{
	(void)state;
	struct rig r;
	struct cpu_state *s = new_state();
	size_t before;

	rig_up(&r, 0);
	before = hal_mock_calls_total(r.h);
	s->nmsrs = CPU_STATE_MAX_MSRS + 1;
	assert_int_equal(arch_vcpu_apply(r.v, s), -EINVAL);
	assert_msg("vCPU 0: restoring state");
	assert_msg("257 MSRs");
	s->nmsrs = 0;
	s->mp_state.mp_state = 99;
	assert_int_equal(arch_vcpu_apply(r.v, s), -EINVAL);
	assert_msg("mp_state 99");
	assert_int_equal(hal_mock_calls_total(r.h), before);
	rig_down(&r);
	free(s);
}

/* A backend that reports more than it was asked for is an error, not an
 * overrun. The mock's ops are wrapped on the mock vCPU itself. */
static const struct hal_vcpu_ops *real_ops;
static int lying_get_msrs(struct hal_vcpu *v, struct kvm_msrs *m)
{
	(void)v;
	return (int)m->nmsrs + 1;
}
static int lying_set_msrs(struct hal_vcpu *v, const struct kvm_msrs *m)
{
	(void)v;
	return (int)m->nmsrs + 1;
}
static int lying_get_cpuid(struct hal_vcpu *v, struct kvm_cpuid2 *c)
{
	(void)v;
	c->nent = CPU_STATE_MAX_CPUID + 1;
	return 0;
}
static int bad_mp_state(struct hal_vcpu *v, struct kvm_mp_state *mp)
{
	(void)v;
	mp->mp_state = KVM_MP_STATE_SUSPENDED;
	return 0;
}

static void test_backend_overreports(void **state)
{
	(void)state;
	struct rig r;
	struct cpu_state *s = new_state();
	struct hal_vcpu_ops ops;

	rig_up(&r, 0);
	real_ops = r.v->ops;
	ops = *real_ops;
	ops.get_msrs = lying_get_msrs;
	r.v->ops = &ops;
	assert_int_equal(arch_vcpu_capture(r.v, s), -EIO);
	assert_msg("vCPU 0: saving MSRs");
	assert_msg("reports");

	ops = *real_ops;
	ops.get_cpuid = lying_get_cpuid;
	assert_int_equal(arch_vcpu_capture(r.v, s), -EIO);
	assert_msg("vCPU 0: saving CPUID");
	assert_msg("257 CPUID entries");

	ops = *real_ops;
	ops.get_mp_state = bad_mp_state;
	assert_int_equal(arch_vcpu_capture(r.v, s), -EINVAL);
	assert_msg("vCPU 0: checking the saved state");

	ops = *real_ops;
	ops.set_msrs = lying_set_msrs;
	s->mp_state.mp_state = KVM_MP_STATE_RUNNABLE;
	s->nmsrs = 1;
	s->msrs[0].index = MSR_LSTAR;
	assert_int_equal(arch_vcpu_apply(r.v, s), -EIO);
	assert_msg("vCPU 0: restoring MSRs");
	r.v->ops = real_ops;
	rig_down(&r);
	free(s);
}

/* ---- VM-wide ---- */

static void program_vm(struct hal_vm *vm)
{
	struct kvm_pit_state2 pit = { .flags = KVM_PIT_FLAGS_HPET_LEGACY };
	struct kvm_clock_data clock = { .clock = 0x1122334455ull,
					.flags = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC,
					.realtime = 1700000000000000000ull, .host_tsc = 99 };

	for (uint32_t id = 0; id < 3; id++) {
		struct kvm_irqchip chip = { .chip_id = id };

		for (size_t i = 0; i < sizeof(chip.chip.dummy); i++)
			chip.chip.dummy[i] = (char)(id * 50 + i);
		assert_int_equal(vm->ops->set_irqchip(vm, &chip), 0);
	}
	pit.channels[0] = (struct kvm_pit_channel_state){ .count = 0x4a9c, .mode = 2, .rw_mode = 3 };
	pit.channels[2].gate = 1;
	assert_int_equal(vm->ops->set_pit(vm, &pit), 0);
	assert_int_equal(vm->ops->set_clock(vm, &clock), 0);
}

static void test_vm_round_trip(void **state)
{
	(void)state;
	static const enum hal_mock_op cap[] = { MOCK_GET_PIT, MOCK_GET_CLOCK, MOCK_GET_IRQCHIP, MOCK_GET_IRQCHIP,
						MOCK_GET_IRQCHIP };
	static const enum hal_mock_op app[] = { MOCK_SET_PIT, MOCK_SET_CLOCK, MOCK_SET_IRQCHIP, MOCK_SET_IRQCHIP,
						MOCK_SET_IRQCHIP };
	enum hal_mock_op got[8];
	struct rig src, dst;
	struct vm_arch_state s, back, again;
	struct snap_irqchip ic;
	struct snap_clock c;
	struct kvm_clock_data clock;
	size_t mark;

	rig_up(&src, 0);
	program_vm(src.vm);
	mark = hal_mock_calls_total(src.h);
	assert_int_equal(arch_vm_capture(src.vm, &s), 0);
	assert_int_equal(ops_since(src.h, mark, got, 8), 5);
	assert_memory_equal(got, cap, sizeof(cap));
	assert_int_equal(s.pic_slave.chip_id, KVM_IRQCHIP_PIC_SLAVE);
	assert_int_equal(s.ioapic.chip.dummy[3], (char)(100 + 3));
	assert_int_equal(s.pit.channels[0].count, 0x4a9c);
	assert_int_equal(s.clock.clock, 0x1122334455ull);

	vm_arch_state_to_snap(&s, &ic, &c);
	assert_int_equal(vm_arch_state_from_snap(&ic, &c, &back), 0);
	rig_up(&dst, 0);
	mark = hal_mock_calls_total(dst.h);
	assert_int_equal(arch_vm_apply(dst.vm, &back), 0);
	assert_int_equal(ops_since(dst.h, mark, got, 8), 5);
	assert_memory_equal(got, app, sizeof(app));
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(hal_mock_call_at(dst.h, mark + 2 + i)->args[0], i);

	assert_int_equal(arch_vm_capture(dst.vm, &again), 0);
	assert_memory_equal(&again.pic_master, &s.pic_master, sizeof(s.pic_master));
	assert_memory_equal(&again.pic_slave, &s.pic_slave, sizeof(s.pic_slave));
	assert_memory_equal(&again.ioapic, &s.ioapic, sizeof(s.ioapic));
	assert_memory_equal(&again.pit, &s.pit, sizeof(s.pit));
	/* The clock goes back as a value alone: no flag SET_CLOCK could
	 * refuse, no REALTIME to advance it by a realtime it does not have. */
	assert_int_equal(dst.vm->ops->get_clock(dst.vm, &clock), 0);
	assert_int_equal(clock.clock, 0x1122334455ull);
	assert_int_equal(clock.flags, 0);
	assert_int_equal(clock.realtime, 0);
	rig_down(&dst);
	rig_down(&src);
}

static void test_vm_fails_at_each_step(void **state)
{
	(void)state;
	static const struct step save[] = {
		{ MOCK_GET_PIT, 1, "saving the PIT" },          { MOCK_GET_CLOCK, 1, "saving the kvmclock" },
		{ MOCK_GET_IRQCHIP, 1, "saving the PIC master" }, { MOCK_GET_IRQCHIP, 2, "saving the PIC slave" },
		{ MOCK_GET_IRQCHIP, 3, "saving the IOAPIC" },
	};
	static const struct step restore[] = {
		{ MOCK_SET_PIT, 1, "restoring the PIT" },
		{ MOCK_SET_CLOCK, 1, "restoring the kvmclock" },
		{ MOCK_SET_IRQCHIP, 1, "restoring the PIC master" },
		{ MOCK_SET_IRQCHIP, 2, "restoring the PIC slave" },
		{ MOCK_SET_IRQCHIP, 3, "restoring the IOAPIC" },
	};
	struct vm_arch_state s;

	for (size_t i = 0; i < 5; i++) {
		struct rig r;

		rig_up(&r, 0);
		hal_mock_fail_nth(r.h, save[i].op, save[i].nth, -EIO);
		assert_int_equal(arch_vm_capture(r.vm, &s), -EIO);
		assert_msg(save[i].what);
		rig_down(&r);
	}
	for (size_t i = 0; i < 5; i++) {
		struct rig r;

		rig_up(&r, 0);
		assert_int_equal(arch_vm_capture(r.vm, &s), 0);
		hal_mock_fail_nth(r.h, restore[i].op, restore[i].nth, -EIO);
		assert_int_equal(arch_vm_apply(r.vm, &s), -EIO);
		assert_msg(restore[i].what);
		assert_msg("injected failure");
		rig_down(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpu_round_trip),
		cmocka_unit_test(test_vcpu_order),
		cmocka_unit_test(test_msr_probe_skips_refused),
		cmocka_unit_test(test_apply_refused_msr),
		cmocka_unit_test(test_tsc_deadline),
		cmocka_unit_test(test_apply_fails_at_each_step),
		cmocka_unit_test(test_capture_fails_at_each_step),
		cmocka_unit_test(test_apply_refuses_bad_state),
		cmocka_unit_test(test_backend_overreports),
		cmocka_unit_test(test_vm_round_trip),
		cmocka_unit_test(test_vm_fails_at_each_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
