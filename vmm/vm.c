#include "vmm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/layout.h"
#include "snapshot/ram_file.h"
#include "vmm/log.h"
#include "vmm/vm_devices.h"
#include "vmm/vm_virtio.h"

static const char *const exit_reason_names[] = {
	[VM_EXIT_NONE] = "none",
	[VM_EXIT_GUEST_RESET] = "guest reset",
	[VM_EXIT_GUEST_SHUTDOWN] = "guest shutdown",
	[VM_EXIT_GUEST_HALT] = "guest halted",
	[VM_EXIT_SIGNAL] = "signal",
	[VM_EXIT_VCPU_ERROR] = "vCPU error",
	[VM_EXIT_GUEST_CRASH] = "guest crash",
};

const char *vm_exit_reason_name(enum vm_exit_reason reason)
{
	return reason <= VM_EXIT_GUEST_CRASH ? exit_reason_names[reason] : "?";
}

unsigned vm_ram_layout(uint64_t mem_bytes, uint64_t gpa[2], uint64_t size[2])
{
	uint64_t low = mem_bytes < LAYOUT_MMIO_GAP_START ? mem_bytes : LAYOUT_MMIO_GAP_START;

	gpa[0] = 0;
	size[0] = low;
	gpa[1] = LAYOUT_HIGH_RAM_START;
	size[1] = mem_bytes - low;
	return size[1] ? 2 : 1;
}

static int vm_ram_get(struct vm *vm, const struct vm_config *cfg, unsigned i, uint64_t size, void **host)
{
	const struct vm_mem_file *mf = cfg->mem_file;
	struct stat st;
	int ret;

	if (!mf) {
		ret = vm->hal->ops->mem_alloc(vm->hal, size, HAL_MEM_NORESERVE, host);
		return ret ? err_wrap(ret, "allocating %llu MiB of guest memory",
				      (unsigned long long)(size >> 20))
			   : 0;
	}
	ret = ram_file_load(vm->hal, mf->fd, mf->offset[i], size, mf->lazy, host);
	if (ret)
		return err_wrap(ret, "guest memory region %u from the memory file", i);
	if (mf->lazy && fstat(mf->fd, &st) == 0) {
		vm->ram_from_file = true;
		vm->ram_file_dev = st.st_dev;
		vm->ram_file_ino = st.st_ino;
	}
	return 0;
}

static int vm_setup_memory(struct vm *vm, const struct vm_config *cfg)
{
	uint64_t gpas[2], sizes[2];
	unsigned n = vm_ram_layout(cfg->mem_mib << 20, gpas, sizes);
	int ret;

	for (unsigned i = 0; i < n; i++) {
		struct vm_ram *ram = &vm->ram[i];

		ret = vm_ram_get(vm, cfg, i, sizes[i], &ram->host);
		if (ret)
			return ret;
		ram->gpa = gpas[i];
		ram->size = sizes[i];
		vm->nr_ram++;
		ret = guest_mem_add_region(&vm->mem, ram->gpa, ram->size, ram->host);
		if (ret)
			return ret;
		ret = vm->hvm->ops->set_memory_slot(vm->hvm, i, ram->gpa, ram->size, ram->host,
						    cfg->track_dirty ? HAL_SLOT_DIRTY_LOG : 0);
		if (ret)
			return ret;
	}
	/* After the regions exist: tracking sizes its bitmaps from them. */
	if (cfg->track_dirty && (ret = guest_mem_track_dirty(&vm->mem, true)))
		return ret;
	vm->track_dirty = cfg->track_dirty;
	return 0;
}

static int vm_setup_irqchip(struct vm *vm)
{
	const struct hal_vm_ops *ops = vm->hvm->ops;
	int ret;

	ret = ops->set_tss_addr(vm->hvm, LAYOUT_TSS_ADDR);
	if (!ret)
		ret = ops->set_identity_map_addr(vm->hvm, LAYOUT_IDENTITY_MAP_ADDR);
	if (!ret)
		ret = ops->create_irqchip(vm->hvm);
	if (!ret)
		ret = ops->create_pit(vm->hvm);
	return ret;
}

static int vm_load_cpuid(struct vm *vm)
{
	int ret;

	vm->cpuid = calloc(1, sizeof(*vm->cpuid));
	if (!vm->cpuid)
		return err_fail(-ENOMEM, "no memory for the CPUID table");
	vm->cpuid->head.nent = CPUID_MAX_ENTRIES;
	ret = vm->hal->ops->get_supported_cpuid(vm->hal, &vm->cpuid->head);
	return ret ? err_wrap(ret, "reading supported CPUID") : 0;
}

static int vm_create_vcpus(struct vm *vm, uint32_t nr)
{
	for (uint32_t i = 0; i < nr; i++) {
		struct vcpu *vcpu = &vm->vcpus[i];
		int ret = vm->hvm->ops->create_vcpu(vm->hvm, i, &vcpu->hal);

		if (ret)
			return err_wrap(ret, "creating vCPU %u", i);
		vcpu->vm = vm;
		vcpu->id = i;
		vm->nr_vcpus++;
	}
	return 0;
}

int vm_create(struct hal *hal, const struct vm_config *cfg, struct vm **out)
{
	struct vm *vm;
	int ret;

	if (cfg->nr_vcpus < 1 || cfg->nr_vcpus > LAYOUT_MAX_VCPUS)
		return err_fail(-EINVAL, "%u vCPUs requested, 1 to %d supported", cfg->nr_vcpus,
				LAYOUT_MAX_VCPUS);
	if (cfg->mem_mib < LAYOUT_MEM_MIN_MiB || cfg->mem_mib > (UINT64_MAX >> 21))
		return err_fail(-EINVAL, "%llu MiB of memory requested, at least %llu needed",
				(unsigned long long)cfg->mem_mib, LAYOUT_MEM_MIN_MiB);
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return err_fail(-ENOMEM, "no memory for the VM");
	vm->hal = hal;
	vm->console = cfg->console;
	vm->exit_fd = -1;
	guest_mem_init(&vm->mem);
	resources_init(&vm->resources);
	bus_init(&vm->pio_bus, "pio");
	bus_init(&vm->mmio_bus, "mmio");
	pthread_mutex_init(&vm->exit_lock, NULL);
	pthread_cond_init(&vm->exit_cond, NULL);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	atomic_init(&vm->stopping, false);
	atomic_init(&vm->pause_requested, false);

	vm->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->exit_fd < 0) {
		ret = err_fail(-errno, "eventfd: %m");
		goto fail;
	}
	ret = hal->ops->create_vm(hal, &vm->hvm);
	if (!ret)
		ret = vm_setup_irqchip(vm);
	if (!ret)
		ret = vm_setup_memory(vm, cfg);
	if (!ret)
		ret = vm_load_cpuid(vm);
	if (!ret)
		ret = vm_devices_create(vm);
	if (!ret)
		ret = vm_create_vcpus(vm, cfg->nr_vcpus);
	if (ret)
		goto fail;
	*out = vm;
	return 0;
fail:
	err_wrap(ret, "creating the VM");
	vm_destroy(vm);
	return ret;
}

int vm_load_kernel(struct vm *vm, const struct boot_config *boot_in)
{
	/* Distribution kernels find extra CPUs, the devices and poweroff only
	 * through ACPI, so every VM gets tables unless the caller brings its own. */
	struct acpi_virtio_dev virtio[VM_VIRTIO_MAX];
	struct acpi_config acpi = { .nr_vcpus = vm->nr_vcpus, .pvpanic = true, .virtio = virtio,
				    .nr_virtio = vm->nr_virtio };
	struct boot_config boot = *boot_in;
	int ret;

	for (unsigned i = 0; i < vm->nr_virtio; i++)
		virtio[i] = (struct acpi_virtio_dev){ vm->virtio[i]->base, VIRTIO_MMIO_RANGE_LEN, vm->virtio[i]->gsi };
	if (!boot.acpi)
		boot.acpi = &acpi;
	ret = boot_load(&vm->mem, &boot, &vm->boot);

	if (ret)
		return ret;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_configure(&vm->vcpus[i], vm->cpuid, vm->nr_vcpus, i == 0 ? &vm->boot : NULL,
				     vm->cpu_template);
		if (ret)
			return ret;
	}
	return 0;
}

int vm_start(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		int ret = vcpu_start(&vm->vcpus[i]);

		if (ret) {
			vm_stop_vcpus(vm);
			return ret;
		}
	}
	return 0;
}

void vm_request_exit(struct vm *vm, enum vm_exit_reason reason, int code)
{
	uint64_t one = 1;

	/* Every vCPU loop checks this after each exit, so the one that asked
	 * stops at once; the rest are kicked by vm_stop_vcpus. */
	atomic_store(&vm->stopping, true);
	pthread_mutex_lock(&vm->exit_lock);
	if (vm->exit_reason == VM_EXIT_NONE) {
		vm->exit_reason = reason;
		vm->exit_code = code;
		log_info("VM exit requested: %s (code %d)", vm_exit_reason_name(reason), code);
		if (write(vm->exit_fd, &one, sizeof(one)) < 0)
			log_warn("exit eventfd write failed: %m");
		pthread_cond_broadcast(&vm->exit_cond);
	}
	pthread_mutex_unlock(&vm->exit_lock);
}

int vm_wait_exit(struct vm *vm)
{
	int code;

	pthread_mutex_lock(&vm->exit_lock);
	while (vm->exit_reason == VM_EXIT_NONE)
		pthread_cond_wait(&vm->exit_cond, &vm->exit_lock);
	code = vm->exit_code;
	pthread_mutex_unlock(&vm->exit_lock);
	return code;
}

static unsigned vm_running_vcpus(const struct vm *vm)
{
	unsigned n = 0;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		n += vm->vcpus[i].thread_started;
	return n;
}

int vm_pause(struct vm *vm)
{
	unsigned want = vm_running_vcpus(vm);

	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vm->pause_requested, true);
	pthread_mutex_unlock(&vm->pause_lock);
	/* The kick sets immediate_exit, so a vCPU about to enter run()
	 * comes straight back and parks. */
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].thread_started)
			vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->nr_parked < want && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->paused = !atomic_load(&vm->stopping);
	pthread_mutex_unlock(&vm->pause_lock);
	return vm->paused ? 0 : err_fail(-ESHUTDOWN, "the VM is stopping");
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vm->pause_requested, false);
	vm->paused = false;
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_vcpu_park_if_paused(struct vm *vm, struct vcpu *vcpu)
{
	if (!atomic_load(&vm->pause_requested))
		return;
	pthread_mutex_lock(&vm->pause_lock);
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (atomic_load(&vm->pause_requested) && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->nr_parked--;
	/* Cleared under the lock: a later pause sets pause_requested under
	 * it before kicking, so its kick cannot be lost to this store. */
	if (!atomic_load(&vm->stopping))
		vcpu->hal->ops->set_immediate_exit(vcpu->hal, false);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_stop_vcpus(struct vm *vm)
{
	atomic_store(&vm->stopping, true);
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].thread_started)
			vcpu_kick(&vm->vcpus[i]);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].thread_started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].thread_started = false;
		}
	}
}

int vm_guest_resident(const struct vm *vm, uint64_t *bytes)
{
	*bytes = 0;
	for (unsigned i = 0; i < vm->nr_ram; i++) {
		uint64_t b;
		int ret = vm->hal->ops->mem_resident(vm->hal, vm->ram[i].host, vm->ram[i].size, &b);

		if (ret)
			return ret;
		*bytes += b;
	}
	return 0;
}

void vm_exit_counts(const struct vm *vm, uint64_t counts[HAL_EXIT_UNKNOWN + 1])
{
	memset(counts, 0, sizeof(uint64_t) * (HAL_EXIT_UNKNOWN + 1));
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		for (unsigned r = 0; r <= HAL_EXIT_UNKNOWN; r++)
			counts[r] += __atomic_load_n(&vm->vcpus[i].exit_counts[r], __ATOMIC_RELAXED);
}

void vm_exit_dirs(const struct vm *vm, uint64_t counts[VCPU_EXIT_DIRS])
{
	memset(counts, 0, sizeof(uint64_t) * VCPU_EXIT_DIRS);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		for (unsigned d = 0; d < VCPU_EXIT_DIRS; d++)
			counts[d] += __atomic_load_n(&vm->vcpus[i].exit_dirs[d], __ATOMIC_RELAXED);
}

void vm_exit_sites(const struct vm *vm, struct exit_sites *sites)
{
	memset(sites, 0, sizeof(*sites));
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		exit_sites_merge(sites, &vm->vcpus[i].exit_sites);
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	vm_stop_vcpus(vm);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].hal->ops->destroy(vm->vcpus[i].hal);
	vm_devices_destroy(vm);
	vm_virtio_destroy(vm);
	if (vm->hvm)
		vm->hvm->ops->destroy(vm->hvm);
	for (unsigned i = 0; i < vm->nr_ram; i++)
		vm->hal->ops->mem_free(vm->hal, vm->ram[i].host, vm->ram[i].size);
	guest_mem_fini(&vm->mem);
	free(vm->cpuid);
	bus_fini(&vm->pio_bus);
	bus_fini(&vm->mmio_bus);
	if (vm->exit_fd >= 0)
		close(vm->exit_fd);
	pthread_cond_destroy(&vm->exit_cond);
	pthread_mutex_destroy(&vm->exit_lock);
	pthread_cond_destroy(&vm->pause_cond);
	pthread_mutex_destroy(&vm->pause_lock);
	free(vm);
}
