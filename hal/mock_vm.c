/* Mock VM: memory slots, irqchip/PIT/clock state, irq lines, irqfd and
 * ioeventfd registrations, and the inspection controls for them. Errors
 * follow what KVM returns for the same mistake, so VMM code that handles
 * the mock's failures handles the kernel's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hal/mock_internal.h"
#include "vmm/log.h"

#define TSS_MAX_ADDR 0xffffd000ull /* KVM: the 3-page TSS must end below 4 GiB */
#define IOAPIC_BASE 0xfec00000ull

static const struct hal_vm_ops mock_vm_ops;

/* ---- simple state ------------------------------------------------------------ */

static int do_set_tss_addr(struct mock_vm *vm, uint64_t addr)
{
	(void)vm;
	if (addr > TSS_MAX_ADDR)
		return err_fail(-EINVAL, "mock: TSS at 0x%llx does not fit below 4 GiB",
				(unsigned long long)addr);
	return 0;
}

static int mock_set_tss_addr(struct hal_vm *vm, uint64_t addr)
{
	return MOCK_OP(mock_hal_of_vm(vm), MOCK_SET_TSS_ADDR, addr, 0, 0, 0,
		       do_set_tss_addr(mock_vm_of(vm), addr));
}

static int do_set_identity_map_addr(struct mock_vm *vm, uint64_t addr)
{
	if (vm->created_vcpus)
		return err_fail(-EINVAL, "mock: identity map at 0x%llx after vCPUs were created",
				(unsigned long long)addr);
	return 0;
}

static int mock_set_identity_map_addr(struct hal_vm *vm, uint64_t addr)
{
	return MOCK_OP(mock_hal_of_vm(vm), MOCK_SET_IDENTITY_MAP_ADDR, addr, 0, 0, 0,
		       do_set_identity_map_addr(mock_vm_of(vm), addr));
}

/* ---- memory slots ------------------------------------------------------------ */

static size_t dirty_bytes(const struct mock_slot *s)
{
	return (size_t)((s->size / MOCK_PAGE + 63) / 64 * 8);
}

static int do_set_memory_slot(struct mock_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
			      unsigned flags)
{
	struct mock_slot *s;

	if (slot >= HAL_MOCK_MAX_SLOTS)
		return err_fail(-EINVAL, "mock: slot %u out of range (max %u)", slot, HAL_MOCK_MAX_SLOTS - 1);
	if (flags & ~(unsigned)(HAL_SLOT_DIRTY_LOG | HAL_SLOT_READONLY))
		return err_fail(-EINVAL, "mock: slot %u: unknown flags 0x%x", slot, flags);
	s = &vm->slots[slot];
	if (!size) {
		if (!s->used)
			return err_fail(-EINVAL, "mock: deleting slot %u, which is empty", slot);
		free(s->dirty);
		memset(s, 0, sizeof(*s));
		return 0;
	}
	if ((gpa | size) % MOCK_PAGE || (uintptr_t)host % MOCK_PAGE)
		return err_fail(-EINVAL, "mock: slot %u (gpa 0x%llx, size 0x%llx, host %p) is not page aligned",
				slot, (unsigned long long)gpa, (unsigned long long)size, host);
	if (gpa + size < gpa || gpa + size == 0)
		return err_fail(-EINVAL, "mock: slot %u (gpa 0x%llx, size 0x%llx) wraps", slot,
				(unsigned long long)gpa, (unsigned long long)size);
	if (!host)
		return err_fail(-EFAULT, "mock: slot %u has no host memory", slot);
	if (s->used && (s->size != size || s->host != host || ((s->flags ^ flags) & HAL_SLOT_READONLY)))
		return err_fail(-EINVAL, "mock: slot %u may only move or toggle dirty logging", slot);
	for (uint32_t i = 0; i < HAL_MOCK_MAX_SLOTS; i++) {
		const struct mock_slot *o = &vm->slots[i];

		if (i == slot || !o->used)
			continue;
		if (gpa < o->gpa + o->size && o->gpa < gpa + size)
			return err_fail(-EEXIST, "mock: slot %u [0x%llx, 0x%llx) overlaps slot %u [0x%llx, 0x%llx)",
					slot, (unsigned long long)gpa, (unsigned long long)(gpa + size), i,
					(unsigned long long)o->gpa, (unsigned long long)(o->gpa + o->size));
	}
	if (!(flags & HAL_SLOT_DIRTY_LOG)) {
		free(s->dirty);
		s->dirty = NULL;
	}
	s->used = true;
	s->gpa = gpa;
	s->size = size;
	s->host = host;
	s->flags = flags;
	return 0;
}

static int mock_set_memory_slot(struct hal_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
				unsigned flags)
{
	return MOCK_OP(mock_hal_of_vm(vm), MOCK_SET_MEMORY_SLOT, slot, gpa, size, flags,
		       do_set_memory_slot(mock_vm_of(vm), slot, gpa, size, host, flags));
}

static int do_get_dirty_log(struct mock_vm *vm, uint32_t slot, void *bitmap)
{
	struct mock_slot *s = slot < HAL_MOCK_MAX_SLOTS ? &vm->slots[slot] : NULL;

	if (!s || !s->used || !(s->flags & HAL_SLOT_DIRTY_LOG))
		return err_fail(-ENOENT, "mock: slot %u has no dirty log", slot);
	if (s->dirty) {
		memcpy(bitmap, s->dirty, dirty_bytes(s));
		free(s->dirty);
		s->dirty = NULL;
	} else {
		memset(bitmap, 0, dirty_bytes(s));
	}
	return 0;
}

static int mock_get_dirty_log(struct hal_vm *vm, uint32_t slot, void *bitmap)
{
	return MOCK_OP(mock_hal_of_vm(vm), MOCK_GET_DIRTY_LOG, slot, 0, 0, 0,
		       do_get_dirty_log(mock_vm_of(vm), slot, bitmap));
}

/* ---- irqchip, PIT, clock ------------------------------------------------------- */

static int do_create_irqchip(struct mock_vm *vm)
{
	if (vm->irqchip)
		return err_fail(-EEXIST, "mock: the irqchip exists already");
	if (vm->created_vcpus)
		return err_fail(-EINVAL, "mock: irqchip after vCPUs were created");
	vm->irqchip = true;
	return 0;
}

static int mock_create_irqchip(struct hal_vm *vm)
{
	return MOCK_OP(mock_hal_of_vm(vm), MOCK_CREATE_IRQCHIP, 0, 0, 0, 0, do_create_irqchip(mock_vm_of(vm)));
}

static int do_create_pit(struct mock_vm *vm)
{
	if (vm->pit)
		return err_fail(-EEXIST, "mock: the PIT exists already");
	vm->pit = true;
	return 0;
}

static int mock_create_pit(struct hal_vm *vm)
{
	return MOCK_OP(mock_hal_of_vm(vm), MOCK_CREATE_PIT, 0, 0, 0, 0, do_create_pit(mock_vm_of(vm)));
}

static int do_irqchip(struct mock_vm *vm, struct kvm_irqchip *out, const struct kvm_irqchip *in)
{
	uint32_t id = out ? out->chip_id : in->chip_id;

	if (!vm->irqchip)
		return err_fail(-ENXIO, "mock: no irqchip");
	if (id > KVM_IRQCHIP_IOAPIC)
		return err_fail(-EINVAL, "mock: irqchip id %u", id);
	if (out)
		*out = vm->chips[id];
	else
		vm->chips[id] = *in;
	return 0;
}

static int mock_get_irqchip(struct hal_vm *vm, struct kvm_irqchip *chip)
{
	return MOCK_OP(mock_hal_of_vm(vm), MOCK_GET_IRQCHIP, chip->chip_id, 0, 0, 0,
		       do_irqchip(mock_vm_of(vm), chip, NULL));
}

static int mock_set_irqchip(struct hal_vm *vm, const struct kvm_irqchip *chip)
{
	return MOCK_OP(mock_hal_of_vm(vm), MOCK_SET_IRQCHIP, chip->chip_id, 0, 0, 0,
		       do_irqchip(mock_vm_of(vm), NULL, chip));
}

static int do_pit(struct mock_vm *vm, struct kvm_pit_state2 *out, const struct kvm_pit_state2 *in)
{
	if (!vm->pit)
		return err_fail(-ENXIO, "mock: no PIT");
	if (out)
		*out = vm->pit_state;
	else
		vm->pit_state = *in;
	return 0;
}

static int mock_get_pit(struct hal_vm *vm, struct kvm_pit_state2 *pit)
{
	return MOCK_OP(mock_hal_of_vm(vm), MOCK_GET_PIT, 0, 0, 0, 0, do_pit(mock_vm_of(vm), pit, NULL));
}

static int mock_set_pit(struct hal_vm *vm, const struct kvm_pit_state2 *pit)
{
	return MOCK_OP(mock_hal_of_vm(vm), MOCK_SET_PIT, 0, 0, 0, 0, do_pit(mock_vm_of(vm), NULL, pit));
}

static int mock_get_clock(struct hal_vm *vm, struct kvm_clock_data *clock)
{
	struct mock_vm *m = mock_vm_of(vm);

	return MOCK_OP(mock_hal_of_vm(vm), MOCK_GET_CLOCK, clock->clock, 0, 0, 0, (*clock = m->clock, 0));
}

static int mock_set_clock(struct hal_vm *vm, const struct kvm_clock_data *clock)
{
	struct mock_vm *m = mock_vm_of(vm);

	return MOCK_OP(mock_hal_of_vm(vm), MOCK_SET_CLOCK, clock->clock, 0, 0, 0, (m->clock = *clock, 0));
}

/* ---- interrupts -------------------------------------------------------------- */

static int do_set_irq_line(struct mock_vm *vm, uint32_t gsi, int level)
{
	if (!vm->irqchip)
		return err_fail(-ENXIO, "mock: irq line %u without an irqchip", gsi);
	if (gsi >= HAL_MOCK_NR_GSI)
		return err_fail(-EINVAL, "mock: gsi %u out of range (max %u)", gsi, HAL_MOCK_NR_GSI - 1);
	if (level != 0 && level != 1)
		return err_fail(-EINVAL, "mock: gsi %u level %d is not 0 or 1", gsi, level);
	if (level && !vm->irq_level[gsi])
		vm->irq_raises[gsi]++;
	vm->irq_level[gsi] = level;
	return 0;
}

static int mock_set_irq_line(struct hal_vm *vm, uint32_t gsi, int level)
{
	return MOCK_OP(mock_hal_of_vm(vm), MOCK_SET_IRQ_LINE, gsi, level, 0, 0,
		       do_set_irq_line(mock_vm_of(vm), gsi, level));
}

static int do_irqfd(struct mock_vm *vm, int fd, uint32_t gsi, bool assign)
{
	struct mock_irqfd **pp = &vm->irqfds;

	if (fd < 0)
		return err_fail(-EBADF, "mock: irqfd fd %d", fd);
	if (!vm->irqchip)
		return err_fail(-EAGAIN, "mock: irqfd for gsi %u before the irqchip exists", gsi);
	if (gsi >= HAL_MOCK_NR_GSI)
		return err_fail(-EINVAL, "mock: irqfd gsi %u out of range (max %u)", gsi, HAL_MOCK_NR_GSI - 1);
	if (assign) {
		for (struct mock_irqfd *i = vm->irqfds; i; i = i->next)
			if (i->fd == fd)
				return err_fail(-EEXIST, "mock: fd %d is already an irqfd (gsi %u)", fd, i->gsi);
		struct mock_irqfd *n = calloc(1, sizeof(*n));
		if (!n)
			return err_fail(-ENOMEM, "mock: irqfd record");
		*n = (struct mock_irqfd){ .next = vm->irqfds, .fd = fd, .gsi = gsi };
		vm->irqfds = n;
		return 0;
	}
	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd == fd && (*pp)->gsi == gsi) {
			struct mock_irqfd *dead = *pp;

			*pp = dead->next;
			free(dead);
			return 0;
		}
	}
	return err_fail(-ENOENT, "mock: no irqfd %d on gsi %u", fd, gsi);
}

static int mock_irqfd(struct hal_vm *vm, int fd, uint32_t gsi, bool assign)
{
	return MOCK_OP(mock_hal_of_vm(vm), MOCK_IRQFD, fd, gsi, assign, 0,
		       do_irqfd(mock_vm_of(vm), fd, gsi, assign));
}

/* KVM's rule: same bus and address, and lengths that can match the same
 * access, and data that can match the same value. */
static bool ioeventfd_collides(const struct hal_ioeventfd *a, const struct hal_ioeventfd *b)
{
	if (a->pio != b->pio || a->addr != b->addr)
		return false;
	if (!a->len || !b->len)
		return true;
	return a->len == b->len && (!a->datamatch || !b->datamatch || a->data == b->data);
}

static bool ioeventfd_same(const struct hal_ioeventfd *a, const struct hal_ioeventfd *b)
{
	return a->fd == b->fd && a->pio == b->pio && a->addr == b->addr && a->len == b->len &&
	       a->datamatch == b->datamatch && (!a->datamatch || a->data == b->data);
}

static int do_ioeventfd(struct mock_vm *vm, const struct hal_ioeventfd *ev, bool assign)
{
	const char *bus = ev->pio ? "pio" : "mmio";

	if (ev->len != 0 && ev->len != 1 && ev->len != 2 && ev->len != 4 && ev->len != 8)
		return err_fail(-EINVAL, "mock: ioeventfd %s 0x%llx: length %u", bus,
				(unsigned long long)ev->addr, ev->len);
	if (!ev->len && ev->datamatch)
		return err_fail(-EINVAL, "mock: ioeventfd %s 0x%llx: data match needs a length", bus,
				(unsigned long long)ev->addr);
	if (ev->fd < 0)
		return err_fail(-EBADF, "mock: ioeventfd fd %d", ev->fd);
	if (ev->len && ev->addr + ev->len - 1 < ev->addr)
		return err_fail(-EINVAL, "mock: ioeventfd %s 0x%llx+%u wraps", bus,
				(unsigned long long)ev->addr, ev->len);
	if (assign) {
		for (struct mock_ioeventfd *i = vm->ioeventfds; i; i = i->next)
			if (ioeventfd_collides(&i->ev, ev))
				return err_fail(-EEXIST, "mock: ioeventfd %s 0x%llx is taken by fd %d", bus,
						(unsigned long long)ev->addr, i->ev.fd);
		struct mock_ioeventfd *n = calloc(1, sizeof(*n));
		if (!n)
			return err_fail(-ENOMEM, "mock: ioeventfd record");
		n->ev = *ev;
		n->next = vm->ioeventfds;
		vm->ioeventfds = n;
		return 0;
	}
	for (struct mock_ioeventfd **pp = &vm->ioeventfds; *pp; pp = &(*pp)->next) {
		if (ioeventfd_same(&(*pp)->ev, ev)) {
			struct mock_ioeventfd *dead = *pp;

			*pp = dead->next;
			free(dead);
			return 0;
		}
	}
	return err_fail(-ENOENT, "mock: no ioeventfd %d at %s 0x%llx", ev->fd, bus,
			(unsigned long long)ev->addr);
}

int mock_vm_ioeventfd_match(const struct mock_vm *vm, bool pio, uint64_t addr, uint32_t len, const uint8_t *data)
{
	uint64_t value = 0;

	if (len > sizeof(value))
		return -1;
	memcpy(&value, data, len);
	for (const struct mock_ioeventfd *i = vm->ioeventfds; i; i = i->next) {
		const struct hal_ioeventfd *ev = &i->ev;

		if (ev->pio == pio && ev->addr == addr && (!ev->len || ev->len == len) &&
		    (!ev->datamatch || ev->data == value))
			return ev->fd;
	}
	return -1;
}

static int mock_ioeventfd(struct hal_vm *vm, const struct hal_ioeventfd *ev, bool assign)
{
	uint32_t flags = (ev->pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (ev->datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN);

	return MOCK_OP(mock_hal_of_vm(vm), MOCK_IOEVENTFD, ev->addr, ev->len, ev->data, flags,
		       do_ioeventfd(mock_vm_of(vm), ev, assign));
}

/* ---- vCPUs and lifetime -------------------------------------------------------- */

static int do_create_vcpu(struct mock_vm *vm, uint32_t id, struct hal_vcpu **out)
{
	struct mock_vcpu *v;
	int max = mock_hal_of_vm(&vm->base)->caps[HAL_CAP_MAX_VCPUS];
	int r;

	if (id >= HAL_MOCK_MAX_VCPUS)
		return err_fail(-EINVAL, "mock: vCPU id %u out of range (max %u)", id, HAL_MOCK_MAX_VCPUS - 1);
	if (vm->vcpus[id])
		return err_fail(-EEXIST, "mock: vCPU %u exists already", id);
	if ((int)vm->nr_vcpus >= max)
		return err_fail(-EINVAL, "mock: vCPU %u would be one more than the max of %d", id, max);
	r = mock_vcpu_new(vm, id, &v);
	if (r)
		return r;
	vm->vcpus[id] = v;
	vm->nr_vcpus++;
	vm->created_vcpus++;
	*out = &v->base;
	return 0;
}

static int mock_create_vcpu(struct hal_vm *vm, uint32_t id, struct hal_vcpu **out)
{
	return MOCK_OP(mock_hal_of_vm(vm), MOCK_CREATE_VCPU, id, 0, 0, 0,
		       do_create_vcpu(mock_vm_of(vm), id, out));
}

void mock_vm_free(struct mock_vm *vm)
{
	for (unsigned i = 0; i < HAL_MOCK_MAX_VCPUS; i++)
		if (vm->vcpus[i])
			mock_vcpu_free(vm->vcpus[i]);
	for (unsigned i = 0; i < HAL_MOCK_MAX_SLOTS; i++)
		free(vm->slots[i].dirty);
	while (vm->irqfds) {
		struct mock_irqfd *next = vm->irqfds->next;

		free(vm->irqfds);
		vm->irqfds = next;
	}
	while (vm->ioeventfds) {
		struct mock_ioeventfd *next = vm->ioeventfds->next;

		free(vm->ioeventfds);
		vm->ioeventfds = next;
	}
	free(vm);
}

static void mock_vm_destroy(struct hal_vm *hvm)
{
	struct mock_hal *mh = mock_hal_of_vm(hvm);
	struct mock_vm *vm = mock_vm_of(hvm);

	pthread_mutex_lock(&mh->lock);
	for (struct mock_vm **pp = &mh->vms; *pp; pp = &(*pp)->next) {
		if (*pp == vm) {
			*pp = vm->next;
			break;
		}
	}
	mock_vm_free(vm);
	pthread_mutex_unlock(&mh->lock);
}

int mock_vm_new(struct mock_hal *mh, struct mock_vm **out)
{
	struct mock_vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return err_fail(-ENOMEM, "mock: VM");
	vm->base.ops = &mock_vm_ops;
	vm->base.hal = &mh->base;
	for (uint32_t i = 0; i < 3; i++)
		vm->chips[i].chip_id = i;
	/* Like KVM after reset: the IOAPIC at its base with every pin masked. */
	vm->chips[KVM_IRQCHIP_IOAPIC].chip.ioapic.base_address = IOAPIC_BASE;
	for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		vm->chips[KVM_IRQCHIP_IOAPIC].chip.ioapic.redirtbl[i].fields.mask = 1;
	vm->next = mh->vms;
	mh->vms = vm;
	*out = vm;
	return 0;
}

static const struct hal_vm_ops mock_vm_ops = {
	.set_tss_addr = mock_set_tss_addr,
	.set_identity_map_addr = mock_set_identity_map_addr,
	.set_memory_slot = mock_set_memory_slot,
	.create_irqchip = mock_create_irqchip,
	.create_pit = mock_create_pit,
	.set_irq_line = mock_set_irq_line,
	.irqfd = mock_irqfd,
	.ioeventfd = mock_ioeventfd,
	.get_clock = mock_get_clock,
	.set_clock = mock_set_clock,
	.get_irqchip = mock_get_irqchip,
	.set_irqchip = mock_set_irqchip,
	.get_pit = mock_get_pit,
	.set_pit = mock_set_pit,
	.get_dirty_log = mock_get_dirty_log,
	.create_vcpu = mock_create_vcpu,
	.destroy = mock_vm_destroy,
};

/* ---- inspection controls ---------------------------------------------------------- */

struct hal_vm *hal_mock_vm(struct hal *hal)
{
	struct mock_hal *mh = mock_of(hal);
	struct mock_vm *vm;

	pthread_mutex_lock(&mh->lock);
	vm = mock_current_vm(mh);
	pthread_mutex_unlock(&mh->lock);
	return vm ? &vm->base : NULL;
}

struct hal_vcpu *hal_mock_vcpu(struct hal *hal, uint32_t vcpu_id)
{
	struct mock_hal *mh = mock_of(hal);
	struct mock_vm *vm;
	struct hal_vcpu *v = NULL;

	pthread_mutex_lock(&mh->lock);
	vm = mock_current_vm(mh);
	if (vm && vcpu_id < HAL_MOCK_MAX_VCPUS && vm->vcpus[vcpu_id])
		v = &vm->vcpus[vcpu_id]->base;
	pthread_mutex_unlock(&mh->lock);
	return v;
}

int hal_mock_irq_level(struct hal *hal, uint32_t gsi)
{
	struct mock_hal *mh = mock_of(hal);
	struct mock_vm *vm;
	int level = -1;

	pthread_mutex_lock(&mh->lock);
	vm = mock_current_vm(mh);
	if (vm && gsi < HAL_MOCK_NR_GSI)
		level = vm->irq_level[gsi];
	pthread_mutex_unlock(&mh->lock);
	return level;
}

unsigned hal_mock_irq_raises(struct hal *hal, uint32_t gsi)
{
	struct mock_hal *mh = mock_of(hal);
	struct mock_vm *vm;
	unsigned n = 0;

	pthread_mutex_lock(&mh->lock);
	vm = mock_current_vm(mh);
	if (vm && gsi < HAL_MOCK_NR_GSI)
		n = vm->irq_raises[gsi];
	pthread_mutex_unlock(&mh->lock);
	return n;
}

bool hal_mock_slot(struct hal *hal, uint32_t slot, uint64_t *gpa, uint64_t *size, void **host,
		   unsigned *flags)
{
	struct mock_hal *mh = mock_of(hal);
	struct mock_vm *vm;
	bool found = false;

	pthread_mutex_lock(&mh->lock);
	vm = mock_current_vm(mh);
	if (vm && slot < HAL_MOCK_MAX_SLOTS && vm->slots[slot].used) {
		const struct mock_slot *s = &vm->slots[slot];

		found = true;
		if (gpa)
			*gpa = s->gpa;
		if (size)
			*size = s->size;
		if (host)
			*host = s->host;
		if (flags)
			*flags = s->flags;
	}
	pthread_mutex_unlock(&mh->lock);
	return found;
}

int hal_mock_irqfd(struct hal *hal, uint32_t gsi)
{
	struct mock_hal *mh = mock_of(hal);
	struct mock_vm *vm;
	int fd = -1;

	pthread_mutex_lock(&mh->lock);
	vm = mock_current_vm(mh);
	for (struct mock_irqfd *i = vm ? vm->irqfds : NULL; i; i = i->next)
		if (i->gsi == gsi)
			fd = i->fd;
	pthread_mutex_unlock(&mh->lock);
	return fd;
}

int hal_mock_ioeventfd(struct hal *hal, uint64_t addr, bool pio)
{
	struct mock_hal *mh = mock_of(hal);
	struct mock_vm *vm;
	int fd = -1;

	pthread_mutex_lock(&mh->lock);
	vm = mock_current_vm(mh);
	for (struct mock_ioeventfd *i = vm ? vm->ioeventfds : NULL; i; i = i->next)
		if (i->ev.addr == addr && i->ev.pio == pio)
			fd = i->ev.fd;
	pthread_mutex_unlock(&mh->lock);
	return fd;
}

int hal_mock_set_dirty_bitmap(struct hal *hal, uint32_t slot, const void *bitmap, size_t len)
{
	struct mock_hal *mh = mock_of(hal);
	struct mock_vm *vm;
	struct mock_slot *s;
	int r = 0;

	pthread_mutex_lock(&mh->lock);
	vm = mock_current_vm(mh);
	s = vm && slot < HAL_MOCK_MAX_SLOTS ? &vm->slots[slot] : NULL;
	if (!s || !s->used) {
		r = err_fail(-ENOENT, "mock: no slot %u", slot);
	} else if (len > dirty_bytes(s)) {
		r = err_fail(-EINVAL, "mock: %zu bitmap bytes for slot %u, which needs %zu", len, slot,
			     dirty_bytes(s));
	} else {
		if (!s->dirty)
			s->dirty = calloc(1, dirty_bytes(s));
		if (!s->dirty) {
			r = err_fail(-ENOMEM, "mock: dirty bitmap");
		} else {
			memset(s->dirty, 0, dirty_bytes(s));
			memcpy(s->dirty, bitmap, len);
		}
	}
	pthread_mutex_unlock(&mh->lock);
	return r;
}
