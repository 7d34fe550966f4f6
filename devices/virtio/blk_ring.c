#include "devices/virtio/blk_ring.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/log.h"

/* Debian 12's liburing (2.3) declares io_uring_register_restrictions and
 * io_uring_enable_rings but does not export them: call the kernel. */
static int ring_register(struct io_uring *ring, unsigned op, const void *arg, unsigned nr)
{
	return syscall(__NR_io_uring_register, ring->ring_fd, op, arg, nr) < 0 ? -errno : 0;
}

int blk_ring_open(struct io_uring *ring, unsigned depth, int event_fd)
{
	/* Restrictions can only be registered while the ring is disabled,
	 * and they then bind every later submission and registration. */
	struct io_uring_params p = { .flags = IORING_SETUP_R_DISABLED };
	struct io_uring_restriction allow[] = {
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITEV },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = 0 },
	};
	int ret = io_uring_queue_init_params(depth, ring, &p);

	if (ret)
		return err_set(ret, "io_uring_queue_init (%u entries, disabled): %s", depth, strerror(-ret));
	ret = io_uring_register_eventfd(ring, event_fd);
	if (ret) {
		err_set(ret, "io_uring_register_eventfd: %s", strerror(-ret));
		goto fail;
	}
	ret = ring_register(ring, IORING_REGISTER_RESTRICTIONS, allow, sizeof(allow) / sizeof(allow[0]));
	if (ret) {
		err_set(ret, "io_uring_register RESTRICTIONS: %s", strerror(-ret));
		goto fail;
	}
	ret = ring_register(ring, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	if (ret) {
		err_set(ret, "io_uring_register ENABLE_RINGS: %s", strerror(-ret));
		goto fail;
	}
	return 0;
fail:
	io_uring_queue_exit(ring);
	return ret;
}
