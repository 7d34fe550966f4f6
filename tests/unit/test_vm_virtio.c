/* virtio devices on a whole VM over the mock HAL: windows and GSIs from the
 * allocator, the DSDT entry, and a request end to end — the guest's
 * QueueNotify write is caught by the ioeventfd (or reaches the bus when
 * the HAL has none), the event loop serves the queue, and the interrupt
 * leaves through the irqfd (or the irqchip line). A NIC's TAP is opened by
 * name, closed with the device, and frames cross it both ways: TX from a
 * kick, RX from the TAP becoming readable on the loop. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/net.h"
#include "guest_image.h"
#include "hal/mock.h"
#include "vmm/event_loop.h"
#include "vmm/log.h"
#include "vmm/vm.h"
#include "vmm/vm_spec.h"
#include "vmm/vm_virtio.h"

#define RING 0x200000ULL /* desc; avail +0x1000; used +0x2000; buffer +0x3000 */
#define BASE 0xd0000000ULL

struct fixture {
	struct hal *hal;
	struct vm *vm;
	struct event_loop loop;
};

static ssize_t discard(void *opaque, const uint8_t *buf, size_t len)
{
	(void)opaque, (void)buf;
	return (ssize_t)len;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || hal_mock_create(&f->hal) || event_loop_init(&f->loop))
		return -1;
	*state = f;
	return 0;
}

static void create(struct fixture *f)
{
	struct vm_config cfg = { .mem_mib = 32, .nr_vcpus = 1, .console = { discard, NULL, NULL } };

	assert_int_equal(vm_create(f->hal, &cfg, &f->vm), 0);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vm_destroy(f->vm);
	event_loop_fini(&f->loop);
	f->hal->ops->destroy(f->hal);
	free(f);
	return 0;
}

static void queue_mmio_write(struct fixture *f, uint64_t addr, uint32_t v)
{
	struct hal_exit e = { .reason = HAL_EXIT_MMIO };

	e.mmio.addr = addr;
	e.mmio.len = 4;
	e.mmio.write = true;
	assert_int_equal(hal_mock_queue_exit(f->hal, 0, &e, &v, 4), 0);
}

/* What Linux's virtio_mmio does at probe, then one rng request and a kick,
 * all as vCPU exits. */
static void script_driver(struct fixture *f)
{
	uint8_t desc[16] = { 0 };
	uint64_t buf = RING + 0x3000;
	uint32_t len = 32;
	uint16_t flags = 2, avail[3] = { 0, 1, 0 };
	struct hal_exit stop = { .reason = HAL_EXIT_SHUTDOWN };

	memcpy(desc, &buf, 8), memcpy(desc + 8, &len, 4), memcpy(desc + 12, &flags, 2);
	assert_int_equal(guest_mem_write(&f->vm->mem, RING, desc, sizeof(desc)), 0);
	assert_int_equal(guest_mem_write(&f->vm->mem, RING + 0x1000, avail, sizeof(avail)), 0);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_STATUS, 0);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_STATUS, 3);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_DRIVER_FEATURES, 1);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_STATUS, 11);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_QUEUE_NUM, 16);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)RING);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)RING + 0x1000);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)RING + 0x2000);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_QUEUE_READY, 1);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_STATUS, 15);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(hal_mock_queue_exit(f->hal, 0, &stop, NULL, 0), 0);
}

static void expect_request_served(struct fixture *f)
{
	uint16_t used_idx;
	uint32_t used_len;
	uint8_t bytes[32], zero[32] = { 0 };

	assert_int_equal(guest_mem_read(&f->vm->mem, RING + 0x2000 + 2, &used_idx, 2), 0);
	assert_int_equal(used_idx, 1);
	assert_int_equal(guest_mem_read(&f->vm->mem, RING + 0x2000 + 8, &used_len, 4), 0);
	assert_int_equal(used_len, 32);
	assert_int_equal(guest_mem_read(&f->vm->mem, RING + 0x3000, bytes, 32), 0);
	assert_memory_not_equal(bytes, zero, 32);
}

static void test_devices_get_windows_gsis_and_notifications(void **state)
{
	struct fixture *f = *state;
	struct spec_drive d;
	char path[] = "/tmp/ember-vmvirtio-XXXXXX", spec[64];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	snprintf(spec, sizeof(spec), "path=%s", path);
	assert_int_equal(drive_parse(spec, "d0", &d), 0);
	create(f);
	assert_int_equal(vm_virtio_add_blk(f->vm, &d), 0);
	assert_int_equal(vm_virtio_add_rng(f->vm), 0);
	assert_int_equal(f->vm->nr_virtio, 2);
	assert_int_equal(f->vm->virtio[0]->base, BASE);
	assert_int_equal(f->vm->virtio[1]->base, BASE + 0x1000);
	assert_int_equal(f->vm->virtio[0]->gsi, 5);
	assert_int_equal(f->vm->virtio[1]->gsi, 6);
	assert_true(hal_mock_ioeventfd(f->hal, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, false) >= 0);
	assert_true(hal_mock_ioeventfd(f->hal, BASE + 0x1000 + VIRTIO_MMIO_QUEUE_NOTIFY, false) >= 0);
	assert_int_equal(hal_mock_irqfd(f->hal, 5), f->vm->virtio[0]->irq_fd);
	assert_int_equal(hal_mock_irqfd(f->hal, 6), f->vm->virtio[1]->irq_fd);
	/* A second writer of the same disk is refused, and nothing leaks. */
	assert_int_equal(vm_virtio_add_blk(f->vm, &d), -EBUSY);
	assert_int_equal(f->vm->nr_virtio, 2);
	unlink(path);
}

/* The drive's io_engine reaches the device: Sync serves every request
 * with preadv/pwritev (no io_uring ring, so no backend event fd), Async
 * uses io_uring where the host has it. The setting was once dropped on
 * the way, so every drive used io_uring while GET /vm/config said Sync. */
static void test_io_engine_reaches_the_device(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/ember-vmvirtio-XXXXXX";
	struct spec_drive d = { .drive_id = "sync0", .io_engine = SPEC_IO_SYNC };
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	snprintf(d.path_on_host, sizeof(d.path_on_host), "%s", path);
	d.is_read_only = true;
	create(f);
	assert_int_equal(vm_virtio_add_blk(f->vm, &d), 0);
	assert_int_equal(f->vm->virtio[0]->dev->ops->event_fd(f->vm->virtio[0]->dev), -1);
	d.io_engine = SPEC_IO_ASYNC;
	snprintf(d.drive_id, sizeof(d.drive_id), "async0");
	assert_int_equal(vm_virtio_add_blk(f->vm, &d), 0);
	if (f->vm->virtio[1]->dev->ops->event_fd(f->vm->virtio[1]->dev) < 0)
		fprintf(stderr, "io_uring unavailable here: the Async drive fell back to the synchronous engine\n");
	unlink(path);
}

static void test_dsdt_describes_the_devices(void **state)
{
	struct fixture *f = *state;
	static const uint8_t code[] = { 0xf4 };
	uint8_t image[8192];
	size_t len = guest_image_pvh_elf(image, sizeof(image), code, sizeof(code));
	struct boot_config boot = { .kernel = image, .kernel_len = len, .nr_vcpus = 1 };
	const uint8_t *bios;
	unsigned found = 0;

	create(f);
	assert_int_equal(vm_virtio_add_rng(f->vm), 0);
	assert_int_equal(vm_virtio_add_rng(f->vm), 0);
	assert_int_equal(vm_load_kernel(f->vm, &boot), 0);
	bios = guest_mem_ptr(&f->vm->mem, 0xe0000, 0x20000);
	assert_non_null(bios);
	for (size_t i = 0; i + 8 <= 0x20000; i++)
		found += memcmp(bios + i, "LNRO0005", 8) == 0;
	assert_int_equal(found, 2);
}

static void test_request_end_to_end_through_ioeventfd_and_irqfd(void **state)
{
	struct fixture *f = *state;
	uint64_t n = 0;

	create(f);
	assert_int_equal(vm_virtio_add_rng(f->vm), 0);
	assert_int_equal(vm_virtio_attach(f->vm, &f->loop), 0);
	script_driver(f);
	vcpu_run_loop(&f->vm->vcpus[0]);
	/* The kick never reached the VMM's exit path... */
	assert_int_equal(f->vm->vcpus[0].exit_counts[HAL_EXIT_MMIO], 11);
	/* ...it is waiting on the event loop, which serves it. */
	assert_int_equal(event_loop_run_once(&f->loop, 1000), 1);
	expect_request_served(f);
	assert_int_equal(read(f->vm->virtio[0]->irq_fd, &n, sizeof(n)), sizeof(n));
	assert_int_equal(n, 1);
	assert_int_equal(hal_mock_irq_raises(f->hal, 5), 0);
}

static void test_request_end_to_end_without_eventfd_support(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(hal_mock_set_cap(f->hal, HAL_CAP_IOEVENTFD, 0), 0);
	assert_int_equal(hal_mock_set_cap(f->hal, HAL_CAP_IRQFD, 0), 0);
	create(f);
	assert_int_equal(vm_virtio_add_rng(f->vm), 0);
	assert_int_equal(f->vm->virtio[0]->irq_fd, -1);
	assert_false(f->vm->virtio[0]->ioeventfd);
	assert_int_equal(hal_mock_ioeventfd(f->hal, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, false), -1);
	assert_int_equal(vm_virtio_attach(f->vm, &f->loop), 0);
	script_driver(f);
	vcpu_run_loop(&f->vm->vcpus[0]);
	/* The kick came to the bus, and the transport handed it to the loop. */
	assert_int_equal(f->vm->vcpus[0].exit_counts[HAL_EXIT_MMIO], 12);
	assert_int_equal(event_loop_run_once(&f->loop, 1000), 1);
	expect_request_served(f);
	assert_int_equal(hal_mock_irq_raises(f->hal, 5), 1);
	assert_int_equal(hal_mock_irq_level(f->hal, 5), 0);
}

static void test_too_many_devices(void **state)
{
	struct fixture *f = *state;
	int ret = 0;
	unsigned n = 0;

	create(f);
	while (!(ret = vm_virtio_add_rng(f->vm)))
		n++;
	assert_int_equal(n, VM_VIRTIO_MAX);
	assert_int_equal(ret, -ENOSPC);
}

static void test_wiring_failures_unwind(void **state)
{
	struct fixture *f = *state;

	create(f);
	hal_mock_fail_nth(f->hal, MOCK_IOEVENTFD, 1, -EIO);
	assert_int_equal(vm_virtio_add_rng(f->vm), -EIO);
	assert_non_null(strstr(err_last(), "ioeventfd"));
	hal_mock_fail_nth(f->hal, MOCK_IRQFD, 1, -EIO);
	assert_int_equal(vm_virtio_add_rng(f->vm), -EIO);
	assert_int_equal(f->vm->nr_virtio, 0);
	/* The failed attempts gave their window and line back. */
	assert_int_equal(vm_virtio_add_rng(f->vm), 0);
	assert_int_equal(f->vm->virtio[0]->base, BASE);
	assert_int_equal(f->vm->virtio[0]->gsi, 5);
}

#define TAP "tap-test0"
#define TX_RING 0x210000ULL /* same layout as RING */
#define FRAME_LEN 60

static struct spec_net mk_net(const char *iface, const char *tap)
{
	struct spec_net n;

	memset(&n, 0, sizeof(n));
	snprintf(n.iface_id, sizeof(n.iface_id), "%s", iface);
	snprintf(n.host_dev_name, sizeof(n.host_dev_name), "%s", tap);
	n.has_guest_mac = true;
	memcpy(n.guest_mac, (uint8_t[]){ 0x06, 0x00, 0xac, 0x10, 0x00, 0x02 }, 6);
	n.mtu = 1500;
	return n;
}

static bool tap_open(struct fixture *f, const char *name)
{
	bool open = false;

	assert_int_equal(hal_mock_tap_state(f->hal, name, NULL, NULL, &open), 0);
	return open;
}

static void test_net_opens_the_tap_and_closes_it_with_the_device(void **state)
{
	struct fixture *f = *state;
	struct spec_net n = mk_net("eth0", TAP);
	uint8_t mac[6];

	create(f);
	assert_int_equal(vm_virtio_add_net(f->vm, &n), 0);
	assert_int_equal(f->vm->nr_virtio, 1);
	assert_true(tap_open(f, TAP));
	assert_string_equal(f->vm->virtio[0]->id, "eth0");
	assert_int_equal(f->vm->virtio[0]->dev->ops->device_id, VIRTIO_ID_NET);
	f->vm->virtio[0]->dev->ops->config_read(f->vm->virtio[0]->dev, VIRTIO_NET_CFG_MAC, mac, 6);
	assert_memory_equal(mac, n.guest_mac, 6);
	/* The same TAP twice: the HAL refuses, and nothing is left behind. */
	n = mk_net("eth1", TAP);
	n.guest_mac[5] = 3;
	assert_int_equal(vm_virtio_add_net(f->vm, &n), -EBUSY);
	assert_non_null(strstr(err_last(), "eth1"));
	assert_int_equal(f->vm->nr_virtio, 1);
	vm_virtio_destroy(f->vm);
	assert_false(tap_open(f, TAP));
}

static void test_net_failures_close_the_tap(void **state)
{
	struct fixture *f = *state;
	struct spec_net n = mk_net("eth0", TAP);

	create(f);
	/* The device refuses a multicast MAC after the TAP was opened. */
	n.guest_mac[0] = 0x01;
	assert_int_equal(vm_virtio_add_net(f->vm, &n), -EINVAL);
	assert_non_null(strstr(err_last(), "iface eth0 on TAP " TAP));
	assert_false(tap_open(f, TAP));
	/* Wiring fails after the device exists: device and TAP both go. */
	n = mk_net("eth0", TAP);
	hal_mock_fail_nth(f->hal, MOCK_IOEVENTFD, 2, -EIO);
	assert_int_equal(vm_virtio_add_net(f->vm, &n), -EIO);
	assert_false(tap_open(f, TAP));
	assert_int_equal(f->vm->nr_virtio, 0);
	/* An MTU the config space cannot hold never reaches the HAL. */
	n.mtu = 65536;
	assert_int_equal(vm_virtio_add_net(f->vm, &n), -EINVAL);
	assert_non_null(strstr(err_last(), "mtu 65536"));
	assert_int_equal(hal_mock_tap_state(f->hal, "never-opened", NULL, NULL, NULL), -ENOENT);
	n.mtu = 67;
	snprintf(n.host_dev_name, sizeof(n.host_dev_name), "never-opened");
	assert_int_equal(vm_virtio_add_net(f->vm, &n), -EINVAL);
	assert_int_equal(hal_mock_tap_state(f->hal, "never-opened", NULL, NULL, NULL), -ENOENT);
	/* Everything came back: the next NIC gets the first window. */
	n = mk_net("eth0", TAP);
	assert_int_equal(vm_virtio_add_net(f->vm, &n), 0);
	assert_int_equal(f->vm->virtio[0]->base, BASE);
	assert_true(tap_open(f, TAP));
}

static void setup_queue(struct fixture *f, unsigned q, uint64_t ring)
{
	queue_mmio_write(f, BASE + VIRTIO_MMIO_QUEUE_SEL, q);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_QUEUE_NUM, 16);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)ring);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)ring + 0x1000);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)ring + 0x2000);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_QUEUE_READY, 1);
}

/* One descriptor at `ring`'s slot 0 over ring+0x3000, posted. */
static void post_buffer(struct fixture *f, uint64_t ring, uint32_t len, bool writable)
{
	uint8_t desc[16] = { 0 };
	uint64_t buf = ring + 0x3000;
	uint16_t flags = writable ? 2 : 0, avail[3] = { 0, 1, 0 };

	memcpy(desc, &buf, 8), memcpy(desc + 8, &len, 4), memcpy(desc + 12, &flags, 2);
	assert_int_equal(guest_mem_write(&f->vm->mem, ring, desc, sizeof(desc)), 0);
	assert_int_equal(guest_mem_write(&f->vm->mem, ring + 0x1000, avail, sizeof(avail)), 0);
}

/* Linux's probe with VERSION_1 only, one 2 KiB RX buffer, one TX frame
 * (a zero vnet header, then FRAME_LEN bytes of 0xa5), and both kicks. */
static void script_net_driver(struct fixture *f)
{
	uint8_t frame[VIRTIO_NET_HDR_LEN + FRAME_LEN] = { 0 };
	struct hal_exit stop = { .reason = HAL_EXIT_SHUTDOWN };

	memset(frame + VIRTIO_NET_HDR_LEN, 0xa5, FRAME_LEN);
	assert_int_equal(guest_mem_write(&f->vm->mem, TX_RING + 0x3000, frame, sizeof(frame)), 0);
	post_buffer(f, RING, 2048, true);
	post_buffer(f, TX_RING, sizeof(frame), false);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_STATUS, 0);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_STATUS, 3);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_DRIVER_FEATURES, 1);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_STATUS, 11);
	setup_queue(f, VIRTIO_NET_RXQ, RING);
	setup_queue(f, VIRTIO_NET_TXQ, TX_RING);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_STATUS, 15);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_RXQ);
	queue_mmio_write(f, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_TXQ);
	assert_int_equal(hal_mock_queue_exit(f->hal, 0, &stop, NULL, 0), 0);
}

static void drain_loop(struct fixture *f)
{
	for (int i = 0; i < 16 && event_loop_run_once(&f->loop, 50) > 0; i++)
		;
}

static uint16_t used_idx(struct fixture *f, uint64_t ring)
{
	uint16_t idx;

	assert_int_equal(guest_mem_read(&f->vm->mem, ring + 0x2000 + 2, &idx, 2), 0);
	return idx;
}

static void test_net_frames_cross_the_tap_both_ways(void **state)
{
	struct fixture *f = *state;
	struct spec_net n = mk_net("eth0", TAP);
	uint8_t got[256], want[FRAME_LEN], in[VIRTIO_NET_HDR_LEN + FRAME_LEN] = { 0 };
	uint32_t used_len;
	int vnet_hdr = 0;
	uint64_t irqs = 0;

	create(f);
	assert_int_equal(vm_virtio_add_net(f->vm, &n), 0);
	assert_int_equal(vm_virtio_attach(f->vm, &f->loop), 0);
	script_net_driver(f);
	vcpu_run_loop(&f->vm->vcpus[0]);
	assert_int_equal(virtio_mmio_live(f->vm->virtio[0]->dev), true);
	assert_int_equal(hal_mock_tap_state(f->hal, TAP, NULL, &vnet_hdr, NULL), 0);
	assert_int_equal(vnet_hdr, VIRTIO_NET_HDR_LEN);
	drain_loop(f);
	/* TX: the guest's frame is on the host side of the TAP, header first. */
	memset(want, 0xa5, sizeof(want));
	assert_int_equal(hal_mock_tap_take(f->hal, TAP, got, sizeof(got)), VIRTIO_NET_HDR_LEN + FRAME_LEN);
	assert_memory_equal(got + VIRTIO_NET_HDR_LEN, want, FRAME_LEN);
	assert_int_equal(hal_mock_tap_take(f->hal, TAP, got, sizeof(got)), -EAGAIN);
	assert_int_equal(used_idx(f, TX_RING), 1);
	assert_int_equal(used_idx(f, RING), 0);
	/* RX: nothing kicks now; only the TAP turning readable, watched on
	 * the loop through the device's event fd, can bring the frame in. */
	memset(in + VIRTIO_NET_HDR_LEN, 0x5a, FRAME_LEN);
	assert_int_equal(hal_mock_tap_inject(f->hal, TAP, in, sizeof(in)), 0);
	drain_loop(f);
	assert_int_equal(used_idx(f, RING), 1);
	assert_int_equal(guest_mem_read(&f->vm->mem, RING + 0x2000 + 8, &used_len, 4), 0);
	assert_int_equal(used_len, sizeof(in));
	assert_int_equal(guest_mem_read(&f->vm->mem, RING + 0x3000 + VIRTIO_NET_HDR_LEN, got, FRAME_LEN), 0);
	memset(want, 0x5a, sizeof(want));
	assert_memory_equal(got, want, FRAME_LEN);
	assert_int_equal(read(f->vm->virtio[0]->irq_fd, &irqs, sizeof(irqs)), sizeof(irqs));
	assert_true(irqs >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_devices_get_windows_gsis_and_notifications),
		T(test_io_engine_reaches_the_device),
		T(test_dsdt_describes_the_devices),
		T(test_request_end_to_end_through_ioeventfd_and_irqfd),
		T(test_request_end_to_end_without_eventfd_support),
		T(test_too_many_devices),
		T(test_wiring_failures_unwind),
		T(test_net_opens_the_tap_and_closes_it_with_the_device),
		T(test_net_failures_close_the_tap),
		T(test_net_frames_cross_the_tap_both_ways),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
