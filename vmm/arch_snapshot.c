#include "vmm/arch_snapshot.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "vmm/log.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define MSR_IA32_TSC 0x10
#define MSR_IA32_TSC_DEADLINE 0x6e0

/* What a Linux guest keeps in MSRs that is not in sregs (EFER, APIC base)
 * or xsave. Order is restore order where KVM cares: PLATFORM_INFO before
 * MISC_FEATURES_ENABLES (CPUID faulting is checked against it),
 * ASYNC_PF_INT before ASYNC_PF_EN (interrupt delivery needs the vector),
 * TSC_DEADLINE last (KVM arms the timer against the TSC). Machine-check
 * banks, PMU counters and the debug MSRs are not saved. */
static const uint32_t saved_msrs[] = {
	0x174, 0x175, 0x176,             /* SYSENTER_CS, _ESP, _EIP */
	0xc0000081, 0xc0000082,          /* STAR, LSTAR */
	0xc0000083, 0xc0000084,          /* CSTAR, SYSCALL_MASK (SFMASK) */
	0xc0000102, 0xc0000103,          /* KERNEL_GS_BASE, TSC_AUX */
	MSR_IA32_TSC, 0x3b,              /* TSC, TSC_ADJUST */
	0x1a0, 0x277,                    /* MISC_ENABLE, PAT */
	0x3a,                            /* FEATURE_CONTROL */
	0x48, 0xc001011f,                /* SPEC_CTRL, AMD VIRT_SPEC_CTRL */
	0x10a, 0x122,                    /* ARCH_CAPABILITIES, TSX_CTRL */
	0x345,                           /* PERF_CAPABILITIES */
	0xce, 0x140,                     /* PLATFORM_INFO, MISC_FEATURES_ENABLES */
	0xe1,                            /* UMWAIT_CONTROL */
	0xda0, 0xd90,                    /* XSS, BNDCFGS */
	/* CET: supervisor xstate, so not in KVM_GET_XSAVE's buffer. */
	0x6a0, 0x6a2, 0x6a4, 0x6a5, 0x6a6, 0x6a7, 0x6a8,
	/* MTRRs: default type, fixed ranges, 8 variable base/mask pairs. */
	0x2ff, 0x250, 0x258, 0x259,
	0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
	0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207,
	0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f,
	/* KVM paravirt: wall clock, system time, async PF int then enable,
	 * steal time, PV EOI, poll control. */
	0x4b564d00, 0x4b564d01, 0x4b564d06, 0x4b564d02,
	0x4b564d03, 0x4b564d04, 0x4b564d05,
	MSR_IA32_TSC_DEADLINE,
};

_Static_assert(ARRAY_LEN(saved_msrs) <= CPU_STATE_MAX_MSRS, "saved MSRs must fit a cpu_state");

size_t arch_saved_msrs(const uint32_t **indices)
{
	*indices = saved_msrs;
	return ARRAY_LEN(saved_msrs);
}

/* KVM_GET_MSRS stops at the first MSR it refuses and returns how many it
 * read: keep those, skip the refused one and ask for the rest. */
static int capture_msrs(struct hal_vcpu *v, struct cpu_state *s)
{
	struct {
		struct kvm_msrs head;
		struct kvm_msr_entry e[ARRAY_LEN(saved_msrs)];
	} buf;
	size_t next = 0;

	s->nmsrs = 0;
	while (next < ARRAY_LEN(saved_msrs)) {
		uint32_t want = (uint32_t)(ARRAY_LEN(saved_msrs) - next);
		int got;

		memset(&buf, 0, sizeof(buf));
		buf.head.nmsrs = want;
		for (uint32_t i = 0; i < want; i++)
			buf.e[i].index = saved_msrs[next + i];
		got = v->ops->get_msrs(v, &buf.head);
		if (got < 0)
			return got;
		if ((uint32_t)got > want)
			return err_fail(-EIO, "the backend reports %d MSRs read of %u asked", got, want);
		memcpy(&s->msrs[s->nmsrs], buf.e, (size_t)got * sizeof(buf.e[0]));
		s->nmsrs += (uint32_t)got;
		if ((uint32_t)got < want)
			log_debug("vCPU %u: MSR 0x%x not saved: the backend does not have it", v->id,
				  saved_msrs[next + (uint32_t)got]);
		next += (size_t)got + 1;
	}
	return 0;
}

static int capture_cpuid(struct hal_vcpu *v, struct cpu_state *s)
{
	struct {
		struct kvm_cpuid2 head;
		struct kvm_cpuid_entry2 e[CPU_STATE_MAX_CPUID];
	} buf;
	int rc;

	memset(&buf.head, 0, sizeof(buf.head));
	buf.head.nent = CPU_STATE_MAX_CPUID;
	rc = v->ops->get_cpuid(v, &buf.head);
	if (rc)
		return rc;
	if (buf.head.nent > CPU_STATE_MAX_CPUID)
		return err_fail(-EIO, "the backend reports %u CPUID entries, %u fit", buf.head.nent,
				CPU_STATE_MAX_CPUID);
	s->ncpuid = buf.head.nent;
	memcpy(s->cpuid, buf.e, s->ncpuid * sizeof(buf.e[0]));
	return 0;
}

#define STEP(v, call, verb, what)                                                                   \
	do {                                                                                        \
		int rc_ = (call);                                                                   \
		if (rc_)                                                                            \
			return err_wrap(rc_ < 0 ? rc_ : -EIO, "vCPU %u: %s %s", (v)->id, verb, what); \
	} while (0)

int arch_vcpu_capture(struct hal_vcpu *v, struct cpu_state *s)
{
	const struct hal_vcpu_ops *ops = v->ops;

	memset(s, 0, sizeof(*s));
	STEP(v, ops->get_mp_state(v, &s->mp_state), "saving", "mp_state");
	STEP(v, ops->get_regs(v, &s->regs), "saving", "regs");
	STEP(v, ops->get_sregs(v, &s->sregs), "saving", "sregs");
	STEP(v, ops->get_xsave(v, &s->xsave), "saving", "xsave");
	STEP(v, ops->get_xcrs(v, &s->xcrs), "saving", "xcrs");
	STEP(v, ops->get_lapic(v, &s->lapic), "saving", "LAPIC");
	STEP(v, capture_cpuid(v, s), "saving", "CPUID");
	STEP(v, capture_msrs(v, s), "saving", "MSRs");
	STEP(v, ops->get_events(v, &s->events), "saving", "events");
	STEP(v, cpu_state_check(s), "checking", "the saved state");
	return 0;
}

static int apply_cpuid(struct hal_vcpu *v, const struct cpu_state *s)
{
	struct {
		struct kvm_cpuid2 head;
		struct kvm_cpuid_entry2 e[CPU_STATE_MAX_CPUID];
	} buf;

	memset(&buf.head, 0, sizeof(buf.head));
	buf.head.nent = s->ncpuid;
	memcpy(buf.e, s->cpuid, s->ncpuid * sizeof(buf.e[0]));
	return v->ops->set_cpuid(v, &buf.head);
}

static int set_all_msrs(struct hal_vcpu *v, struct kvm_msrs *msrs)
{
	int done = v->ops->set_msrs(v, msrs);

	if (done < 0)
		return done;
	if ((uint32_t)done > msrs->nmsrs)
		return err_fail(-EIO, "the backend reports %d MSRs written of %u", done, msrs->nmsrs);
	if ((uint32_t)done < msrs->nmsrs)
		return err_fail(-EINVAL, "MSR 0x%x refused (%d of %u written before it)", msrs->entries[done].index,
				done, msrs->nmsrs);
	return 0;
}

/* TSC_DEADLINE goes in a second call so it lands after the TSC whatever
 * the order in the file. A deadline of 0 is re-armed at the saved TSC:
 * Firecracker found that a timer which fired just before the snapshot
 * (deadline cleared, interrupt still pending inside KVM where GET_LAPIC
 * does not see it) is otherwise lost, and the vCPU gets no more ticks. */
static int apply_msrs(struct hal_vcpu *v, const struct cpu_state *s)
{
	struct {
		struct kvm_msrs head;
		struct kvm_msr_entry e[CPU_STATE_MAX_MSRS];
	} buf;
	uint64_t tsc = 0;

	for (uint32_t i = 0; i < s->nmsrs; i++)
		if (s->msrs[i].index == MSR_IA32_TSC)
			tsc = s->msrs[i].data;
	for (int deadline = 0; deadline <= 1; deadline++) {
		int rc;

		memset(&buf.head, 0, sizeof(buf.head));
		for (uint32_t i = 0; i < s->nmsrs; i++) {
			struct kvm_msr_entry e = s->msrs[i];

			if ((e.index == MSR_IA32_TSC_DEADLINE) != deadline)
				continue;
			if (deadline && !e.data)
				e.data = tsc;
			buf.e[buf.head.nmsrs++] = e;
		}
		if (!buf.head.nmsrs)
			continue;
		rc = set_all_msrs(v, &buf.head);
		if (rc)
			return rc;
	}
	return 0;
}

int arch_vcpu_apply(struct hal_vcpu *v, const struct cpu_state *s)
{
	const struct hal_vcpu_ops *ops = v->ops;

	STEP(v, cpu_state_check(s), "restoring", "state");
	STEP(v, apply_cpuid(v, s), "restoring", "CPUID");
	STEP(v, ops->set_mp_state(v, &s->mp_state), "restoring", "mp_state");
	STEP(v, ops->set_regs(v, &s->regs), "restoring", "regs");
	STEP(v, ops->set_sregs(v, &s->sregs), "restoring", "sregs");
	STEP(v, ops->set_xsave(v, &s->xsave), "restoring", "xsave");
	STEP(v, ops->set_xcrs(v, &s->xcrs), "restoring", "xcrs");
	STEP(v, ops->set_lapic(v, &s->lapic), "restoring", "LAPIC");
	STEP(v, apply_msrs(v, s), "restoring", "MSRs");
	STEP(v, ops->set_events(v, &s->events), "restoring", "events");
	return 0;
}

/* ---- VM-wide ---- */

#define VM_STEP(call, verb, what)                                            \
	do {                                                                 \
		int rc_ = (call);                                            \
		if (rc_)                                                     \
			return err_wrap(rc_ < 0 ? rc_ : -EIO, "%s the %s", verb, what); \
	} while (0)

static const uint32_t chip_ids[3] = { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC };
static const char *const chip_names[3] = { "PIC master", "PIC slave", "IOAPIC" };

int arch_vm_capture(struct hal_vm *vm, struct vm_arch_state *s)
{
	struct kvm_irqchip *chip[3] = { &s->pic_master, &s->pic_slave, &s->ioapic };

	memset(s, 0, sizeof(*s));
	VM_STEP(vm->ops->get_pit(vm, &s->pit), "saving", "PIT");
	VM_STEP(vm->ops->get_clock(vm, &s->clock), "saving", "kvmclock");
	for (size_t i = 0; i < 3; i++) {
		chip[i]->chip_id = chip_ids[i];
		VM_STEP(vm->ops->get_irqchip(vm, chip[i]), "saving", chip_names[i]);
		chip[i]->chip_id = chip_ids[i]; /* vm_arch_state_from_snap insists */
	}
	return 0;
}

/* The clock goes back with no flags. TSC_STABLE and HOST_TSC only
 * describe what GET_CLOCK saw and SET_CLOCK refuses them on many kernels;
 * REALTIME would make KVM add the wall time elapsed since `realtime`,
 * which the container does not keep (0 would jump the clock by decades).
 * So the guest's clock resumes where it stopped. */
int arch_vm_apply(struct hal_vm *vm, const struct vm_arch_state *s)
{
	struct kvm_clock_data clock = { .clock = s->clock.clock };
	const struct kvm_irqchip *saved[3] = { &s->pic_master, &s->pic_slave, &s->ioapic };

	VM_STEP(vm->ops->set_pit(vm, &s->pit), "restoring", "PIT");
	VM_STEP(vm->ops->set_clock(vm, &clock), "restoring", "kvmclock");
	for (size_t i = 0; i < 3; i++) {
		struct kvm_irqchip chip = *saved[i];

		chip.chip_id = chip_ids[i];
		VM_STEP(vm->ops->set_irqchip(vm, &chip), "restoring", chip_names[i]);
	}
	return 0;
}
