/* Mock vCPU: register state that reads back what was written (starting
 * from x86 reset values), per-index MSRs, CPUID, and run() playing back
 * the hal's script for this vCPU id. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hal/mock_internal.h"
#include "vmm/log.h"

#define CR0_PE (1ull << 0)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define APIC_BASE_DEFAULT 0xfee00000ull
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_BSP (1ull << 8)

static const struct hal_vcpu_ops mock_vcpu_ops;

/* ---- run ----------------------------------------------------------------------- */

/* A scripted guest write that an ioeventfd catches never reaches the
 * VMM, as with KVM: the eventfd is signalled and the step is used up. */
static bool ioeventfd_consumes(struct mock_vcpu *v, struct mock_step *step)
{
	struct mock_hal *mh = mock_hal_of_vcpu(&v->base);
	struct mock_script *s = &mh->scripts[v->base.id];
	const struct hal_exit *e = &step->exit;
	uint64_t one = 1;
	int fd = -1;

	if (e->reason == HAL_EXIT_MMIO && e->mmio.write)
		fd = mock_vm_ioeventfd_match(mock_vm_of(v->base.vm), false, e->mmio.addr, e->mmio.len, step->data);
	else if (e->reason == HAL_EXIT_IO && e->io.write && e->io.count == 1)
		fd = mock_vm_ioeventfd_match(mock_vm_of(v->base.vm), true, e->io.port, e->io.size, step->data);
	if (fd < 0 || write(fd, &one, sizeof(one)) != sizeof(one))
		return false;
	s->head = step->next;
	if (!s->head)
		s->tail = NULL;
	s->n--;
	free(step);
	return true;
}

/* Lock held on entry and exit; dropped while a blocking run() waits so
 * other threads (and the kicker) get through. */
static int run_locked(struct mock_hal *mh, struct mock_vcpu *v, struct hal_exit *exit)
{
	uint32_t id = v->base.id;
	struct mock_script *s = &mh->scripts[id];

	for (;;) {
		if (atomic_load(&v->immediate_exit)) {
			memset(exit, 0, sizeof(*exit));
			exit->reason = HAL_EXIT_INTR;
			return 0;
		}
		if (s->head)
			break;
		if (!atomic_load(&mh->run_blocks))
			return err_fail(-ENODATA, "mock: vCPU %u ran with no scripted exit left", id);
		pthread_mutex_unlock(&mh->lock);
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
		pthread_mutex_lock(&mh->lock);
	}

	struct mock_step *step = s->head;
	uint8_t *buf = mh->exit_buf[id];

	if (ioeventfd_consumes(v, step))
		return run_locked(mh, v, exit);
	s->head = step->next;
	if (!s->head)
		s->tail = NULL;
	s->n--;
	*exit = step->exit;
	if (exit->reason == HAL_EXIT_IO || exit->reason == HAL_EXIT_MMIO) {
		memset(buf, 0, HAL_MOCK_MAX_EXIT_DATA);
		memcpy(buf, step->data, step->len);
		if (exit->reason == HAL_EXIT_IO)
			exit->io.data = buf;
		else
			exit->mmio.data = buf;
	}
	free(step);
	v->ran = true;
	return 0;
}

static int mock_run(struct hal_vcpu *vcpu, struct hal_exit *exit)
{
	struct mock_hal *mh = mock_hal_of_vcpu(vcpu);
	struct mock_vcpu *v = mock_vcpu_of(vcpu);

	/* Zeroed first so a failed run() logs reason 0, not garbage. */
	memset(exit, 0, sizeof(*exit));
	return MOCK_OP(mh, MOCK_RUN, vcpu->id, exit->reason, 0, 0, run_locked(mh, v, exit));
}

/* Only an atomic store: this runs in signal handlers. */
static void mock_set_immediate_exit(struct hal_vcpu *vcpu, bool on)
{
	atomic_store(&mock_vcpu_of(vcpu)->immediate_exit, on);
}

/* ---- registers ------------------------------------------------------------------- */

#define GETTER(fn, OP, type, field)                                                                 \
	static int fn(struct hal_vcpu *vcpu, type *out)                                             \
	{                                                                                           \
		struct mock_vcpu *v = mock_vcpu_of(vcpu);                                           \
		return MOCK_OP(mock_hal_of_vcpu(vcpu), OP, vcpu->id, 0, 0, 0, (*out = v->field, 0)); \
	}

GETTER(mock_get_regs, MOCK_GET_REGS, struct kvm_regs, regs)
GETTER(mock_get_sregs, MOCK_GET_SREGS, struct kvm_sregs, sregs)
GETTER(mock_get_fpu, MOCK_GET_FPU, struct kvm_fpu, fpu)
GETTER(mock_get_xsave, MOCK_GET_XSAVE, struct kvm_xsave, xsave)
GETTER(mock_get_xcrs, MOCK_GET_XCRS, struct kvm_xcrs, xcrs)
GETTER(mock_get_lapic, MOCK_GET_LAPIC, struct kvm_lapic_state, lapic)
GETTER(mock_get_events, MOCK_GET_EVENTS, struct kvm_vcpu_events, events)
GETTER(mock_get_mp_state, MOCK_GET_MP_STATE, struct kvm_mp_state, mp)

static int mock_set_regs(struct hal_vcpu *vcpu, const struct kvm_regs *regs)
{
	struct mock_vcpu *v = mock_vcpu_of(vcpu);

	return MOCK_OP(mock_hal_of_vcpu(vcpu), MOCK_SET_REGS, vcpu->id, regs->rip, regs->rsp, 0,
		       (v->regs = *regs, 0));
}

/* The consistency checks KVM makes (kvm_is_valid_sregs and CR0 rules), so
 * a bad boot state fails in unit tests the way it fails on hardware. */
static int check_sregs(uint32_t id, const struct kvm_sregs *s)
{
	if (s->cr0 >> 32)
		return err_fail(-EINVAL, "mock: vCPU %u CR0 0x%llx sets reserved bits", id, s->cr0);
	if ((s->cr0 & CR0_PG) && !(s->cr0 & CR0_PE))
		return err_fail(-EINVAL, "mock: vCPU %u CR0 0x%llx: paging without protected mode", id, s->cr0);
	if ((s->cr0 & CR0_NW) && !(s->cr0 & CR0_CD))
		return err_fail(-EINVAL, "mock: vCPU %u CR0 0x%llx: NW without CD", id, s->cr0);
	if ((s->efer & EFER_LME) && (s->cr0 & CR0_PG)) {
		if (!(s->cr4 & CR4_PAE))
			return err_fail(-EINVAL, "mock: vCPU %u long mode paging without CR4.PAE (CR4 0x%llx)",
					id, s->cr4);
		if (!(s->efer & EFER_LMA))
			return err_fail(-EINVAL, "mock: vCPU %u EFER 0x%llx: LME and paging without LMA", id,
					s->efer);
	} else if (s->efer & EFER_LMA) {
		return err_fail(-EINVAL, "mock: vCPU %u EFER 0x%llx: LMA without LME and paging", id, s->efer);
	}
	return 0;
}

static int do_set_sregs(struct mock_vcpu *v, const struct kvm_sregs *sregs)
{
	int r = check_sregs(v->base.id, sregs);

	if (!r)
		v->sregs = *sregs;
	return r;
}

static int mock_set_sregs(struct hal_vcpu *vcpu, const struct kvm_sregs *sregs)
{
	return MOCK_OP(mock_hal_of_vcpu(vcpu), MOCK_SET_SREGS, vcpu->id, sregs->cr0, sregs->cr3, sregs->cr4,
		       do_set_sregs(mock_vcpu_of(vcpu), sregs));
}

static int mock_set_fpu(struct hal_vcpu *vcpu, const struct kvm_fpu *fpu)
{
	struct mock_vcpu *v = mock_vcpu_of(vcpu);

	return MOCK_OP(mock_hal_of_vcpu(vcpu), MOCK_SET_FPU, vcpu->id, 0, 0, 0, (v->fpu = *fpu, 0));
}

static int mock_set_xsave(struct hal_vcpu *vcpu, const struct kvm_xsave *xsave)
{
	struct mock_vcpu *v = mock_vcpu_of(vcpu);

	return MOCK_OP(mock_hal_of_vcpu(vcpu), MOCK_SET_XSAVE, vcpu->id, 0, 0, 0, (v->xsave = *xsave, 0));
}

static int do_set_xcrs(struct mock_vcpu *v, const struct kvm_xcrs *xcrs)
{
	if (xcrs->nr_xcrs > KVM_MAX_XCRS)
		return err_fail(-EINVAL, "mock: vCPU %u: %u XCRs, at most %u", v->base.id, xcrs->nr_xcrs,
				KVM_MAX_XCRS);
	v->xcrs = *xcrs;
	return 0;
}

static int mock_set_xcrs(struct hal_vcpu *vcpu, const struct kvm_xcrs *xcrs)
{
	return MOCK_OP(mock_hal_of_vcpu(vcpu), MOCK_SET_XCRS, vcpu->id, xcrs->nr_xcrs, 0, 0,
		       do_set_xcrs(mock_vcpu_of(vcpu), xcrs));
}

static int mock_set_lapic(struct hal_vcpu *vcpu, const struct kvm_lapic_state *lapic)
{
	struct mock_vcpu *v = mock_vcpu_of(vcpu);

	return MOCK_OP(mock_hal_of_vcpu(vcpu), MOCK_SET_LAPIC, vcpu->id, 0, 0, 0, (v->lapic = *lapic, 0));
}

static int mock_set_events(struct hal_vcpu *vcpu, const struct kvm_vcpu_events *events)
{
	struct mock_vcpu *v = mock_vcpu_of(vcpu);

	return MOCK_OP(mock_hal_of_vcpu(vcpu), MOCK_SET_EVENTS, vcpu->id, 0, 0, 0, (v->events = *events, 0));
}

static int do_set_mp_state(struct mock_vcpu *v, const struct kvm_mp_state *mp)
{
	if (mp->mp_state > KVM_MP_STATE_SUSPENDED)
		return err_fail(-EINVAL, "mock: vCPU %u: mp_state %u", v->base.id, mp->mp_state);
	v->mp = *mp;
	return 0;
}

static int mock_set_mp_state(struct hal_vcpu *vcpu, const struct kvm_mp_state *mp)
{
	return MOCK_OP(mock_hal_of_vcpu(vcpu), MOCK_SET_MP_STATE, vcpu->id, mp->mp_state, 0, 0,
		       do_set_mp_state(mock_vcpu_of(vcpu), mp));
}

/* ---- MSRs ----------------------------------------------------------------------- */

static bool msr_rejected(const struct mock_hal *mh, uint32_t index)
{
	for (size_t i = 0; i < mh->nrejected; i++)
		if (mh->rejected_msrs[i] == index)
			return true;
	return false;
}

static struct mock_msr *msr_find(struct mock_vcpu *v, uint32_t index)
{
	for (size_t i = 0; i < v->nmsrs; i++)
		if (v->msrs[i].index == index)
			return &v->msrs[i];
	return NULL;
}

static int do_get_msrs(struct mock_hal *mh, struct mock_vcpu *v, struct kvm_msrs *msrs)
{
	uint32_t i;

	if (msrs->nmsrs > MOCK_MAX_MSRS)
		return err_fail(-E2BIG, "mock: vCPU %u: %u MSRs in one call, at most %u", v->base.id,
				msrs->nmsrs, MOCK_MAX_MSRS);
	for (i = 0; i < msrs->nmsrs; i++) {
		const struct mock_msr *m;

		if (msr_rejected(mh, msrs->entries[i].index))
			break;
		m = msr_find(v, msrs->entries[i].index);
		msrs->entries[i].data = m ? m->data : 0;
	}
	return (int)i;
}

static int mock_get_msrs(struct hal_vcpu *vcpu, struct kvm_msrs *msrs)
{
	return MOCK_OP(mock_hal_of_vcpu(vcpu), MOCK_GET_MSRS, vcpu->id, msrs->nmsrs, 0, 0,
		       do_get_msrs(mh_, mock_vcpu_of(vcpu), msrs));
}

static int do_set_msrs(struct mock_hal *mh, struct mock_vcpu *v, const struct kvm_msrs *msrs)
{
	uint32_t i;

	if (msrs->nmsrs > MOCK_MAX_MSRS)
		return err_fail(-E2BIG, "mock: vCPU %u: %u MSRs in one call, at most %u", v->base.id,
				msrs->nmsrs, MOCK_MAX_MSRS);
	for (i = 0; i < msrs->nmsrs; i++) {
		const struct kvm_msr_entry *e = &msrs->entries[i];
		struct mock_msr *m;

		if (msr_rejected(mh, e->index))
			break;
		m = msr_find(v, e->index);
		if (!m) {
			if (v->nmsrs == v->msr_cap) {
				size_t cap = v->msr_cap ? v->msr_cap * 2 : 32;
				struct mock_msr *grown = realloc(v->msrs, cap * sizeof(*grown));

				if (!grown)
					break; /* like KVM: report how many were done */
				v->msrs = grown;
				v->msr_cap = cap;
			}
			m = &v->msrs[v->nmsrs++];
			m->index = e->index;
		}
		m->data = e->data;
	}
	return (int)i;
}

static int mock_set_msrs(struct hal_vcpu *vcpu, const struct kvm_msrs *msrs)
{
	return MOCK_OP(mock_hal_of_vcpu(vcpu), MOCK_SET_MSRS, vcpu->id, msrs->nmsrs, 0, 0,
		       do_set_msrs(mh_, mock_vcpu_of(vcpu), msrs));
}

/* ---- CPUID ------------------------------------------------------------------------ */

static size_t cpuid_bytes(const struct kvm_cpuid2 *c)
{
	return sizeof(*c) + c->nent * sizeof(c->entries[0]);
}

static int do_set_cpuid(struct mock_vcpu *v, const struct kvm_cpuid2 *cpuid)
{
	struct kvm_cpuid2 *copy;

	if (cpuid->nent > MOCK_MAX_CPUID)
		return err_fail(-E2BIG, "mock: vCPU %u: %u CPUID entries, at most %u", v->base.id, cpuid->nent,
				MOCK_MAX_CPUID);
	/* KVM refuses to change CPUID under a vCPU that already ran. */
	if (v->ran && (!v->cpuid || v->cpuid->nent != cpuid->nent ||
		       memcmp(v->cpuid, cpuid, cpuid_bytes(cpuid)) != 0))
		return err_fail(-EINVAL, "mock: vCPU %u already ran: its CPUID can no longer change", v->base.id);
	copy = malloc(cpuid_bytes(cpuid));
	if (!copy)
		return err_fail(-ENOMEM, "mock: vCPU %u CPUID", v->base.id);
	memcpy(copy, cpuid, cpuid_bytes(cpuid));
	free(v->cpuid);
	v->cpuid = copy;
	return 0;
}

static int mock_set_cpuid(struct hal_vcpu *vcpu, const struct kvm_cpuid2 *cpuid)
{
	return MOCK_OP(mock_hal_of_vcpu(vcpu), MOCK_SET_CPUID, vcpu->id, cpuid->nent, 0, 0,
		       do_set_cpuid(mock_vcpu_of(vcpu), cpuid));
}

static int do_get_cpuid(struct mock_vcpu *v, struct kvm_cpuid2 *cpuid)
{
	uint32_t have = v->cpuid ? v->cpuid->nent : 0;

	if (cpuid->nent < have) {
		uint32_t given = cpuid->nent;

		cpuid->nent = have;
		return err_fail(-E2BIG, "mock: vCPU %u has %u CPUID entries, %u given", v->base.id, have, given);
	}
	if (have)
		memcpy(cpuid->entries, v->cpuid->entries, have * sizeof(cpuid->entries[0]));
	cpuid->nent = have;
	return 0;
}

static int mock_get_cpuid(struct hal_vcpu *vcpu, struct kvm_cpuid2 *cpuid)
{
	uint32_t given = cpuid->nent;

	return MOCK_OP(mock_hal_of_vcpu(vcpu), MOCK_GET_CPUID, vcpu->id, given, 0, 0,
		       do_get_cpuid(mock_vcpu_of(vcpu), cpuid));
}

/* ---- lifetime ------------------------------------------------------------------- */

void mock_vcpu_free(struct mock_vcpu *v)
{
	free(v->msrs);
	free(v->cpuid);
	free(v);
}

static void mock_vcpu_destroy(struct hal_vcpu *vcpu)
{
	struct mock_hal *mh = mock_hal_of_vcpu(vcpu);
	struct mock_vm *vm = mock_vm_of(vcpu->vm);

	pthread_mutex_lock(&mh->lock);
	vm->vcpus[vcpu->id] = NULL;
	vm->nr_vcpus--;
	mock_vcpu_free(mock_vcpu_of(vcpu));
	pthread_mutex_unlock(&mh->lock);
}

static void seg_reset(struct kvm_segment *s, uint16_t selector, uint64_t base, uint8_t type, bool code_data)
{
	*s = (struct kvm_segment){ .base = base, .limit = 0xffff, .selector = selector, .type = type,
				   .present = 1, .s = code_data };
}

/* x86 power-on state, as KVM sets it up for a new vCPU. */
static void vcpu_reset(struct mock_vcpu *v, uint32_t id)
{
	struct kvm_sregs *s = &v->sregs;
	uint32_t lapic_id = id << 24, lapic_version = 0x50014, masked = 0x10000;

	v->regs.rip = 0xfff0;
	v->regs.rflags = 0x2;
	seg_reset(&s->cs, 0xf000, 0xffff0000, 0xb, true);
	seg_reset(&s->ds, 0, 0, 0x3, true);
	seg_reset(&s->es, 0, 0, 0x3, true);
	seg_reset(&s->fs, 0, 0, 0x3, true);
	seg_reset(&s->gs, 0, 0, 0x3, true);
	seg_reset(&s->ss, 0, 0, 0x3, true);
	seg_reset(&s->tr, 0, 0, 0xb, false);
	seg_reset(&s->ldt, 0, 0, 0x2, false);
	s->gdt.limit = 0xffff;
	s->idt.limit = 0xffff;
	s->cr0 = 0x60000010;
	s->apic_base = APIC_BASE_DEFAULT | APIC_BASE_ENABLE | (id == 0 ? APIC_BASE_BSP : 0);

	v->fpu.fcw = 0x37f;
	v->fpu.mxcsr = 0x1f80;
	v->xsave.region[0] = 0x37f; /* FCW in the legacy area */
	v->xsave.region[6] = 0x1f80; /* MXCSR at byte 24 */
	v->xcrs.nr_xcrs = 1;
	v->xcrs.xcrs[0].value = 1; /* XCR0: x87 only */

	memcpy(&v->lapic.regs[0x20], &lapic_id, 4);
	memcpy(&v->lapic.regs[0x30], &lapic_version, 4);
	for (unsigned off = 0x320; off <= 0x370; off += 0x10)
		memcpy(&v->lapic.regs[off], &masked, 4);

	/* With an in-kernel irqchip, APs wait for INIT/SIPI. */
	v->mp.mp_state = id == 0 ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED;
}

int mock_vcpu_new(struct mock_vm *vm, uint32_t id, struct mock_vcpu **out)
{
	struct mock_vcpu *v = calloc(1, sizeof(*v));

	if (!v)
		return err_fail(-ENOMEM, "mock: vCPU %u", id);
	v->base.ops = &mock_vcpu_ops;
	v->base.vm = &vm->base;
	v->base.id = id;
	atomic_init(&v->immediate_exit, false);
	vcpu_reset(v, id);
	*out = v;
	return 0;
}

static const struct hal_vcpu_ops mock_vcpu_ops = {
	.run = mock_run,
	.set_immediate_exit = mock_set_immediate_exit,
	.get_regs = mock_get_regs,
	.set_regs = mock_set_regs,
	.get_sregs = mock_get_sregs,
	.set_sregs = mock_set_sregs,
	.get_fpu = mock_get_fpu,
	.set_fpu = mock_set_fpu,
	.get_xsave = mock_get_xsave,
	.set_xsave = mock_set_xsave,
	.get_xcrs = mock_get_xcrs,
	.set_xcrs = mock_set_xcrs,
	.get_msrs = mock_get_msrs,
	.set_msrs = mock_set_msrs,
	.get_lapic = mock_get_lapic,
	.set_lapic = mock_set_lapic,
	.set_cpuid = mock_set_cpuid,
	.get_cpuid = mock_get_cpuid,
	.get_events = mock_get_events,
	.set_events = mock_set_events,
	.get_mp_state = mock_get_mp_state,
	.set_mp_state = mock_set_mp_state,
	.destroy = mock_vcpu_destroy,
};

/* ---- script controls -------------------------------------------------------------- */

static int check_step(const struct hal_exit *exit, size_t len)
{
	size_t room = 0;

	if (len > HAL_MOCK_MAX_EXIT_DATA)
		return err_fail(-EINVAL, "mock: %zu bytes of exit data, at most %u", len, HAL_MOCK_MAX_EXIT_DATA);
	if (exit->reason == HAL_EXIT_IO) {
		const uint8_t sz = exit->io.size;

		if ((sz != 1 && sz != 2 && sz != 4) || !exit->io.count ||
		    (size_t)sz * exit->io.count > HAL_MOCK_MAX_EXIT_DATA)
			return err_fail(-EINVAL, "mock: IO exit of %u x %u bytes", exit->io.count, sz);
		room = (size_t)sz * exit->io.count;
	} else if (exit->reason == HAL_EXIT_MMIO) {
		if (!exit->mmio.len || exit->mmio.len > 8)
			return err_fail(-EINVAL, "mock: MMIO exit of %u bytes", exit->mmio.len);
		room = exit->mmio.len;
	}
	if (len > room)
		return err_fail(-EINVAL, "mock: %zu bytes of data for an exit that carries %zu", len, room);
	return 0;
}

int hal_mock_queue_exit(struct hal *hal, uint32_t vcpu_id, const struct hal_exit *exit, const void *data,
			size_t len)
{
	struct mock_hal *mh = mock_of(hal);
	struct mock_step *step;
	struct mock_script *s;
	int r;

	if (!exit || vcpu_id >= HAL_MOCK_MAX_VCPUS)
		return err_fail(-EINVAL, "mock: queueing an exit for vCPU %u", vcpu_id);
	r = check_step(exit, len);
	if (r)
		return r;
	step = calloc(1, sizeof(*step) + len);
	if (!step)
		return err_fail(-ENOMEM, "mock: scripted exit");
	step->exit = *exit;
	step->len = len;
	if (len)
		memcpy(step->data, data, len);
	pthread_mutex_lock(&mh->lock);
	s = &mh->scripts[vcpu_id];
	if (s->tail)
		s->tail->next = step;
	else
		s->head = step;
	s->tail = step;
	s->n++;
	pthread_mutex_unlock(&mh->lock);
	return 0;
}

const uint8_t *hal_mock_last_io_data(struct hal *hal, uint32_t vcpu_id)
{
	if (vcpu_id >= HAL_MOCK_MAX_VCPUS)
		return NULL;
	return mock_of(hal)->exit_buf[vcpu_id];
}

size_t hal_mock_exits_pending(struct hal *hal, uint32_t vcpu_id)
{
	struct mock_hal *mh = mock_of(hal);
	size_t n;

	if (vcpu_id >= HAL_MOCK_MAX_VCPUS)
		return 0;
	pthread_mutex_lock(&mh->lock);
	n = mh->scripts[vcpu_id].n;
	pthread_mutex_unlock(&mh->lock);
	return n;
}

void hal_mock_set_run_blocks(struct hal *hal, bool blocks)
{
	atomic_store(&mock_of(hal)->run_blocks, blocks);
}

const struct kvm_cpuid2 *hal_mock_vcpu_cpuid(struct hal *hal, uint32_t vcpu_id)
{
	struct mock_hal *mh = mock_of(hal);
	struct mock_vm *vm;
	const struct kvm_cpuid2 *c = NULL;

	pthread_mutex_lock(&mh->lock);
	vm = mock_current_vm(mh);
	if (vm && vcpu_id < HAL_MOCK_MAX_VCPUS && vm->vcpus[vcpu_id])
		c = vm->vcpus[vcpu_id]->cpuid;
	pthread_mutex_unlock(&mh->lock);
	return c;
}
