/* virtio-blk against a memfd disk, driven through the transport by the
 * synthetic driver: every request type, read-only drives, bounds, odd
 * sizes and malformed requests. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio/blk.h"
#include "tests/unit/device_access.h"
#include "tests/virtio/mmio_driver.h"
#include "tests/virtio/vq_driver.h"
#include "vmm/log.h"

#define DISK_SECTORS 64
#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)

struct fx {
	struct vq_driver d;
	struct virtio_mmio *t;
	int fd;
	unsigned irqs;
};

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
	struct blk_config cfg = { .size = bytes, .read_only = ro, .id = id };

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

/* One request: header, then data segments of `seg` bytes each (total
 * `len`), then the status byte. Returns the status; *used gets the used
 * length. `data` is copied in (OUT) or out (IN). */
static uint8_t request(struct fx *fx, uint32_t type, uint64_t sector, void *data, uint32_t len, uint32_t seg,
		       bool data_writable, bool indirect, uint32_t *used)
{
	struct vq_seg segs[64];
	unsigned n = 0;
	uint8_t *hdr;
	uint32_t id, ulen;
	uint16_t head;

	segs[n++] = (struct vq_seg){ 0, 16, false };
	for (uint32_t off = 0; off < len; off += seg)
		segs[n++] = (struct vq_seg){ 0, len - off < seg ? len - off : seg, data_writable };
	segs[n++] = (struct vq_seg){ 0, 1, true };
	head = indirect ? vq_driver_chain_indirect(&fx->d, segs, n) : vq_driver_chain(&fx->d, segs, n);
	hdr = vq_driver_host(&fx->d, segs[0].addr);
	memcpy(hdr, &type, 4);
	memset(hdr + 4, 0, 4);
	memcpy(hdr + 8, &sector, 8);
	if (!data_writable)
		for (unsigned i = 1, off = 0; i + 1 < n; off += segs[i].len, i++)
			memcpy(vq_driver_host(&fx->d, segs[i].addr), (uint8_t *)data + off, segs[i].len);
	memset(vq_driver_host(&fx->d, segs[n - 1].addr), 0xff, 1);
	vq_driver_post(&fx->d, head);
	mmio_driver_kick(fx->t, 0);
	assert_true(vq_driver_take_used(&fx->d, &id, &ulen));
	assert_int_equal(id, head);
	if (used)
		*used = ulen;
	if (data_writable)
		for (unsigned i = 1, off = 0; i + 1 < n; off += segs[i].len, i++)
			memcpy((uint8_t *)data + off, vq_driver_host(&fx->d, segs[i].addr), segs[i].len);
	vq_driver_recycle(&fx->d);
	return *(uint8_t *)vq_driver_host(&fx->d, segs[n - 1].addr);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_and_features, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_features, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(test_read_multi_segment, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_write_then_read_back_indirect, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_bounds_and_lengths, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_refuses_writes, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(test_flush_get_id_and_unknown, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_discard_and_write_zeroes, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_requests, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_odd_size_exposes_whole_sectors, setup_odd, teardown),
		cmocka_unit_test_setup_teardown(test_shrunk_file_reads_zeroes, setup_rw, teardown),
		cmocka_unit_test(test_create_rejects),
		cmocka_unit_test_setup_teardown(test_save_restore_checks_the_drive, setup_rw, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
