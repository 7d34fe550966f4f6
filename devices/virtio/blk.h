/* virtio-blk (virtio 1.2, 5.2) over a host file: IN, OUT, FLUSH, GET_ID,
 * DISCARD and WRITE_ZEROES. IN and OUT go through io_uring: every request
 * of a kick is one SQE, submitted together, completed from the ring's
 * eventfd on the event loop (tests/bench/blk_backend.c measured why: equal
 * to preadv at one request per kick, 2-10x faster at 8-32). Everything
 * else, and everything when io_uring cannot be set up, is served
 * synchronously with preadv/pwritev/fdatasync/fallocate. */
#ifndef EMBER_VIRTIO_BLK_H
#define EMBER_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/mmio.h"

#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_WRITE_ZEROES_UNMAP 1u
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_SECTOR 512u
#define VIRTIO_BLK_QUEUE_SIZE 256
#define VIRTIO_BLK_SEG_MAX (VIRTIO_BLK_QUEUE_SIZE - 2) /* less header and status */
#define VIRTIO_BLK_CONFIG_LEN 60

/* Config space offsets. */
#define VIRTIO_BLK_CFG_CAPACITY 0
#define VIRTIO_BLK_CFG_SEG_MAX 12
#define VIRTIO_BLK_CFG_BLK_SIZE 20
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG 40
#define VIRTIO_BLK_CFG_DISCARD_ALIGN 44
#define VIRTIO_BLK_CFG_MAX_WZ_SECTORS 48
#define VIRTIO_BLK_CFG_MAX_WZ_SEG 52
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP 56

struct blk_config {
	int fd;          /* on success the device owns it and closes it */
	uint64_t size;   /* bytes; a tail short of a sector is not exposed */
	bool read_only;
	const char *id;  /* GET_ID answer, at most 20 bytes used; may be NULL */
	bool sync_io;    /* preadv/pwritev, never io_uring (Firecracker's "Sync" engine) */
	unsigned depth;  /* io_uring requests in flight at most; 0: the queue size (tests set it) */
};

/* Counters for metrics, named as Firecracker's block metrics. They only
 * grow; a reader takes differences. Bumped on the thread serving the queue
 * (under dev.lock), read from any thread. */
enum blk_stat {
	BLK_STAT_READ_BYTES,        /* data bytes of IN requests that succeeded */
	BLK_STAT_WRITE_BYTES,       /* data bytes of OUT requests that succeeded */
	BLK_STAT_READ_COUNT,        /* IN requests that succeeded */
	BLK_STAT_WRITE_COUNT,       /* OUT requests that succeeded */
	BLK_STAT_FLUSH_COUNT,       /* FLUSH requests */
	BLK_STAT_EXECUTE_FAILS,     /* well-formed requests the host failed (I/O error) */
	BLK_STAT_INVALID_REQS,      /* requests refused: malformed, out of range, unknown type, write to ro */
	BLK_STAT_QUEUE_EVENTS,      /* queue notifications served */
	BLK_STAT_NO_AVAIL_BUFFER,   /* notifications that found no request */
	BLK_STAT_IO_ENGINE_THROTTLED, /* times requests waited for a free io_uring slot */
	BLK_STAT_COUNT
};
extern const char *const blk_stat_names[BLK_STAT_COUNT];

struct blk_stats {
	uint64_t v[BLK_STAT_COUNT];
};

int blk_create(const struct guest_mem *mem, const struct blk_config *cfg, const struct virtio_mmio_hooks *hooks,
	       struct virtio_mmio **out);
uint64_t blk_capacity_sectors(const struct virtio_mmio *t);
/* PATCH /drives: serves the disk from `fd` (`size` bytes) from now on. The
 * requests in flight finish on the old file, which is closed; the new
 * capacity is announced with a config-change interrupt. Takes dev.lock;
 * on success the device owns fd. */
int blk_set_backing(struct virtio_mmio *t, int fd, uint64_t size);
/* `t` must be a virtio-blk device (ops->device_id == VIRTIO_ID_BLOCK). */
void blk_get_stats(const struct virtio_mmio *t, struct blk_stats *out);

#endif
