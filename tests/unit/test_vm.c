/* The VM object and the vCPU exit loop, driven on the mock HAL. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/layout.h"
#include "guest_image.h"
#include "hal/mock.h"
#include "vmm/log.h"
#include "vmm/vm.h"
#include "vmm/vm_devices.h"

struct capture {
	char out[256];
	size_t len;
};

static ssize_t capture_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct capture *c = opaque;

	for (size_t i = 0; i < len && c->len < sizeof(c->out) - 1; i++)
		c->out[c->len++] = (char)buf[i];
	return (ssize_t)len;
}

struct fixture {
	struct hal *hal;
	struct vm *vm;
	struct capture cap;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(hal_mock_create(&f->hal), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vm_destroy(f->vm);
	f->hal->ops->destroy(f->hal);
	free(f);
	return 0;
}

static struct vm_config config(struct fixture *f, uint64_t mib, uint32_t vcpus)
{
	return (struct vm_config){ .mem_mib = mib, .nr_vcpus = vcpus,
				   .console = { capture_write, &f->cap, NULL } };
}

static void create_vm(struct fixture *f, uint64_t mib, uint32_t vcpus)
{
	struct vm_config cfg = config(f, mib, vcpus);

	assert_int_equal(vm_create(f->hal, &cfg, &f->vm), 0);
}

static void queue_io(struct fixture *f, uint32_t vcpu, uint16_t port, bool write, uint8_t size,
		     uint32_t count, const void *data)
{
	struct hal_exit e = { .reason = HAL_EXIT_IO };
	static const uint8_t zeros[64];

	if (!data)
		data = zeros;
	e.io.port = port;
	e.io.write = write;
	e.io.size = size;
	e.io.count = count;
	assert_int_equal(hal_mock_queue_exit(f->hal, vcpu, &e, data, (size_t)size * count), 0);
}

static void queue_reason(struct fixture *f, uint32_t vcpu, enum hal_exit_reason reason)
{
	struct hal_exit e = { .reason = reason };

	assert_int_equal(hal_mock_queue_exit(f->hal, vcpu, &e, NULL, 0), 0);
}

static void test_create_lays_out_memory_and_irqchip(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa, size;
	unsigned flags;
	void *host;

	create_vm(f, 64, 2);
	assert_true(hal_mock_slot(f->hal, 0, &gpa, &size, &host, &flags));
	assert_int_equal(gpa, 0);
	assert_int_equal(size, 64 << 20);
	assert_false(hal_mock_slot(f->hal, 1, &gpa, &size, &host, &flags));
	assert_int_equal(hal_mock_call_count(f->hal, MOCK_CREATE_IRQCHIP), 1);
	assert_int_equal(hal_mock_call_count(f->hal, MOCK_CREATE_PIT), 1);
	assert_int_equal(hal_mock_last_call(f->hal, MOCK_SET_TSS_ADDR)->args[0], LAYOUT_TSS_ADDR);
	assert_int_equal(hal_mock_last_call(f->hal, MOCK_SET_IDENTITY_MAP_ADDR)->args[0],
			 LAYOUT_IDENTITY_MAP_ADDR);
	assert_int_equal(hal_mock_call_count(f->hal, MOCK_CREATE_VCPU), 2);
	assert_int_equal(f->vm->nr_vcpus, 2);
	/* The irqchip exists before any vCPU: KVM requires that order. */
	size_t irqchip_at = 0, vcpu_at = 0;
	for (size_t i = 0; i < hal_mock_calls_total(f->hal); i++) {
		const struct hal_mock_call *c = hal_mock_call_at(f->hal, i);

		if (c->op == MOCK_CREATE_IRQCHIP)
			irqchip_at = i;
		if (c->op == MOCK_CREATE_VCPU && !vcpu_at)
			vcpu_at = i;
	}
	assert_true(irqchip_at < vcpu_at);
	/* Guest memory is reachable through the bounded view. */
	assert_non_null(guest_mem_ptr(&f->vm->mem, (64 << 20) - 1, 1));
	assert_null(guest_mem_ptr(&f->vm->mem, 64 << 20, 1));
}

static void test_memory_above_the_hole_goes_high(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa, size;
	unsigned flags;
	void *host;

	/* 3 GiB + 64 MiB: the last 64 MiB must land above 4 GiB. */
	create_vm(f, 3072 + 64, 1);
	assert_true(hal_mock_slot(f->hal, 0, &gpa, &size, &host, &flags));
	assert_int_equal(gpa, 0);
	assert_int_equal(size, LAYOUT_MMIO_GAP_START);
	assert_true(hal_mock_slot(f->hal, 1, &gpa, &size, &host, &flags));
	assert_int_equal(gpa, LAYOUT_HIGH_RAM_START);
	assert_int_equal(size, 64 << 20);
	assert_null(guest_mem_ptr(&f->vm->mem, LAYOUT_MMIO_GAP_START, 1));
	assert_non_null(guest_mem_ptr(&f->vm->mem, LAYOUT_HIGH_RAM_START, 1));
}

static void test_bad_config_rejected(void **state)
{
	struct fixture *f = *state;
	struct vm_config cfg = config(f, 64, 0);

	assert_int_equal(vm_create(f->hal, &cfg, &f->vm), -EINVAL);
	cfg = config(f, 64, LAYOUT_MAX_VCPUS + 1);
	assert_int_equal(vm_create(f->hal, &cfg, &f->vm), -EINVAL);
	cfg = config(f, 1, 1);
	assert_int_equal(vm_create(f->hal, &cfg, &f->vm), -EINVAL);
	assert_non_null(strstr(err_last(), "MiB"));
	assert_null(f->vm);
	assert_int_equal(hal_mock_call_count(f->hal, MOCK_CREATE_VM), 0);
}

/* Every HAL call on the creation path fails cleanly: the error comes back
 * with a message, and everything made so far is released (valgrind). */
static void test_creation_path_fault_injection(void **state)
{
	static const struct { enum hal_mock_op op; unsigned nth; } faults[] = {
		{ MOCK_CREATE_VM, 1 },       { MOCK_SET_TSS_ADDR, 1 }, { MOCK_SET_IDENTITY_MAP_ADDR, 1 },
		{ MOCK_CREATE_IRQCHIP, 1 },  { MOCK_CREATE_PIT, 1 },   { MOCK_MEM_ALLOC, 1 },
		{ MOCK_SET_MEMORY_SLOT, 1 }, { MOCK_MEM_ALLOC, 2 },    { MOCK_SET_MEMORY_SLOT, 2 },
		{ MOCK_GET_SUPPORTED_CPUID, 1 }, { MOCK_CREATE_VCPU, 1 }, { MOCK_CREATE_VCPU, 2 },
	};
	struct fixture *f = *state;

	(void)f;
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		struct hal *hal;
		struct vm *vm = NULL;
		struct capture cap = { 0 };
		struct vm_config cfg = { .mem_mib = 3072 + 16, .nr_vcpus = 2,
					 .console = { capture_write, &cap, NULL } };

		assert_int_equal(hal_mock_create(&hal), 0);
		hal_mock_fail_nth(hal, faults[i].op, faults[i].nth, -EIO);
		err_clear();
		assert_int_equal(vm_create(hal, &cfg, &vm), -EIO);
		assert_null(vm);
		assert_non_null(strstr(err_last(), "creating the VM"));
		hal->ops->destroy(hal);
	}
}

static void test_load_path_fault_injection(void **state)
{
	static const enum hal_mock_op ops[] = {
		MOCK_SET_CPUID, MOCK_SET_MSRS, MOCK_GET_LAPIC, MOCK_SET_LAPIC,
		MOCK_GET_SREGS, MOCK_SET_SREGS, MOCK_SET_REGS, MOCK_SET_FPU,
	};
	static const uint8_t code[] = { 0xf4 };
	uint8_t image[8192];
	size_t len = guest_image_pvh_elf(image, sizeof(image), code, sizeof(code));
	struct boot_config boot = { .kernel = image, .kernel_len = len, .cmdline = "console=ttyS0", .nr_vcpus = 1 };
	struct fixture *f = *state;

	(void)f;
	assert_true(len > 0);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct hal *hal;
		struct vm *vm = NULL;
		struct capture cap = { 0 };
		struct vm_config cfg = { .mem_mib = 32, .nr_vcpus = 1, .console = { capture_write, &cap, NULL } };

		assert_int_equal(hal_mock_create(&hal), 0);
		assert_int_equal(vm_create(hal, &cfg, &vm), 0);
		hal_mock_fail_nth(hal, ops[i], 1, -EIO);
		err_clear();
		assert_int_equal(vm_load_kernel(vm, &boot), -EIO);
		assert_non_null(strstr(err_last(), "vCPU 0"));
		vm_destroy(vm);
		hal->ops->destroy(hal);
	}
}

static void test_load_kernel_sets_boot_vcpu_state(void **state)
{
	static const uint8_t code[] = { 0xf4 };
	uint8_t image[8192];
	size_t len = guest_image_pvh_elf(image, sizeof(image), code, sizeof(code));
	struct boot_config boot = { .kernel = image, .kernel_len = len, .cmdline = "root=/dev/vda", .nr_vcpus = 2 };
	struct fixture *f = *state;
	struct kvm_regs regs;
	struct kvm_lapic_state lapic;
	const struct kvm_cpuid2 *cpuid;
	uint32_t lint0, lint1;

	create_vm(f, 32, 2);
	assert_int_equal(vm_load_kernel(f->vm, &boot), 0);
	assert_int_equal(f->vm->boot.mode, BOOT_ENTRY_PVH);
	assert_int_equal(hal_mock_vcpu(f->hal, 0)->ops->get_regs(hal_mock_vcpu(f->hal, 0), &regs), 0);
	assert_int_equal(regs.rip, 0x100000);
	assert_int_equal(regs.rbx, f->vm->boot.boot_arg);
	/* Only the boot vCPU gets registers; every vCPU gets CPUID and LINTs. */
	assert_int_equal(hal_mock_call_count(f->hal, MOCK_SET_REGS), 1);
	assert_int_equal(hal_mock_call_count(f->hal, MOCK_SET_CPUID), 2);
	for (uint32_t id = 0; id < 2; id++) {
		struct hal_vcpu *v = hal_mock_vcpu(f->hal, id);

		assert_int_equal(v->ops->get_lapic(v, &lapic), 0);
		memcpy(&lint0, lapic.regs + 0x350, 4);
		memcpy(&lint1, lapic.regs + 0x360, 4);
		assert_int_equal((lint0 >> 8) & 7, 7); /* ExtINT */
		assert_int_equal((lint1 >> 8) & 7, 4); /* NMI */
		cpuid = hal_mock_vcpu_cpuid(f->hal, id);
		assert_non_null(cpuid);
		for (uint32_t e = 0; e < cpuid->nent; e++) {
			if (cpuid->entries[e].function == 1) {
				assert_int_equal(cpuid->entries[e].ebx >> 24, id);
				assert_true(cpuid->entries[e].ecx & (1u << 31));
			}
		}
	}
	/* ACPI tables come with every VM: the RSDP where Linux scans for it,
	 * and its address in the PVH start_info (offset 32, rsdp_paddr). */
	const uint8_t *rsdp = guest_mem_ptr(&f->vm->mem, LAYOUT_BIOS_START, 8);
	uint64_t rsdp_paddr;
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(guest_mem_read(&f->vm->mem, f->vm->boot.boot_arg + 32, &rsdp_paddr, 8), 0);
	assert_int_equal(rsdp_paddr, LAYOUT_BIOS_START);
	/* The loaded kernel and boot structures are resident; most RAM is not. */
	uint64_t resident;
	assert_int_equal(vm_guest_resident(f->vm, &resident), 0);
	assert_true(resident >= 4096 && resident < (32 << 20) / 2);
	/* A kernel the loader refuses fails the load with its message. */
	boot.kernel_len = 10;
	assert_true(vm_load_kernel(f->vm, &boot) < 0);
}

static void test_cpu_template_reaches_vcpus(void **state)
{
	static const char json[] =
		"{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\":"
		" [{\"register\": \"ecx\", \"bitmap\": \"0b0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]}],"
		" \"msr_modifiers\": [{\"addr\": \"0xc0000103\", \"bitmap\": \"0b"
		"0000000000000000000000000000000000000000000000000000000000101010\"}]}";
	static const uint8_t code[] = { 0xf4 };
	uint8_t image[8192];
	size_t len = guest_image_pvh_elf(image, sizeof(image), code, sizeof(code));
	struct boot_config boot = { .kernel = image, .kernel_len = len, .nr_vcpus = 2 };
	static struct cpu_template tpl;
	struct fixture *f = *state;
	struct {
		struct kvm_msrs head;
		struct kvm_msr_entry e[1];
	} msrs = { .head.nmsrs = 1, .e[0].index = 0xc0000103 };

	assert_int_equal(cpu_template_parse(json, sizeof(json) - 1, &tpl), 0);
	create_vm(f, 32, 2);
	f->vm->cpu_template = &tpl;
	assert_int_equal(vm_load_kernel(f->vm, &boot), 0);
	for (uint32_t id = 0; id < 2; id++) {
		const struct kvm_cpuid2 *cpuid = hal_mock_vcpu_cpuid(f->hal, id);
		struct hal_vcpu *v = hal_mock_vcpu(f->hal, id);

		for (uint32_t e = 0; e < cpuid->nent; e++)
			if (cpuid->entries[e].function == 1)
				/* The template wins over ember's own hypervisor bit. */
				assert_false(cpuid->entries[e].ecx & (1u << 31));
		/* TSC_AUX is not a boot MSR: the template adds it. */
		assert_int_equal(v->ops->get_msrs(v, &msrs.head), 1);
		assert_int_equal(msrs.e[0].data, 42);
	}
}

static void test_serial_and_unmapped_port_io(void **state)
{
	struct fixture *f = *state;
	const uint8_t *data;

	create_vm(f, 32, 1);
	queue_io(f, 0, 0x3f8, true, 1, 1, "h");
	queue_io(f, 0, 0x3f8, true, 1, 2, "i!"); /* rep outsb, count 2 */
	queue_io(f, 0, 0x3fd, false, 1, 1, NULL);
	queue_reason(f, 0, HAL_EXIT_SHUTDOWN);
	vcpu_run_loop(&f->vm->vcpus[0]);
	assert_int_equal(f->cap.len, 3);
	assert_memory_equal(f->cap.out, "hi!", 3);
	data = hal_mock_last_io_data(f->hal, 0);
	assert_non_null(data);
	assert_int_equal(data[0] & 0x60, 0x60); /* LSR: THR empty, transmitter empty */
	assert_int_equal(f->vm->exit_reason, VM_EXIT_GUEST_RESET);
	assert_int_equal(vm_wait_exit(f->vm), 0);
	assert_int_equal(f->vm->vcpus[0].exit_counts[HAL_EXIT_IO], 3);
}

static void test_unmapped_reads_float_high(void **state)
{
	struct fixture *f = *state;
	struct hal_exit e = { .reason = HAL_EXIT_MMIO };
	const uint8_t zeros[4] = { 0 };

	create_vm(f, 32, 1);
	queue_io(f, 0, 0xcfc, false, 4, 1, zeros);
	vcpu_run_loop(&f->vm->vcpus[0]); /* ends on the empty script */
	assert_memory_equal(hal_mock_last_io_data(f->hal, 0), "\xff\xff\xff\xff", 4);
	vm_destroy(f->vm);
	f->vm = NULL;

	create_vm(f, 32, 1);
	e.mmio.addr = LAYOUT_VIRTIO_MMIO_BASE;
	e.mmio.len = 4;
	assert_int_equal(hal_mock_queue_exit(f->hal, 0, &e, zeros, 4), 0);
	e.mmio.write = true;
	assert_int_equal(hal_mock_queue_exit(f->hal, 0, &e, zeros, 4), 0);
	queue_reason(f, 0, HAL_EXIT_HLT);
	vcpu_run_loop(&f->vm->vcpus[0]);
	assert_int_equal(f->vm->vcpus[0].exit_counts[HAL_EXIT_MMIO], 2);
	{
		struct exit_sites sites;
		char buf[128];

		vm_exit_sites(f->vm, &sites);
		exit_sites_format(&sites, 4, buf, sizeof(buf));
		assert_string_equal(buf, "mmio:0xd0000000=2");
	}
	/* An oversized MMIO exit (a backend bug) is ignored, not a crash. */
	uint8_t big[16] = { 0 };
	struct hal_exit huge = { .reason = HAL_EXIT_MMIO, .mmio = { LAYOUT_VIRTIO_MMIO_BASE, 16, false, big } };
	assert_int_equal(vcpu_handle_exit(&f->vm->vcpus[0], &huge), VCPU_CONTINUE);
	assert_memory_equal(big, (uint8_t[16]){ 0 }, 16);
	assert_int_equal(f->vm->exit_reason, VM_EXIT_GUEST_HALT);
	assert_int_equal(f->vm->exit_code, 0);
}

static void test_i8042_reset_stops_vm_cleanly(void **state)
{
	struct fixture *f = *state;

	create_vm(f, 32, 1);
	queue_io(f, 0, 0x64, true, 1, 1, "\xfe");
	queue_io(f, 0, 0x3f8, true, 1, 1, "X"); /* never reached */
	vcpu_run_loop(&f->vm->vcpus[0]);
	assert_int_equal(f->vm->exit_reason, VM_EXIT_GUEST_RESET);
	assert_int_equal(f->vm->exit_code, EMBER_EXIT_OK);
	assert_int_equal(f->cap.len, 0);
}

static void test_acpi_poweroff_reset_and_panic(void **state)
{
	struct fixture *f = *state;
	struct hal_exit panic = { .reason = HAL_EXIT_MMIO, .mmio = { LAYOUT_PVPANIC_ADDR, 1, true, NULL } };
	struct hal_exit probe = { .reason = HAL_EXIT_MMIO, .mmio = { LAYOUT_PVPANIC_ADDR, 1, false, NULL } };
	const uint8_t slp_s5 = (5 << 2) | (1 << 5);

	/* SLP_TYP=S5 with SLP_EN in the sleep control register: poweroff, 0. */
	create_vm(f, 32, 1);
	queue_io(f, 0, LAYOUT_RTC_PORT, true, 1, 1, "\x0a");
	queue_io(f, 0, LAYOUT_RTC_PORT + 1, false, 1, 1, NULL);
	queue_io(f, 0, LAYOUT_ACPI_SLEEP_CONTROL_PORT, true, 1, 1, &slp_s5);
	vcpu_run_loop(&f->vm->vcpus[0]);
	assert_int_equal(f->vm->exit_reason, VM_EXIT_GUEST_SHUTDOWN);
	assert_int_equal(f->vm->exit_code, EMBER_EXIT_OK);
	vm_destroy(f->vm);
	f->vm = NULL;

	/* The FADT reset register. */
	create_vm(f, 32, 1);
	queue_io(f, 0, LAYOUT_ACPI_RESET_PORT, true, 1, 1, "\x01");
	vcpu_run_loop(&f->vm->vcpus[0]);
	assert_int_equal(f->vm->exit_reason, VM_EXIT_GUEST_RESET);
	vm_destroy(f->vm);
	f->vm = NULL;

	/* pvpanic: the driver reads the supported events, then reports. */
	create_vm(f, 32, 1);
	assert_int_equal(hal_mock_queue_exit(f->hal, 0, &probe, "\0", 1), 0);
	assert_int_equal(hal_mock_queue_exit(f->hal, 0, &panic, "\x01", 1), 0);
	vcpu_run_loop(&f->vm->vcpus[0]);
	assert_int_equal(f->vm->exit_reason, VM_EXIT_GUEST_CRASH);
	assert_int_equal(f->vm->exit_code, EMBER_EXIT_GUEST_PANIC);
}

static void test_rtc_update_not_in_progress(void **state)
{
	struct fixture *f = *state;

	create_vm(f, 32, 1);
	queue_io(f, 0, LAYOUT_RTC_PORT, true, 1, 1, "\x0a");
	queue_io(f, 0, LAYOUT_RTC_PORT + 1, false, 1, 1, NULL);
	vcpu_run_loop(&f->vm->vcpus[0]); /* ends on the empty script */
	/* Status A: UIP (bit 7) clear, or Linux waits for it. */
	assert_int_equal(hal_mock_last_io_data(f->hal, 0)[0] & 0x80, 0);
	assert_int_equal(hal_mock_last_io_data(f->hal, 0)[0], 0x26);
}

struct exit_case {
	struct hal_exit exit;
	enum vm_exit_reason reason;
	int code;
};

static void test_exit_reasons_map_to_codes(void **state)
{
	struct exit_case cases[] = {
		{ { .reason = HAL_EXIT_SYSTEM_EVENT, .system_event = { HAL_SYSTEM_SHUTDOWN } }, VM_EXIT_GUEST_SHUTDOWN, 0 },
		{ { .reason = HAL_EXIT_SYSTEM_EVENT, .system_event = { HAL_SYSTEM_RESET } }, VM_EXIT_GUEST_RESET, 0 },
		{ { .reason = HAL_EXIT_SYSTEM_EVENT, .system_event = { HAL_SYSTEM_CRASH } }, VM_EXIT_GUEST_CRASH, 2 },
		{ { .reason = HAL_EXIT_INTERNAL_ERROR, .internal = { .suberror = 1 } }, VM_EXIT_VCPU_ERROR, 2 },
		{ { .reason = HAL_EXIT_INTERNAL_ERROR, .internal = { .suberror = 3 } }, VM_EXIT_VCPU_ERROR, 2 },
		{ { .reason = HAL_EXIT_FAIL_ENTRY, .fail_entry = { 0x80000021 } }, VM_EXIT_VCPU_ERROR, 2 },
		{ { .reason = HAL_EXIT_UNKNOWN, .unknown = { 99 } }, VM_EXIT_VCPU_ERROR, 2 },
		{ { .reason = (enum hal_exit_reason)77 }, VM_EXIT_VCPU_ERROR, 2 },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		create_vm(f, 32, 1);
		/* An interrupted run() just goes round again. */
		queue_reason(f, 0, HAL_EXIT_INTR);
		assert_int_equal(hal_mock_queue_exit(f->hal, 0, &cases[i].exit, NULL, 0), 0);
		vcpu_run_loop(&f->vm->vcpus[0]);
		assert_int_equal(f->vm->exit_reason, cases[i].reason);
		assert_int_equal(vm_wait_exit(f->vm), cases[i].code);
		vm_destroy(f->vm);
		f->vm = NULL;
	}
}

static void test_run_failure_is_a_vcpu_error(void **state)
{
	struct fixture *f = *state;

	create_vm(f, 32, 1);
	/* Empty script: the mock's run() fails. */
	vcpu_run_loop(&f->vm->vcpus[0]);
	assert_int_equal(f->vm->exit_reason, VM_EXIT_VCPU_ERROR);
	assert_int_equal(f->vm->exit_code, EMBER_EXIT_VCPU_FAILURE);
	/* The registers were read for the dump. */
	assert_true(hal_mock_call_count(f->hal, MOCK_GET_REGS) >= 1);
	assert_true(hal_mock_call_count(f->hal, MOCK_GET_SREGS) >= 1);
}

static void test_threads_stop_on_request(void **state)
{
	struct fixture *f = *state;
	uint64_t counts[HAL_EXIT_UNKNOWN + 1];

	create_vm(f, 32, 4);
	hal_mock_set_run_blocks(f->hal, true);
	queue_io(f, 2, 0x3f8, true, 1, 1, "z");
	assert_int_equal(vm_start(f->vm), 0);
	/* Wait until vCPU 2 ran its script: it is now blocked in run(), as
	 * the others are, and only a kick (immediate exit) can free them. */
	for (int i = 0; i < 5000 && f->cap.len == 0; i++)
		usleep(1000);
	assert_int_equal(f->cap.len, 1);
	/* Only the first request counts. */
	vm_request_exit(f->vm, VM_EXIT_SIGNAL, 0);
	vm_request_exit(f->vm, VM_EXIT_VCPU_ERROR, 2);
	assert_int_equal(vm_wait_exit(f->vm), 0);
	vm_stop_vcpus(f->vm);
	for (unsigned i = 0; i < 4; i++)
		assert_false(f->vm->vcpus[i].thread_started);
	assert_int_equal(f->vm->exit_reason, VM_EXIT_SIGNAL);
	vm_exit_counts(f->vm, counts);
	assert_int_equal(counts[HAL_EXIT_IO], 1);
	{
		uint64_t dirs[VCPU_EXIT_DIRS];

		vm_exit_dirs(f->vm, dirs);
		assert_int_equal(dirs[VCPU_EXIT_IO_OUT], 1);
		assert_int_equal(dirs[VCPU_EXIT_IO_IN], 0);
	}
	{
		struct exit_sites sites;
		char buf[128];

		vm_exit_sites(f->vm, &sites);
		exit_sites_format(&sites, 4, buf, sizeof(buf));
		assert_string_equal(buf, "io:0x3f8=1");
	}
	assert_string_equal(vm_exit_reason_name(VM_EXIT_SIGNAL), "signal");
	assert_string_equal(vm_exit_reason_name((enum vm_exit_reason)42), "?");
}

/* A device whose write asks for a pause, as if PATCH /vm arrived while
 * the vCPU was handling that very exit. */
static struct vm *pausing_vm;

static void pausing_write(struct device *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	(void)dev, (void)off, (void)data, (void)len;
	atomic_store(&pausing_vm->pause_requested, true);
}

static const struct device_ops pausing_ops = { .write = pausing_write };

/* KVM completes a port access only on the next KVM_RUN; a vCPU that parks
 * straight after the exit leaves it half done for a snapshot (the restored
 * guest would print a byte twice). It must first run once with
 * immediate_exit set, which completes the access and runs nothing. */
static void test_pause_completes_the_last_access(void **state)
{
	struct fixture *f = *state;
	struct device dev;
	const struct hal_mock_call *last;

	create_vm(f, 32, 1);
	device_init(&dev, &pausing_ops);
	assert_int_equal(bus_register(&f->vm->pio_bus, 0x510, 1, &dev), 0);
	pausing_vm = f->vm;
	hal_mock_set_run_blocks(f->hal, true);
	queue_io(f, 0, 0x510, true, 1, 1, "x");
	assert_int_equal(vm_start(f->vm), 0);
	for (int i = 0; i < 5000 && f->vm->nr_parked < 1; i++)
		usleep(200);
	assert_int_equal(f->vm->nr_parked, 1);
	assert_int_equal(hal_mock_call_count(f->hal, MOCK_RUN), 2);
	last = hal_mock_last_call(f->hal, MOCK_RUN);
	assert_int_equal(last->args[1], HAL_EXIT_INTR);
	vm_request_exit(f->vm, VM_EXIT_SIGNAL, 0);
	vm_stop_vcpus(f->vm);
	vm_destroy(f->vm);
	f->vm = NULL;
	device_fini(&dev);
}

/* Paused vCPUs run nothing: a scripted exit queued during the pause is
 * only taken after the resume. Repeated so a lost kick would hang. */
static void test_pause_parks_every_vcpu(void **state)
{
	struct fixture *f = *state;

	create_vm(f, 32, 2);
	hal_mock_set_run_blocks(f->hal, true);
	assert_int_equal(vm_start(f->vm), 0);
	for (int round = 0; round < 20; round++) {
		size_t before = f->cap.len;

		assert_int_equal(vm_pause(f->vm), 0);
		assert_true(f->vm->paused);
		assert_int_equal(f->vm->nr_parked, 2);
		assert_int_equal(vm_pause(f->vm), 0); /* idempotent */
		queue_io(f, (uint32_t)round % 2, 0x3f8, true, 1, 1, "p");
		usleep(2000);
		assert_int_equal(hal_mock_exits_pending(f->hal, (uint32_t)round % 2), 1);
		assert_int_equal(f->cap.len, before);
		vm_resume(f->vm);
		assert_false(f->vm->paused);
		for (int i = 0; i < 5000 && f->cap.len == before; i++)
			usleep(200);
		assert_int_equal(f->cap.len, before + 1);
	}
	/* Stopping a paused VM frees the parked threads. */
	assert_int_equal(vm_pause(f->vm), 0);
	vm_request_exit(f->vm, VM_EXIT_SIGNAL, 0);
	vm_stop_vcpus(f->vm);
	assert_false(f->vm->vcpus[0].thread_started);
	assert_false(f->vm->vcpus[1].thread_started);
	assert_int_equal(vm_pause(f->vm), -ESHUTDOWN);
}

static void test_irq_line_reaches_irqchip(void **state)
{
	struct fixture *f = *state;

	create_vm(f, 32, 1);
	assert_int_equal(vm_devices_set_irq(f->vm, 4, 1), 0);
	assert_int_equal(hal_mock_irq_level(f->hal, 4), 1);
	assert_int_equal(vm_devices_set_irq(f->vm, 4, 0), 0);
	assert_int_equal(hal_mock_irq_level(f->hal, 4), 0);
	assert_int_equal(hal_mock_irq_raises(f->hal, 4), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_lays_out_memory_and_irqchip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_above_the_hole_goes_high, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_config_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_creation_path_fault_injection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_path_fault_injection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_kernel_sets_boot_vcpu_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_template_reaches_vcpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial_and_unmapped_port_io, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmapped_reads_float_high, setup, teardown),
		cmocka_unit_test_setup_teardown(test_i8042_reset_stops_vm_cleanly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_reasons_map_to_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_poweroff_reset_and_panic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rtc_update_not_in_progress, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_failure_is_a_vcpu_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_stop_on_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_parks_every_vcpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_completes_the_last_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_line_reaches_irqchip, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
