#include "vmm/vm_virtio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/blk.h"
#include "devices/virtio/net.h"
#include "devices/virtio/vsock.h"
#include "devices/virtio/rng.h"
#include "vmm/log.h"
#include "vmm/vm.h"
#include "vmm/vm_spec.h"

_Static_assert(SPEC_ID_MAX <= VM_VIRTIO_ID_MAX, "vm_virtio ids must hold an iface_id");
_Static_assert(DRIVE_ID_MAX <= VM_VIRTIO_ID_MAX, "vm_virtio ids must hold a drive id");

static void signal_fd(int fd)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already non-zero: the wake-up is pending. */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("eventfd %d: %m", fd);
}

static void vm_virtio_interrupt(void *opaque)
{
	struct vm_virtio *v = opaque;

	if (v->irq_fd >= 0) {
		signal_fd(v->irq_fd);
		return;
	}
	v->vm->hvm->ops->set_irq_line(v->vm->hvm, v->gsi, 1);
	v->vm->hvm->ops->set_irq_line(v->vm->hvm, v->gsi, 0);
}

/* A QueueNotify that reached userspace: pass it to the event loop. */
static void vm_virtio_kick(void *opaque, unsigned q)
{
	struct vm_virtio *v = opaque;

	if (q < VIRTIO_MAX_QUEUES && v->kicks[q].fd >= 0)
		signal_fd(v->kicks[q].fd);
}

static void vm_virtio_on_kick(void *opaque, uint32_t events)
{
	struct vm_virtio_kick *k = opaque;
	uint64_t n;

	(void)events;
	if (read(k->fd, &n, sizeof(n)) != sizeof(n))
		return;
	virtio_mmio_notify(k->owner->dev, k->queue);
}

static void vm_virtio_on_backend(void *opaque, uint32_t events)
{
	(void)events;
	virtio_mmio_backend_event(((struct vm_virtio *)opaque)->dev);
}

static int wire_notifications(struct vm *vm, struct vm_virtio *v)
{
	struct hal_vm *hvm = vm->hvm;
	int ret;

	v->ioeventfd = vm->hal->ops->check_cap(vm->hal, HAL_CAP_IOEVENTFD) > 0;
	for (unsigned q = 0; q < v->dev->nr_queues; q++) {
		struct hal_ioeventfd ev = { .addr = v->base + VIRTIO_MMIO_QUEUE_NOTIFY, .len = 4,
					    .datamatch = true, .data = q };

		v->kicks[q].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->kicks[q].fd < 0)
			return err_fail(-errno, "%s: eventfd: %m", v->dev->ops->kind);
		ev.fd = v->kicks[q].fd;
		if (v->ioeventfd && (ret = hvm->ops->ioeventfd(hvm, &ev, true)))
			return err_wrap(ret, "%s queue %u: ioeventfd", v->dev->ops->kind, q);
		v->kicks[q].ioeventfd = v->ioeventfd;
	}
	if (vm->hal->ops->check_cap(vm->hal, HAL_CAP_IRQFD) > 0) {
		v->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->irq_fd < 0)
			return err_fail(-errno, "%s: eventfd: %m", v->dev->ops->kind);
		ret = hvm->ops->irqfd(hvm, v->irq_fd, v->gsi, true);
		if (ret)
			return err_wrap(ret, "%s: irqfd on GSI %u", v->dev->ops->kind, v->gsi);
		v->irqfd = true;
	}
	return 0;
}

/* Makes v->dev; a backend that owns host resources beyond the device
 * (a NIC's TAP) records them in v so vm_virtio_free releases them. */
typedef int (*create_fn)(struct vm *vm, struct vm_virtio *v, const void *arg,
			 const struct virtio_mmio_hooks *hooks, struct virtio_mmio **out);

/* Registrations outlive their eventfds in KVM, so they are undone first:
 * a device that failed half-way must not keep its notify address. */
static void vm_virtio_free(struct vm_virtio *v)
{
	struct hal_vm *hvm = v->vm->hvm;

	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		struct hal_ioeventfd ev = { .fd = v->kicks[q].fd, .addr = v->base + VIRTIO_MMIO_QUEUE_NOTIFY,
					    .len = 4, .datamatch = true, .data = q };

		if (v->kicks[q].ioeventfd)
			hvm->ops->ioeventfd(hvm, &ev, false);
		if (v->kicks[q].fd >= 0)
			close(v->kicks[q].fd);
	}
	if (v->irqfd)
		hvm->ops->irqfd(hvm, v->irq_fd, v->gsi, false);
	if (v->irq_fd >= 0)
		close(v->irq_fd);
	if (v->dev)
		v->dev->dev.ops->destroy(&v->dev->dev);
	/* Only now: the device reads and writes the TAP until destroyed. */
	if (v->tap)
		v->tap->ops->close(v->tap);
	free(v);
}

static int vm_virtio_add(struct vm *vm, create_fn create, const void *arg, const char *id)
{
	struct vm_virtio *v;
	int ret;

	if (vm->nr_virtio >= VM_VIRTIO_MAX)
		return err_fail(-ENOSPC, "at most %d virtio devices", VM_VIRTIO_MAX);
	v = calloc(1, sizeof(*v));
	if (!v)
		return err_fail(-ENOMEM, "virtio device record");
	v->vm = vm;
	v->irq_fd = -1;
	snprintf(v->id, sizeof(v->id), "%s", id);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		v->kicks[q] = (struct vm_virtio_kick){ v, q, -1, false };
	ret = resources_alloc_virtio(&vm->resources, &v->base, &v->gsi);
	if (ret) {
		vm_virtio_free(v);
		return ret;
	}
	ret = create(vm, v, arg, &(struct virtio_mmio_hooks){ vm_virtio_interrupt, vm_virtio_kick, v }, &v->dev);
	if (!ret)
		ret = wire_notifications(vm, v);
	if (!ret)
		ret = bus_register(&vm->mmio_bus, v->base, VIRTIO_MMIO_RANGE_LEN, &v->dev->dev);
	if (ret) {
		vm_virtio_free(v);
		/* The window and line go back: the allocator hands them out in order. */
		vm->resources.nr_virtio--;
		return ret;
	}
	vm->virtio[vm->nr_virtio++] = v;
	return 0;
}

static int create_blk(struct vm *vm, struct vm_virtio *v, const void *arg, const struct virtio_mmio_hooks *hooks,
		      struct virtio_mmio **out)
{
	const struct spec_drive *d = arg;
	/* GET_ID answers at most 20 bytes of the id; longer ones are cut. */
	struct blk_config cfg = { .read_only = d->is_read_only, .id = d->drive_id,
				  .sync_io = d->io_engine == SPEC_IO_SYNC };
	int ret = drive_open(d, &cfg.fd, &cfg.size);

	(void)v;
	if (ret)
		return ret;
	ret = blk_create(&vm->mem, &cfg, hooks, out);
	if (ret) {
		close(cfg.fd);
		return err_wrap(ret, "drive %s", d->drive_id);
	}
	return 0;
}

static int create_rng(struct vm *vm, struct vm_virtio *v, const void *arg, const struct virtio_mmio_hooks *hooks,
		      struct virtio_mmio **out)
{
	(void)v, (void)arg;
	return rng_create(&vm->mem, NULL, hooks, out);
}

static int create_net(struct vm *vm, struct vm_virtio *v, const void *arg, const struct virtio_mmio_hooks *hooks,
		      struct virtio_mmio **out)
{
	const struct spec_net *n = arg;
	struct net_config cfg = { .has_mac = n->has_guest_mac };
	int ret;

	/* The config space holds a 16-bit MTU, and the spec sets the floor;
	 * the API checks this too, but a spec can come from elsewhere. */
	if (n->mtu && (n->mtu < VIRTIO_NET_MIN_MTU || n->mtu > UINT16_MAX))
		return err_fail(-EINVAL, "iface %s: mtu %u is out of range [%u, %u]", n->iface_id, n->mtu,
				VIRTIO_NET_MIN_MTU, UINT16_MAX);
	cfg.mtu = (uint16_t)n->mtu;
	memcpy(cfg.mac, n->guest_mac, sizeof(cfg.mac));
	ret = vm->hal->ops->tap_open(vm->hal, n->host_dev_name, &cfg.tap);
	if (ret)
		return err_wrap(ret, "iface %s", n->iface_id);
	ret = net_create(&vm->mem, &cfg, hooks, out);
	if (ret) {
		cfg.tap->ops->close(cfg.tap);
		return err_wrap(ret, "iface %s on TAP %s", n->iface_id, n->host_dev_name);
	}
	v->tap = cfg.tap;
	return 0;
}

static int create_vsock(struct vm *vm, struct vm_virtio *v, const void *arg,
			const struct virtio_mmio_hooks *hooks, struct virtio_mmio **out)
{
	const struct spec_vsock *s = arg;
	struct vsock_config cfg = { .guest_cid = s->guest_cid, .uds_path = s->uds_path };

	(void)v;
	return vsock_create(&vm->mem, &cfg, hooks, out);
}

int vm_virtio_add_vsock(struct vm *vm, const struct spec_vsock *s)
{
	return vm_virtio_add(vm, create_vsock, s, "vsock");
}

int vm_virtio_add_blk(struct vm *vm, const struct spec_drive *drive)
{
	return vm_virtio_add(vm, create_blk, drive, drive->drive_id);
}

int vm_virtio_add_rng(struct vm *vm)
{
	return vm_virtio_add(vm, create_rng, NULL, "");
}

int vm_virtio_add_net(struct vm *vm, const struct spec_net *n)
{
	return vm_virtio_add(vm, create_net, n, n->iface_id);
}

bool vm_virtio_net_stats(const struct vm_virtio *v, struct net_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!v->dev || v->dev->ops->device_id != VIRTIO_ID_NET)
		return false;
	net_get_stats(v->dev, out);
	return true;
}

const char *const *vm_virtio_net_stat_names(void)
{
	return net_stat_names;
}

int vm_virtio_attach(struct vm *vm, struct event_loop *loop)
{
	for (unsigned i = 0; i < vm->nr_virtio; i++) {
		struct vm_virtio *v = vm->virtio[i];
		int fd = v->dev->ops->event_fd ? v->dev->ops->event_fd(v->dev) : -1;

		if (fd >= 0) {
			int ret = event_loop_add(loop, fd, EPOLLIN, vm_virtio_on_backend, v);

			if (ret)
				return err_wrap(ret, "%s backend", v->dev->ops->kind);
		}
		for (unsigned q = 0; q < v->dev->nr_queues; q++) {
			int ret = event_loop_add(loop, v->kicks[q].fd, EPOLLIN, vm_virtio_on_kick, &v->kicks[q]);

			if (ret)
				return err_wrap(ret, "%s queue %u", v->dev->ops->kind, q);
		}
	}
	return 0;
}

void vm_virtio_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_virtio; i++)
		vm_virtio_free(vm->virtio[i]);
	vm->nr_virtio = 0;
}
