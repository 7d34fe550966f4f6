/* KVM backend: the vCPU fd, its mapped struct kvm_run, KVM_RUN and the
 * translation of kvm_run exits into struct hal_exit, and the state ioctls. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hal/kvm_internal.h"
#include "vmm/log.h"

static const struct hal_vcpu_ops kvm_vcpu_ops;

/* KVM_MAX_CPUID_ENTRIES: KVM_SET_CPUID2 takes no more. */
#define KVM_CPUID_MAX 256u

static struct kvm_hal_vcpu *vcpu_of(struct hal_vcpu *vcpu)
{
	return (struct kvm_hal_vcpu *)vcpu;
}

/* ---- exits ---------------------------------------------------------------------- */

static uint32_t system_event_type(uint32_t kvm_type)
{
	switch (kvm_type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN: return HAL_SYSTEM_SHUTDOWN;
	case KVM_SYSTEM_EVENT_RESET: return HAL_SYSTEM_RESET;
	case KVM_SYSTEM_EVENT_CRASH: return HAL_SYSTEM_CRASH;
	}
	return kvm_type; /* raw, as hal.h promises */
}

int kvm_exit_translate(struct kvm_run *run, size_t run_size, struct hal_exit *exit)
{
	memset(exit, 0, sizeof(*exit));
	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		/* The kernel owns these numbers, but a bad offset would make
		 * the VMM read or write outside the mapping: check them. */
		uint64_t bytes = (uint64_t)run->io.size * run->io.count;

		if (run->io.data_offset > run_size || bytes > run_size - run->io.data_offset)
			return err_fail(-EIO,
					"KVM_EXIT_IO port 0x%x: data_offset %llu + %llu bytes lies outside the %zu-byte kvm_run",
					run->io.port, (unsigned long long)run->io.data_offset, (unsigned long long)bytes,
					run_size);
		exit->reason = HAL_EXIT_IO;
		exit->io.port = run->io.port;
		exit->io.size = run->io.size;
		exit->io.write = run->io.direction == KVM_EXIT_IO_OUT;
		exit->io.count = run->io.count;
		exit->io.data = (uint8_t *)run + run->io.data_offset;
		return 0;
	}
	case KVM_EXIT_MMIO:
		if (run->mmio.len > sizeof(run->mmio.data))
			return err_fail(-EIO, "KVM_EXIT_MMIO 0x%llx: length %u is over 8",
					(unsigned long long)run->mmio.phys_addr, run->mmio.len);
		exit->reason = HAL_EXIT_MMIO;
		exit->mmio.addr = run->mmio.phys_addr;
		exit->mmio.len = run->mmio.len;
		exit->mmio.write = run->mmio.is_write;
		exit->mmio.data = run->mmio.data;
		return 0;
	case KVM_EXIT_HLT:
		exit->reason = HAL_EXIT_HLT;
		return 0;
	case KVM_EXIT_SHUTDOWN:
		exit->reason = HAL_EXIT_SHUTDOWN;
		return 0;
	case KVM_EXIT_INTR:
		exit->reason = HAL_EXIT_INTR;
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		exit->reason = HAL_EXIT_SYSTEM_EVENT;
		exit->system_event.type = system_event_type(run->system_event.type);
		return 0;
	case KVM_EXIT_INTERNAL_ERROR: {
		uint32_t n = run->internal.ndata < HAL_EXIT_MAX_DATA ? run->internal.ndata : HAL_EXIT_MAX_DATA;

		exit->reason = HAL_EXIT_INTERNAL_ERROR;
		exit->internal.suberror = run->internal.suberror;
		exit->internal.ndata = n;
		memcpy(exit->internal.data, run->internal.data, n * sizeof(exit->internal.data[0]));
		return 0;
	}
	case KVM_EXIT_FAIL_ENTRY:
		exit->reason = HAL_EXIT_FAIL_ENTRY;
		exit->fail_entry.hardware_reason = run->fail_entry.hardware_entry_failure_reason;
		return 0;
	}
	exit->reason = HAL_EXIT_UNKNOWN;
	exit->unknown.raw_reason = run->exit_reason;
	return 0;
}

static int kvm_vcpu_run(struct hal_vcpu *vcpu, struct hal_exit *exit)
{
	struct kvm_hal_vcpu *v = vcpu_of(vcpu);

	if (ioctl(v->fd, KVM_RUN, 0) < 0) {
		int e = errno;

		/* A signal or immediate_exit: the VMM decides what next. */
		if (e == EINTR || e == EAGAIN) {
			memset(exit, 0, sizeof(*exit));
			exit->reason = HAL_EXIT_INTR;
			return 0;
		}
		return err_fail(-e, "KVM_RUN vCPU %u: %s", vcpu->id, strerror(e));
	}
	return kvm_exit_translate(v->run, v->run_size, exit);
}

/* One byte store into the shared page: async-signal-safe. */
static void kvm_vcpu_set_immediate_exit(struct hal_vcpu *vcpu, bool on)
{
	*(volatile __u8 *)&vcpu_of(vcpu)->run->immediate_exit = on;
}

/* ---- state ---------------------------------------------------------------------- */

/* ioctl on the vCPU fd; returns its (non-negative) result or -errno with
 * a message naming the request and the vCPU. `arg` is only read by SET
 * requests even where the prototype is not const. */
static int vcpu_ioctl(struct hal_vcpu *vcpu, unsigned long req, const char *name, const void *arg)
{
	int r = ioctl(vcpu_of(vcpu)->fd, req, (void *)(uintptr_t)arg);

	if (r < 0) {
		int e = errno;

		return err_set(-e, "%s vCPU %u: %s", name, vcpu->id, strerror(e));
	}
	return r;
}

#define VCPU_IOCTL(vcpu, req, arg) vcpu_ioctl((vcpu), (req), #req, (arg))

static int kvm_get_regs(struct hal_vcpu *v, struct kvm_regs *regs)
{
	return VCPU_IOCTL(v, KVM_GET_REGS, regs);
}

static int kvm_set_regs(struct hal_vcpu *v, const struct kvm_regs *regs)
{
	return VCPU_IOCTL(v, KVM_SET_REGS, regs);
}

static int kvm_get_sregs(struct hal_vcpu *v, struct kvm_sregs *sregs)
{
	return VCPU_IOCTL(v, KVM_GET_SREGS, sregs);
}

static int kvm_set_sregs(struct hal_vcpu *v, const struct kvm_sregs *sregs)
{
	return VCPU_IOCTL(v, KVM_SET_SREGS, sregs);
}

static int kvm_get_fpu(struct hal_vcpu *v, struct kvm_fpu *fpu)
{
	return VCPU_IOCTL(v, KVM_GET_FPU, fpu);
}

static int kvm_set_fpu(struct hal_vcpu *v, const struct kvm_fpu *fpu)
{
	return VCPU_IOCTL(v, KVM_SET_FPU, fpu);
}

/* The 4 KiB legacy layout even where KVM_CAP_XSAVE2 reports more: the
 * kernel then truncates to this size (see kvm_check_host). */
static int kvm_get_xsave(struct hal_vcpu *v, struct kvm_xsave *xsave)
{
	return VCPU_IOCTL(v, KVM_GET_XSAVE, xsave);
}

static int kvm_set_xsave(struct hal_vcpu *v, const struct kvm_xsave *xsave)
{
	return VCPU_IOCTL(v, KVM_SET_XSAVE, xsave);
}

static int kvm_get_xcrs(struct hal_vcpu *v, struct kvm_xcrs *xcrs)
{
	return VCPU_IOCTL(v, KVM_GET_XCRS, xcrs);
}

static int kvm_set_xcrs(struct hal_vcpu *v, const struct kvm_xcrs *xcrs)
{
	return VCPU_IOCTL(v, KVM_SET_XCRS, xcrs);
}

/* KVM returns how many MSRs it processed; it stops at the first it
 * refuses. That count is the result. */
static int kvm_get_msrs(struct hal_vcpu *v, struct kvm_msrs *msrs)
{
	return VCPU_IOCTL(v, KVM_GET_MSRS, msrs);
}

static int kvm_set_msrs(struct hal_vcpu *v, const struct kvm_msrs *msrs)
{
	return VCPU_IOCTL(v, KVM_SET_MSRS, msrs);
}

static int kvm_get_lapic(struct hal_vcpu *v, struct kvm_lapic_state *lapic)
{
	return VCPU_IOCTL(v, KVM_GET_LAPIC, lapic);
}

static int kvm_set_lapic(struct hal_vcpu *v, const struct kvm_lapic_state *lapic)
{
	return VCPU_IOCTL(v, KVM_SET_LAPIC, lapic);
}

static int kvm_set_cpuid(struct hal_vcpu *v, const struct kvm_cpuid2 *cpuid)
{
	return VCPU_IOCTL(v, KVM_SET_CPUID2, cpuid);
}

/* KVM_GET_CPUID2 leaves nent alone when it fails with E2BIG, so ask
 * again with room for KVM's maximum to tell the caller the count. */
static uint32_t cpuid_probe_need(struct hal_vcpu *v)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + KVM_CPUID_MAX * sizeof(c->entries[0]));
	uint32_t need = 0;

	if (!c)
		return 0;
	c->nent = KVM_CPUID_MAX;
	if (ioctl(vcpu_of(v)->fd, KVM_GET_CPUID2, c) == 0)
		need = c->nent;
	free(c);
	return need;
}

static int kvm_get_cpuid(struct hal_vcpu *v, struct kvm_cpuid2 *cpuid)
{
	uint32_t given = cpuid->nent, need;
	int e;

	if (ioctl(vcpu_of(v)->fd, KVM_GET_CPUID2, cpuid) == 0)
		return 0;
	e = errno;
	if (e != E2BIG)
		return err_fail(-e, "KVM_GET_CPUID2 vCPU %u (%u entries): %s", v->id, given, strerror(e));
	need = cpuid_probe_need(v);
	if (need <= given)
		return err_fail(-E2BIG, "KVM_GET_CPUID2 vCPU %u: %u entries are too few", v->id, given);
	cpuid->nent = need;
	return err_fail(-E2BIG, "KVM_GET_CPUID2 vCPU %u: %u entries given, %u needed", v->id, given, need);
}

static int kvm_get_events(struct hal_vcpu *v, struct kvm_vcpu_events *events)
{
	return VCPU_IOCTL(v, KVM_GET_VCPU_EVENTS, events);
}

static int kvm_set_events(struct hal_vcpu *v, const struct kvm_vcpu_events *events)
{
	return VCPU_IOCTL(v, KVM_SET_VCPU_EVENTS, events);
}

static int kvm_get_mp_state(struct hal_vcpu *v, struct kvm_mp_state *mp)
{
	return VCPU_IOCTL(v, KVM_GET_MP_STATE, mp);
}

static int kvm_set_mp_state(struct hal_vcpu *v, const struct kvm_mp_state *mp)
{
	return VCPU_IOCTL(v, KVM_SET_MP_STATE, mp);
}

/* ---- lifetime ------------------------------------------------------------------- */

void kvm_vcpu_free(struct kvm_hal_vcpu *v)
{
	munmap(v->run, v->run_size);
	close(v->fd);
	free(v);
}

static void kvm_vcpu_destroy(struct hal_vcpu *vcpu)
{
	struct kvm_hal *h = kvm_hal_of(vcpu->vm->hal);
	struct kvm_hal_vm *vm = (struct kvm_hal_vm *)vcpu->vm;
	struct kvm_hal_vcpu *v = vcpu_of(vcpu);

	pthread_mutex_lock(&h->lock);
	for (struct kvm_hal_vcpu **pp = &vm->vcpus; *pp; pp = &(*pp)->next) {
		if (*pp == v) {
			*pp = v->next;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	kvm_vcpu_free(v);
}

int kvm_vcpu_create(struct kvm_hal_vm *vm, uint32_t id, struct hal_vcpu **out)
{
	struct kvm_hal *h = kvm_hal_of(vm->base.hal);
	struct kvm_hal_vcpu *v;
	void *run;
	int fd, e;

	fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (fd < 0)
		return err_fail(-errno, "KVM_CREATE_VCPU %u: %s", id, strerror(errno));
	run = mmap(NULL, h->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (run == MAP_FAILED) {
		e = errno;
		close(fd);
		return err_fail(-e, "mmap of vCPU %u kvm_run (%zu bytes): %s", id, h->run_size, strerror(e));
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		munmap(run, h->run_size);
		close(fd);
		return err_fail(-ENOMEM, "vCPU %u object", id);
	}
	v->base.ops = &kvm_vcpu_ops;
	v->base.vm = &vm->base;
	v->base.id = id;
	v->fd = fd;
	v->run = run;
	v->run_size = h->run_size;
	pthread_mutex_lock(&h->lock);
	v->next = vm->vcpus;
	vm->vcpus = v;
	pthread_mutex_unlock(&h->lock);
	*out = &v->base;
	return 0;
}

static const struct hal_vcpu_ops kvm_vcpu_ops = {
	.run = kvm_vcpu_run,
	.set_immediate_exit = kvm_vcpu_set_immediate_exit,
	.get_regs = kvm_get_regs,
	.set_regs = kvm_set_regs,
	.get_sregs = kvm_get_sregs,
	.set_sregs = kvm_set_sregs,
	.get_fpu = kvm_get_fpu,
	.set_fpu = kvm_set_fpu,
	.get_xsave = kvm_get_xsave,
	.set_xsave = kvm_set_xsave,
	.get_xcrs = kvm_get_xcrs,
	.set_xcrs = kvm_set_xcrs,
	.get_msrs = kvm_get_msrs,
	.set_msrs = kvm_set_msrs,
	.get_lapic = kvm_get_lapic,
	.set_lapic = kvm_set_lapic,
	.set_cpuid = kvm_set_cpuid,
	.get_cpuid = kvm_get_cpuid,
	.get_events = kvm_get_events,
	.set_events = kvm_set_events,
	.get_mp_state = kvm_get_mp_state,
	.set_mp_state = kvm_set_mp_state,
	.destroy = kvm_vcpu_destroy,
};
