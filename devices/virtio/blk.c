#include "devices/virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/log.h"

#define BLK_HEADER 16u
#define BLK_SEGMENT 16u /* discard / write-zeroes range */
#define BLK_MAX_RANGE_SECTORS (UINT32_MAX / VIRTIO_BLK_SECTOR)

struct blk {
	struct virtio_mmio t;
	int fd;
	bool read_only;
	uint64_t capacity; /* sectors */
	uint8_t id[VIRTIO_BLK_ID_BYTES];
	uint8_t config[VIRTIO_BLK_CONFIG_LEN];
	struct virtq_chain chain;
	struct iovec data[VIRTQ_MAX_SIZE];
};

static struct blk *blk_of(struct virtio_mmio *t)
{
	return (struct blk *)t;
}

uint64_t blk_capacity_sectors(const struct virtio_mmio *t)
{
	return ((const struct blk *)t)->capacity;
}

/* The iovecs covering bytes [skip, skip+len) of iov[0..n). */
static unsigned iov_slice(const struct iovec *iov, unsigned n, uint64_t skip, uint64_t len, struct iovec *out)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len; i++) {
		uint64_t take;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - skip;
		if (take > len)
			take = len;
		out[k++] = (struct iovec){ (uint8_t *)iov[i].iov_base + skip, take };
		len -= take;
		skip = 0;
	}
	return k;
}

static bool range_ok(const struct blk *b, uint64_t sector, uint64_t sectors)
{
	return sector <= b->capacity && sectors <= b->capacity - sector;
}

/* preadv/pwritev until done: the kernel may move fewer bytes than asked. */
static int blk_rw(struct blk *b, struct iovec *iov, unsigned n, uint64_t off, bool write)
{
	while (n) {
		ssize_t r = write ? pwritev(b->fd, iov, (int)n, (off_t)off) : preadv(b->fd, iov, (int)n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) {
			if (write)
				return -EIO;
			/* The file shrank under us: the rest reads as zeroes. */
			for (unsigned i = 0; i < n; i++)
				memset(iov[i].iov_base, 0, iov[i].iov_len);
			return 0;
		}
		off += (uint64_t)r;
		while (n && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++, n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static uint8_t blk_data(struct blk *b, const struct virtq_chain *c, uint64_t sector, bool write, uint32_t *written)
{
	uint64_t len = write ? c->out_len - BLK_HEADER : c->in_len - 1;
	unsigned n;
	int ret;

	if (write && b->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (len % VIRTIO_BLK_SECTOR || !range_ok(b, sector, len / VIRTIO_BLK_SECTOR))
		return VIRTIO_BLK_S_IOERR;
	n = write ? iov_slice(c->iov, c->nr_out, BLK_HEADER, len, b->data)
		  : iov_slice(c->iov + c->nr_out, c->nr_in, 0, len, b->data);
	ret = blk_rw(b, b->data, n, sector * VIRTIO_BLK_SECTOR, write);
	if (ret) {
		log_error("virtio-blk: %s of %llu bytes at sector %llu: %s", write ? "write" : "read",
			  (unsigned long long)len, (unsigned long long)sector, strerror(-ret));
		return VIRTIO_BLK_S_IOERR;
	}
	if (!write)
		*written += (uint32_t)len;
	return VIRTIO_BLK_S_OK;
}

static int punch(struct blk *b, int mode, uint64_t off, uint64_t len)
{
	return fallocate(b->fd, mode | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) ? -errno : 0;
}

static int write_zeroes_slow(struct blk *b, uint64_t off, uint64_t len)
{
	static const uint8_t zeroes[64 * 1024];

	while (len) {
		struct iovec iov = { (void *)zeroes, len < sizeof(zeroes) ? len : sizeof(zeroes) };
		int ret = blk_rw(b, &iov, 1, off, true);

		if (ret)
			return ret;
		off += sizeof(zeroes) < len ? sizeof(zeroes) : len;
		len -= sizeof(zeroes) < len ? sizeof(zeroes) : len;
	}
	return 0;
}

static uint8_t blk_discard(struct blk *b, const struct virtq_chain *c, bool zeroes)
{
	uint8_t seg[BLK_SEGMENT];
	uint64_t sector, off, len;
	uint32_t sectors, flags;
	int ret;

	if (b->read_only)
		return VIRTIO_BLK_S_IOERR;
	/* We advertise max_*_seg = 1. */
	if (c->out_len != BLK_HEADER + BLK_SEGMENT)
		return VIRTIO_BLK_S_IOERR;
	virtq_chain_read(c, BLK_HEADER, seg, sizeof(seg));
	memcpy(&sector, seg, 8);
	memcpy(&sectors, seg + 8, 4);
	memcpy(&flags, seg + 12, 4);
	if (flags & ~VIRTIO_BLK_WRITE_ZEROES_UNMAP || (!zeroes && flags))
		return VIRTIO_BLK_S_UNSUPP;
	if (!range_ok(b, sector, sectors) || sectors > BLK_MAX_RANGE_SECTORS)
		return VIRTIO_BLK_S_IOERR;
	off = sector * VIRTIO_BLK_SECTOR;
	len = (uint64_t)sectors * VIRTIO_BLK_SECTOR;
	if (!zeroes) {
		/* Discard is a hint: a file system that cannot punch holes
		 * simply keeps the data. */
		ret = punch(b, FALLOC_FL_PUNCH_HOLE, off, len);
		return ret && ret != -EOPNOTSUPP ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	}
	ret = punch(b, flags ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE, off, len);
	if (ret == -EOPNOTSUPP)
		ret = write_zeroes_slow(b, off, len);
	return ret ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

static uint8_t blk_request(struct blk *b, const struct virtq_chain *c, uint32_t *written)
{
	uint8_t hdr[BLK_HEADER];
	uint32_t type;
	uint64_t sector;

	virtq_chain_read(c, 0, hdr, sizeof(hdr));
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	switch (type) {
	case VIRTIO_BLK_T_IN: return blk_data(b, c, sector, false, written);
	case VIRTIO_BLK_T_OUT: return blk_data(b, c, sector, true, written);
	case VIRTIO_BLK_T_FLUSH:
		return b->read_only || !fdatasync(b->fd) ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t room = c->in_len - 1;
		size_t n = room < VIRTIO_BLK_ID_BYTES ? (size_t)room : VIRTIO_BLK_ID_BYTES;

		*written += (uint32_t)virtq_chain_write(c, 0, b->id, n);
		return VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_DISCARD: return blk_discard(b, c, false);
	case VIRTIO_BLK_T_WRITE_ZEROES: return blk_discard(b, c, true);
	default: return VIRTIO_BLK_S_UNSUPP;
	}
}

static void blk_process(struct virtio_mmio *t, unsigned q)
{
	struct blk *b = blk_of(t);
	struct virtq_chain *c = &b->chain;

	while (virtio_mmio_pop(t, q, c) > 0) {
		uint32_t written = 0;
		uint8_t status;

		/* A request needs its header and a status byte; without a
		 * writable byte there is nowhere to say it failed. */
		if (!c->in_len) {
			virtio_mmio_fail(t, "virtio-blk request without a status byte");
			return;
		}
		status = c->out_len >= BLK_HEADER ? blk_request(b, c, &written) : VIRTIO_BLK_S_IOERR;
		virtq_chain_write(c, c->in_len - 1, &status, 1);
		virtio_mmio_push(t, q, c->head, written + 1);
	}
	virtio_mmio_flush(t, q);
}

static void blk_config_read(struct virtio_mmio *t, uint32_t off, uint8_t *data, uint32_t len)
{
	memcpy(data, blk_of(t)->config + off, len);
}

static void blk_save(struct virtio_mmio *t, struct state_writer *w)
{
	struct blk *b = blk_of(t);

	state_put_u64(w, b->capacity);
	state_put_u8(w, b->read_only);
}

/* The disk is not in the snapshot; it must be the same shape. */
static void blk_restore(struct virtio_mmio *t, struct state_reader *r)
{
	struct blk *b = blk_of(t);
	uint64_t capacity = state_get_u64(r);
	uint8_t ro = state_get_u8(r);

	if (!state_reader_error(r) && (capacity != b->capacity || ro != b->read_only))
		state_reader_reject(r, "virtio-blk record: the drive's size or read-only mode changed");
}

static void blk_destroy(struct virtio_mmio *t)
{
	struct blk *b = blk_of(t);

	close(b->fd);
	free(b);
}

static const struct virtio_backend_ops blk_ops = {
	.kind = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.config_len = VIRTIO_BLK_CONFIG_LEN,
	.config_read = blk_config_read,
	.process = blk_process,
	.save = blk_save,
	.restore = blk_restore,
	.destroy = blk_destroy,
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void blk_fill_config(struct blk *b)
{
	memcpy(b->config + VIRTIO_BLK_CFG_CAPACITY, &b->capacity, 8);
	put32(b->config + VIRTIO_BLK_CFG_SEG_MAX, VIRTIO_BLK_SEG_MAX);
	put32(b->config + VIRTIO_BLK_CFG_BLK_SIZE, VIRTIO_BLK_SECTOR);
	put32(b->config + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, BLK_MAX_RANGE_SECTORS);
	put32(b->config + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 1);
	put32(b->config + VIRTIO_BLK_CFG_DISCARD_ALIGN, 1);
	put32(b->config + VIRTIO_BLK_CFG_MAX_WZ_SECTORS, BLK_MAX_RANGE_SECTORS);
	put32(b->config + VIRTIO_BLK_CFG_MAX_WZ_SEG, 1);
	b->config[VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = 1;
}

int blk_create(const struct guest_mem *mem, const struct blk_config *cfg, const struct virtio_mmio_hooks *hooks,
	       struct virtio_mmio **out)
{
	uint64_t features = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
			    VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
			    VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	struct blk *b;
	int ret;

	if (cfg->fd < 0)
		return err_fail(-EBADF, "virtio-blk: no file");
	if (cfg->size < VIRTIO_BLK_SECTOR)
		return err_fail(-EINVAL, "virtio-blk: a disk of %llu bytes holds no 512-byte sector",
				(unsigned long long)cfg->size);
	features |= cfg->read_only ? VIRTIO_BIT(VIRTIO_BLK_F_RO)
				   : VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	b = calloc(1, sizeof(*b));
	if (!b)
		return err_fail(-ENOMEM, "virtio-blk: device state");
	ret = virtio_mmio_init(&b->t, &blk_ops, mem, features, 1, VIRTIO_BLK_QUEUE_SIZE, hooks);
	if (ret) {
		free(b);
		return ret;
	}
	b->fd = cfg->fd;
	b->read_only = cfg->read_only;
	b->capacity = cfg->size / VIRTIO_BLK_SECTOR;
	if (cfg->id)
		memcpy(b->id, cfg->id, strnlen(cfg->id, VIRTIO_BLK_ID_BYTES));
	blk_fill_config(b);
	*out = &b->t;
	return 0;
}
