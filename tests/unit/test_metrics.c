/* Firecracker-style metrics: API counters, one JSON line per flush with
 * the device counters of a VM (real virtio-blk, virtio-rng and serial
 * devices driven by the synthetic driver), deltas between flushes, sinks
 * that are files or FIFOs, and failed writes counted rather than fatal. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/serial.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/net.h"
#include "devices/virtio/rng.h"
#include "hal/mock.h"
#include "tests/virtio/mmio_driver.h"
#include "tests/virtio/vq_driver.h"
#include "vmm/log.h"
#include "vmm/metrics.h"
#include "vmm/vm.h"
#include "vmm/vm_virtio.h"

#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define DISK_BYTES (64 * 512)

static char tmpdir[] = "/tmp/ember-test-metrics-XXXXXX";

static void tmp_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

/* The last line of a file, parsed. */
static json_t *last_object(const char *path)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY);
	ssize_t n;
	char *line;
	json_error_t e;
	json_t *j;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = 0;
	assert_int_equal(buf[n - 1], '\n'); /* every flush ends its line */
	buf[n - 1] = 0;
	line = strrchr(buf, '\n');
	line = line ? line + 1 : buf;
	j = json_loads(line, 0, &e);
	if (!j)
		fail_msg("not JSON (%s): %s", e.text, line);
	return j;
}

static int lines_in(const char *path)
{
	FILE *f = fopen(path, "r");
	int c, n = 0;

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* obj.group.field as an integer; fails the test if absent. */
static long long field(json_t *obj, const char *group, const char *name)
{
	json_t *g = json_object_get(obj, group), *v;

	if (!g)
		fail_msg("no group %s", group);
	v = json_object_get(g, name);
	if (!json_is_integer(v))
		fail_msg("no integer %s.%s", group, name);
	return json_integer_value(v);
}

struct fx {
	struct metrics m;
	char path[256];
};

static int setup(void **state)
{
	static struct fx fx;

	memset(&fx, 0, sizeof(fx));
	metrics_init(&fx.m);
	tmp_path(fx.path, sizeof(fx.path), "metrics.json");
	unlink(fx.path);
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	metrics_fini(&fx->m);
	return 0;
}

static void test_flush_without_sink_writes_nothing(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(metrics_count_api(&fx->m, "PUT", "drive", false), 0);
	assert_int_equal(metrics_flush(&fx->m, NULL), 0);
	/* Nothing was reported, so the count is still owed to the first
	 * real flush. */
	assert_int_equal(metrics_open(&fx->m, fx->path), 0);
	assert_int_equal(metrics_flush(&fx->m, NULL), 0);
	json_t *j = last_object(fx->path);
	assert_int_equal(field(j, "put_api_requests", "drive_count"), 1);
	json_decref(j);
}

static void test_api_counters_and_deltas(void **state)
{
	struct fx *fx = *state;
	json_t *j;

	assert_int_equal(metrics_open(&fx->m, fx->path), 0);
	assert_int_equal(metrics_count_api(&fx->m, "PUT", "drive", false), 0);
	assert_int_equal(metrics_count_api(&fx->m, "put", "drive", true), 0);
	assert_int_equal(metrics_count_api(&fx->m, "PUT", "actions", true), 0);
	assert_int_equal(metrics_count_api(&fx->m, "PUT", "entropy", false), 0);
	assert_int_equal(metrics_count_api(&fx->m, "GET", "instance_info", true), 0);
	assert_int_equal(metrics_count_api(&fx->m, "PATCH", "machine_cfg", false), 0);
	assert_int_equal(metrics_count_api(&fx->m, "GET", "drive", false), -ENOENT);
	assert_non_null(strstr(err_last(), "GET drive"));
	assert_int_equal(metrics_count_api(&fx->m, "DELETE", "drive", false), -ENOENT);
	assert_int_equal(metrics_count_api(&fx->m, NULL, "drive", false), -ENOENT);
	assert_int_equal(metrics_flush(&fx->m, NULL), 0);
	j = last_object(fx->path);
	assert_int_equal(field(j, "put_api_requests", "drive_count"), 2);
	assert_int_equal(field(j, "put_api_requests", "drive_fails"), 1);
	assert_int_equal(field(j, "put_api_requests", "actions_count"), 1);
	assert_int_equal(field(j, "put_api_requests", "actions_fails"), 1);
	assert_int_equal(field(j, "put_api_requests", "entropy_count"), 1);
	assert_int_equal(field(j, "put_api_requests", "boot_source_count"), 0);
	assert_int_equal(field(j, "get_api_requests", "instance_info_count"), 1);
	assert_int_equal(field(j, "get_api_requests", "vmm_version_count"), 0);
	/* GETs never fail in Firecracker's shape. */
	assert_null(json_object_get(json_object_get(j, "get_api_requests"), "instance_info_fails"));
	assert_int_equal(field(j, "patch_api_requests", "machine_cfg_count"), 1);
	assert_int_equal(field(j, "patch_api_requests", "machine_cfg_fails"), 0);
	assert_int_equal(field(j, "patch_api_requests", "drive_count"), 0);
	json_decref(j);
	/* The next flush reports only what happened since. */
	assert_int_equal(metrics_count_api(&fx->m, "PUT", "drive", false), 0);
	assert_int_equal(metrics_flush(&fx->m, NULL), 0);
	j = last_object(fx->path);
	assert_int_equal(field(j, "put_api_requests", "drive_count"), 1);
	assert_int_equal(field(j, "put_api_requests", "drive_fails"), 0);
	assert_int_equal(field(j, "put_api_requests", "actions_count"), 0);
	assert_int_equal(field(j, "get_api_requests", "instance_info_count"), 0);
	json_decref(j);
	assert_int_equal(lines_in(fx->path), 2);
}

static void test_flush_before_boot_has_every_group(void **state)
{
	struct fx *fx = *state;
	struct timespec ts;
	long long now_ms, stamp;
	json_t *j;

	assert_int_equal(metrics_open(&fx->m, fx->path), 0);
	metrics_set_startup(&fx->m, 1234, 567);
	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	assert_int_equal(metrics_flush(&fx->m, NULL), 0);
	j = last_object(fx->path);
	stamp = json_integer_value(json_object_get(j, "utc_timestamp_ms"));
	assert_true(stamp >= now_ms && stamp < now_ms + 5000);
	assert_int_equal(field(j, "api_server", "process_startup_time_us"), 1234);
	assert_int_equal(field(j, "api_server", "process_startup_time_cpu_us"), 567);
	assert_int_equal(field(j, "block", "read_bytes"), 0);
	assert_int_equal(field(j, "block", "invalid_reqs_count"), 0);
	assert_int_equal(field(j, "net", "rx_bytes_count"), 0);
	assert_int_equal(field(j, "net", "tx_malformed_frames"), 0);
	assert_int_equal(field(j, "entropy", "entropy_bytes"), 0);
	assert_int_equal(field(j, "uart", "write_count"), 0);
	assert_int_equal(field(j, "vcpu", "exit_io"), 0);
	assert_int_equal(field(j, "vcpu", "failures"), 0);
	assert_int_equal(field(j, "logger", "missed_metrics_count"), 0);
	assert_int_equal(field(j, "logger", "missed_log_count"), 0);
	/* Store metrics are not differences: they repeat. */
	json_decref(j);
	assert_int_equal(metrics_flush(&fx->m, NULL), 0);
	j = last_object(fx->path);
	assert_int_equal(field(j, "api_server", "process_startup_time_us"), 1234);
	json_decref(j);
}

/* A VM made by hand: just what metrics reads (devices, serial, vCPU exit
 * counts), the devices real and driven by the synthetic driver. */
struct fake_vm {
	struct vm vm;
	struct vm_virtio v[3];
	struct vq_driver d[3];
	int fds[2];
};

static int memfd_disk(void)
{
	int fd = memfd_create("disk", 0);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, DISK_BYTES), 0);
	return fd;
}

static struct fake_vm *fake_vm_new(void)
{
	struct fake_vm *f = calloc(1, sizeof(*f));
	const char *ids[2] = { "rootfs", "data" };
	struct serial_config sc = { 0 };

	assert_non_null(f);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(vq_driver_init(&f->d[i], 1u << 20, 16), 0);
	for (unsigned i = 0; i < 2; i++) {
		struct blk_config cfg = { .fd = memfd_disk(), .size = DISK_BYTES, .sync_io = true };

		assert_int_equal(blk_create(&f->d[i].mem, &cfg, NULL, &f->v[i].dev), 0);
		snprintf(f->v[i].id, sizeof(f->v[i].id), "%s", ids[i]);
	}
	assert_int_equal(rng_create(&f->d[2].mem, NULL, NULL, &f->v[2].dev), 0);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(mmio_driver_bring_up(f->v[i].dev, &f->d[i], V1), 0xf);
		f->vm.virtio[i] = &f->v[i];
	}
	f->vm.nr_virtio = 3;
	assert_int_equal(serial_create(&sc, &f->vm.serial), 0);
	f->vm.nr_vcpus = 2;
	return f;
}

static void fake_vm_free(struct fake_vm *f)
{
	for (unsigned i = 0; i < 3; i++) {
		f->v[i].dev->dev.ops->destroy(&f->v[i].dev->dev);
		vq_driver_fini(&f->d[i]);
	}
	f->vm.serial->ops->destroy(f->vm.serial);
	free(f);
}

/* One virtio-blk request of `len` data bytes at sector 0; the status. */
static uint8_t blk_request(struct fake_vm *f, unsigned i, uint32_t type, uint32_t len)
{
	struct vq_seg segs[3] = { { 0, 16, false }, { 0, len, type == VIRTIO_BLK_T_IN }, { 0, 1, true } };
	unsigned n = len ? 3 : 2;
	uint16_t head;
	uint32_t id, used;
	uint8_t *hdr;

	if (!len)
		segs[1] = segs[2];
	head = vq_driver_chain(&f->d[i], segs, n);
	hdr = vq_driver_host(&f->d[i], segs[0].addr);
	memset(hdr, 0, 16);
	memcpy(hdr, &type, 4);
	vq_driver_post(&f->d[i], head);
	mmio_driver_kick(f->v[i].dev, 0);
	uint8_t status;

	assert_true(vq_driver_take_used(&f->d[i], &id, &used));
	status = *(uint8_t *)vq_driver_host(&f->d[i], segs[n - 1].addr);
	vq_driver_recycle(&f->d[i]);
	return status;
}

static void rng_request(struct fake_vm *f, uint32_t len)
{
	struct vq_seg seg = { 0, len, true };
	uint32_t id, used;

	vq_driver_post(&f->d[2], vq_driver_chain(&f->d[2], &seg, 1));
	mmio_driver_kick(f->v[2].dev, 0);
	assert_true(vq_driver_take_used(&f->d[2], &id, &used));
	assert_int_equal(used, len);
	vq_driver_recycle(&f->d[2]);
}

static void serial_out(struct fake_vm *f, const char *s)
{
	for (; *s; s++) {
		uint8_t b = (uint8_t)*s;

		pthread_mutex_lock(&f->vm.serial->lock);
		f->vm.serial->ops->write(f->vm.serial, 0, &b, 1);
		pthread_mutex_unlock(&f->vm.serial->lock);
	}
}

static void test_flush_reports_device_counters(void **state)
{
	struct fx *fx = *state;
	struct fake_vm *f = fake_vm_new();
	json_t *j;

	assert_int_equal(metrics_open(&fx->m, fx->path), 0);
	assert_int_equal(blk_request(f, 0, VIRTIO_BLK_T_IN, 1024), VIRTIO_BLK_S_OK);
	assert_int_equal(blk_request(f, 0, VIRTIO_BLK_T_IN, 512), VIRTIO_BLK_S_OK);
	assert_int_equal(blk_request(f, 1, VIRTIO_BLK_T_OUT, 2048), VIRTIO_BLK_S_OK);
	assert_int_equal(blk_request(f, 1, VIRTIO_BLK_T_FLUSH, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(blk_request(f, 1, 99, 0), VIRTIO_BLK_S_UNSUPP);
	rng_request(f, 48);
	serial_out(f, "hello");
	f->vm.vcpus[0].exit_counts[HAL_EXIT_IO] = 100;
	f->vm.vcpus[1].exit_counts[HAL_EXIT_IO] = 20;
	f->vm.vcpus[1].exit_counts[HAL_EXIT_MMIO] = 7;
	f->vm.vcpus[1].exit_counts[HAL_EXIT_INTERNAL_ERROR] = 1;
	f->vm.vcpus[0].exit_counts[HAL_EXIT_FAIL_ENTRY] = 1;
	f->vm.vcpus[0].exit_dirs[VCPU_EXIT_IO_OUT] = 90;
	f->vm.vcpus[1].exit_dirs[VCPU_EXIT_IO_OUT] = 5;
	f->vm.vcpus[0].exit_dirs[VCPU_EXIT_IO_IN] = 10;
	f->vm.vcpus[1].exit_dirs[VCPU_EXIT_MMIO_WRITE] = 7;
	assert_int_equal(metrics_flush(&fx->m, &f->vm), 0);
	j = last_object(fx->path);
	assert_int_equal(field(j, "block_rootfs", "read_bytes"), 1536);
	assert_int_equal(field(j, "block_rootfs", "read_count"), 2);
	assert_int_equal(field(j, "block_rootfs", "write_bytes"), 0);
	assert_int_equal(field(j, "block_data", "write_bytes"), 2048);
	assert_int_equal(field(j, "block_data", "write_count"), 1);
	assert_int_equal(field(j, "block_data", "flush_count"), 1);
	assert_int_equal(field(j, "block_data", "invalid_reqs_count"), 1);
	assert_int_equal(field(j, "block_data", "read_count"), 0);
	/* The aggregate sums the drives. */
	assert_int_equal(field(j, "block", "read_bytes"), 1536);
	assert_int_equal(field(j, "block", "write_bytes"), 2048);
	assert_int_equal(field(j, "block", "queue_event_count"), 5);
	assert_int_equal(field(j, "block", "invalid_reqs_count"), 1);
	assert_int_equal(field(j, "entropy", "entropy_bytes"), 48);
	assert_int_equal(field(j, "entropy", "entropy_event_count"), 1);
	assert_int_equal(field(j, "uart", "write_count"), 5);
	assert_int_equal(field(j, "vcpu", "exit_io"), 120);
	assert_int_equal(field(j, "vcpu", "exit_mmio"), 7);
	assert_int_equal(field(j, "vcpu", "exit_io_out"), 95);
	assert_int_equal(field(j, "vcpu", "exit_io_in"), 10);
	assert_int_equal(field(j, "vcpu", "exit_mmio_write"), 7);
	assert_int_equal(field(j, "vcpu", "exit_mmio_read"), 0);
	assert_int_equal(field(j, "vcpu", "exit_internal_error"), 1);
	assert_int_equal(field(j, "vcpu", "failures"), 2);
	/* No object for the rng as a disk. */
	assert_null(json_object_get(j, "block_"));
	json_decref(j);

	/* Deltas: only the new work shows up next time. */
	assert_int_equal(blk_request(f, 0, VIRTIO_BLK_T_IN, 512), VIRTIO_BLK_S_OK);
	f->vm.vcpus[0].exit_counts[HAL_EXIT_IO] = 130;
	assert_int_equal(metrics_flush(&fx->m, &f->vm), 0);
	j = last_object(fx->path);
	assert_int_equal(field(j, "block_rootfs", "read_bytes"), 512);
	assert_int_equal(field(j, "block_rootfs", "read_count"), 1);
	assert_int_equal(field(j, "block_data", "write_bytes"), 0);
	assert_int_equal(field(j, "block", "read_bytes"), 512);
	assert_int_equal(field(j, "entropy", "entropy_bytes"), 0);
	assert_int_equal(field(j, "uart", "write_count"), 0);
	assert_int_equal(field(j, "vcpu", "exit_io"), 30);
	assert_int_equal(field(j, "vcpu", "failures"), 0);
	json_decref(j);

	/* The VM is gone (or not built yet): its counters are not reported,
	 * and a new VM starts from zero. */
	assert_int_equal(metrics_flush(&fx->m, NULL), 0);
	j = last_object(fx->path);
	assert_int_equal(field(j, "block", "read_bytes"), 0);
	assert_int_equal(field(j, "vcpu", "exit_io"), 0);
	assert_null(json_object_get(j, "block_rootfs"));
	json_decref(j);
	assert_int_equal(metrics_flush(&fx->m, &f->vm), 0);
	j = last_object(fx->path);
	assert_int_equal(field(j, "block_rootfs", "read_bytes"), 2048);
	json_decref(j);
	fake_vm_free(f);
}

/* Two NICs on mock TAPs: "net_<iface id>" per NIC, "net" their sum, and
 * differences between flushes. Only the RX queue is brought up, which is
 * all one frame in needs. */
static void test_flush_reports_net_counters(void **state)
{
	struct fx *fx = *state;
	static const char *const ids[2] = { "eth0", "wan" }, *const taps[2] = { "tapm0", "tapm1" };
	struct hal *hal;
	struct vm *vm = calloc(1, sizeof(*vm));
	struct vm_virtio v[2];
	struct vq_driver d[2];
	struct hal_tap *tap[2];
	uint8_t frame[VIRTIO_NET_HDR_LEN + 100] = { 0 };
	json_t *j;

	assert_non_null(vm);
	memset(v, 0, sizeof(v));
	assert_int_equal(hal_mock_create(&hal), 0);
	for (unsigned i = 0; i < 2; i++) {
		struct net_config cfg = { 0 };

		assert_int_equal(vq_driver_init(&d[i], 1u << 20, 16), 0);
		assert_int_equal(hal->ops->tap_open(hal, taps[i], &tap[i]), 0);
		cfg.tap = tap[i];
		assert_int_equal(net_create(&d[i].mem, &cfg, NULL, &v[i].dev), 0);
		snprintf(v[i].id, sizeof(v[i].id), "%s", ids[i]);
		assert_int_equal(mmio_driver_bring_up(v[i].dev, &d[i], V1), 0xf);
		vm->virtio[i] = &v[i];
	}
	vm->nr_virtio = 2;
	assert_int_equal(metrics_open(&fx->m, fx->path), 0);
	/* Two frames for eth0 (100 and 40 bytes past the header), one for wan. */
	for (unsigned k = 0; k < 3; k++) {
		unsigned i = k == 2, len = k == 1 ? 40 : 100;
		struct vq_seg seg = { 0, 2048, true };
		uint32_t id, used;

		assert_int_equal(hal_mock_tap_inject(hal, taps[i], frame, VIRTIO_NET_HDR_LEN + len), 0);
		vq_driver_post(&d[i], vq_driver_chain(&d[i], &seg, 1));
		mmio_driver_kick(v[i].dev, VIRTIO_NET_RXQ);
		assert_true(vq_driver_take_used(&d[i], &id, &used));
		assert_int_equal(used, VIRTIO_NET_HDR_LEN + len);
		vq_driver_recycle(&d[i]);
	}
	assert_int_equal(metrics_flush(&fx->m, vm), 0);
	j = last_object(fx->path);
	assert_int_equal(field(j, "net_eth0", "rx_bytes_count"), 140);
	assert_int_equal(field(j, "net_eth0", "rx_packets_count"), 2);
	assert_int_equal(field(j, "net_wan", "rx_bytes_count"), 100);
	assert_int_equal(field(j, "net_wan", "tx_packets_count"), 0);
	assert_int_equal(field(j, "net", "rx_bytes_count"), 240);
	assert_int_equal(field(j, "net", "rx_packets_count"), 3);
	for (unsigned k = 0; k < NET_STAT_COUNT; k++)
		(void)field(j, "net", net_stat_names[k]);
	/* NICs are not disks. */
	assert_null(json_object_get(j, "block_eth0"));
	json_decref(j);
	assert_int_equal(metrics_flush(&fx->m, vm), 0);
	j = last_object(fx->path);
	assert_int_equal(field(j, "net_eth0", "rx_bytes_count"), 0);
	assert_int_equal(field(j, "net", "rx_packets_count"), 0);
	json_decref(j);
	for (unsigned i = 0; i < 2; i++) {
		v[i].dev->dev.ops->destroy(&v[i].dev->dev);
		tap[i]->ops->close(tap[i]);
		vq_driver_fini(&d[i]);
	}
	hal->ops->destroy(hal);
	free(vm);
}

static void test_logger_counters(void **state)
{
	struct fx *fx = *state;
	int fds[2];
	json_t *j;

	assert_int_equal(metrics_open(&fx->m, fx->path), 0);
	assert_int_equal(metrics_flush(&fx->m, NULL), 0);
	assert_int_equal(pipe(fds), 0);
	log_set_fd(fds[1]);
	log_error("one");
	log_error("two");
	close(fds[0]);
	log_error("lost: no reader");
	log_set_fd(STDERR_FILENO);
	close(fds[1]);
	assert_int_equal(metrics_flush(&fx->m, NULL), 0);
	j = last_object(fx->path);
	assert_int_equal(field(j, "logger", "log_count"), 2);
	assert_int_equal(field(j, "logger", "missed_log_count"), 1);
	json_decref(j);
}

static void test_fifo_sink(void **state)
{
	struct fx *fx = *state;
	char fifo[256], buf[16384];
	json_error_t e;
	json_t *j;
	ssize_t n;
	int rd;

	tmp_path(fifo, sizeof(fifo), "metrics.fifo");
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* No reader: a clear error, and no sink. */
	assert_int_equal(metrics_open(&fx->m, fifo), -ENXIO);
	assert_non_null(strstr(err_last(), "no reader"));
	assert_int_equal(metrics_flush(&fx->m, NULL), 0);
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	assert_int_equal(metrics_open(&fx->m, fifo), 0);
	assert_int_equal(metrics_count_api(&fx->m, "PUT", "metrics", false), 0);
	assert_int_equal(metrics_flush(&fx->m, NULL), 0);
	n = read(rd, buf, sizeof(buf) - 1);
	assert_true(n > 1);
	buf[n] = 0;
	assert_int_equal(buf[n - 1], '\n');
	assert_null(memchr(buf, '\n', (size_t)n - 1)); /* one line */
	j = json_loads(buf, 0, &e);
	assert_non_null(j);
	assert_int_equal(field(j, "put_api_requests", "metrics_count"), 1);
	json_decref(j);
	close(rd);
	unlink(fifo);
}

/* A full FIFO: the flush fails (not fatally), is counted, and its counts
 * are reported by the next flush that gets through. */
static void test_failed_write_is_counted(void **state)
{
	struct fx *fx = *state;
	char fifo[256], junk[4096];
	static char buf[1 << 20];
	int rd, wr, ret;
	size_t got = 0;
	ssize_t n;
	json_t *j;
	json_error_t e;

	tmp_path(fifo, sizeof(fifo), "full.fifo");
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	wr = open(fifo, O_WRONLY | O_NONBLOCK);
	assert_true(rd >= 0 && wr >= 0);
	memset(junk, '\n', sizeof(junk));
	while (write(wr, junk, sizeof(junk)) > 0)
		;
	assert_int_equal(metrics_open(&fx->m, fifo), 0);
	assert_int_equal(metrics_count_api(&fx->m, "PUT", "logger", true), 0);
	ret = metrics_flush(&fx->m, NULL);
	assert_int_equal(ret, -EAGAIN);
	assert_non_null(strstr(err_last(), "metrics"));
	/* Drain, then flush again. */
	while ((n = read(rd, buf, sizeof(buf))) > 0)
		;
	assert_int_equal(metrics_flush(&fx->m, NULL), 0);
	while ((n = read(rd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = 0;
	assert_true(got > 1 && buf[got - 1] == '\n');
	j = json_loads(buf, 0, &e);
	assert_non_null(j);
	assert_int_equal(field(j, "logger", "missed_metrics_count"), 1);
	assert_int_equal(field(j, "put_api_requests", "logger_count"), 1);
	assert_int_equal(field(j, "put_api_requests", "logger_fails"), 1);
	json_decref(j);
	close(rd);
	close(wr);
	unlink(fifo);
}

static void test_open_errors(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(metrics_open(&fx->m, "/nonexistent-dir/m.json"), -ENOENT);
	assert_non_null(strstr(err_last(), "/nonexistent-dir/m.json"));
	assert_int_equal(metrics_open(&fx->m, ""), -EINVAL);
	assert_int_equal(metrics_open(&fx->m, NULL), -EINVAL);
}

/* A second open replaces the sink: later flushes go to the new file. */
static void test_reopen_replaces_the_sink(void **state)
{
	struct fx *fx = *state;
	char other[256];
	struct stat st;

	tmp_path(other, sizeof(other), "other.json");
	unlink(other);
	assert_int_equal(metrics_open(&fx->m, fx->path), 0);
	assert_int_equal(metrics_flush(&fx->m, NULL), 0);
	assert_int_equal(metrics_open(&fx->m, other), 0);
	assert_int_equal(metrics_flush(&fx->m, NULL), 0);
	assert_int_equal(lines_in(fx->path), 1);
	assert_int_equal(lines_in(other), 1);
	assert_int_equal(stat(other, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

#define THREADS 4
#define PER_THREAD 20000

static void *count_many(void *arg)
{
	struct metrics *m = arg;

	for (int i = 0; i < PER_THREAD; i++)
		metrics_count_api(m, "PUT", "drive", i % 4 == 0);
	return NULL;
}

/* API threads count while the event loop flushes: nothing is lost or
 * counted twice across the flushes. */
static void test_concurrent_counting_and_flushing(void **state)
{
	struct fx *fx = *state;
	pthread_t t[THREADS];
	long long count = 0, fails = 0;
	FILE *f;
	char line[16384];

	assert_int_equal(metrics_open(&fx->m, fx->path), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, count_many, &fx->m), 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(metrics_flush(&fx->m, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(metrics_flush(&fx->m, NULL), 0);
	f = fopen(fx->path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		json_error_t e;
		json_t *j = json_loads(line, 0, &e);

		assert_non_null(j);
		count += field(j, "put_api_requests", "drive_count");
		fails += field(j, "put_api_requests", "drive_fails");
		json_decref(j);
	}
	fclose(f);
	assert_int_equal(count, THREADS * PER_THREAD);
	assert_int_equal(fails, THREADS * PER_THREAD / 4);
}

static int group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN); /* as ember's main does */
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_flush_without_sink_writes_nothing),
		T(test_api_counters_and_deltas),
		T(test_flush_before_boot_has_every_group),
		T(test_flush_reports_device_counters),
		T(test_flush_reports_net_counters),
		T(test_logger_counters),
		T(test_fifo_sink),
		T(test_failed_write_is_counted),
		T(test_open_errors),
		T(test_reopen_replaces_the_sink),
		T(test_concurrent_counting_and_flushing),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
