/* The mock HAL: state round trips, the call log, fault injection on every
 * op, scripted exits and their data buffers, irq bookkeeping, TAP queues,
 * and blocking run() with immediate exit across threads. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hal/mock.h"
#include "vmm/log.h"

#define PAGE 4096u

static struct hal *mk(void)
{
	struct hal *h = NULL;

	assert_int_equal(hal_mock_create(&h), 0);
	assert_non_null(h);
	return h;
}

static struct hal_vm *mkvm(struct hal *h)
{
	struct hal_vm *vm = NULL;

	assert_int_equal(h->ops->create_vm(h, &vm), 0);
	assert_non_null(vm);
	assert_ptr_equal(vm->hal, h);
	return vm;
}

static struct hal_vcpu *mkvcpu(struct hal_vm *vm, uint32_t id)
{
	struct hal_vcpu *v = NULL;

	assert_int_equal(vm->ops->create_vcpu(vm, id, &v), 0);
	assert_non_null(v);
	return v;
}

static bool msg_has(const char *needle)
{
	return strstr(err_last(), needle) != NULL;
}

/* ---- basics ------------------------------------------------------------ */

static void test_create_destroy(void **state)
{
	(void)state;
	struct hal *h = mk();

	assert_string_equal(h->name, "mock");
	assert_null(hal_mock_vm(h));
	assert_int_equal(hal_mock_calls_total(h), 0);
	h->ops->destroy(h);
}

static void test_op_and_reason_names(void **state)
{
	(void)state;
	for (int i = 0; i < MOCK_OP_COUNT; i++) {
		const char *n = hal_mock_op_name(i);

		assert_non_null(n);
		assert_string_not_equal(n, "?");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n, hal_mock_op_name(j));
	}
	assert_string_equal(hal_mock_op_name(MOCK_SET_MEMORY_SLOT), "set_memory_slot");
	assert_string_equal(hal_mock_op_name(MOCK_OP_COUNT), "?");
	assert_string_equal(hal_mock_op_name((enum hal_mock_op)-1), "?");

	assert_string_equal(hal_exit_reason_name(HAL_EXIT_IO), "io");
	assert_string_equal(hal_exit_reason_name(HAL_EXIT_MMIO), "mmio");
	assert_string_equal(hal_exit_reason_name(HAL_EXIT_HLT), "hlt");
	assert_string_equal(hal_exit_reason_name(HAL_EXIT_SHUTDOWN), "shutdown");
	assert_string_equal(hal_exit_reason_name(HAL_EXIT_SYSTEM_EVENT), "system_event");
	assert_string_equal(hal_exit_reason_name(HAL_EXIT_INTERNAL_ERROR), "internal_error");
	assert_string_equal(hal_exit_reason_name(HAL_EXIT_FAIL_ENTRY), "fail_entry");
	assert_string_equal(hal_exit_reason_name(HAL_EXIT_INTR), "intr");
	assert_string_equal(hal_exit_reason_name(HAL_EXIT_UNKNOWN), "unknown");
	assert_string_equal(hal_exit_reason_name(0), "?");
	assert_string_equal(hal_exit_reason_name(HAL_EXIT_UNKNOWN + 1), "?");
}

static void test_check_cap(void **state)
{
	(void)state;
	struct hal *h = mk();

	assert_int_equal(h->ops->check_cap(h, HAL_CAP_IRQCHIP), 1);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_PIT2), 1);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_IOEVENTFD), 1);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_IRQFD), 1);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_IMMEDIATE_EXIT), 1);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_READONLY_MEM), 1);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_X2APIC_API), 3);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_NR_VCPUS), 32);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_MAX_VCPUS), 32);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_TSC_CONTROL), 1);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_COUNT), -EINVAL);
	assert_true(msg_has("capability"));

	assert_int_equal(hal_mock_set_cap(h, HAL_CAP_IOEVENTFD, 0), 0);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_IOEVENTFD), 0);
	assert_int_equal(hal_mock_set_cap(h, HAL_CAP_COUNT, 1), -EINVAL);

	const struct hal_mock_call *c = hal_mock_last_call(h, MOCK_CHECK_CAP);
	assert_non_null(c);
	assert_int_equal(c->op, MOCK_CHECK_CAP);
	assert_int_equal(c->args[0], HAL_CAP_IOEVENTFD);
	assert_int_equal(c->result, 0);
	h->ops->destroy(h);
}

/* ---- the call log --------------------------------------------------------- */

static void test_call_log(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	void *mem = NULL;

	assert_int_equal(h->ops->mem_alloc(h, 4 * PAGE, 0, &mem), 0);
	assert_int_equal(vm->ops->set_memory_slot(vm, 1, 0x100000, 4 * PAGE, mem, HAL_SLOT_DIRTY_LOG), 0);
	assert_int_equal(vm->ops->set_memory_slot(vm, 2, 0x100000, PAGE, mem, 0), -EEXIST);

	assert_int_equal(hal_mock_calls_total(h), 4);
	const struct hal_mock_call *c = hal_mock_call_at(h, 0);
	assert_int_equal(c->op, MOCK_CREATE_VM);
	assert_int_equal(c->result, 0);

	c = hal_mock_call_at(h, 1);
	assert_int_equal(c->op, MOCK_MEM_ALLOC);
	assert_int_equal(c->args[0], 4 * PAGE);
	assert_int_equal(c->args[1], 0);
	assert_int_equal(c->args[2], (uintptr_t)mem);

	c = hal_mock_call_at(h, 2);
	assert_int_equal(c->op, MOCK_SET_MEMORY_SLOT);
	assert_int_equal(c->args[0], 1);
	assert_int_equal(c->args[1], 0x100000);
	assert_int_equal(c->args[2], 4 * PAGE);
	assert_int_equal(c->args[3], HAL_SLOT_DIRTY_LOG);
	assert_int_equal(c->result, 0);

	c = hal_mock_last_call(h, MOCK_SET_MEMORY_SLOT);
	assert_ptr_equal(c, hal_mock_call_at(h, 3));
	assert_int_equal(c->args[0], 2);
	assert_int_equal(c->result, -EEXIST);

	assert_null(hal_mock_call_at(h, 4));
	assert_null(hal_mock_last_call(h, MOCK_RUN));
	assert_null(hal_mock_last_call(h, MOCK_OP_COUNT));
	assert_int_equal(hal_mock_call_count(h, MOCK_SET_MEMORY_SLOT), 2);
	assert_int_equal(hal_mock_call_count(h, MOCK_RUN), 0);
	assert_int_equal(hal_mock_call_count(h, MOCK_OP_COUNT), 0);
	h->ops->destroy(h);
}

static void test_call_log_grows(void **state)
{
	(void)state;
	struct hal *h = mk();

	for (int i = 0; i < 1000; i++)
		h->ops->check_cap(h, (enum hal_cap)(i % HAL_CAP_COUNT));
	assert_int_equal(hal_mock_calls_total(h), 1000);
	assert_int_equal(hal_mock_call_at(h, 999)->args[0], 999 % HAL_CAP_COUNT);
	h->ops->destroy(h);
}

/* ---- fault injection ------------------------------------------------------ */

static void test_fail_nth_counts_from_now(void **state)
{
	(void)state;
	struct hal *h = mk();

	h->ops->check_cap(h, HAL_CAP_IRQCHIP);
	hal_mock_fail_nth(h, MOCK_CHECK_CAP, 3, -EIO);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_IRQCHIP), 1);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_IRQCHIP), 1);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_IRQCHIP), -EIO);
	assert_true(msg_has("injected"));
	assert_true(msg_has("check_cap"));
	assert_int_equal(hal_mock_last_call(h, MOCK_CHECK_CAP)->result, -EIO);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_IRQCHIP), 1);

	/* Re-arming replaces; nth 0 and err >= 0 disarm. */
	hal_mock_fail_nth(h, MOCK_CHECK_CAP, 1, -EIO);
	hal_mock_fail_nth(h, MOCK_CHECK_CAP, 2, -EPERM);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_IRQCHIP), 1);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_IRQCHIP), -EPERM);
	hal_mock_fail_nth(h, MOCK_CHECK_CAP, 1, -EIO);
	hal_mock_fail_nth(h, MOCK_CHECK_CAP, 0, -EIO);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_IRQCHIP), 1);
	hal_mock_fail_nth(h, MOCK_CHECK_CAP, 1, 0);
	assert_int_equal(h->ops->check_cap(h, HAL_CAP_IRQCHIP), 1);
	/* Out-of-range ops are ignored. */
	hal_mock_fail_nth(h, MOCK_OP_COUNT, 1, -EIO);
	h->ops->destroy(h);
}

/* Everything an op needs to succeed, so each op can be called by number. */
struct rig {
	struct hal *h;
	struct hal_vm *vm;
	struct hal_vcpu *vcpu;
	struct hal_tap *tap;
	void *mem;
	void *mem2;
	int efd;
	int file_fd;
};

static void rig_init(struct rig *r)
{
	char path[] = "/tmp/ember-test-hal-XXXXXX";
	uint8_t page[PAGE] = { 0 };

	memset(r, 0, sizeof(*r));
	r->h = mk();
	r->vm = mkvm(r->h);
	assert_int_equal(r->vm->ops->create_irqchip(r->vm), 0);
	assert_int_equal(r->vm->ops->create_pit(r->vm), 0);
	assert_int_equal(r->h->ops->mem_alloc(r->h, 16 * PAGE, 0, &r->mem), 0);
	assert_int_equal(r->h->ops->mem_alloc(r->h, PAGE, 0, &r->mem2), 0);
	assert_int_equal(r->vm->ops->set_memory_slot(r->vm, 0, 0, 16 * PAGE, r->mem, HAL_SLOT_DIRTY_LOG), 0);
	r->vcpu = mkvcpu(r->vm, 0);
	assert_int_equal(r->h->ops->tap_open(r->h, "tap0", &r->tap), 0);
	assert_int_equal(hal_mock_tap_inject(r->h, "tap0", "0123456789abcdef", 16), 0);
	r->efd = eventfd(0, EFD_CLOEXEC);
	assert_true(r->efd >= 0);
	r->file_fd = mkstemp(path);
	assert_true(r->file_fd >= 0);
	unlink(path);
	assert_int_equal(write(r->file_fd, page, sizeof(page)), (ssize_t)sizeof(page));
	struct hal_exit hlt = { .reason = HAL_EXIT_HLT };
	assert_int_equal(hal_mock_queue_exit(r->h, 0, &hlt, NULL, 0), 0);
	assert_int_equal(hal_mock_queue_exit(r->h, 0, &hlt, NULL, 0), 0);
}

static void rig_fini(struct rig *r)
{
	close(r->efd);
	close(r->file_fd);
	r->h->ops->destroy(r->h); /* frees the VM, vCPU, TAP and memory too */
}

static int invoke(struct rig *r, enum hal_mock_op op)
{
	static uint32_t next_vcpu = 1;
	struct hal *h = r->h;
	struct hal_vm *vm = r->vm;
	struct hal_vcpu *v = r->vcpu;
	struct hal_vm *vm2;
	struct hal_vcpu *v2;
	struct hal_tap *t2;
	void *p;
	struct hal_exit ex;
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[64];
	} cpuid = { .c.nent = 64 };
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e[1];
	} msrs = { .m.nmsrs = 1, .e[0].index = 0x174 };
	struct kvm_regs regs = { .rflags = 2 };
	struct kvm_sregs sregs = { .cr0 = 0x60000010 };
	struct kvm_fpu fpu = { .fcw = 0x37f };
	static struct kvm_xsave xsave;
	struct kvm_xcrs xcrs = { .nr_xcrs = 1, .xcrs[0].value = 1 };
	static struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events = { 0 };
	struct kvm_mp_state mp = { 0 };
	struct kvm_clock_data clock = { .clock = 5 };
	struct kvm_irqchip chip = { .chip_id = 2 };
	struct kvm_pit_state2 pit = { 0 };
	uint64_t bitmap[1];
	struct hal_ioeventfd ev = { .fd = r->efd, .addr = 0xd000, .len = 4 };
	uint8_t buf[64];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	int rc;

	switch (op) {
	case MOCK_CHECK_CAP: return h->ops->check_cap(h, HAL_CAP_IRQCHIP);
	case MOCK_CREATE_VM: return h->ops->create_vm(h, &vm2);
	case MOCK_GET_SUPPORTED_CPUID: return h->ops->get_supported_cpuid(h, &cpuid.c);
	case MOCK_MEM_ALLOC: return h->ops->mem_alloc(h, PAGE, 0, &p);
	case MOCK_MEM_MAP_FILE: return h->ops->mem_map_file(h, r->file_fd, 0, PAGE, true, &p);
	case MOCK_MEM_FREE: return h->ops->mem_free(h, r->mem2, PAGE);
	case MOCK_TAP_OPEN: return h->ops->tap_open(h, "tap1", &t2);
	case MOCK_SET_TSS_ADDR: return vm->ops->set_tss_addr(vm, 0xfffbd000);
	case MOCK_SET_IDENTITY_MAP_ADDR: return vm->ops->set_identity_map_addr(vm, 0xfffbc000);
	case MOCK_SET_MEMORY_SLOT: return vm->ops->set_memory_slot(vm, 1, 0x100000, PAGE, r->mem, 0);
	case MOCK_CREATE_IRQCHIP: return vm->ops->create_irqchip(vm);
	case MOCK_CREATE_PIT: return vm->ops->create_pit(vm);
	case MOCK_SET_IRQ_LINE: return vm->ops->set_irq_line(vm, 4, 1);
	case MOCK_IRQFD: return vm->ops->irqfd(vm, r->efd, 5, true);
	case MOCK_IOEVENTFD: return vm->ops->ioeventfd(vm, &ev, true);
	case MOCK_GET_CLOCK: return vm->ops->get_clock(vm, &clock);
	case MOCK_SET_CLOCK: return vm->ops->set_clock(vm, &clock);
	case MOCK_GET_IRQCHIP: return vm->ops->get_irqchip(vm, &chip);
	case MOCK_SET_IRQCHIP: return vm->ops->set_irqchip(vm, &chip);
	case MOCK_GET_PIT: return vm->ops->get_pit(vm, &pit);
	case MOCK_SET_PIT: return vm->ops->set_pit(vm, &pit);
	case MOCK_GET_DIRTY_LOG: return vm->ops->get_dirty_log(vm, 0, bitmap);
	case MOCK_CREATE_VCPU: return vm->ops->create_vcpu(vm, next_vcpu++ % 16 + 1, &v2);
	case MOCK_RUN: return v->ops->run(v, &ex);
	case MOCK_GET_REGS: return v->ops->get_regs(v, &regs);
	case MOCK_SET_REGS: return v->ops->set_regs(v, &regs);
	case MOCK_GET_SREGS: return v->ops->get_sregs(v, &sregs);
	case MOCK_SET_SREGS: return v->ops->set_sregs(v, &sregs);
	case MOCK_GET_FPU: return v->ops->get_fpu(v, &fpu);
	case MOCK_SET_FPU: return v->ops->set_fpu(v, &fpu);
	case MOCK_GET_XSAVE: return v->ops->get_xsave(v, &xsave);
	case MOCK_SET_XSAVE: return v->ops->set_xsave(v, &xsave);
	case MOCK_GET_XCRS: return v->ops->get_xcrs(v, &xcrs);
	case MOCK_SET_XCRS: return v->ops->set_xcrs(v, &xcrs);
	case MOCK_GET_MSRS: return v->ops->get_msrs(v, &msrs.m);
	case MOCK_SET_MSRS: return v->ops->set_msrs(v, &msrs.m);
	case MOCK_GET_LAPIC: return v->ops->get_lapic(v, &lapic);
	case MOCK_SET_LAPIC: return v->ops->set_lapic(v, &lapic);
	case MOCK_SET_CPUID: cpuid.c.nent = 1; return v->ops->set_cpuid(v, &cpuid.c);
	case MOCK_GET_CPUID: return v->ops->get_cpuid(v, &cpuid.c);
	case MOCK_GET_EVENTS: return v->ops->get_events(v, &events);
	case MOCK_SET_EVENTS: return v->ops->set_events(v, &events);
	case MOCK_GET_MP_STATE: return v->ops->get_mp_state(v, &mp);
	case MOCK_SET_MP_STATE: return v->ops->set_mp_state(v, &mp);
	case MOCK_TAP_READV: return (int)r->tap->ops->readv(r->tap, &iov, 1);
	case MOCK_TAP_WRITEV:
		memset(buf, 0, sizeof(buf));
		return (int)r->tap->ops->writev(r->tap, &iov, 1);
	case MOCK_TAP_SET_OFFLOADS: return r->tap->ops->set_offloads(r->tap, HAL_TAP_CSUM);
	case MOCK_TAP_SET_VNET_HDR_SIZE: return r->tap->ops->set_vnet_hdr_size(r->tap, 12);
	case MOCK_OP_COUNT: break;
	}
	rc = -1;
	fail_msg("no such op %d", op);
	return rc;
}

static void test_fail_every_op(void **state)
{
	(void)state;
	for (int op = 0; op < MOCK_OP_COUNT; op++) {
		struct rig r;
		const int sentinel = -ENOTRECOVERABLE;

		rig_init(&r);
		size_t before = hal_mock_call_count(r.h, op);
		hal_mock_fail_nth(r.h, op, 1, sentinel);
		int rc = invoke(&r, op);
		if (rc != sentinel)
			fail_msg("op %s returned %d, not the injected error", hal_mock_op_name(op), rc);
		assert_int_equal(hal_mock_call_count(r.h, op), before + 1);
		assert_int_equal(hal_mock_last_call(r.h, op)->result, sentinel);
		assert_true(msg_has(hal_mock_op_name(op)));
		/* One shot: the next call does the work. The rig made the
		 * irqchip, PIT and a vCPU already, so those three refuse. */
		rc = invoke(&r, op);
		if (rc < 0 && op != MOCK_CREATE_IRQCHIP && op != MOCK_CREATE_PIT &&
		    op != MOCK_SET_IDENTITY_MAP_ADDR)
			fail_msg("op %s failed after the fault: %d (%s)", hal_mock_op_name(op), rc,
				 err_last());
		assert_int_not_equal(rc, sentinel);
		rig_fini(&r);
	}
}

/* A fault leaves state alone. */
static void test_fail_does_no_work(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	struct hal_vcpu *v = mkvcpu(vm, 0);
	struct kvm_regs regs = { .rip = 0x1234, .rflags = 2 };
	struct kvm_regs got;

	hal_mock_fail_nth(h, MOCK_SET_REGS, 1, -EFAULT);
	assert_int_equal(v->ops->set_regs(v, &regs), -EFAULT);
	assert_int_equal(v->ops->get_regs(v, &got), 0);
	assert_int_equal(got.rip, 0xfff0);

	hal_mock_fail_nth(h, MOCK_CREATE_IRQCHIP, 1, -ENOMEM);
	assert_int_equal(vm->ops->create_irqchip(vm), -ENOMEM);
	assert_int_equal(vm->ops->set_irq_line(vm, 4, 1), -ENXIO);
	h->ops->destroy(h);
}

/* ---- supported CPUID ------------------------------------------------------ */

static void test_supported_cpuid(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[256];
	} t;

	memset(&t, 0, sizeof(t));
	t.c.nent = 256;
	assert_int_equal(h->ops->get_supported_cpuid(h, &t.c), 0);
	uint32_t n = t.c.nent;
	assert_true(n >= 8 && n < 256);
	assert_int_equal(hal_mock_last_call(h, MOCK_GET_SUPPORTED_CPUID)->args[0], 256);
	/* Leaf 0 names the vendor; leaf 1 has the hypervisor bit. */
	bool leaf0 = false, leaf1 = false;
	for (uint32_t i = 0; i < n; i++) {
		if (t.c.entries[i].function == 0) {
			leaf0 = true;
			assert_true(t.c.entries[i].eax >= 0xd);
		}
		if (t.c.entries[i].function == 1) {
			leaf1 = true;
			assert_true(t.c.entries[i].ecx & (1u << 31));
		}
	}
	assert_true(leaf0 && leaf1);

	/* Too small: -E2BIG and nent says how many are needed. */
	t.c.nent = 2;
	assert_int_equal(h->ops->get_supported_cpuid(h, &t.c), -E2BIG);
	assert_int_equal(t.c.nent, n);
	assert_true(msg_has("entries"));

	/* A test can replace the set. */
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[2];
	} mine = { .c.nent = 2, .e = { { .function = 0, .eax = 1 }, { .function = 1, .ecx = 7 } } };
	assert_int_equal(hal_mock_set_supported_cpuid(h, &mine.c), 0);
	t.c.nent = 256;
	assert_int_equal(h->ops->get_supported_cpuid(h, &t.c), 0);
	assert_int_equal(t.c.nent, 2);
	assert_int_equal(t.c.entries[1].ecx, 7);
	mine.c.nent = 257;
	assert_int_equal(hal_mock_set_supported_cpuid(h, &mine.c), -E2BIG);
	h->ops->destroy(h);
}

/* ---- guest memory --------------------------------------------------------- */

static void test_mem_alloc(void **state)
{
	(void)state;
	struct hal *h = mk();
	uint8_t *p = NULL, *q = NULL;
	void *leak = NULL;

	assert_int_equal(h->ops->mem_alloc(h, 64 * PAGE, HAL_MEM_NORESERVE, (void **)&p), 0);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % PAGE, 0);
	for (size_t i = 0; i < 64 * PAGE; i++)
		if (p[i])
			fail_msg("byte %zu not zero", i);
	memset(p, 0xab, 64 * PAGE);
	assert_int_equal(h->ops->mem_alloc(h, 100, HAL_MEM_HUGEPAGES, (void **)&q), 0);
	assert_int_equal((uintptr_t)q % PAGE, 0);
	assert_int_equal(q[99], 0);

	const struct hal_mock_call *c = hal_mock_last_call(h, MOCK_MEM_ALLOC);
	assert_int_equal(c->args[0], 100);
	assert_int_equal(c->args[1], HAL_MEM_HUGEPAGES);
	assert_int_equal(c->args[2], (uintptr_t)q);

	assert_int_equal(h->ops->mem_alloc(h, 0, 0, &leak), -EINVAL);
	assert_int_equal(h->ops->mem_alloc(h, PAGE, 1u << 7, &leak), -EINVAL);
	assert_true(msg_has("flags"));

	assert_int_equal(h->ops->mem_free(h, p, 63 * PAGE), -EINVAL);
	assert_true(msg_has("size"));
	assert_int_equal(h->ops->mem_free(h, p + PAGE, PAGE), -EINVAL);
	assert_int_equal(h->ops->mem_free(h, p, 64 * PAGE), 0);
	assert_int_equal(h->ops->mem_free(h, p, 64 * PAGE), -EINVAL);
	c = hal_mock_last_call(h, MOCK_MEM_FREE);
	assert_int_equal(c->args[0], (uintptr_t)p);
	assert_int_equal(c->args[1], 64 * PAGE);

	/* Allocations left alive are freed by destroy (valgrind checks). */
	assert_int_equal(h->ops->mem_alloc(h, 3 * PAGE, 0, &leak), 0);
	h->ops->destroy(h);
}

static int temp_file(size_t pages)
{
	char path[] = "/tmp/ember-test-hal-XXXXXX";
	int fd = mkstemp(path);
	uint8_t page[PAGE];

	assert_true(fd >= 0);
	unlink(path);
	for (size_t i = 0; i < pages; i++) {
		memset(page, (int)(0x10 + i), sizeof(page));
		assert_int_equal(write(fd, page, sizeof(page)), (ssize_t)sizeof(page));
	}
	return fd;
}

static void test_mem_map_file_private(void **state)
{
	(void)state;
	struct hal *h = mk();
	int fd = temp_file(4);
	uint8_t *p = NULL;
	uint8_t b;
	void *bad;

	assert_int_equal(h->ops->mem_map_file(h, fd, PAGE, 2 * PAGE, true, (void **)&p), 0);
	assert_int_equal((uintptr_t)p % PAGE, 0);
	assert_int_equal(p[0], 0x11);
	assert_int_equal(p[2 * PAGE - 1], 0x12);
	const struct hal_mock_call *c = hal_mock_last_call(h, MOCK_MEM_MAP_FILE);
	assert_int_equal(c->args[0], (uint64_t)fd);
	assert_int_equal(c->args[1], PAGE);
	assert_int_equal(c->args[2], 2 * PAGE);
	assert_int_equal(c->args[3], 1);

	/* Copy-on-write: the file keeps its bytes. */
	p[0] = 0xee;
	assert_int_equal(h->ops->mem_free(h, p, 2 * PAGE), 0);
	assert_int_equal(pread(fd, &b, 1, PAGE), 1);
	assert_int_equal(b, 0x11);

	assert_int_equal(h->ops->mem_map_file(h, fd, 100, PAGE, true, &bad), -EINVAL);
	assert_true(msg_has("offset"));
	assert_int_equal(h->ops->mem_map_file(h, fd, 0, 0, true, &bad), -EINVAL);
	assert_int_equal(h->ops->mem_map_file(h, fd, 3 * PAGE, 2 * PAGE, true, &bad), -EINVAL);
	assert_true(msg_has("end of file"));
	assert_int_equal(h->ops->mem_map_file(h, -1, 0, PAGE, true, &bad), -EBADF);

	/* Left mapped: destroy frees it. */
	assert_int_equal(h->ops->mem_map_file(h, fd, 0, PAGE, true, (void **)&p), 0);
	h->ops->destroy(h);
	close(fd);
}

static void test_mem_map_file_shared(void **state)
{
	(void)state;
	struct hal *h = mk();
	int fd = temp_file(2);
	uint8_t *p = NULL;
	uint8_t b;

	assert_int_equal(h->ops->mem_map_file(h, fd, PAGE, PAGE, false, (void **)&p), 0);
	assert_int_equal(p[5], 0x11);
	p[5] = 0x77;
	assert_int_equal(h->ops->mem_free(h, p, PAGE), 0);
	assert_int_equal(pread(fd, &b, 1, PAGE + 5), 1);
	assert_int_equal(b, 0x77);

	/* A shared mapping still alive at destroy is written back too. */
	assert_int_equal(h->ops->mem_map_file(h, fd, 0, PAGE, false, (void **)&p), 0);
	p[0] = 0x55;
	h->ops->destroy(h);
	assert_int_equal(pread(fd, &b, 1, 0), 1);
	assert_int_equal(b, 0x55);
	close(fd);
}

/* ---- the VM --------------------------------------------------------------- */

static void test_tss_and_identity_map(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);

	assert_ptr_equal(hal_mock_vm(h), vm);
	assert_int_equal(vm->ops->set_tss_addr(vm, 0xfffbd000), 0);
	assert_int_equal(hal_mock_last_call(h, MOCK_SET_TSS_ADDR)->args[0], 0xfffbd000);
	assert_int_equal(vm->ops->set_tss_addr(vm, 0xfffff000), -EINVAL);
	assert_true(msg_has("TSS"));
	assert_int_equal(vm->ops->set_identity_map_addr(vm, 0xfffbc000), 0);
	assert_int_equal(hal_mock_last_call(h, MOCK_SET_IDENTITY_MAP_ADDR)->args[0], 0xfffbc000);
	mkvcpu(vm, 0);
	assert_int_equal(vm->ops->set_identity_map_addr(vm, 0xfffbc000), -EINVAL);
	assert_true(msg_has("vCPU"));
	h->ops->destroy(h);
}

static void test_memory_slots(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	uint8_t *mem = NULL;
	uint64_t gpa, size;
	void *host;
	unsigned flags;

	assert_int_equal(h->ops->mem_alloc(h, 64 * PAGE, 0, (void **)&mem), 0);
	assert_false(hal_mock_slot(h, 0, &gpa, &size, &host, &flags));
	assert_int_equal(vm->ops->set_memory_slot(vm, 0, 0, 16 * PAGE, mem, 0), 0);
	assert_true(hal_mock_slot(h, 0, &gpa, &size, &host, &flags));
	assert_int_equal(gpa, 0);
	assert_int_equal(size, 16 * PAGE);
	assert_ptr_equal(host, mem);
	assert_int_equal(flags, 0);

	/* Overlaps, from either side or inside, are refused like KVM. */
	assert_int_equal(vm->ops->set_memory_slot(vm, 1, 15 * PAGE, 2 * PAGE, mem, 0), -EEXIST);
	assert_true(msg_has("overlaps slot 0"));
	assert_int_equal(vm->ops->set_memory_slot(vm, 1, 4 * PAGE, PAGE, mem, 0), -EEXIST);
	assert_int_equal(vm->ops->set_memory_slot(vm, 2, 32 * PAGE, 16 * PAGE, mem, 0), 0);
	assert_int_equal(vm->ops->set_memory_slot(vm, 1, 16 * PAGE, 32 * PAGE, mem, 0), -EEXIST);
	/* Adjacent is fine. */
	assert_int_equal(vm->ops->set_memory_slot(vm, 1, 16 * PAGE, 16 * PAGE, mem + 16 * PAGE,
						  HAL_SLOT_READONLY), 0);
	assert_true(hal_mock_slot(h, 1, NULL, NULL, NULL, &flags));
	assert_int_equal(flags, HAL_SLOT_READONLY);

	/* Bad arguments. */
	assert_int_equal(vm->ops->set_memory_slot(vm, 3, 100, PAGE, mem, 0), -EINVAL);
	assert_true(msg_has("aligned"));
	assert_int_equal(vm->ops->set_memory_slot(vm, 3, 1ull << 40, 100, mem, 0), -EINVAL);
	assert_int_equal(vm->ops->set_memory_slot(vm, 3, 1ull << 40, PAGE, mem + 1, 0), -EINVAL);
	assert_int_equal(vm->ops->set_memory_slot(vm, 3, 1ull << 40, PAGE, NULL, 0), -EFAULT);
	assert_int_equal(vm->ops->set_memory_slot(vm, HAL_MOCK_MAX_SLOTS, 1ull << 40, PAGE, mem, 0),
			 -EINVAL);
	assert_int_equal(vm->ops->set_memory_slot(vm, 3, 1ull << 40, PAGE, mem, 1u << 5), -EINVAL);
	assert_int_equal(vm->ops->set_memory_slot(vm, 3, UINT64_MAX - PAGE + 1, 2 * PAGE, mem, 0),
			 -EINVAL);
	assert_true(msg_has("wraps"));

	/* Changing a slot: size no, readonly no, move and dirty logging yes. */
	assert_int_equal(vm->ops->set_memory_slot(vm, 2, 32 * PAGE, 8 * PAGE, mem, 0), -EINVAL);
	assert_int_equal(vm->ops->set_memory_slot(vm, 1, 16 * PAGE, 16 * PAGE, mem + 16 * PAGE, 0),
			 -EINVAL);
	assert_int_equal(vm->ops->set_memory_slot(vm, 2, 48 * PAGE, 16 * PAGE, mem, HAL_SLOT_DIRTY_LOG),
			 0);
	assert_true(hal_mock_slot(h, 2, &gpa, NULL, NULL, &flags));
	assert_int_equal(gpa, 48 * PAGE);
	assert_int_equal(flags, HAL_SLOT_DIRTY_LOG);
	/* Moving onto a neighbour still overlaps. */
	assert_int_equal(vm->ops->set_memory_slot(vm, 2, 8 * PAGE, 16 * PAGE, mem, 0), -EEXIST);

	/* Size 0 deletes; deleting an empty slot is -EINVAL. */
	assert_int_equal(vm->ops->set_memory_slot(vm, 2, 0, 0, NULL, 0), 0);
	assert_false(hal_mock_slot(h, 2, NULL, NULL, NULL, NULL));
	assert_int_equal(vm->ops->set_memory_slot(vm, 2, 0, 0, NULL, 0), -EINVAL);
	assert_false(hal_mock_slot(h, HAL_MOCK_MAX_SLOTS, NULL, NULL, NULL, NULL));
	h->ops->destroy(h);
}

static void test_irqchip_and_pit(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	struct kvm_irqchip chip = { .chip_id = 2 };
	struct kvm_pit_state2 pit;

	assert_int_equal(vm->ops->get_irqchip(vm, &chip), -ENXIO);
	assert_int_equal(vm->ops->set_irqchip(vm, &chip), -ENXIO);
	assert_int_equal(vm->ops->get_pit(vm, &pit), -ENXIO);
	assert_int_equal(vm->ops->set_pit(vm, &pit), -ENXIO);
	assert_true(msg_has("PIT"));
	assert_int_equal(vm->ops->create_irqchip(vm), 0);
	assert_int_equal(vm->ops->create_irqchip(vm), -EEXIST);
	assert_int_equal(vm->ops->create_pit(vm), 0);
	assert_int_equal(vm->ops->create_pit(vm), -EEXIST);

	/* IOAPIC starts with every pin masked, at its usual base. */
	assert_int_equal(vm->ops->get_irqchip(vm, &chip), 0);
	assert_int_equal(chip.chip_id, 2);
	assert_int_equal(chip.chip.ioapic.base_address, 0xfec00000);
	for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		assert_true(chip.chip.ioapic.redirtbl[i].fields.mask);
	assert_int_equal(hal_mock_last_call(h, MOCK_GET_IRQCHIP)->args[0], 2);

	/* Each chip round-trips on its own. */
	struct kvm_irqchip pic = { .chip_id = 1 };
	pic.chip.pic.imr = 0xfb;
	pic.chip.pic.irq_base = 0x70;
	assert_int_equal(vm->ops->set_irqchip(vm, &pic), 0);
	assert_int_equal(hal_mock_last_call(h, MOCK_SET_IRQCHIP)->args[0], 1);
	memset(&pic, 0, sizeof(pic));
	pic.chip_id = 1;
	assert_int_equal(vm->ops->get_irqchip(vm, &pic), 0);
	assert_int_equal(pic.chip.pic.imr, 0xfb);
	assert_int_equal(pic.chip.pic.irq_base, 0x70);
	pic.chip_id = 0;
	assert_int_equal(vm->ops->get_irqchip(vm, &pic), 0);
	assert_int_equal(pic.chip.pic.imr, 0);

	chip.chip_id = 3;
	assert_int_equal(vm->ops->get_irqchip(vm, &chip), -EINVAL);
	assert_int_equal(vm->ops->set_irqchip(vm, &chip), -EINVAL);

	memset(&pit, 0, sizeof(pit));
	pit.channels[0].count = 0x1234;
	pit.channels[2].mode = 3;
	pit.flags = 1;
	assert_int_equal(vm->ops->set_pit(vm, &pit), 0);
	memset(&pit, 0, sizeof(pit));
	assert_int_equal(vm->ops->get_pit(vm, &pit), 0);
	assert_int_equal(pit.channels[0].count, 0x1234);
	assert_int_equal(pit.channels[2].mode, 3);
	assert_int_equal(pit.flags, 1);

	/* The irqchip must come before any vCPU. */
	struct hal_vm *vm2 = mkvm(h);
	mkvcpu(vm2, 0);
	assert_int_equal(vm2->ops->create_irqchip(vm2), -EINVAL);
	h->ops->destroy(h);
}

static void test_irq_lines(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);

	assert_int_equal(vm->ops->set_irq_line(vm, 4, 1), -ENXIO);
	assert_true(msg_has("irqchip"));
	assert_int_equal(hal_mock_irq_raises(h, 4), 0);
	assert_int_equal(vm->ops->create_irqchip(vm), 0);

	assert_int_equal(hal_mock_irq_level(h, 4), 0);
	assert_int_equal(vm->ops->set_irq_line(vm, 4, 1), 0);
	assert_int_equal(hal_mock_irq_level(h, 4), 1);
	assert_int_equal(vm->ops->set_irq_line(vm, 4, 1), 0); /* still high: no new raise */
	assert_int_equal(hal_mock_irq_raises(h, 4), 1);
	assert_int_equal(vm->ops->set_irq_line(vm, 4, 0), 0);
	assert_int_equal(hal_mock_irq_level(h, 4), 0);
	assert_int_equal(vm->ops->set_irq_line(vm, 4, 1), 0);
	assert_int_equal(vm->ops->set_irq_line(vm, 4, 0), 0);
	assert_int_equal(hal_mock_irq_raises(h, 4), 2);
	assert_int_equal(hal_mock_irq_raises(h, 5), 0);
	const struct hal_mock_call *c = hal_mock_last_call(h, MOCK_SET_IRQ_LINE);
	assert_int_equal(c->args[0], 4);
	assert_int_equal(c->args[1], 0);

	assert_int_equal(vm->ops->set_irq_line(vm, HAL_MOCK_NR_GSI, 1), -EINVAL);
	assert_int_equal(vm->ops->set_irq_line(vm, 4, 2), -EINVAL);
	assert_int_equal(hal_mock_irq_level(h, HAL_MOCK_NR_GSI), -1);
	assert_int_equal(hal_mock_irq_raises(h, HAL_MOCK_NR_GSI), 0);
	h->ops->destroy(h);
	h = mk();
	assert_int_equal(hal_mock_irq_level(h, 4), -1); /* no VM */
	h->ops->destroy(h);
}

static void test_irqfd(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	int a = eventfd(0, EFD_CLOEXEC), b = eventfd(0, EFD_CLOEXEC);

	assert_int_equal(vm->ops->irqfd(vm, a, 5, true), -EAGAIN);
	assert_int_equal(vm->ops->create_irqchip(vm), 0);
	assert_int_equal(hal_mock_irqfd(h, 5), -1);
	assert_int_equal(vm->ops->irqfd(vm, a, 5, true), 0);
	assert_int_equal(hal_mock_irqfd(h, 5), a);
	const struct hal_mock_call *c = hal_mock_last_call(h, MOCK_IRQFD);
	assert_int_equal(c->args[0], (uint64_t)a);
	assert_int_equal(c->args[1], 5);
	assert_int_equal(c->args[2], 1);

	assert_int_equal(vm->ops->irqfd(vm, a, 6, true), -EEXIST);
	assert_true(msg_has("already"));
	assert_int_equal(vm->ops->irqfd(vm, b, 6, true), 0);
	assert_int_equal(hal_mock_irqfd(h, 6), b);
	assert_int_equal(vm->ops->irqfd(vm, b, 5, false), -ENOENT);
	assert_int_equal(vm->ops->irqfd(vm, a, 5, false), 0);
	assert_int_equal(hal_mock_irqfd(h, 5), -1);
	assert_int_equal(vm->ops->irqfd(vm, a, 5, false), -ENOENT);
	assert_int_equal(vm->ops->irqfd(vm, -1, 5, true), -EBADF);
	assert_int_equal(vm->ops->irqfd(vm, a, HAL_MOCK_NR_GSI, true), -EINVAL);
	/* b stays registered: VM destroy drops it. */
	h->ops->destroy(h);
	close(a);
	close(b);
}

static void test_ioeventfd(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	int a = eventfd(0, EFD_CLOEXEC), b = eventfd(0, EFD_CLOEXEC);
	struct hal_ioeventfd mmio = { .fd = a, .addr = 0xd0000050, .len = 4, .datamatch = true, .data = 0 };
	struct hal_ioeventfd pio = { .fd = b, .addr = 0xd0000050, .len = 2, .pio = true };

	assert_int_equal(hal_mock_ioeventfd(h, 0xd0000050, false), -1);
	assert_int_equal(vm->ops->ioeventfd(vm, &mmio, true), 0);
	assert_int_equal(vm->ops->ioeventfd(vm, &pio, true), 0); /* same addr, other bus */
	assert_int_equal(hal_mock_ioeventfd(h, 0xd0000050, false), a);
	assert_int_equal(hal_mock_ioeventfd(h, 0xd0000050, true), b);
	const struct hal_mock_call *c = hal_mock_last_call(h, MOCK_IOEVENTFD);
	assert_int_equal(c->args[0], 0xd0000050);
	assert_int_equal(c->args[1], 2);
	assert_int_equal(c->args[3], KVM_IOEVENTFD_FLAG_PIO);

	/* Same address and data: taken. Another data value: fine. */
	assert_int_equal(vm->ops->ioeventfd(vm, &mmio, true), -EEXIST);
	struct hal_ioeventfd q1 = mmio;
	q1.fd = b;
	q1.data = 1;
	assert_int_equal(vm->ops->ioeventfd(vm, &q1, true), 0);
	/* A wildcard collides with any data match on the address. */
	struct hal_ioeventfd any = { .fd = b, .addr = 0xd0000050, .len = 4 };
	assert_int_equal(vm->ops->ioeventfd(vm, &any, true), -EEXIST);

	/* Deassign needs an exact match. */
	assert_int_equal(vm->ops->ioeventfd(vm, &q1, false), 0);
	c = hal_mock_last_call(h, MOCK_IOEVENTFD);
	assert_int_equal(c->args[2], 1);
	assert_int_equal(c->args[3], KVM_IOEVENTFD_FLAG_DATAMATCH | KVM_IOEVENTFD_FLAG_DEASSIGN);
	assert_int_equal(vm->ops->ioeventfd(vm, &q1, false), -ENOENT);
	assert_int_equal(vm->ops->ioeventfd(vm, &mmio, false), 0);
	assert_int_equal(hal_mock_ioeventfd(h, 0xd0000050, false), -1);

	/* Bad arguments. */
	struct hal_ioeventfd bad = { .fd = a, .addr = 0x1000, .len = 3 };
	assert_int_equal(vm->ops->ioeventfd(vm, &bad, true), -EINVAL);
	bad.len = 0;
	bad.datamatch = true;
	assert_int_equal(vm->ops->ioeventfd(vm, &bad, true), -EINVAL);
	bad.datamatch = false;
	bad.fd = -1;
	assert_int_equal(vm->ops->ioeventfd(vm, &bad, true), -EBADF);
	bad.fd = a;
	bad.len = 8;
	bad.addr = UINT64_MAX - 2;
	assert_int_equal(vm->ops->ioeventfd(vm, &bad, true), -EINVAL);
	/* len 0 is a wildcard on length; it is fine alone. */
	bad.addr = 0x2000;
	bad.len = 0;
	assert_int_equal(vm->ops->ioeventfd(vm, &bad, true), 0);
	h->ops->destroy(h); /* pio stays registered: destroy drops it */
	close(a);
	close(b);
}

static void test_clock(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	struct kvm_clock_data clock = { .clock = 123456789 };

	assert_int_equal(vm->ops->set_clock(vm, &clock), 0);
	assert_int_equal(hal_mock_last_call(h, MOCK_SET_CLOCK)->args[0], 123456789);
	memset(&clock, 0, sizeof(clock));
	assert_int_equal(vm->ops->get_clock(vm, &clock), 0);
	assert_int_equal(clock.clock, 123456789);
	assert_int_equal(hal_mock_last_call(h, MOCK_GET_CLOCK)->args[0], 123456789);
	h->ops->destroy(h);
}

static void test_dirty_log(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	void *mem = NULL;
	uint64_t bitmap[2];

	assert_int_equal(hal_mock_set_dirty_bitmap(h, 0, "x", 1), -ENOENT);
	assert_int_equal(h->ops->mem_alloc(h, 100 * PAGE, 0, &mem), 0);
	assert_int_equal(vm->ops->set_memory_slot(vm, 0, 0, 100 * PAGE, mem, HAL_SLOT_DIRTY_LOG), 0);
	assert_int_equal(vm->ops->set_memory_slot(vm, 1, 1ull << 32, PAGE, mem, 0), 0);

	/* 100 pages: two 64-bit words. Nothing dirty yet. */
	memset(bitmap, 0xff, sizeof(bitmap));
	assert_int_equal(vm->ops->get_dirty_log(vm, 0, bitmap), 0);
	assert_int_equal(bitmap[0], 0);
	assert_int_equal(bitmap[1], 0);

	uint8_t dirty[16] = { 0x05, [9] = 0x80 };
	assert_int_equal(hal_mock_set_dirty_bitmap(h, 0, dirty, sizeof(dirty)), 0);
	assert_int_equal(vm->ops->get_dirty_log(vm, 0, bitmap), 0);
	assert_int_equal(bitmap[0], 0x05);
	assert_int_equal(bitmap[1], 0x8000);
	assert_int_equal(hal_mock_last_call(h, MOCK_GET_DIRTY_LOG)->args[0], 0);
	/* Reading cleared the log. */
	assert_int_equal(vm->ops->get_dirty_log(vm, 0, bitmap), 0);
	assert_int_equal(bitmap[0], 0);

	assert_int_equal(hal_mock_set_dirty_bitmap(h, 0, dirty, 17), -EINVAL);
	assert_int_equal(hal_mock_set_dirty_bitmap(h, 5, dirty, 1), -ENOENT);
	assert_int_equal(hal_mock_set_dirty_bitmap(h, HAL_MOCK_MAX_SLOTS, dirty, 1), -ENOENT);
	assert_int_equal(vm->ops->get_dirty_log(vm, 1, bitmap), -ENOENT);
	assert_true(msg_has("dirty"));
	assert_int_equal(vm->ops->get_dirty_log(vm, 7, bitmap), -ENOENT);
	assert_int_equal(vm->ops->get_dirty_log(vm, HAL_MOCK_MAX_SLOTS, bitmap), -ENOENT);

	/* A pending bitmap is freed with its slot. */
	assert_int_equal(hal_mock_set_dirty_bitmap(h, 0, dirty, 1), 0);
	assert_int_equal(vm->ops->set_memory_slot(vm, 0, 0, 0, NULL, 0), 0);
	assert_int_equal(vm->ops->set_memory_slot(vm, 0, 0, 100 * PAGE, mem, HAL_SLOT_DIRTY_LOG), 0);
	assert_int_equal(hal_mock_set_dirty_bitmap(h, 0, dirty, 1), 0);
	h->ops->destroy(h);
}

/* ---- vCPUs ----------------------------------------------------------------- */

static void test_create_vcpu(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	struct hal_vcpu *v0 = mkvcpu(vm, 0), *v3 = mkvcpu(vm, 3), *x;

	assert_int_equal(v3->id, 3);
	assert_ptr_equal(v3->vm, vm);
	assert_ptr_equal(hal_mock_vcpu(h, 0), v0);
	assert_ptr_equal(hal_mock_vcpu(h, 3), v3);
	assert_null(hal_mock_vcpu(h, 1));
	assert_null(hal_mock_vcpu(h, HAL_MOCK_MAX_VCPUS));
	assert_int_equal(hal_mock_last_call(h, MOCK_CREATE_VCPU)->args[0], 3);

	assert_int_equal(vm->ops->create_vcpu(vm, 3, &x), -EEXIST);
	assert_int_equal(vm->ops->create_vcpu(vm, HAL_MOCK_MAX_VCPUS, &x), -EINVAL);
	assert_true(msg_has("id"));
	assert_int_equal(hal_mock_set_cap(h, HAL_CAP_MAX_VCPUS, 3), 0);
	mkvcpu(vm, 1);
	assert_int_equal(vm->ops->create_vcpu(vm, 2, &x), -EINVAL);
	assert_true(msg_has("max"));

	v3->ops->destroy(v3);
	assert_null(hal_mock_vcpu(h, 3));
	mkvcpu(vm, 2);
	/* The VM takes its remaining vCPUs with it. */
	vm->ops->destroy(vm);
	assert_null(hal_mock_vm(h));
	assert_null(hal_mock_vcpu(h, 0));
	h->ops->destroy(h);
}

static void test_vcpu_reset_state(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	struct hal_vcpu *bsp = mkvcpu(vm, 0), *ap = mkvcpu(vm, 1);
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events ev;
	static struct kvm_xsave xs;

	assert_int_equal(bsp->ops->get_regs(bsp, &regs), 0);
	assert_int_equal(regs.rip, 0xfff0);
	assert_int_equal(regs.rflags, 2);
	assert_int_equal(bsp->ops->get_sregs(bsp, &sregs), 0);
	assert_int_equal(sregs.cr0, 0x60000010);
	assert_int_equal(sregs.cs.selector, 0xf000);
	assert_int_equal(sregs.cs.base, 0xffff0000);
	assert_int_equal(sregs.apic_base, 0xfee00900);
	assert_int_equal(ap->ops->get_sregs(ap, &sregs), 0);
	assert_int_equal(sregs.apic_base, 0xfee00800);
	assert_int_equal(bsp->ops->get_fpu(bsp, &fpu), 0);
	assert_int_equal(fpu.fcw, 0x37f);
	assert_int_equal(fpu.mxcsr, 0x1f80);
	assert_int_equal(bsp->ops->get_xsave(bsp, &xs), 0);
	assert_int_equal(xs.region[0] & 0xffff, 0x37f);
	assert_int_equal(xs.region[6], 0x1f80);
	assert_int_equal(bsp->ops->get_xcrs(bsp, &xcrs), 0);
	assert_int_equal(xcrs.nr_xcrs, 1);
	assert_int_equal(xcrs.xcrs[0].value, 1);
	assert_int_equal(ap->ops->get_lapic(ap, &lapic), 0);
	uint32_t id_reg;
	memcpy(&id_reg, &lapic.regs[0x20], 4);
	assert_int_equal(id_reg, 1u << 24);
	assert_int_equal(bsp->ops->get_mp_state(bsp, &mp), 0);
	assert_int_equal(mp.mp_state, KVM_MP_STATE_RUNNABLE);
	assert_int_equal(ap->ops->get_mp_state(ap, &mp), 0);
	assert_int_equal(mp.mp_state, KVM_MP_STATE_UNINITIALIZED);
	assert_int_equal(ap->ops->get_events(ap, &ev), 0);
	assert_int_equal(ev.exception.injected, 0);
	h->ops->destroy(h);
}

static void test_vcpu_state_round_trips(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	struct hal_vcpu *v = mkvcpu(vm, 2);
	const struct hal_mock_call *c;

	struct kvm_regs regs = { .rax = 1, .rsi = 0x7000, .rip = 0x1000000, .rsp = 0x8ff0, .rflags = 2 };
	struct kvm_regs regs2;
	assert_int_equal(v->ops->set_regs(v, &regs), 0);
	c = hal_mock_last_call(h, MOCK_SET_REGS);
	assert_int_equal(c->args[0], 2);
	assert_int_equal(c->args[1], 0x1000000);
	assert_int_equal(c->args[2], 0x8ff0);
	assert_int_equal(v->ops->get_regs(v, &regs2), 0);
	assert_memory_equal(&regs, &regs2, sizeof(regs));
	assert_int_equal(hal_mock_last_call(h, MOCK_GET_REGS)->args[0], 2);

	struct kvm_sregs sregs = { 0 }, sregs2;
	sregs.cr0 = 0x80050033;
	sregs.cr3 = 0x9000;
	sregs.cr4 = 0x20;
	sregs.efer = 0x500;
	sregs.cs.l = 1;
	sregs.cs.selector = 0x10;
	assert_int_equal(v->ops->set_sregs(v, &sregs), 0);
	c = hal_mock_last_call(h, MOCK_SET_SREGS);
	assert_int_equal(c->args[1], 0x80050033);
	assert_int_equal(c->args[2], 0x9000);
	assert_int_equal(c->args[3], 0x20);
	assert_int_equal(v->ops->get_sregs(v, &sregs2), 0);
	assert_memory_equal(&sregs, &sregs2, sizeof(sregs));

	struct kvm_fpu fpu = { .fcw = 0x27f, .mxcsr = 0x1fa0 }, fpu2;
	fpu.xmm[3][0] = 9;
	assert_int_equal(v->ops->set_fpu(v, &fpu), 0);
	assert_int_equal(v->ops->get_fpu(v, &fpu2), 0);
	assert_memory_equal(&fpu, &fpu2, sizeof(fpu));

	static struct kvm_xsave xs, xs2;
	for (size_t i = 0; i < sizeof(xs.region) / sizeof(xs.region[0]); i++)
		xs.region[i] = (uint32_t)(i * 2654435761u);
	assert_int_equal(v->ops->set_xsave(v, &xs), 0);
	assert_int_equal(v->ops->get_xsave(v, &xs2), 0);
	assert_memory_equal(&xs, &xs2, sizeof(xs));

	struct kvm_xcrs xcrs = { .nr_xcrs = 1, .xcrs[0] = { .xcr = 0, .value = 7 } }, xcrs2;
	assert_int_equal(v->ops->set_xcrs(v, &xcrs), 0);
	assert_int_equal(hal_mock_last_call(h, MOCK_SET_XCRS)->args[1], 1);
	assert_int_equal(v->ops->get_xcrs(v, &xcrs2), 0);
	assert_memory_equal(&xcrs, &xcrs2, sizeof(xcrs));
	xcrs.nr_xcrs = KVM_MAX_XCRS + 1;
	assert_int_equal(v->ops->set_xcrs(v, &xcrs), -EINVAL);

	static struct kvm_lapic_state lapic, lapic2;
	memset(lapic.regs, 0x5a, sizeof(lapic.regs));
	assert_int_equal(v->ops->set_lapic(v, &lapic), 0);
	assert_int_equal(v->ops->get_lapic(v, &lapic2), 0);
	assert_memory_equal(&lapic, &lapic2, sizeof(lapic));

	struct kvm_vcpu_events ev = { 0 }, ev2;
	ev.nmi.pending = 1;
	ev.interrupt.injected = 1;
	ev.interrupt.nr = 0x30;
	assert_int_equal(v->ops->set_events(v, &ev), 0);
	assert_int_equal(v->ops->get_events(v, &ev2), 0);
	assert_memory_equal(&ev, &ev2, sizeof(ev));

	struct kvm_mp_state mp = { KVM_MP_STATE_HALTED }, mp2;
	assert_int_equal(v->ops->set_mp_state(v, &mp), 0);
	assert_int_equal(hal_mock_last_call(h, MOCK_SET_MP_STATE)->args[1], KVM_MP_STATE_HALTED);
	assert_int_equal(v->ops->get_mp_state(v, &mp2), 0);
	assert_int_equal(mp2.mp_state, KVM_MP_STATE_HALTED);
	mp.mp_state = 99;
	assert_int_equal(v->ops->set_mp_state(v, &mp), -EINVAL);
	h->ops->destroy(h);
}

/* KVM refuses inconsistent control registers; so does the mock, so boot
 * state bugs show up in unit tests. */
static void test_sregs_checked_like_kvm(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	struct hal_vcpu *v = mkvcpu(vm, 0);
	struct kvm_sregs s;

	assert_int_equal(v->ops->get_sregs(v, &s), 0);
	s.cr0 = 0x80000000; /* PG without PE */
	assert_int_equal(v->ops->set_sregs(v, &s), -EINVAL);
	assert_true(msg_has("CR0"));
	s.cr0 = 0x80000011;
	s.efer = 0x500; /* LME|LMA */
	s.cr4 = 0;      /* but no PAE */
	assert_int_equal(v->ops->set_sregs(v, &s), -EINVAL);
	assert_true(msg_has("PAE"));
	s.cr4 = 0x20;
	s.efer = 0x100; /* LME without LMA while paging */
	assert_int_equal(v->ops->set_sregs(v, &s), -EINVAL);
	s.cr0 = 0x11; /* LMA without paging */
	s.efer = 0x400;
	assert_int_equal(v->ops->set_sregs(v, &s), -EINVAL);
	s.cr0 = 0x60000011 & ~0x40000000u; /* NW without CD */
	s.efer = 0;
	assert_int_equal(v->ops->set_sregs(v, &s), -EINVAL);
	s.cr0 = 0x11;
	assert_int_equal(v->ops->set_sregs(v, &s), 0);
	h->ops->destroy(h);
}

static void test_msrs(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	struct hal_vcpu *v = mkvcpu(vm, 1);
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e[4];
	} w = { .m.nmsrs = 3, .e = { { .index = 0x174, .data = 0x10 }, { .index = 0xc0000080, .data = 0x500 },
				     { .index = 0x10, .data = 99 } } };
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e[4];
	} r = { .m.nmsrs = 4, .e = { { .index = 0x10 }, { .index = 0x174 }, { .index = 0x1234 },
				     { .index = 0xc0000080 } } };

	assert_int_equal(v->ops->set_msrs(v, &w.m), 3);
	const struct hal_mock_call *c = hal_mock_last_call(h, MOCK_SET_MSRS);
	assert_int_equal(c->args[0], 1);
	assert_int_equal(c->args[1], 3);
	assert_int_equal(c->result, 3);
	/* Overwrite one. */
	w.m.nmsrs = 1;
	w.e[0].data = 0x20;
	assert_int_equal(v->ops->set_msrs(v, &w.m), 1);

	assert_int_equal(v->ops->get_msrs(v, &r.m), 4);
	assert_int_equal(r.e[0].data, 99);
	assert_int_equal(r.e[1].data, 0x20);
	assert_int_equal(r.e[2].data, 0); /* never written */
	assert_int_equal(r.e[3].data, 0x500);

	/* A refused MSR stops the batch there, like KVM. */
	assert_int_equal(hal_mock_msr_reject(h, 0x1234), 0);
	assert_int_equal(v->ops->get_msrs(v, &r.m), 2);
	w.m.nmsrs = 3;
	w.e[1].index = 0x1234;
	assert_int_equal(v->ops->set_msrs(v, &w.m), 1);

	/* Many distinct MSRs grow the store. */
	static struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e[256];
	} big;
	big.m.nmsrs = 256;
	for (int i = 0; i < 256; i++) {
		big.e[i].index = 0x40000000u + (uint32_t)i;
		big.e[i].data = (uint64_t)i * 3;
	}
	assert_int_equal(v->ops->set_msrs(v, &big.m), 256);
	for (int i = 0; i < 256; i++)
		big.e[i].data = 0;
	assert_int_equal(v->ops->get_msrs(v, &big.m), 256);
	assert_int_equal(big.e[255].data, 255 * 3);
	big.m.nmsrs = 257;
	assert_int_equal(v->ops->get_msrs(v, &big.m), -E2BIG);
	assert_int_equal(v->ops->set_msrs(v, &big.m), -E2BIG);
	h->ops->destroy(h);
}

static void test_cpuid(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	struct hal_vcpu *v = mkvcpu(vm, 0);
	static struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[257];
	} t;

	assert_null(hal_mock_vcpu_cpuid(h, 0));
	assert_null(hal_mock_vcpu_cpuid(h, 5));
	t.c.nent = 2;
	t.e[0] = (struct kvm_cpuid_entry2){ .function = 1, .ebx = 0x00010800 };
	t.e[1] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 1, .edx = 0 };
	assert_int_equal(v->ops->set_cpuid(v, &t.c), 0);
	assert_int_equal(hal_mock_last_call(h, MOCK_SET_CPUID)->args[1], 2);
	const struct kvm_cpuid2 *got = hal_mock_vcpu_cpuid(h, 0);
	assert_non_null(got);
	assert_int_equal(got->nent, 2);
	assert_int_equal(got->entries[0].ebx, 0x00010800);
	assert_int_equal(got->entries[1].index, 1);
	/* Setting again replaces. */
	t.c.nent = 1;
	assert_int_equal(v->ops->set_cpuid(v, &t.c), 0);
	assert_int_equal(hal_mock_vcpu_cpuid(h, 0)->nent, 1);
	t.c.nent = 257;
	assert_int_equal(v->ops->set_cpuid(v, &t.c), -E2BIG);

	/* After the vCPU ran, only the same CPUID may be set again. */
	struct hal_exit hlt = { .reason = HAL_EXIT_HLT }, ex;
	assert_int_equal(hal_mock_queue_exit(h, 0, &hlt, NULL, 0), 0);
	assert_int_equal(v->ops->run(v, &ex), 0);
	t.c.nent = 1;
	assert_int_equal(v->ops->set_cpuid(v, &t.c), 0);
	t.e[0].ebx = 0;
	assert_int_equal(v->ops->set_cpuid(v, &t.c), -EINVAL);
	assert_true(msg_has("ran"));
	h->ops->destroy(h);
}

/* get_cpuid reads back what set_cpuid stored, with get_supported_cpuid's
 * -E2BIG contract, and fails like any other op when told to. */
static void test_get_cpuid(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	struct hal_vcpu *v = mkvcpu(vm, 3);
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[4];
	} in = { .c.nent = 3 }, out;

	memset(&out, 0xaa, sizeof(out));
	out.c.nent = 4;
	assert_int_equal(v->ops->get_cpuid(v, &out.c), 0);
	assert_int_equal(out.c.nent, 0); /* nothing set yet */
	in.e[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0xd };
	in.e[1] = (struct kvm_cpuid_entry2){ .function = 1, .ebx = 0x03000800, .ecx = 0x80000000 };
	in.e[2] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
	assert_int_equal(v->ops->set_cpuid(v, &in.c), 0);
	out.c.nent = 4;
	assert_int_equal(v->ops->get_cpuid(v, &out.c), 0);
	assert_int_equal(out.c.nent, 3);
	assert_memory_equal(out.e, in.e, 3 * sizeof(in.e[0]));
	assert_int_equal(hal_mock_last_call(h, MOCK_GET_CPUID)->args[0], 3);
	assert_int_equal(hal_mock_last_call(h, MOCK_GET_CPUID)->args[1], 4);

	out.c.nent = 2;
	assert_int_equal(v->ops->get_cpuid(v, &out.c), -E2BIG);
	assert_int_equal(out.c.nent, 3);
	assert_true(msg_has("vCPU 3 has 3 CPUID entries, 2 given"));

	hal_mock_fail_nth(h, MOCK_GET_CPUID, 1, -EIO);
	out.c.nent = 4;
	assert_int_equal(v->ops->get_cpuid(v, &out.c), -EIO);
	assert_int_equal(hal_mock_last_call(h, MOCK_GET_CPUID)->result, -EIO);
	assert_int_equal(hal_mock_call_count(h, MOCK_GET_CPUID), 4);
	h->ops->destroy(h);
}

/* ---- scripted exits -------------------------------------------------------- */

static void test_run_empty_script(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	struct hal_vcpu *v = mkvcpu(vm, 0);
	struct hal_exit ex;

	assert_int_equal(v->ops->run(v, &ex), -ENODATA);
	assert_true(msg_has("no scripted exit"));
	assert_true(msg_has("vCPU 0"));
	assert_int_equal(hal_mock_last_call(h, MOCK_RUN)->result, -ENODATA);
	h->ops->destroy(h);
}

static void test_run_io_exits(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	struct hal_vcpu *v = mkvcpu(vm, 1);
	struct hal_exit ex;

	/* OUT of 'A' to the UART, then IN from the line status register. */
	struct hal_exit out = { .reason = HAL_EXIT_IO,
				.io = { .port = 0x3f8, .size = 1, .write = true, .count = 1 } };
	struct hal_exit in = { .reason = HAL_EXIT_IO, .io = { .port = 0x3fd, .size = 1, .count = 1 } };
	assert_int_equal(hal_mock_queue_exit(h, 1, &out, "A", 1), 0);
	assert_int_equal(hal_mock_queue_exit(h, 1, &in, NULL, 0), 0);
	assert_int_equal(hal_mock_exits_pending(h, 1), 2);
	assert_int_equal(hal_mock_exits_pending(h, 0), 0);

	assert_int_equal(v->ops->run(v, &ex), 0);
	assert_int_equal(ex.reason, HAL_EXIT_IO);
	assert_int_equal(ex.io.port, 0x3f8);
	assert_int_equal(ex.io.size, 1);
	assert_int_equal(ex.io.count, 1);
	assert_true(ex.io.write);
	assert_int_equal(ex.io.data[0], 'A');
	assert_ptr_equal(ex.io.data, hal_mock_last_io_data(h, 1));
	const struct hal_mock_call *c = hal_mock_last_call(h, MOCK_RUN);
	assert_int_equal(c->args[0], 1);
	assert_int_equal(c->args[1], HAL_EXIT_IO);

	assert_int_equal(v->ops->run(v, &ex), 0);
	assert_false(ex.io.write);
	assert_int_equal(ex.io.data[0], 0); /* no data given: zeros */
	ex.io.data[0] = 0x60;               /* the VMM answers the IN */
	assert_int_equal(hal_mock_last_io_data(h, 1)[0], 0x60);
	assert_int_equal(hal_mock_exits_pending(h, 1), 0);

	/* rep outsw: size*count bytes. */
	uint8_t words[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct hal_exit rep = { .reason = HAL_EXIT_IO,
				.io = { .port = 0x1f0, .size = 2, .write = true, .count = 4 } };
	assert_int_equal(hal_mock_queue_exit(h, 1, &rep, words, sizeof(words)), 0);
	assert_int_equal(v->ops->run(v, &ex), 0);
	assert_memory_equal(ex.io.data, words, 8);

	/* Too much data for the exit. */
	struct hal_exit huge = { .reason = HAL_EXIT_IO, .io = { .port = 0x1f0, .size = 4, .count = 1025 } };
	assert_int_equal(hal_mock_queue_exit(h, 1, &huge, NULL, 0), -EINVAL);
	static uint8_t big[HAL_MOCK_MAX_EXIT_DATA + 1];
	assert_int_equal(hal_mock_queue_exit(h, 1, &out, big, sizeof(big)), -EINVAL);
	assert_int_equal(hal_mock_queue_exit(h, 1, &out, big, 2), -EINVAL); /* more than size*count */
	assert_int_equal(hal_mock_queue_exit(h, HAL_MOCK_MAX_VCPUS, &out, "A", 1), -EINVAL);
	assert_int_equal(hal_mock_queue_exit(h, 1, NULL, NULL, 0), -EINVAL);
	assert_null(hal_mock_last_io_data(h, HAL_MOCK_MAX_VCPUS));
	assert_int_equal(hal_mock_exits_pending(h, HAL_MOCK_MAX_VCPUS), 0);
	h->ops->destroy(h);
}

static void test_run_mmio_and_other_exits(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	struct hal_vcpu *v = mkvcpu(vm, 0);
	struct hal_exit ex;

	/* Queued before the vCPU existed is fine too: scripts are per id. */
	struct hal_exit wr = { .reason = HAL_EXIT_MMIO, .mmio = { .addr = 0xd0000070, .len = 4, .write = true } };
	struct hal_exit rd = { .reason = HAL_EXIT_MMIO, .mmio = { .addr = 0xd0000000, .len = 4 } };
	struct hal_exit se = { .reason = HAL_EXIT_SYSTEM_EVENT, .system_event.type = HAL_SYSTEM_RESET };
	struct hal_exit ie = { .reason = HAL_EXIT_INTERNAL_ERROR,
			       .internal = { .suberror = 1, .ndata = 2, .data = { 0xdead, 0xbeef } } };
	struct hal_exit fe = { .reason = HAL_EXIT_FAIL_ENTRY, .fail_entry.hardware_reason = 0x80000021 };
	struct hal_exit sd = { .reason = HAL_EXIT_SHUTDOWN };
	struct hal_exit un = { .reason = HAL_EXIT_UNKNOWN, .unknown.raw_reason = 4 };
	uint32_t val = 0x0f;

	assert_int_equal(hal_mock_queue_exit(h, 0, &wr, &val, 4), 0);
	assert_int_equal(hal_mock_queue_exit(h, 0, &rd, NULL, 0), 0);
	assert_int_equal(hal_mock_queue_exit(h, 0, &se, NULL, 0), 0);
	assert_int_equal(hal_mock_queue_exit(h, 0, &ie, NULL, 0), 0);
	assert_int_equal(hal_mock_queue_exit(h, 0, &fe, NULL, 0), 0);
	assert_int_equal(hal_mock_queue_exit(h, 0, &sd, NULL, 0), 0);
	assert_int_equal(hal_mock_queue_exit(h, 0, &un, NULL, 0), 0);
	struct hal_exit badm = { .reason = HAL_EXIT_MMIO, .mmio = { .len = 9 } };
	assert_int_equal(hal_mock_queue_exit(h, 0, &badm, NULL, 0), -EINVAL);

	assert_int_equal(v->ops->run(v, &ex), 0);
	assert_int_equal(ex.reason, HAL_EXIT_MMIO);
	assert_int_equal(ex.mmio.addr, 0xd0000070);
	assert_int_equal(ex.mmio.len, 4);
	assert_true(ex.mmio.write);
	assert_memory_equal(ex.mmio.data, &val, 4);

	assert_int_equal(v->ops->run(v, &ex), 0);
	assert_false(ex.mmio.write);
	memcpy(ex.mmio.data, "virt", 4);
	assert_memory_equal(hal_mock_last_io_data(h, 0), "virt", 4);

	assert_int_equal(v->ops->run(v, &ex), 0);
	assert_int_equal(ex.reason, HAL_EXIT_SYSTEM_EVENT);
	assert_int_equal(ex.system_event.type, HAL_SYSTEM_RESET);
	assert_int_equal(v->ops->run(v, &ex), 0);
	assert_int_equal(ex.internal.suberror, 1);
	assert_int_equal(ex.internal.ndata, 2);
	assert_int_equal(ex.internal.data[1], 0xbeef);
	assert_int_equal(v->ops->run(v, &ex), 0);
	assert_int_equal(ex.fail_entry.hardware_reason, 0x80000021);
	assert_int_equal(v->ops->run(v, &ex), 0);
	assert_int_equal(ex.reason, HAL_EXIT_SHUTDOWN);
	assert_int_equal(v->ops->run(v, &ex), 0);
	assert_int_equal(ex.unknown.raw_reason, 4);
	assert_int_equal(v->ops->run(v, &ex), -ENODATA);
	h->ops->destroy(h);
}

static void test_immediate_exit(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	struct hal_vcpu *v = mkvcpu(vm, 0);
	struct hal_exit hlt = { .reason = HAL_EXIT_HLT }, ex;

	assert_int_equal(hal_mock_queue_exit(h, 0, &hlt, NULL, 0), 0);
	v->ops->set_immediate_exit(v, true);
	assert_int_equal(v->ops->run(v, &ex), 0);
	assert_int_equal(ex.reason, HAL_EXIT_INTR);
	assert_int_equal(v->ops->run(v, &ex), 0); /* stays on until cleared */
	assert_int_equal(ex.reason, HAL_EXIT_INTR);
	assert_int_equal(hal_mock_exits_pending(h, 0), 1);
	assert_int_equal(hal_mock_last_call(h, MOCK_RUN)->args[1], HAL_EXIT_INTR);
	v->ops->set_immediate_exit(v, false);
	assert_int_equal(v->ops->run(v, &ex), 0);
	assert_int_equal(ex.reason, HAL_EXIT_HLT);
	h->ops->destroy(h);
}

struct runner {
	struct hal_vcpu *vcpu;
	int rc;
	struct hal_exit exit;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;

	r->rc = r->vcpu->ops->run(r->vcpu, &r->exit);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000 };

	nanosleep(&ts, NULL);
}

static void test_blocking_run_and_kick(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	struct runner r[3];
	pthread_t t[3];

	hal_mock_set_run_blocks(h, true);
	for (int i = 0; i < 3; i++) {
		r[i] = (struct runner){ .vcpu = mkvcpu(vm, (uint32_t)i), .rc = 1 };
		assert_int_equal(pthread_create(&t[i], NULL, run_thread, &r[i]), 0);
	}
	sleep_ms(20);
	for (int i = 0; i < 3; i++)
		assert_int_equal(r[i].rc, 1); /* still blocked */

	/* Another thread kicks: each run() leaves with INTR. */
	for (int i = 0; i < 3; i++)
		r[i].vcpu->ops->set_immediate_exit(r[i].vcpu, true);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(r[i].rc, 0);
		assert_int_equal(r[i].exit.reason, HAL_EXIT_INTR);
	}
	assert_int_equal(hal_mock_call_count(h, MOCK_RUN), 3);

	/* A blocked run() also wakes for an exit queued meanwhile. */
	r[0].vcpu->ops->set_immediate_exit(r[0].vcpu, false);
	r[0].rc = 1;
	assert_int_equal(pthread_create(&t[0], NULL, run_thread, &r[0]), 0);
	sleep_ms(10);
	struct hal_exit hlt = { .reason = HAL_EXIT_HLT };
	assert_int_equal(hal_mock_queue_exit(h, 0, &hlt, NULL, 0), 0);
	assert_int_equal(pthread_join(t[0], NULL), 0);
	assert_int_equal(r[0].rc, 0);
	assert_int_equal(r[0].exit.reason, HAL_EXIT_HLT);

	/* Switching blocking off releases a blocked run() with -ENODATA. */
	r[0].rc = 1;
	assert_int_equal(pthread_create(&t[0], NULL, run_thread, &r[0]), 0);
	sleep_ms(10);
	hal_mock_set_run_blocks(h, false);
	assert_int_equal(pthread_join(t[0], NULL), 0);
	assert_int_equal(r[0].rc, -ENODATA);
	h->ops->destroy(h);
}

/* Many threads hammer one mock: the lock keeps the log whole. */
static void *hammer(void *arg)
{
	struct hal_vcpu *v = arg;
	struct kvm_regs regs;

	for (int i = 0; i < 500; i++) {
		v->ops->get_regs(v, &regs);
		v->vm->ops->set_irq_line(v->vm, 3, i & 1);
	}
	return NULL;
}

static void test_thread_safety(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_vm *vm = mkvm(h);
	pthread_t t[4];

	assert_int_equal(vm->ops->create_irqchip(vm), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, mkvcpu(vm, (uint32_t)i)), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(hal_mock_call_count(h, MOCK_GET_REGS), 2000);
	assert_int_equal(hal_mock_call_count(h, MOCK_SET_IRQ_LINE), 2000);
	h->ops->destroy(h);
}

/* ---- TAP ------------------------------------------------------------------ */

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void test_tap_open_close(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_tap *t = NULL, *t2;
	unsigned off;
	int hdr;
	bool open;

	assert_int_equal(hal_mock_tap_state(h, "tap-1", &off, &hdr, &open), -ENOENT);
	assert_int_equal(h->ops->tap_open(h, "tap-1", &t), 0);
	assert_string_equal(t->name, "tap-1");
	assert_ptr_equal(t->hal, h);
	assert_int_equal(h->ops->tap_open(h, "tap-1", &t2), -EBUSY);
	assert_int_equal(h->ops->tap_open(h, "", &t2), -EINVAL);
	assert_int_equal(h->ops->tap_open(h, "a-name-too-long", &t2), 0); /* 15 chars fit */
	assert_int_equal(h->ops->tap_open(h, "a-name-too-long!", &t2), -EINVAL);
	assert_true(msg_has("name"));
	assert_int_equal(hal_mock_tap_state(h, "tap-1", &off, &hdr, &open), 0);
	assert_true(open);
	assert_int_equal(off, 0);
	assert_int_equal(hdr, 10);

	assert_int_equal(t->ops->set_offloads(t, HAL_TAP_CSUM | HAL_TAP_TSO4), 0);
	assert_int_equal(hal_mock_last_call(h, MOCK_TAP_SET_OFFLOADS)->args[0], HAL_TAP_CSUM | HAL_TAP_TSO4);
	assert_int_equal(t->ops->set_offloads(t, 0x100), -EINVAL);
	assert_int_equal(t->ops->set_vnet_hdr_size(t, 12), 0);
	assert_int_equal(hal_mock_last_call(h, MOCK_TAP_SET_VNET_HDR_SIZE)->args[0], 12);
	assert_int_equal(t->ops->set_vnet_hdr_size(t, 8), -EINVAL);
	assert_int_equal(hal_mock_tap_state(h, "tap-1", &off, &hdr, &open), 0);
	assert_int_equal(off, HAL_TAP_CSUM | HAL_TAP_TSO4);
	assert_int_equal(hdr, 12);

	t->ops->close(t);
	assert_int_equal(hal_mock_tap_state(h, "tap-1", NULL, NULL, &open), 0);
	assert_false(open);
	assert_int_equal(h->ops->tap_open(h, "tap-1", &t), 0); /* may reopen */
	h->ops->destroy(h);                                      /* closes t and t2 */
}

static void test_tap_frames(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_tap *t = NULL;
	uint8_t hdr[10] = { 0 }, buf[128];
	char frame[64];

	/* Frames queued before the device opens wait for it. */
	assert_int_equal(hal_mock_tap_inject(h, "tap0", "0123456789hello", 15), 0);
	assert_int_equal(h->ops->tap_open(h, "tap0", &t), 0);
	int pfd = t->ops->poll_fd(t);
	assert_true(pfd >= 0);
	assert_true(readable(pfd));
	assert_int_equal(hal_mock_tap_inject(h, "tap0", "0123456789world!", 16), 0);

	/* Scatter read: header then payload. */
	struct iovec rd[2] = { { hdr, sizeof(hdr) }, { buf, sizeof(buf) } };
	assert_int_equal(t->ops->readv(t, rd, 2), 15);
	assert_memory_equal(hdr, "0123456789", 10);
	assert_memory_equal(buf, "hello", 5);
	const struct hal_mock_call *c = hal_mock_last_call(h, MOCK_TAP_READV);
	assert_int_equal(c->args[0], 2);
	assert_int_equal(c->args[1], sizeof(hdr) + sizeof(buf));
	assert_int_equal(c->result, 15);
	assert_true(readable(pfd));
	/* Too small a buffer: what fits, the rest is dropped. */
	struct iovec small = { buf, 12 };
	assert_int_equal(t->ops->readv(t, &small, 1), 12);
	assert_memory_equal(buf, "0123456789wo", 12);
	assert_false(readable(pfd));
	assert_int_equal(t->ops->readv(t, rd, 2), -EAGAIN);

	/* Gather write; the test takes it out. */
	struct iovec wr[2] = { { hdr, sizeof(hdr) }, { "ping", 4 } };
	assert_int_equal(t->ops->writev(t, wr, 2), 14);
	assert_int_equal(hal_mock_tap_take(h, "tap0", frame, sizeof(frame)), 14);
	assert_memory_equal(frame + 10, "ping", 4);
	assert_int_equal(hal_mock_tap_take(h, "tap0", frame, sizeof(frame)), -EAGAIN);
	assert_int_equal(hal_mock_tap_take(h, "nope", frame, sizeof(frame)), -EAGAIN);
	/* Shorter than a vnet header: refused. */
	struct iovec tiny = { hdr, 9 };
	assert_int_equal(t->ops->writev(t, &tiny, 1), -EINVAL);

	/* TX limit: -EAGAIN once `limit` frames wait. */
	hal_mock_tap_set_tx_limit(h, "tap0", 2);
	assert_int_equal(t->ops->writev(t, wr, 2), 14);
	assert_int_equal(t->ops->writev(t, wr, 2), 14);
	assert_int_equal(t->ops->writev(t, wr, 2), -EAGAIN);
	assert_int_equal(hal_mock_last_call(h, MOCK_TAP_WRITEV)->result, -EAGAIN);
	assert_int_equal(hal_mock_tap_take(h, "tap0", frame, 4), 14); /* truncated copy, full length */
	assert_int_equal(t->ops->writev(t, wr, 2), 14);
	hal_mock_tap_set_tx_limit(h, "tap0", 0);
	for (int i = 2; i < HAL_MOCK_TAP_QUEUE_MAX; i++)
		assert_int_equal(t->ops->writev(t, wr, 2), 14);
	assert_int_equal(t->ops->writev(t, wr, 2), -EAGAIN); /* the hard bound */

	/* RX bounds. */
	for (int i = 0; i < HAL_MOCK_TAP_QUEUE_MAX; i++)
		assert_int_equal(hal_mock_tap_inject(h, "tap0", "0123456789x", 11), 0);
	assert_int_equal(hal_mock_tap_inject(h, "tap0", "0123456789x", 11), -ENOBUFS);
	assert_int_equal(hal_mock_tap_inject(h, "tap0", "", 0), -EINVAL);
	static uint8_t jumbo[HAL_MOCK_TAP_MAX_FRAME + 1];
	assert_int_equal(hal_mock_tap_inject(h, "tap0", jumbo, sizeof(jumbo)), -EMSGSIZE);
	assert_int_equal(hal_mock_tap_inject(h, "", "x", 1), -EINVAL);
	assert_int_equal(hal_mock_tap_inject(h, NULL, "x", 1), -EINVAL);
	hal_mock_tap_set_tx_limit(h, "", 1); /* ignored */

	/* Closing keeps the queues: the test can still look. */
	t->ops->close(t);
	assert_int_equal(hal_mock_tap_take(h, "tap0", frame, sizeof(frame)), 14);
	h->ops->destroy(h);
}

static void test_tap_big_frame(void **state)
{
	(void)state;
	struct hal *h = mk();
	struct hal_tap *t = NULL;
	static uint8_t big[HAL_MOCK_TAP_MAX_FRAME + 1], got[HAL_MOCK_TAP_MAX_FRAME];

	assert_int_equal(h->ops->tap_open(h, "tap0", &t), 0);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	struct iovec iov = { big, HAL_MOCK_TAP_MAX_FRAME };
	assert_int_equal(t->ops->writev(t, &iov, 1), HAL_MOCK_TAP_MAX_FRAME);
	assert_int_equal(hal_mock_tap_take(h, "tap0", got, sizeof(got)), HAL_MOCK_TAP_MAX_FRAME);
	assert_memory_equal(got, big, sizeof(got));
	iov.iov_len = sizeof(big);
	assert_int_equal(t->ops->writev(t, &iov, 1), -EINVAL);
	assert_true(msg_has("frame"));
	h->ops->destroy(h);
}

/* ---- independence ---------------------------------------------------------- */

static void test_no_global_state(void **state)
{
	(void)state;
	struct hal *a = mk(), *b = mk();
	struct hal_vm *va = mkvm(a);

	mkvcpu(va, 0);
	hal_mock_fail_nth(a, MOCK_CREATE_VM, 1, -EIO);
	struct hal_vm *vb = mkvm(b); /* b is not affected by a's fault */
	assert_ptr_equal(hal_mock_vm(b), vb);
	assert_null(hal_mock_vcpu(b, 0));
	assert_int_equal(hal_mock_calls_total(b), 1);
	assert_int_equal(hal_mock_call_count(a, MOCK_CREATE_VCPU), 1);
	a->ops->destroy(a);
	b->ops->destroy(b);
}

static void test_controls_without_vm(void **state)
{
	(void)state;
	struct hal *h = mk();
	const uint8_t bits = 1;

	assert_null(hal_mock_vcpu(h, 0));
	assert_null(hal_mock_vcpu_cpuid(h, 0));
	assert_int_equal(hal_mock_irq_raises(h, 1), 0);
	assert_int_equal(hal_mock_irqfd(h, 1), -1);
	assert_int_equal(hal_mock_ioeventfd(h, 0x1000, true), -1);
	assert_false(hal_mock_slot(h, 0, NULL, NULL, NULL, NULL));
	assert_int_equal(hal_mock_set_dirty_bitmap(h, 0, &bits, 1), -ENOENT);
	h->ops->destroy(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_destroy),
		cmocka_unit_test(test_op_and_reason_names),
		cmocka_unit_test(test_check_cap),
		cmocka_unit_test(test_call_log),
		cmocka_unit_test(test_call_log_grows),
		cmocka_unit_test(test_fail_nth_counts_from_now),
		cmocka_unit_test(test_fail_every_op),
		cmocka_unit_test(test_fail_does_no_work),
		cmocka_unit_test(test_supported_cpuid),
		cmocka_unit_test(test_mem_alloc),
		cmocka_unit_test(test_mem_map_file_private),
		cmocka_unit_test(test_mem_map_file_shared),
		cmocka_unit_test(test_tss_and_identity_map),
		cmocka_unit_test(test_memory_slots),
		cmocka_unit_test(test_irqchip_and_pit),
		cmocka_unit_test(test_irq_lines),
		cmocka_unit_test(test_irqfd),
		cmocka_unit_test(test_ioeventfd),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_dirty_log),
		cmocka_unit_test(test_create_vcpu),
		cmocka_unit_test(test_vcpu_reset_state),
		cmocka_unit_test(test_vcpu_state_round_trips),
		cmocka_unit_test(test_sregs_checked_like_kvm),
		cmocka_unit_test(test_msrs),
		cmocka_unit_test(test_cpuid),
		cmocka_unit_test(test_get_cpuid),
		cmocka_unit_test(test_run_empty_script),
		cmocka_unit_test(test_run_io_exits),
		cmocka_unit_test(test_run_mmio_and_other_exits),
		cmocka_unit_test(test_immediate_exit),
		cmocka_unit_test(test_blocking_run_and_kick),
		cmocka_unit_test(test_thread_safety),
		cmocka_unit_test(test_tap_open_close),
		cmocka_unit_test(test_tap_frames),
		cmocka_unit_test(test_tap_big_frame),
		cmocka_unit_test(test_no_global_state),
		cmocka_unit_test(test_controls_without_vm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
