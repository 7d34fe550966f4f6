/* virtio-blk against a memfd disk, driven through the transport by the
 * synthetic driver: every request type, read-only drives, bounds, odd
 * sizes and malformed requests; batches, a full ring, FLUSH ordering,
 * reset, save and destroy with requests in flight. The whole list runs
 * twice: on the io_uring path and forced onto the synchronous one. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio/blk.h"
#include "tests/unit/device_access.h"
#include "tests/virtio/mmio_driver.h"
#include "tests/virtio/racer.h"
#include "tests/virtio/vq_driver.h"
#include "vmm/log.h"

#define DISK_SECTORS 64
#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)

struct fx {
	struct vq_driver d;
	struct virtio_mmio *t;
	int fd;
	unsigned irqs;
	unsigned rounds; /* kicks and backend events that made used entries */
};

/* The group being run: the synchronous path or io_uring, and the io_uring
 * depth (0: the queue size) for the next device made. */
static bool sync_io;
static unsigned depth;
static bool uring_works; /* io_uring_queue_init works on this host */

static void on_irq(void *opaque)
{
	((struct fx *)opaque)->irqs++;
}

static int make_disk(uint64_t bytes)
{
	int fd = memfd_create("disk", 0);
	uint8_t sector[512];

	for (uint64_t off = 0; off < bytes; off += sizeof(sector)) {
		size_t n = bytes - off < sizeof(sector) ? (size_t)(bytes - off) : sizeof(sector);

		memset(sector, (int)(0x40 + off / 512), sizeof(sector));
		if (pwrite(fd, sector, n, (off_t)off) != (ssize_t)n)
			return -1;
	}
	return fd;
}

static int open_blk(struct fx *fx, uint64_t bytes, bool ro, const char *id)
{
	struct virtio_mmio_hooks hooks = { on_irq, NULL, fx };
	struct blk_config cfg = { .size = bytes, .read_only = ro, .id = id, .sync_io = sync_io, .depth = depth };

	cfg.fd = fx->fd = make_disk(bytes);
	if (fx->fd < 0 || blk_create(&fx->d.mem, &cfg, &hooks, &fx->t))
		return -1;
	return 0;
}

static int setup_common(void **state, uint64_t bytes, bool ro)
{
	static struct fx fx;

	memset(&fx, 0, sizeof(fx));
	if (vq_driver_init(&fx.d, 4u << 20, 256) || open_blk(&fx, bytes, ro, "ember-disk-0"))
		return -1;
	if (mmio_driver_bring_up(fx.t, &fx.d, V1 | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)) != 0xf)
		return -1;
	*state = &fx;
	return 0;
}

static int setup_rw(void **state)
{
	return setup_common(state, DISK_SECTORS * 512, false);
}

/* Four slots for a queue of 256. */
static int setup_small_ring(void **state)
{
	int ret;

	depth = 4;
	ret = setup_common(state, DISK_SECTORS * 512, false);
	depth = 0;
	return ret;
}

static int setup_ro(void **state)
{
	return setup_common(state, DISK_SECTORS * 512, true);
}

static int setup_odd(void **state)
{
	return setup_common(state, 3 * 512 + 100, false);
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	fx->t->dev.ops->destroy(&fx->t->dev);
	vq_driver_fini(&fx->d);
	return 0;
}

static bool on_uring(struct fx *fx)
{
	return fx->t->ops->event_fd(fx->t) >= 0;
}

/* On the io_uring path completions come through the backend's eventfd:
 * wait for it (bounded) and let the device complete them, as the event
 * loop does. False when nothing came. */
static bool wait_event(struct fx *fx, int timeout_ms)
{
	struct pollfd p = { fx->t->ops->event_fd(fx->t), POLLIN, 0 };
	uint16_t before = vq_driver_used_idx(&fx->d);

	if (p.fd < 0 || poll(&p, 1, timeout_ms) != 1)
		return false;
	virtio_mmio_backend_event(fx->t);
	if (vq_driver_used_idx(&fx->d) != before)
		fx->rounds++;
	return true;
}

static void kick(struct fx *fx)
{
	uint16_t before = vq_driver_used_idx(&fx->d);

	mmio_driver_kick(fx->t, 0);
	if (vq_driver_used_idx(&fx->d) != before)
		fx->rounds++;
}

/* The next used element, waiting for completions if need be. */
static bool take_used(struct fx *fx, uint32_t *id, uint32_t *len)
{
	while (!vq_driver_take_used(&fx->d, id, len))
		if (!wait_event(fx, 5000))
			return false;
	return true;
}

/* A posted request: header, data segments, status byte. */
struct req {
	struct vq_seg segs[64];
	unsigned n;
	uint16_t head;
};

/* Builds and posts one request (no kick): header, then data segments of
 * `seg` bytes each (total `len`), then the status byte. `data` is copied
 * in unless the segments are device-writable. */
static void post(struct fx *fx, struct req *r, uint32_t type, uint64_t sector, const void *data, uint32_t len,
		 uint32_t seg, bool data_writable, bool indirect)
{
	uint8_t *hdr;

	r->n = 0;
	r->segs[r->n++] = (struct vq_seg){ 0, 16, false };
	for (uint32_t off = 0; off < len; off += seg)
		r->segs[r->n++] = (struct vq_seg){ 0, len - off < seg ? len - off : seg, data_writable };
	r->segs[r->n++] = (struct vq_seg){ 0, 1, true };
	r->head = indirect ? vq_driver_chain_indirect(&fx->d, r->segs, r->n) : vq_driver_chain(&fx->d, r->segs, r->n);
	hdr = vq_driver_host(&fx->d, r->segs[0].addr);
	memcpy(hdr, &type, 4);
	memset(hdr + 4, 0, 4);
	memcpy(hdr + 8, &sector, 8);
	if (!data_writable)
		for (unsigned i = 1, off = 0; i + 1 < r->n; off += r->segs[i].len, i++)
			memcpy(vq_driver_host(&fx->d, r->segs[i].addr), (const uint8_t *)data + off, r->segs[i].len);
	memset(vq_driver_host(&fx->d, r->segs[r->n - 1].addr), 0xff, 1);
	vq_driver_post(&fx->d, r->head);
}

static uint8_t req_status(struct fx *fx, const struct req *r)
{
	return *(uint8_t *)vq_driver_host(&fx->d, r->segs[r->n - 1].addr);
}

static void req_data(struct fx *fx, const struct req *r, void *data)
{
	for (unsigned i = 1, off = 0; i + 1 < r->n; off += r->segs[i].len, i++)
		memcpy((uint8_t *)data + off, vq_driver_host(&fx->d, r->segs[i].addr), r->segs[i].len);
}

/* One request, kicked and waited for. Returns the status; *used gets the
 * used length. `data` is copied in (OUT) or out (IN). */
static uint8_t request(struct fx *fx, uint32_t type, uint64_t sector, void *data, uint32_t len, uint32_t seg,
		       bool data_writable, bool indirect, uint32_t *used)
{
	struct req r;
	uint32_t id, ulen;

	post(fx, &r, type, sector, data, len, seg, data_writable, indirect);
	kick(fx);
	assert_true(take_used(fx, &id, &ulen));
	assert_int_equal(id, r.head);
	if (used)
		*used = ulen;
	if (data_writable)
		req_data(fx, &r, data);
	vq_driver_recycle(&fx->d);
	return req_status(fx, &r);
}

static uint32_t cfg32(struct fx *fx, uint32_t off)
{
	return mmio_driver_read(fx->t, VIRTIO_MMIO_CONFIG + off);
}

static void test_config_and_features(void **state)
{
	struct fx *fx = *state;
	uint64_t f = mmio_driver_device_features(fx->t);

	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	assert_int_equal(cfg32(fx, VIRTIO_BLK_CFG_CAPACITY), DISK_SECTORS);
	assert_int_equal(cfg32(fx, VIRTIO_BLK_CFG_CAPACITY + 4), 0);
	assert_int_equal(cfg32(fx, VIRTIO_BLK_CFG_SEG_MAX), 254);
	assert_int_equal(cfg32(fx, VIRTIO_BLK_CFG_BLK_SIZE), 512);
	assert_int_equal(cfg32(fx, VIRTIO_BLK_CFG_MAX_DISCARD_SEG), 1);
	assert_int_equal(cfg32(fx, VIRTIO_BLK_CFG_MAX_WZ_SEG), 1);
	assert_int_equal(device_test_read8(&fx->t->dev, VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_WZ_MAY_UNMAP), 1);
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	assert_true(f & VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	assert_true(f & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	assert_false(f & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_int_equal(blk_capacity_sectors(fx->t), DISK_SECTORS);
}

static void test_path_in_use(void **state)
{
	struct fx *fx = *state;

	if (!sync_io && !uring_works)
		skip(); /* io_uring is unavailable here: both groups are synchronous */
	assert_int_equal(on_uring(fx), !sync_io);
}

static void test_read_only_features(void **state)
{
	struct fx *fx = *state;
	uint64_t f = mmio_driver_device_features(fx->t);

	assert_true(f & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_false(f & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	assert_false(f & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
}

static void test_read_multi_segment(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[2048];
	uint32_t used;

	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 3, buf, sizeof(buf), 700, true, false, &used), 0);
	assert_int_equal(used, sizeof(buf) + 1);
	for (unsigned s = 0; s < 4; s++)
		for (unsigned i = 0; i < 512; i++)
			if (buf[s * 512 + i] != 0x40 + 3 + s)
				fail_msg("byte %u of sector %u is 0x%x", i, 3 + s, buf[s * 512 + i]);
	assert_int_equal(fx->t->requests, 1);
	assert_true(fx->irqs >= 1);
}

static void test_write_then_read_back_indirect(void **state)
{
	struct fx *fx = *state;
	uint8_t out[1024], in[1024], disk[1024];
	uint32_t used;

	for (unsigned i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7);
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 10, out, sizeof(out), 300, false, true, &used), 0);
	assert_int_equal(used, 1);
	assert_int_equal(pread(fx->fd, disk, sizeof(disk), 10 * 512), sizeof(disk));
	assert_memory_equal(disk, out, sizeof(out));
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 10, in, sizeof(in), 1024, true, true, NULL), 0);
	assert_memory_equal(in, out, sizeof(out));
}

static void test_bounds_and_lengths(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[1024] = { 0 };

	/* The last sector is fine, one past it is not, nor a straddle. */
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, buf, 512, 512, true, false, NULL), 0);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, DISK_SECTORS, buf, 512, 512, true, false, NULL), 1);
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, DISK_SECTORS - 1, buf, 1024, 512, false, false, NULL), 1);
	/* Sector numbers that overflow when turned into bytes. */
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, UINT64_MAX, buf, 512, 512, true, false, NULL), 1);
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, UINT64_MAX / 512 + 1, buf, 512, 512, false, false, NULL), 1);
	/* Not a whole number of sectors. */
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 0, buf, 100, 100, true, false, NULL), 1);
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 0, buf, 513, 513, false, false, NULL), 1);
}

static void test_read_only_refuses_writes(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[512], disk[512];
	uint8_t seg[16] = { 0 };

	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 0, buf, 512, 512, false, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(pread(fx->fd, disk, 512, 0), 512);
	assert_int_equal(disk[0], 0x40);
	seg[8] = 1;
	assert_int_equal(request(fx, VIRTIO_BLK_T_DISCARD, 0, seg, 16, 16, false, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(fx, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, 16, false, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 0, buf, 512, 512, true, false, NULL), 0);
	assert_int_equal(request(fx, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1, false, false, NULL), 0);
}

static void test_flush_get_id_and_unknown(void **state)
{
	struct fx *fx = *state;
	uint8_t id[20], small[4];
	uint32_t used;

	assert_int_equal(request(fx, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1, false, false, &used), 0);
	assert_int_equal(used, 1);
	assert_int_equal(request(fx, VIRTIO_BLK_T_GET_ID, 0, id, 20, 20, true, false, &used), 0);
	assert_int_equal(used, 21);
	assert_memory_equal(id, "ember-disk-0\0\0\0\0\0\0\0\0", 20);
	assert_int_equal(request(fx, VIRTIO_BLK_T_GET_ID, 0, small, 4, 4, true, false, &used), 0);
	assert_int_equal(used, 5);
	assert_memory_equal(small, "embe", 4);
	assert_int_equal(request(fx, 99, 0, NULL, 0, 1, false, false, NULL), VIRTIO_BLK_S_UNSUPP);
}

static void range_seg(uint8_t seg[16], uint64_t sector, uint32_t sectors, uint32_t flags)
{
	memcpy(seg, &sector, 8);
	memcpy(seg + 8, &sectors, 4);
	memcpy(seg + 12, &flags, 4);
}

static void expect_zero_sectors(struct fx *fx, uint64_t first, unsigned n, uint8_t next_fill)
{
	uint8_t disk[512];

	for (unsigned s = 0; s < n; s++) {
		assert_int_equal(pread(fx->fd, disk, 512, (off_t)((first + s) * 512)), 512);
		for (unsigned i = 0; i < 512; i++)
			if (disk[i])
				fail_msg("sector %llu byte %u is 0x%x", (unsigned long long)(first + s), i, disk[i]);
	}
	assert_int_equal(pread(fx->fd, disk, 512, (off_t)((first + n) * 512)), 512);
	assert_int_equal(disk[0], next_fill);
}

/* Runs act(fx) on a thread that may not move data (every read and write
 * call fails with EPERM), and optionally may not fallocate either
 * (EOPNOTSUPP, as on a file system without it). */
struct denied {
	struct fx *fx;
	void (*act)(struct fx *fx);
	bool no_fallocate;
	int ret;
};

static void *run_denied(void *opaque)
{
	struct denied *k = opaque;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	static const int io[] = { SCMP_SYS(read),    SCMP_SYS(readv),   SCMP_SYS(pread64),  SCMP_SYS(preadv),
				  SCMP_SYS(preadv2), SCMP_SYS(write),   SCMP_SYS(writev),   SCMP_SYS(pwrite64),
				  SCMP_SYS(pwritev), SCMP_SYS(pwritev2) };

	k->ret = -1;
	if (!ctx)
		return NULL;
	for (unsigned i = 0; i < sizeof(io) / sizeof(io[0]); i++)
		seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), io[i], 0);
	if (k->no_fallocate)
		seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EOPNOTSUPP), SCMP_SYS(fallocate), 0);
	/* Loaded without TSYNC: only this thread is filtered. */
	if (seccomp_load(ctx) == 0) {
		k->act(k->fx);
		k->ret = 0;
	}
	seccomp_release(ctx);
	return NULL;
}

static void on_thread_without_io(struct fx *fx, void (*act)(struct fx *fx), bool no_fallocate)
{
	struct denied k = { fx, act, no_fallocate, -1 };
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, run_denied, &k), 0);
	pthread_join(th, NULL);
	assert_int_equal(k.ret, 0);
}

/* WRITE_ZEROES must be metadata-only, so the event loop never spends a
 * 4 GiB write on one guest request. */
static uint8_t write_zeroes_denied(struct fx *fx, uint64_t sector, uint32_t sectors, uint32_t flags,
				   bool no_fallocate)
{
	uint8_t seg[16];
	struct req r;
	uint32_t id, len;

	range_seg(seg, sector, sectors, flags);
	post(fx, &r, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, 16, false, false);
	on_thread_without_io(fx, kick, no_fallocate);
	assert_true(take_used(fx, &id, &len));
	assert_int_equal(id, r.head);
	vq_driver_recycle(&fx->d);
	return req_status(fx, &r);
}

static void test_write_zeroes_writes_no_data(void **state)
{
	struct fx *fx = *state;
	uint8_t disk[512];
	struct stat before, after;

	/* A memfd (tmpfs) has no FALLOC_FL_ZERO_RANGE: the range is punched
	 * and allocated again, so it reads zero and stays allocated. */
	assert_int_equal(fstat(fx->fd, &before), 0);
	assert_int_equal(write_zeroes_denied(fx, 8, 8, 0, false), VIRTIO_BLK_S_OK);
	expect_zero_sectors(fx, 8, 8, 0x40 + 16);
	assert_int_equal(fstat(fx->fd, &after), 0);
	assert_int_equal(after.st_blocks, before.st_blocks);
	assert_int_equal(write_zeroes_denied(fx, 20, 4, VIRTIO_BLK_WRITE_ZEROES_UNMAP, false), VIRTIO_BLK_S_OK);
	expect_zero_sectors(fx, 20, 4, 0x40 + 24);
	/* No fallocate at all: UNSUPP, so the guest writes its own zeroes
	 * through ordinary, budgeted writes; the disk is untouched. */
	assert_int_equal(write_zeroes_denied(fx, 30, 2, 0, true), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(write_zeroes_denied(fx, 30, 2, VIRTIO_BLK_WRITE_ZEROES_UNMAP, true), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(pread(fx->fd, disk, 512, 30 * 512), 512);
	assert_int_equal(disk[0], 0x40 + 30);
}

static void test_discard_and_write_zeroes(void **state)
{
	struct fx *fx = *state;
	uint8_t seg[16];

	range_seg(seg, 8, 8, 0);
	assert_int_equal(request(fx, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, 16, false, false, NULL), 0);
	expect_zero_sectors(fx, 8, 8, 0x40 + 16);
	range_seg(seg, 20, 4, VIRTIO_BLK_WRITE_ZEROES_UNMAP);
	assert_int_equal(request(fx, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, 16, false, false, NULL), 0);
	expect_zero_sectors(fx, 20, 4, 0x40 + 24);
	range_seg(seg, 30, 8, 0);
	assert_int_equal(request(fx, VIRTIO_BLK_T_DISCARD, 0, seg, 16, 16, false, false, NULL), 0);
	/* Hostile ranges and flags. */
	range_seg(seg, 30, 8, VIRTIO_BLK_WRITE_ZEROES_UNMAP);
	assert_int_equal(request(fx, VIRTIO_BLK_T_DISCARD, 0, seg, 16, 16, false, false, NULL), VIRTIO_BLK_S_UNSUPP);
	range_seg(seg, 30, 8, 0x80);
	assert_int_equal(request(fx, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, 16, false, false, NULL),
			 VIRTIO_BLK_S_UNSUPP);
	range_seg(seg, DISK_SECTORS - 2, 4, 0);
	assert_int_equal(request(fx, VIRTIO_BLK_T_WRITE_ZEROES, 0, seg, 16, 16, false, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	range_seg(seg, UINT64_MAX, 1, 0);
	assert_int_equal(request(fx, VIRTIO_BLK_T_DISCARD, 0, seg, 16, 16, false, false, NULL), VIRTIO_BLK_S_IOERR);
	/* Two segments when we allow one. */
	{
		uint8_t two[32];

		range_seg(two, 0, 1, 0), range_seg(two + 16, 1, 1, 0);
		assert_int_equal(request(fx, VIRTIO_BLK_T_DISCARD, 0, two, 32, 32, false, false, NULL),
				 VIRTIO_BLK_S_IOERR);
	}
}

static void test_malformed_requests(void **state)
{
	struct fx *fx = *state;
	struct vq_seg segs[2] = { { 0, 8, false }, { 0, 1, true } };
	uint32_t id, len;

	/* A header shorter than 16 bytes: IOERR in the status byte. */
	vq_driver_post(&fx->d, vq_driver_chain(&fx->d, segs, 2));
	mmio_driver_kick(fx->t, 0);
	assert_true(vq_driver_take_used(&fx->d, &id, &len));
	assert_int_equal(len, 1);
	assert_int_equal(*(uint8_t *)vq_driver_host(&fx->d, segs[1].addr), VIRTIO_BLK_S_IOERR);
	/* No writable byte at all: nowhere to answer, the device needs a reset. */
	segs[0] = (struct vq_seg){ 0, 16, false };
	vq_driver_post(&fx->d, vq_driver_chain(&fx->d, segs, 1));
	mmio_driver_kick(fx->t, 0);
	assert_true(mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_odd_size_exposes_whole_sectors(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[512];

	assert_int_equal(blk_capacity_sectors(fx->t), 3);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 2, buf, 512, 512, true, false, NULL), 0);
	assert_int_equal(buf[0], 0x42);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 3, buf, 512, 512, true, false, NULL), VIRTIO_BLK_S_IOERR);
}

static void test_shrunk_file_reads_zeroes(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[1024];

	assert_int_equal(ftruncate(fx->fd, 512 * 10 + 512), 0);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 10, buf, 1024, 1024, true, false, NULL), 0);
	assert_int_equal(buf[0], 0x4a);
	assert_int_equal(buf[512], 0);
	assert_int_equal(buf[1023], 0);
}

static void test_create_rejects(void **state)
{
	struct vq_driver d;
	struct virtio_mmio *t;
	struct blk_config cfg = { .fd = -1, .size = 4096 };

	(void)state;
	assert_int_equal(vq_driver_init(&d, 1 << 20, 16), 0);
	assert_int_equal(blk_create(&d.mem, &cfg, NULL, &t), -EBADF);
	cfg.fd = 0, cfg.size = 511;
	assert_int_equal(blk_create(&d.mem, &cfg, NULL, &t), -EINVAL);
	assert_non_null(strstr(err_last(), "511"));
	vq_driver_fini(&d);
}

static void test_save_restore_checks_the_drive(void **state)
{
	struct fx *fx = *state;
	struct state_writer w;
	struct fx other = { 0 };
	uint8_t buf[512];

	assert_int_equal(device_test_save(&fx->t->dev, &w), 0);
	/* Same-shaped drive: restores and serves. */
	other.d = fx->d;
	assert_int_equal(open_blk(&other, DISK_SECTORS * 512, false, NULL), 0);
	assert_int_equal(device_test_restore(&other.t->dev, w.buf, w.len, NULL), 0);
	assert_int_equal(other.t->status, 0xf);
	other.t->dev.ops->destroy(&other.t->dev);
	/* A drive of another size is refused. */
	assert_int_equal(open_blk(&other, (DISK_SECTORS + 1) * 512, false, NULL), 0);
	assert_int_equal(device_test_restore(&other.t->dev, w.buf, w.len, NULL), -EINVAL);
	assert_int_equal(other.t->status, 0);
	other.t->dev.ops->destroy(&other.t->dev);
	/* A read-only drive in place of a writable one too. */
	assert_int_equal(open_blk(&other, DISK_SECTORS * 512, true, NULL), 0);
	assert_int_equal(device_test_restore(&other.t->dev, w.buf, w.len, NULL), -EINVAL);
	other.t->dev.ops->destroy(&other.t->dev);
	state_writer_free(&w);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 0, buf, 512, 512, true, false, NULL), 0);
}

static void fill_expected(uint8_t *buf, uint64_t sector, unsigned sectors)
{
	for (unsigned s = 0; s < sectors; s++)
		memset(buf + s * 512, (int)(0x40 + sector + s), 512);
}

/* Takes n used elements (waiting as needed), each one of r[0, n); order[i]
 * gets the position at which r[i] came back. */
static void collect(struct fx *fx, struct req *r, unsigned n, unsigned *order)
{
	for (unsigned k = 0; k < n; k++) {
		uint32_t id, len;
		unsigned i;

		assert_true(take_used(fx, &id, &len));
		for (i = 0; i < n && r[i].head != id; i++)
			;
		if (i == n)
			fail_msg("used id %u is no request of ours", id);
		if (order)
			order[i] = k;
	}
}

static void test_batch_of_32_reads(void **state)
{
	struct fx *fx = *state;
	struct req r[32];
	uint8_t buf[1024], want[1024];
	unsigned irqs0 = fx->irqs;

	for (unsigned i = 0; i < 32; i++)
		post(fx, &r[i], VIRTIO_BLK_T_IN, 2 * i, NULL, 1024, 512, true, i % 2);
	fx->rounds = 0;
	kick(fx);
	collect(fx, r, 32, NULL);
	assert_int_equal(fx->t->requests, 32);
	for (unsigned i = 0; i < 32; i++) {
		assert_int_equal(req_status(fx, &r[i]), VIRTIO_BLK_S_OK);
		req_data(fx, &r[i], buf);
		fill_expected(want, 2 * i, 2);
		assert_memory_equal(buf, want, sizeof(buf));
	}
	/* One interrupt per kick or completion event that returned chains,
	 * not one per request. */
	assert_true(fx->rounds >= 1);
	assert_int_equal(fx->irqs - irqs0, fx->rounds);
	if (!on_uring(fx))
		assert_int_equal(fx->rounds, 1);
	vq_driver_recycle(&fx->d);
}

static void test_full_ring_leaves_chains_in_avail(void **state)
{
	struct fx *fx = *state;
	struct req r[32];
	uint8_t buf[512], want[512];
	unsigned done = 0;

	for (unsigned i = 0; i < 32; i++)
		post(fx, &r[i], VIRTIO_BLK_T_IN, i, NULL, 512, 512, true, false);
	kick(fx);
	if (on_uring(fx)) {
		/* Four slots: four chains taken, the rest wait in the avail ring. */
		assert_int_equal(fx->t->requests, 4);
		assert_int_equal(vq_driver_used_idx(&fx->d), 0);
	}
	while (done < 32) {
		uint32_t id, len;

		while (vq_driver_take_used(&fx->d, &id, &len))
			done++;
		/* Never more taken than there are slots. */
		assert_true(fx->t->requests - vq_driver_used_idx(&fx->d) <= 4);
		if (done < 32)
			assert_true(wait_event(fx, 5000));
	}
	assert_int_equal(fx->t->requests, 32);
	for (unsigned i = 0; i < 32; i++) {
		assert_int_equal(req_status(fx, &r[i]), VIRTIO_BLK_S_OK);
		req_data(fx, &r[i], buf);
		fill_expected(want, i, 1);
		assert_memory_equal(buf, want, sizeof(buf));
	}
	vq_driver_recycle(&fx->d);
}

/* A FLUSH is answered after every OUT submitted before it, whether in an
 * earlier kick (still on the ring) or earlier in the same kick. */
static void test_flush_after_writes(void **state)
{
	struct fx *fx = *state;
	struct req r[13];
	unsigned order[13];
	uint8_t out[512], disk[512];

	for (unsigned i = 0; i < 8; i++) {
		memset(out, 0xa0 + i, sizeof(out));
		post(fx, &r[i], VIRTIO_BLK_T_OUT, 40 + i, out, 512, 512, false, false);
	}
	kick(fx);
	post(fx, &r[8], VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1, false, false);
	kick(fx);
	for (unsigned i = 9; i < 12; i++) {
		memset(out, 0xb0 + i, sizeof(out));
		post(fx, &r[i], VIRTIO_BLK_T_OUT, 40 + i, out, 512, 512, false, false);
	}
	post(fx, &r[12], VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1, false, false);
	kick(fx);
	collect(fx, r, 13, order);
	for (unsigned i = 0; i < 13; i++)
		assert_int_equal(req_status(fx, &r[i]), VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < 8; i++)
		assert_true(order[i] < order[8]);
	for (unsigned i = 0; i < 12; i++)
		if (i != 8)
			assert_true(order[i] < order[12]);
	for (unsigned i = 0; i < 12; i++) {
		if (i == 8)
			continue;
		assert_int_equal(pread(fx->fd, disk, 512, (off_t)((40 + i) * 512)), 512);
		assert_int_equal(disk[0], i < 8 ? 0xa0 + i : 0xb0 + i);
		assert_int_equal(disk[511], i < 8 ? 0xa0 + i : 0xb0 + i);
	}
	vq_driver_recycle(&fx->d);
}

/* The driver starts over: fresh rings, then the bring-up sequence. */
static void driver_restart(struct fx *fx)
{
	memset(fx->d.ram + VQ_DRIVER_DESC, 0, VQ_DRIVER_DATA - VQ_DRIVER_DESC);
	fx->d.avail_idx = fx->d.used_seen = 0;
	vq_driver_recycle(&fx->d);
	assert_int_equal(mmio_driver_bring_up(fx->t, &fx->d, V1 | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)), 0xf);
}

static void test_reset_with_requests_in_flight(void **state)
{
	struct fx *fx = *state;
	static uint8_t rings_before[VQ_DRIVER_DATA]; /* rings and all below */
	struct req r[32];
	uint8_t buf[512];
	unsigned irqs;

	if (!on_uring(fx))
		skip(); /* nothing is ever in flight */
	memset(buf, 0x33, sizeof(buf));
	for (unsigned i = 0; i < 32; i++)
		post(fx, &r[i], i % 4 ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, i, buf, 512, 512, i % 4, false);
	kick(fx);
	assert_int_equal(fx->t->requests, 32);
	assert_int_equal(vq_driver_used_idx(&fx->d), 0);
	memcpy(rings_before, fx->d.ram, sizeof(rings_before));
	irqs = fx->irqs;
	mmio_driver_write(fx->t, VIRTIO_MMIO_STATUS, 0);
	/* Whatever completes now belongs to the old queue: no status byte,
	 * nothing in the used ring (nor where a reset queue points, address
	 * 0) and no interrupt. */
	while (wait_event(fx, 200))
		;
	virtio_mmio_backend_event(fx->t);
	assert_memory_equal(fx->d.ram, rings_before, sizeof(rings_before));
	for (unsigned i = 0; i < 32; i++)
		assert_int_equal(req_status(fx, &r[i]), 0xff);
	assert_int_equal(fx->irqs, irqs);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS), 0);
	/* And the device serves a new driver. */
	driver_restart(fx);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 5, buf, 512, 512, true, false, NULL), 0);
	assert_int_equal(buf[0], 0x45);
}

/* The driver stops the queue (QueueReady 0) with requests on the ring,
 * resizes it and starts it again on fresh rings: what completes then
 * belongs to no ring of the new queue and is dropped, and the new queue
 * starts from index 0 (completions were pushed into it, at the old
 * indices, as answers to requests it never made). */
static void test_stopped_queue_drops_its_completions(void **state)
{
	struct fx *fx = *state;
	struct req r[8];
	uint8_t buf[512];

	if (!on_uring(fx))
		skip();
	for (unsigned i = 0; i < 8; i++)
		post(fx, &r[i], VIRTIO_BLK_T_IN, i, NULL, 512, 512, true, false);
	kick(fx);
	assert_int_equal(vq_driver_used_idx(&fx->d), 0);
	mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_SEL, 0);
	mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_QUEUE_READY), 0);
	memset(fx->d.ram + VQ_DRIVER_DESC, 0, VQ_DRIVER_DATA - VQ_DRIVER_DESC);
	fx->d.avail_idx = fx->d.used_seen = 0;
	vq_driver_recycle(&fx->d);
	mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_NUM, 128);
	mmio_driver_write(fx->t, VIRTIO_MMIO_QUEUE_READY, 1);
	while (wait_event(fx, 200))
		;
	virtio_mmio_backend_event(fx->t);
	assert_int_equal(vq_driver_used_idx(&fx->d), 0);
	assert_int_equal(fx->t->queues[0].next_used, 0);
	assert_int_equal(fx->t->queues[0].last_avail, 0);
	/* The new queue serves its own requests from its first slot. */
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 5, buf, 512, 512, true, false, NULL), 0);
	assert_int_equal(buf[0], 0x45);
	assert_int_equal(vq_driver_used_idx(&fx->d), 1);
}

/* Teardown destroys the device with all of these on the ring; valgrind
 * checks nothing leaks and nothing touches freed memory. */
static void test_destroy_with_requests_in_flight(void **state)
{
	struct fx *fx = *state;
	struct req r[40];
	uint8_t buf[4096];

	memset(buf, 0x5a, sizeof(buf));
	for (unsigned i = 0; i < 40; i++)
		post(fx, &r[i], i < 32 ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, (i % 8) * 8, buf, 4096, 1024, i < 32,
		     false);
	kick(fx);
	assert_int_equal(fx->t->requests, 40);
	if (on_uring(fx))
		assert_int_equal(vq_driver_used_idx(&fx->d), 0);
}

/* A save completes what is in flight first: the saved queue has returned
 * every chain it took. */
static void test_save_completes_requests_in_flight(void **state)
{
	struct fx *fx = *state;
	struct state_writer w;
	struct fx other = { 0 };
	struct req r[8];
	uint8_t buf[512];

	for (unsigned i = 0; i < 8; i++)
		post(fx, &r[i], VIRTIO_BLK_T_IN, i, NULL, 512, 512, true, false);
	kick(fx);
	assert_int_equal(device_test_save(&fx->t->dev, &w), 0);
	assert_int_equal(vq_driver_used_idx(&fx->d), 8);
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(req_status(fx, &r[i]), VIRTIO_BLK_S_OK);
		req_data(fx, &r[i], buf);
		assert_int_equal(buf[0], 0x40 + i);
	}
	other.d = fx->d;
	assert_int_equal(open_blk(&other, DISK_SECTORS * 512, false, NULL), 0);
	assert_int_equal(device_test_restore(&other.t->dev, w.buf, w.len, NULL), 0);
	assert_int_equal(other.t->queues[0].next_used, 8);
	assert_int_equal(other.t->queues[0].last_avail, 8);
	other.t->dev.ops->destroy(&other.t->dev);
	state_writer_free(&w);
	vq_driver_recycle(&fx->d);
}

/* The ring's errors become IOERR: a write-only file cannot be read. */
static void test_read_error_is_ioerr(void **state)
{
	struct fx *fx = *state;
	struct virtio_mmio_hooks hooks = { on_irq, NULL, fx };
	struct blk_config cfg = { .size = DISK_SECTORS * 512, .sync_io = sync_io };
	char path[64];
	uint8_t buf[1024];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fx->fd);
	cfg.fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(cfg.fd >= 0);
	fx->t->dev.ops->destroy(&fx->t->dev);
	assert_int_equal(blk_create(&fx->d.mem, &cfg, &hooks, &fx->t), 0);
	driver_restart(fx);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 0, buf, 1024, 512, true, false, NULL), VIRTIO_BLK_S_IOERR);
	memset(buf, 0x11, sizeof(buf));
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 0, buf, 1024, 512, false, false, NULL), VIRTIO_BLK_S_OK);
}

static uint64_t blk_stat_of(struct fx *fx, enum blk_stat which)
{
	struct blk_stats st;

	blk_get_stats(fx->t, &st);
	return st.v[which];
}

/* The counters metrics report: bytes and counts of what succeeded,
 * flushes, refusals and host failures kept apart. */
static void test_stats_count_what_the_device_did(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[2048];
	struct blk_stats st;

	blk_get_stats(fx->t, &st);
	for (unsigned i = 0; i < BLK_STAT_COUNT; i++)
		assert_int_equal(st.v[i], 0);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 0, buf, 1024, 512, true, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 4, buf, 512, 512, true, true, NULL), VIRTIO_BLK_S_OK);
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 8, buf, 2048, 512, false, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(request(fx, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 1, false, false, NULL), VIRTIO_BLK_S_OK);
	/* Refused: past the end, a length that is not whole sectors, an
	 * unknown type. None of them moves data. */
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, DISK_SECTORS, buf, 512, 512, true, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 0, buf, 100, 100, false, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(fx, 77, 0, NULL, 0, 1, false, false, NULL), VIRTIO_BLK_S_UNSUPP);
	blk_get_stats(fx->t, &st);
	assert_int_equal(st.v[BLK_STAT_READ_BYTES], 1536);
	assert_int_equal(st.v[BLK_STAT_READ_COUNT], 2);
	assert_int_equal(st.v[BLK_STAT_WRITE_BYTES], 2048);
	assert_int_equal(st.v[BLK_STAT_WRITE_COUNT], 1);
	assert_int_equal(st.v[BLK_STAT_FLUSH_COUNT], 1);
	assert_int_equal(st.v[BLK_STAT_INVALID_REQS], 3);
	assert_int_equal(st.v[BLK_STAT_EXECUTE_FAILS], 0);
	assert_int_equal(st.v[BLK_STAT_QUEUE_EVENTS], 7); /* one kick per request */
	assert_int_equal(st.v[BLK_STAT_NO_AVAIL_BUFFER], 0);
	/* A kick with nothing posted. */
	mmio_driver_kick(fx->t, 0);
	assert_int_equal(blk_stat_of(fx, BLK_STAT_QUEUE_EVENTS), 8);
	assert_int_equal(blk_stat_of(fx, BLK_STAT_NO_AVAIL_BUFFER), 1);
	assert_string_equal(blk_stat_names[BLK_STAT_READ_BYTES], "read_bytes");
	assert_string_equal(blk_stat_names[BLK_STAT_INVALID_REQS], "invalid_reqs_count");
	assert_string_equal(blk_stat_names[BLK_STAT_IO_ENGINE_THROTTLED], "io_engine_throttled_events");
	for (unsigned i = 0; i < BLK_STAT_COUNT; i++)
		assert_non_null(blk_stat_names[i]);
}

static void test_stats_read_only_write_is_invalid(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[512] = { 0 };

	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 0, buf, 512, 512, false, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_stat_of(fx, BLK_STAT_INVALID_REQS), 1);
	assert_int_equal(blk_stat_of(fx, BLK_STAT_WRITE_COUNT), 0);
	assert_int_equal(blk_stat_of(fx, BLK_STAT_WRITE_BYTES), 0);
}

/* A host I/O error is an execute failure, not a read. */
static void reset_device(struct fx *fx)
{
	mmio_driver_write(fx->t, VIRTIO_MMIO_STATUS, 0);
}

/* A reset (a vCPU's status write) meets a request the ring finished
 * short: the request is orphaned, so it is not finished with preadv,
 * which the vCPU thread's filter would kill it for. */
static void test_reset_leaves_a_short_transfer_alone(void **state)
{
	struct fx *fx = *state;
	struct req r;

	if (!on_uring(fx))
		skip();
	assert_int_equal(ftruncate(fx->fd, 512 * 10 + 512), 0);
	post(fx, &r, VIRTIO_BLK_T_IN, 10, NULL, 1024, 1024, true, false);
	kick(fx);
	assert_int_equal(fx->t->requests, 1);
	on_thread_without_io(fx, reset_device, false);
	assert_int_equal(mmio_driver_read(fx->t, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(blk_stat_of(fx, BLK_STAT_EXECUTE_FAILS), 0);
	assert_int_equal(req_status(fx, &r), 0xff);
}

/* The racing guest: while this thread serves the queue as the event
 * loop does, a second one rewrites the rings, descriptors, indices and
 * buffers, and writes QueueSel/QueueNum/QueueReady/Status/notify
 * registers. Nothing may crash, hang or read outside guest RAM (valgrind
 * and ASan watch), the walker's bound holds throughout, and once the
 * storm ends a reset brings back a device that serves a clean driver. */
static void test_survives_a_racing_guest(void **state)
{
	struct fx *fx = *state;
	struct racer r = { .ram = fx->d.ram, .len = VQ_DRIVER_DATA + 64 * 1024, .regs = fx->t };
	uint8_t buf[512], back[512];
	struct req req;

	memset(buf, 0xa5, sizeof(buf));
	for (unsigned i = 0; i < 64; i++)
		post(fx, &req, i % 3 ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT, i % DISK_SECTORS, buf, 512, 512, i % 3,
		     i % 2);
	assert_int_equal(racer_start(&r), 0);
	assert_true(racer_serve(&r, fx->t, 3000, 30000));
	assert_true(racer_stop(&r) >= 30000);
	mmio_driver_write(fx->t, VIRTIO_MMIO_STATUS, 0);
	virtio_mmio_backend_event(fx->t);
	driver_restart(fx);
	memset(buf, 0x5e, sizeof(buf));
	assert_int_equal(request(fx, VIRTIO_BLK_T_OUT, 7, buf, 512, 512, false, false, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 7, back, 512, 512, true, true, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(back, buf, sizeof(buf));
}

static void test_stats_host_failure(void **state)
{
	struct fx *fx = *state;
	struct virtio_mmio_hooks hooks = { on_irq, NULL, fx };
	struct blk_config cfg = { .size = DISK_SECTORS * 512, .sync_io = sync_io };
	char path[64];
	uint8_t buf[1024];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fx->fd);
	cfg.fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(cfg.fd >= 0);
	fx->t->dev.ops->destroy(&fx->t->dev);
	assert_int_equal(blk_create(&fx->d.mem, &cfg, &hooks, &fx->t), 0);
	driver_restart(fx);
	assert_int_equal(request(fx, VIRTIO_BLK_T_IN, 0, buf, 1024, 512, true, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_stat_of(fx, BLK_STAT_EXECUTE_FAILS), 1);
	assert_int_equal(blk_stat_of(fx, BLK_STAT_READ_COUNT), 0);
	assert_int_equal(blk_stat_of(fx, BLK_STAT_READ_BYTES), 0);
	assert_int_equal(blk_stat_of(fx, BLK_STAT_INVALID_REQS), 0);
}

/* With four io_uring slots, 32 posted reads wait for slots: counted as
 * throttled, and every byte is still counted once. */
static void test_stats_throttled_on_a_small_ring(void **state)
{
	struct fx *fx = *state;
	struct req r[32];
	unsigned done = 0;

	for (unsigned i = 0; i < 32; i++)
		post(fx, &r[i], VIRTIO_BLK_T_IN, i, NULL, 512, 512, true, false);
	kick(fx);
	while (done < 32) {
		uint32_t id, len;

		while (vq_driver_take_used(&fx->d, &id, &len))
			done++;
		if (done < 32)
			assert_true(wait_event(fx, 5000));
	}
	vq_driver_recycle(&fx->d);
	assert_int_equal(blk_stat_of(fx, BLK_STAT_READ_COUNT), 32);
	assert_int_equal(blk_stat_of(fx, BLK_STAT_READ_BYTES), 32 * 512);
	if (on_uring(fx))
		assert_true(blk_stat_of(fx, BLK_STAT_IO_ENGINE_THROTTLED) >= 1);
	else
		assert_int_equal(blk_stat_of(fx, BLK_STAT_IO_ENGINE_THROTTLED), 0);
}

static int group_uring(void **state)
{
	struct io_uring ring;

	(void)state;
	uring_works = !io_uring_queue_init(4, &ring, 0);
	if (uring_works)
		io_uring_queue_exit(&ring);
	else
		print_message("io_uring is unavailable here: the io_uring group runs synchronously\n");
	sync_io = false;
	return 0;
}

static int group_sync(void **state)
{
	(void)state;
	sync_io = true;
	return 0;
}

#define BLK_TESTS                                                                                    \
	{                                                                                            \
		cmocka_unit_test_setup_teardown(test_config_and_features, setup_rw, teardown),       \
		cmocka_unit_test_setup_teardown(test_path_in_use, setup_rw, teardown),               \
		cmocka_unit_test_setup_teardown(test_read_only_features, setup_ro, teardown),        \
		cmocka_unit_test_setup_teardown(test_read_multi_segment, setup_rw, teardown),        \
		cmocka_unit_test_setup_teardown(test_write_then_read_back_indirect, setup_rw, teardown), \
		cmocka_unit_test_setup_teardown(test_bounds_and_lengths, setup_rw, teardown),        \
		cmocka_unit_test_setup_teardown(test_read_only_refuses_writes, setup_ro, teardown),  \
		cmocka_unit_test_setup_teardown(test_flush_get_id_and_unknown, setup_rw, teardown),  \
		cmocka_unit_test_setup_teardown(test_discard_and_write_zeroes, setup_rw, teardown),  \
		cmocka_unit_test_setup_teardown(test_write_zeroes_writes_no_data, setup_rw, teardown), \
		cmocka_unit_test_setup_teardown(test_malformed_requests, setup_rw, teardown),        \
		cmocka_unit_test_setup_teardown(test_odd_size_exposes_whole_sectors, setup_odd, teardown), \
		cmocka_unit_test_setup_teardown(test_shrunk_file_reads_zeroes, setup_rw, teardown),  \
		cmocka_unit_test_setup_teardown(test_reset_leaves_a_short_transfer_alone, setup_rw, teardown), \
		cmocka_unit_test_setup_teardown(test_survives_a_racing_guest, setup_rw, teardown),   \
		cmocka_unit_test_setup_teardown(test_stopped_queue_drops_its_completions, setup_rw, teardown), \
		cmocka_unit_test(test_create_rejects),                                               \
		cmocka_unit_test_setup_teardown(test_save_restore_checks_the_drive, setup_rw, teardown), \
		cmocka_unit_test_setup_teardown(test_batch_of_32_reads, setup_rw, teardown),         \
		cmocka_unit_test_setup_teardown(test_full_ring_leaves_chains_in_avail, setup_small_ring, teardown), \
		cmocka_unit_test_setup_teardown(test_flush_after_writes, setup_rw, teardown),        \
		cmocka_unit_test_setup_teardown(test_reset_with_requests_in_flight, setup_rw, teardown), \
		cmocka_unit_test_setup_teardown(test_destroy_with_requests_in_flight, setup_rw, teardown), \
		cmocka_unit_test_setup_teardown(test_save_completes_requests_in_flight, setup_rw, teardown), \
		cmocka_unit_test_setup_teardown(test_read_error_is_ioerr, setup_rw, teardown),       \
		cmocka_unit_test_setup_teardown(test_stats_count_what_the_device_did, setup_rw, teardown), \
		cmocka_unit_test_setup_teardown(test_stats_read_only_write_is_invalid, setup_ro, teardown), \
		cmocka_unit_test_setup_teardown(test_stats_host_failure, setup_rw, teardown),        \
		cmocka_unit_test_setup_teardown(test_stats_throttled_on_a_small_ring, setup_small_ring, teardown), \
	}

int main(void)
{
	const struct CMUnitTest uring_tests[] = BLK_TESTS;
	const struct CMUnitTest sync_tests[] = BLK_TESTS;
	int failed = cmocka_run_group_tests_name("virtio-blk io_uring", uring_tests, group_uring, NULL);

	failed += cmocka_run_group_tests_name("virtio-blk sync", sync_tests, group_sync, NULL);
	return failed;
}
