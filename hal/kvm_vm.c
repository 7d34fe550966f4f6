/* KVM backend: the VM fd. Each op is one ioctl; errors name the ioctl and
 * its arguments so a failure log says what was asked of the kernel. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hal/kvm_internal.h"
#include "vmm/log.h"

#define MiB (1ull << 20)

static const struct hal_vm_ops kvm_vm_ops;

static struct kvm_hal_vm *vm_of(struct hal_vm *vm)
{
	return (struct kvm_hal_vm *)vm;
}

/* ioctl on the VM fd; the message names the request. */
static int vm_ioctl(struct hal_vm *vm, unsigned long req, const char *name, void *arg)
{
	if (ioctl(vm_of(vm)->fd, req, arg) < 0) {
		int e = errno;

		return err_set(-e, "%s: %s", name, strerror(e));
	}
	return 0;
}

static int kvm_set_tss_addr(struct hal_vm *vm, uint64_t addr)
{
	if (ioctl(vm_of(vm)->fd, KVM_SET_TSS_ADDR, (unsigned long)addr) < 0)
		return err_fail(-errno, "KVM_SET_TSS_ADDR 0x%llx: %s", (unsigned long long)addr, strerror(errno));
	return 0;
}

static int kvm_set_identity_map_addr(struct hal_vm *vm, uint64_t addr)
{
	__u64 a = addr;

	if (ioctl(vm_of(vm)->fd, KVM_SET_IDENTITY_MAP_ADDR, &a) < 0)
		return err_fail(-errno, "KVM_SET_IDENTITY_MAP_ADDR 0x%llx: %s", (unsigned long long)addr,
				strerror(errno));
	return 0;
}

static int kvm_set_memory_slot(struct hal_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
			       unsigned flags)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.flags = ((flags & HAL_SLOT_DIRTY_LOG) ? KVM_MEM_LOG_DIRTY_PAGES : 0) |
			 ((flags & HAL_SLOT_READONLY) ? KVM_MEM_READONLY : 0),
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};
	char what[32];

	if (size % MiB == 0)
		snprintf(what, sizeof(what), "%llu MiB", (unsigned long long)(size / MiB));
	else
		snprintf(what, sizeof(what), "0x%llx bytes", (unsigned long long)size);
	if (flags & ~(unsigned)(HAL_SLOT_DIRTY_LOG | HAL_SLOT_READONLY))
		return err_fail(-EINVAL, "slot %u: unknown flags 0x%x", slot, flags);
	if (ioctl(vm_of(vm)->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return err_fail(-errno, "KVM_SET_USER_MEMORY_REGION slot %u (gpa 0x%llx, %s): %s", slot,
				(unsigned long long)gpa, what, strerror(errno));
	return 0;
}

static int kvm_create_irqchip(struct hal_vm *vm)
{
	return vm_ioctl(vm, KVM_CREATE_IRQCHIP, "KVM_CREATE_IRQCHIP", NULL);
}

static int kvm_create_pit(struct hal_vm *vm)
{
	struct kvm_pit_config config = { .flags = 0 };

	return vm_ioctl(vm, KVM_CREATE_PIT2, "KVM_CREATE_PIT2", &config);
}

static int kvm_set_irq_line(struct hal_vm *vm, uint32_t gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = (uint32_t)level };

	if (ioctl(vm_of(vm)->fd, KVM_IRQ_LINE, &irq) < 0)
		return err_fail(-errno, "KVM_IRQ_LINE gsi %u level %d: %s", gsi, level, strerror(errno));
	return 0;
}

static int kvm_irqfd(struct hal_vm *vm, int fd, uint32_t gsi, bool assign)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi, .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };

	if (ioctl(vm_of(vm)->fd, KVM_IRQFD, &irqfd) < 0)
		return err_fail(-errno, "KVM_IRQFD %s fd %d gsi %u: %s", assign ? "assign" : "deassign", fd, gsi,
				strerror(errno));
	return 0;
}

static int kvm_ioeventfd(struct hal_vm *vm, const struct hal_ioeventfd *ev, bool assign)
{
	struct kvm_ioeventfd io = {
		.datamatch = ev->datamatch ? ev->data : 0,
		.addr = ev->addr,
		.len = ev->len,
		.fd = ev->fd,
		.flags = (ev->pio ? KVM_IOEVENTFD_FLAG_PIO : 0) | (ev->datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if (ioctl(vm_of(vm)->fd, KVM_IOEVENTFD, &io) < 0)
		return err_fail(-errno, "KVM_IOEVENTFD %s fd %d %s 0x%llx len %u: %s",
				assign ? "assign" : "deassign", ev->fd, ev->pio ? "pio" : "mmio",
				(unsigned long long)ev->addr, ev->len, strerror(errno));
	return 0;
}

static int kvm_get_clock(struct hal_vm *vm, struct kvm_clock_data *clock)
{
	return vm_ioctl(vm, KVM_GET_CLOCK, "KVM_GET_CLOCK", clock);
}

static int kvm_set_clock(struct hal_vm *vm, const struct kvm_clock_data *clock)
{
	struct kvm_clock_data c = *clock;

	/* TSC_STABLE and HOST_TSC describe what GET_CLOCK saw; SET_CLOCK
	 * refuses them (and older kernels refuse any flag but REALTIME). */
	c.flags &= KVM_CLOCK_REALTIME;
	return vm_ioctl(vm, KVM_SET_CLOCK, "KVM_SET_CLOCK", &c);
}

static int kvm_get_irqchip(struct hal_vm *vm, struct kvm_irqchip *chip)
{
	if (ioctl(vm_of(vm)->fd, KVM_GET_IRQCHIP, chip) < 0)
		return err_fail(-errno, "KVM_GET_IRQCHIP chip %u: %s", chip->chip_id, strerror(errno));
	return 0;
}

static int kvm_set_irqchip(struct hal_vm *vm, const struct kvm_irqchip *chip)
{
	struct kvm_irqchip c = *chip;

	if (ioctl(vm_of(vm)->fd, KVM_SET_IRQCHIP, &c) < 0)
		return err_fail(-errno, "KVM_SET_IRQCHIP chip %u: %s", chip->chip_id, strerror(errno));
	return 0;
}

static int kvm_get_pit(struct hal_vm *vm, struct kvm_pit_state2 *pit)
{
	return vm_ioctl(vm, KVM_GET_PIT2, "KVM_GET_PIT2", pit);
}

static int kvm_set_pit(struct hal_vm *vm, const struct kvm_pit_state2 *pit)
{
	struct kvm_pit_state2 p = *pit;

	return vm_ioctl(vm, KVM_SET_PIT2, "KVM_SET_PIT2", &p);
}

static int kvm_get_dirty_log(struct hal_vm *vm, uint32_t slot, void *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	if (ioctl(vm_of(vm)->fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return err_fail(-errno, "KVM_GET_DIRTY_LOG slot %u: %s", slot, strerror(errno));
	return 0;
}

static int kvm_create_vcpu_op(struct hal_vm *vm, uint32_t id, struct hal_vcpu **out)
{
	return kvm_vcpu_create(vm_of(vm), id, out);
}

void kvm_vm_free(struct kvm_hal_vm *vm)
{
	while (vm->vcpus) {
		struct kvm_hal_vcpu *v = vm->vcpus;

		vm->vcpus = v->next;
		kvm_vcpu_free(v);
	}
	close(vm->fd);
	free(vm);
}

static void kvm_vm_destroy(struct hal_vm *hvm)
{
	struct kvm_hal *h = kvm_hal_of(hvm->hal);
	struct kvm_hal_vm *vm = vm_of(hvm);

	pthread_mutex_lock(&h->lock);
	for (struct kvm_hal_vm **pp = &h->vms; *pp; pp = &(*pp)->next) {
		if (*pp == vm) {
			*pp = vm->next;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	kvm_vm_free(vm);
}

int kvm_vm_create(struct kvm_hal *h, struct hal_vm **out)
{
	struct kvm_hal_vm *vm;
	int fd;

	/* KVM_CREATE_VM can be interrupted while it sets up the MMU. */
	do
		fd = ioctl(h->fd, KVM_CREATE_VM, 0);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return err_fail(-errno, "KVM_CREATE_VM: %s", strerror(errno));
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		close(fd);
		return err_fail(-ENOMEM, "VM object");
	}
	vm->base.ops = &kvm_vm_ops;
	vm->base.hal = &h->base;
	vm->fd = fd;
	pthread_mutex_lock(&h->lock);
	vm->next = h->vms;
	h->vms = vm;
	pthread_mutex_unlock(&h->lock);
	*out = &vm->base;
	return 0;
}

static const struct hal_vm_ops kvm_vm_ops = {
	.set_tss_addr = kvm_set_tss_addr,
	.set_identity_map_addr = kvm_set_identity_map_addr,
	.set_memory_slot = kvm_set_memory_slot,
	.create_irqchip = kvm_create_irqchip,
	.create_pit = kvm_create_pit,
	.set_irq_line = kvm_set_irq_line,
	.irqfd = kvm_irqfd,
	.ioeventfd = kvm_ioeventfd,
	.get_clock = kvm_get_clock,
	.set_clock = kvm_set_clock,
	.get_irqchip = kvm_get_irqchip,
	.set_irqchip = kvm_set_irqchip,
	.get_pit = kvm_get_pit,
	.set_pit = kvm_set_pit,
	.get_dirty_log = kvm_get_dirty_log,
	.create_vcpu = kvm_create_vcpu_op,
	.destroy = kvm_vm_destroy,
};
