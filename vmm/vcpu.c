#include "vmm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vmm/log.h"
#include "vmm/sandbox.h"
#include "vmm/test_hooks.h"
#include "vmm/vm.h"

/* LAPIC register offsets and LVT delivery modes (Intel SDM vol. 3, 10.5.1). */
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7
#define VCPU_MAX_MSRS 16

static uint32_t lapic_reg(const struct kvm_lapic_state *s, unsigned off)
{
	uint32_t v;

	memcpy(&v, s->regs + off, sizeof(v));
	return v;
}

static void lapic_set_reg(struct kvm_lapic_state *s, unsigned off, uint32_t v)
{
	memcpy(s->regs + off, &v, sizeof(v));
}

static uint32_t lvt_with_mode(uint32_t lvt, uint32_t mode)
{
	return (lvt & ~0x700u) | (mode << 8);
}

/* LINT0 as ExtINT lets the legacy PIC reach the BSP before the guest
 * programs the IOAPIC; LINT1 carries NMIs. */
static int vcpu_setup_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;
	int ret = vcpu->hal->ops->get_lapic(vcpu->hal, &lapic);

	if (ret)
		return ret;
	lapic_set_reg(&lapic, APIC_LVT_LINT0, lvt_with_mode(lapic_reg(&lapic, APIC_LVT_LINT0), APIC_MODE_EXTINT));
	lapic_set_reg(&lapic, APIC_LVT_LINT1, lvt_with_mode(lapic_reg(&lapic, APIC_LVT_LINT1), APIC_MODE_NMI));
	return vcpu->hal->ops->set_lapic(vcpu->hal, &lapic);
}

/* Boot MSR values with the template's modifiers applied; MSRs the template
 * names that are not boot MSRs are added, starting from 0. */
static unsigned vcpu_boot_msrs(const struct cpu_template *tpl, struct kvm_msr_entry *e, unsigned max)
{
	unsigned n = boot_cpu_setup_msrs(e, max);

	for (unsigned i = 0; tpl && i < tpl->nr_msr; i++) {
		unsigned j = 0;

		while (j < n && e[j].index != tpl->msr[i].addr)
			j++;
		if (j == n) {
			if (n == max)
				break;
			e[n++] = (struct kvm_msr_entry){ .index = tpl->msr[i].addr };
		}
	}
	for (unsigned j = 0; tpl && j < n; j++) {
		uint64_t v = e[j].data;

		cpu_template_apply_msr(tpl, e[j].index, &v);
		e[j].data = v;
	}
	return n;
}

static int vcpu_setup_msrs(struct vcpu *vcpu, const struct cpu_template *tpl)
{
	struct {
		struct kvm_msrs head;
		struct kvm_msr_entry entries[VCPU_MAX_MSRS + CPU_TEMPLATE_MAX_MSR];
	} msrs;
	int ret;

	memset(&msrs, 0, sizeof(msrs));
	msrs.head.nmsrs = vcpu_boot_msrs(tpl, msrs.entries, VCPU_MAX_MSRS + CPU_TEMPLATE_MAX_MSR);
	ret = vcpu->hal->ops->set_msrs(vcpu->hal, &msrs.head);
	if (ret < 0)
		return ret;
	if ((uint32_t)ret != msrs.head.nmsrs)
		return err_fail(-EINVAL, "vCPU %u: only %d of %u boot MSRs were accepted (index 0x%x refused)",
				vcpu->id, ret, msrs.head.nmsrs, msrs.entries[ret].index);
	return 0;
}

static int vcpu_setup_boot_regs(struct vcpu *vcpu, const struct boot_info *boot)
{
	const struct hal_vcpu_ops *ops = vcpu->hal->ops;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;
	int ret;

	ret = ops->get_sregs(vcpu->hal, &sregs);
	if (ret)
		return ret;
	boot_cpu_setup_sregs(boot, &sregs);
	ret = ops->set_sregs(vcpu->hal, &sregs);
	if (ret)
		return ret;
	memset(&regs, 0, sizeof(regs));
	boot_cpu_setup_regs(boot, &regs);
	ret = ops->set_regs(vcpu->hal, &regs);
	if (ret)
		return ret;
	memset(&fpu, 0, sizeof(fpu));
	boot_cpu_setup_fpu(&fpu);
	return ops->set_fpu(vcpu->hal, &fpu);
}

int vcpu_configure(struct vcpu *vcpu, const struct cpuid_table *supported, uint32_t nr_vcpus,
		   const struct boot_info *boot, const struct cpu_template *tpl)
{
	struct cpuid_table cpuid;
	int ret;

	memcpy(&cpuid, supported, sizeof(cpuid));
	cpuid_patch_vcpu(&cpuid, vcpu->id, nr_vcpus);
	ret = tpl ? cpu_template_apply_cpuid(tpl, &cpuid) : 0;
	if (!ret)
		ret = vcpu->hal->ops->set_cpuid(vcpu->hal, &cpuid.head);
	if (!ret)
		ret = vcpu_setup_msrs(vcpu, tpl);
	if (!ret)
		ret = vcpu_setup_lapic(vcpu);
	if (!ret && boot)
		ret = vcpu_setup_boot_regs(vcpu, boot);
	if (ret)
		return err_wrap(ret, "configuring vCPU %u", vcpu->id);
	return 0;
}

static void vcpu_handle_io(struct vcpu *vcpu, const struct hal_exit *exit)
{
	const struct bus *bus = &vcpu->vm->pio_bus;
	uint32_t size = exit->io.size;

	/* String I/O (rep ins/outs) hands us `count` elements at once. */
	for (uint32_t i = 0; i < exit->io.count; i++) {
		uint8_t *data = exit->io.data + (size_t)i * size;
		int ret = exit->io.write ? bus_write(bus, exit->io.port, data, size)
					 : bus_read(bus, exit->io.port, data, size);

		if (ret)
			log_write(LOG_TRACE, __func__, "vCPU %u: unhandled %s of %u bytes at port 0x%x",
				  vcpu->id, exit->io.write ? "out" : "in", size, exit->io.port);
	}
}

static void vcpu_handle_mmio(struct vcpu *vcpu, const struct hal_exit *exit)
{
	const struct bus *bus = &vcpu->vm->mmio_bus;
	int ret;

	if (exit->mmio.len > 8) {
		log_guest(&vcpu->log_limit, LOG_WARN, "vCPU %u: MMIO access of %u bytes at 0x%llx ignored", vcpu->id,
			  exit->mmio.len, (unsigned long long)exit->mmio.addr);
		return;
	}
	ret = exit->mmio.write ? bus_write(bus, exit->mmio.addr, exit->mmio.data, exit->mmio.len)
			       : bus_read(bus, exit->mmio.addr, exit->mmio.data, exit->mmio.len);
	if (ret)
		log_guest(&vcpu->log_limit, LOG_DEBUG, "vCPU %u: unhandled MMIO %s of %u bytes at 0x%llx", vcpu->id,
			  exit->mmio.write ? "write" : "read", exit->mmio.len, (unsigned long long)exit->mmio.addr);
}

static enum vcpu_action vcpu_fail(struct vcpu *vcpu, const char *what)
{
	log_error("vCPU %u: %s", vcpu->id, what);
	vcpu_dump_regs(vcpu);
	vm_request_exit(vcpu->vm, VM_EXIT_VCPU_ERROR, EMBER_EXIT_VCPU_FAILURE);
	return VCPU_STOP;
}

enum vcpu_action vcpu_handle_exit(struct vcpu *vcpu, const struct hal_exit *exit)
{
	char what[160];

	if (exit->reason >= HAL_EXIT_IO && exit->reason <= HAL_EXIT_UNKNOWN)
		__atomic_fetch_add(&vcpu->exit_counts[exit->reason], 1, __ATOMIC_RELAXED);
	if (exit->reason == HAL_EXIT_IO)
		__atomic_fetch_add(&vcpu->exit_dirs[exit->io.write ? VCPU_EXIT_IO_OUT : VCPU_EXIT_IO_IN], 1,
				   __ATOMIC_RELAXED);
	else if (exit->reason == HAL_EXIT_MMIO)
		__atomic_fetch_add(&vcpu->exit_dirs[exit->mmio.write ? VCPU_EXIT_MMIO_WRITE : VCPU_EXIT_MMIO_READ], 1,
				   __ATOMIC_RELAXED);
	switch (exit->reason) {
	case HAL_EXIT_IO:
		exit_sites_count(&vcpu->exit_sites, EXIT_SITE_IO, exit->io.port);
		vcpu_handle_io(vcpu, exit);
		return VCPU_CONTINUE;
	case HAL_EXIT_MMIO:
		exit_sites_count(&vcpu->exit_sites, EXIT_SITE_MMIO, exit->mmio.addr);
		vcpu_handle_mmio(vcpu, exit);
		return VCPU_CONTINUE;
	case HAL_EXIT_INTR:
		return atomic_load(&vcpu->vm->stopping) ? VCPU_STOP : VCPU_CONTINUE;
	case HAL_EXIT_HLT:
		/* With the in-kernel LAPIC, HLT only reaches us when the guest
		 * halted for good (interrupts off): treat it as the end. */
		log_info("vCPU %u halted", vcpu->id);
		vm_request_exit(vcpu->vm, VM_EXIT_GUEST_HALT, EMBER_EXIT_OK);
		return VCPU_STOP;
	case HAL_EXIT_SHUTDOWN:
		log_info("vCPU %u: triple fault, resetting", vcpu->id);
		vm_request_exit(vcpu->vm, VM_EXIT_GUEST_RESET, EMBER_EXIT_OK);
		return VCPU_STOP;
	case HAL_EXIT_SYSTEM_EVENT:
		switch (exit->system_event.type) {
		case HAL_SYSTEM_SHUTDOWN:
			vm_request_exit(vcpu->vm, VM_EXIT_GUEST_SHUTDOWN, EMBER_EXIT_OK);
			return VCPU_STOP;
		case HAL_SYSTEM_RESET:
			vm_request_exit(vcpu->vm, VM_EXIT_GUEST_RESET, EMBER_EXIT_OK);
			return VCPU_STOP;
		default:
			snprintf(what, sizeof(what), "system event %u", exit->system_event.type);
			log_error("vCPU %u: guest crashed (%s)", vcpu->id, what);
			vm_request_exit(vcpu->vm, VM_EXIT_GUEST_CRASH, EMBER_EXIT_VCPU_FAILURE);
			return VCPU_STOP;
		}
	case HAL_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what), "internal error, suberror %u (%s)", exit->internal.suberror,
			 exit->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? "emulation failure"
										  : "see KVM docs");
		return vcpu_fail(vcpu, what);
	case HAL_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "VM entry failed, hardware reason 0x%llx",
			 (unsigned long long)exit->fail_entry.hardware_reason);
		return vcpu_fail(vcpu, what);
	case HAL_EXIT_UNKNOWN:
	default:
		snprintf(what, sizeof(what), "unexpected exit reason %u",
			 exit->reason == HAL_EXIT_UNKNOWN ? exit->unknown.raw_reason : (unsigned)exit->reason);
		return vcpu_fail(vcpu, what);
	}
}

/* KVM finishes a port or MMIO access (and moves RIP past it) only on the
 * next KVM_RUN. Parking right after such an exit would leave it half done
 * in the state a snapshot saves, and the restored guest would repeat it
 * (a serial byte printed twice). A run with immediate_exit set finishes it
 * without executing any guest instruction. */
static void vcpu_park(struct vcpu *vcpu, bool access_pending)
{
	if (!atomic_load(&vcpu->vm->pause_requested))
		return;
	if (access_pending) {
		struct hal_exit done;

		vcpu->hal->ops->set_immediate_exit(vcpu->hal, true);
		if (vcpu->hal->ops->run(vcpu->hal, &done))
			log_warn("vCPU %u: completing the last access before the pause: %s", vcpu->id, err_last());
	}
	vm_vcpu_park_if_paused(vcpu->vm, vcpu);
}

void vcpu_run_loop(struct vcpu *vcpu)
{
	struct hal_exit exit;
	bool first = true, access_pending = false;

	while (!atomic_load(&vcpu->vm->stopping)) {
		int ret;

		vcpu_park(vcpu, access_pending);
		if (atomic_load(&vcpu->vm->stopping))
			break;

		if (first && vcpu->id == 0 && vcpu->vm->print_startup) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			fprintf(stderr, "ember: first KVM_RUN at %lld ns\n",
				(long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
		}
		first = false;
		ret = vcpu->hal->ops->run(vcpu->hal, &exit);
		if (ret) {
			log_error("vCPU %u: run failed: %s", vcpu->id, err_last());
			vcpu_dump_regs(vcpu);
			vm_request_exit(vcpu->vm, VM_EXIT_VCPU_ERROR, EMBER_EXIT_VCPU_FAILURE);
			return;
		}
		access_pending = exit.reason == HAL_EXIT_IO || exit.reason == HAL_EXIT_MMIO;
		if (vcpu_handle_exit(vcpu, &exit) == VCPU_STOP)
			return;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	/* Before the first KVM_RUN: the guest never runs on an open thread. */
	if (sandbox_enter_vcpu()) {
		log_error("vCPU %u: %s", vcpu->id, err_last());
		vm_request_exit(vcpu->vm, VM_EXIT_VCPU_ERROR, EMBER_EXIT_GENERIC);
		return NULL;
	}
	test_hooks_after_sandbox(SECCOMP_THREAD_VCPU);
	vcpu_run_loop(vcpu);
	return NULL;
}

static void vcpu_kick_handler(int sig)
{
	/* Only here so the signal interrupts KVM_RUN instead of killing us. */
	(void)sig;
}

static void vcpu_install_kick_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu_kick_handler;
	/* No SA_RESTART: KVM_RUN must return EINTR. */
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

int vcpu_start(struct vcpu *vcpu)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	char name[16];
	int ret;

	pthread_once(&once, vcpu_install_kick_handler);
	ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (ret)
		return err_fail(-ret, "vCPU %u: pthread_create: %s", vcpu->id, strerror(ret));
	snprintf(name, sizeof(name), "ember-vcpu%u", vcpu->id);
	pthread_setname_np(vcpu->thread, name);
	vcpu->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	vcpu->hal->ops->set_immediate_exit(vcpu->hal, true);
	if (vcpu->thread_started)
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

void vcpu_dump_regs(struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (vcpu->hal->ops->get_regs(vcpu->hal, &r) || vcpu->hal->ops->get_sregs(vcpu->hal, &s)) {
		log_error("vCPU %u: registers unavailable: %s", vcpu->id, err_last());
		return;
	}
	log_error("vCPU %u: rip=0x%016llx rsp=0x%016llx rflags=0x%016llx", vcpu->id,
		  (unsigned long long)r.rip, (unsigned long long)r.rsp, (unsigned long long)r.rflags);
	log_error("vCPU %u: rax=0x%016llx rbx=0x%016llx rcx=0x%016llx rdx=0x%016llx", vcpu->id,
		  (unsigned long long)r.rax, (unsigned long long)r.rbx, (unsigned long long)r.rcx,
		  (unsigned long long)r.rdx);
	log_error("vCPU %u: rsi=0x%016llx rdi=0x%016llx rbp=0x%016llx r8=0x%016llx", vcpu->id,
		  (unsigned long long)r.rsi, (unsigned long long)r.rdi, (unsigned long long)r.rbp,
		  (unsigned long long)r.r8);
	log_error("vCPU %u: r9=0x%016llx r10=0x%016llx r11=0x%016llx r12=0x%016llx", vcpu->id,
		  (unsigned long long)r.r9, (unsigned long long)r.r10, (unsigned long long)r.r11,
		  (unsigned long long)r.r12);
	log_error("vCPU %u: r13=0x%016llx r14=0x%016llx r15=0x%016llx", vcpu->id,
		  (unsigned long long)r.r13, (unsigned long long)r.r14, (unsigned long long)r.r15);
	log_error("vCPU %u: cr0=0x%llx cr2=0x%llx cr3=0x%llx cr4=0x%llx efer=0x%llx", vcpu->id,
		  (unsigned long long)s.cr0, (unsigned long long)s.cr2, (unsigned long long)s.cr3,
		  (unsigned long long)s.cr4, (unsigned long long)s.efer);
	log_error("vCPU %u: cs=0x%04x (base 0x%llx, l=%u d=%u) ss=0x%04x gdt=0x%llx/0x%x", vcpu->id,
		  s.cs.selector, (unsigned long long)s.cs.base, s.cs.l, s.cs.db, s.ss.selector,
		  (unsigned long long)s.gdt.base, s.gdt.limit);
}
