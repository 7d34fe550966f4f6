/* Device-path microbenchmark, no guest and no KVM: a synthetic driver
 * posts requests into a split virtqueue in plain memory and kicks the
 * transport, which walks the chains and serves them. What it measures is
 * the VMM's own cost per request: the queue walker alone (pop + push of
 * 3-descriptor chains), then virtio-blk end to end on a page-cached file
 * for 4 KiB and 64 KiB reads and 4 KiB writes, batches of 32 per kick,
 * through io_uring (the default) and through the synchronous fallback.
 * Prints requests/s and GiB/s, each the median of 5 runs of ~0.5 s. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/blk.h"
#include "tests/virtio/mmio_driver.h"
#include "tests/virtio/vq_driver.h"

#define RUNS 5
#define RUN_NS 500000000LL
#define BATCH 32
#define DISK_BYTES (256ULL << 20)

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Queue walker alone: pop and push chains the driver keeps re-posting. */
static double bench_walker(void)
{
	struct vq_driver d;
	struct virtq q;
	static struct virtq_chain c;
	struct vq_seg segs[3] = { { 0, 16, false }, { 0, 4096, true }, { 0, 1, true } };
	uint16_t head;
	long long t0, n = 0;
	uint32_t id, len;

	if (vq_driver_init(&d, 1 << 20, 256))
		exit(1);
	vq_driver_attach(&d, &q, true, true);
	head = vq_driver_chain(&d, segs, 3);
	t0 = now_ns();
	while (now_ns() - t0 < RUN_NS) {
		for (int i = 0; i < BATCH; i++)
			vq_driver_post(&d, head);
		for (int i = 0; i < BATCH; i++) {
			if (virtq_pop(&q, &c) != 1 || virtq_push(&q, c.head, 4097))
				exit(1);
			vq_driver_take_used(&d, &id, &len);
		}
		virtq_needs_interrupt(&q);
		n += BATCH;
	}
	vq_driver_fini(&d);
	return (double)n * 1e9 / (double)(now_ns() - t0);
}

static void wait_used(struct vq_driver *d, struct virtio_mmio *t, int want)
{
	int fd = t->ops->event_fd ? t->ops->event_fd(t) : -1;
	uint32_t id, len;

	while (want) {
		while (want && vq_driver_take_used(d, &id, &len))
			want--;
		if (!want)
			break;
		if (fd < 0) {
			fprintf(stderr, "virtio_path: requests never completed\n");
			exit(1);
		}
		poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 1000);
		virtio_mmio_backend_event(t);
	}
}

/* virtio-blk: BATCH requests of `bytes` per kick, sectors spread over the disk. */
static double bench_blk(int fd, uint32_t type, uint32_t bytes, bool sync_io, double *gib)
{
	struct vq_driver d;
	struct virtio_mmio *t;
	struct blk_config cfg = { .fd = dup(fd), .size = DISK_BYTES, .id = "bench", .sync_io = sync_io };
	struct vq_seg segs[BATCH][3];
	uint16_t heads[BATCH];
	long long t0, n = 0;
	uint64_t sector = 0, span = DISK_BYTES / 512;
	double rps;

	if (vq_driver_init(&d, 8u << 20, 256) || blk_create(&d.mem, &cfg, NULL, &t))
		exit(1);
	mmio_driver_bring_up(t, &d, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	for (int i = 0; i < BATCH; i++) {
		segs[i][0] = (struct vq_seg){ 0, 16, false };
		segs[i][1] = (struct vq_seg){ 0, bytes, type == VIRTIO_BLK_T_IN };
		segs[i][2] = (struct vq_seg){ 0, 1, true };
		heads[i] = vq_driver_chain(&d, segs[i], 3);
		memcpy(vq_driver_host(&d, segs[i][0].addr), &type, 4);
	}
	t0 = now_ns();
	while (now_ns() - t0 < RUN_NS) {
		for (int i = 0; i < BATCH; i++) {
			memcpy((uint8_t *)vq_driver_host(&d, segs[i][0].addr) + 8, &sector, 8);
			sector = (sector + 7919 * (bytes / 512)) % (span - bytes / 512);
			vq_driver_post(&d, heads[i]);
		}
		mmio_driver_kick(t, 0);
		wait_used(&d, t, BATCH);
		n += BATCH;
	}
	rps = (double)n * 1e9 / (double)(now_ns() - t0);
	*gib = rps * bytes / (1024.0 * 1024 * 1024);
	t->dev.ops->destroy(&t->dev);
	vq_driver_fini(&d);
	return rps;
}

int main(int argc, char **argv)
{
	/* A regular file, like a real disk image: page-cached I/O on a file
	 * system behaves differently from a memfd (io_uring serves cached
	 * reads of ext4 inline but hands shmem to worker threads). */
	const char *path = argc > 1 ? argv[1] : "build/bench/virtio_path.img";
	static const struct { const char *name; uint32_t type, bytes; bool sync_io; } cases[] = {
		{ "blk 4k read", VIRTIO_BLK_T_IN, 4096, false },
		{ "blk 64k read", VIRTIO_BLK_T_IN, 65536, false },
		{ "blk 4k write", VIRTIO_BLK_T_OUT, 4096, false },
		{ "sync 4k read", VIRTIO_BLK_T_IN, 4096, true },
		{ "sync 64k read", VIRTIO_BLK_T_IN, 65536, true },
		{ "sync 4k write", VIRTIO_BLK_T_OUT, 4096, true },
	};
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char *chunk = malloc(1 << 20);
	double v[RUNS], g[RUNS];

	if (fd < 0 || !chunk || ftruncate(fd, (off_t)DISK_BYTES))
		return 1;
	memset(chunk, 0x5a, 1 << 20);
	for (uint64_t off = 0; off < DISK_BYTES; off += 1 << 20)
		if (pwrite(fd, chunk, 1 << 20, (off_t)off) != 1 << 20)
			return 1;
	free(chunk);
	printf("virtio device path (synthetic driver, no guest; %s, page-cached; batches of %d per kick; "
	       "median of %d)\n", path, BATCH, RUNS);
	for (int r = 0; r < RUNS; r++)
		v[r] = bench_walker();
	printf("  %-14s %12.0f chains/s  (%.0f ns per chain)\n", "queue walker", median(v, RUNS),
	       1e9 / median(v, RUNS));
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (int r = 0; r < RUNS; r++)
			v[r] = bench_blk(fd, cases[c].type, cases[c].bytes, cases[c].sync_io, &g[r]);
		printf("  %-14s %12.0f req/s     %6.2f GiB/s  (%.0f ns per request)\n", cases[c].name,
		       median(v, RUNS), median(g, RUNS), 1e9 / median(v, RUNS));
	}
	close(fd);
	unlink(path);
	return 0;
}
