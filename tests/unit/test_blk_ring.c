/* The virtio-blk io_uring ring on the real kernel: the reads and writes
 * the device needs go through, everything else is refused by the ring
 * itself, and nothing can be registered with it once it runs. Skipped
 * where the kernel has no io_uring. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio/blk_ring.h"
#include "vmm/log.h"

struct fx {
	struct io_uring ring;
	int event_fd, disk;
};

static int setup(void **state)
{
	static struct fx fx;
	int ret;

	fx.event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fx.disk = memfd_create("disk", MFD_CLOEXEC);
	if (fx.event_fd < 0 || fx.disk < 0 || ftruncate(fx.disk, 4096))
		return -1;
	ret = blk_ring_open(&fx.ring, 8, fx.event_fd);
	if (ret) {
		fprintf(stderr, "io_uring here: %s: skipped\n", err_last());
		close(fx.event_fd);
		close(fx.disk);
		*state = NULL;
		return 0;
	}
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	if (fx) {
		io_uring_queue_exit(&fx->ring);
		close(fx->event_fd);
		close(fx->disk);
	}
	return 0;
}

/* Submits the one prepared SQE and returns its CQE's result. */
static int run_one(struct fx *fx)
{
	struct io_uring_cqe *cqe;
	int res;

	assert_int_equal(io_uring_submit(&fx->ring), 1);
	assert_int_equal(io_uring_wait_cqe(&fx->ring, &cqe), 0);
	res = cqe->res;
	io_uring_cqe_seen(&fx->ring, cqe);
	return res;
}

static void test_reads_and_writes_pass(void **state)
{
	struct fx *fx = *state;
	char out[16] = "ember blk ring", in[16] = { 0 };
	struct iovec iov = { out, sizeof(out) };
	uint64_t signalled = 0;

	if (!fx)
		skip();
	io_uring_prep_writev(io_uring_get_sqe(&fx->ring), fx->disk, &iov, 1, 512);
	assert_int_equal(run_one(fx), sizeof(out));
	iov.iov_base = in;
	io_uring_prep_readv(io_uring_get_sqe(&fx->ring), fx->disk, &iov, 1, 512);
	assert_int_equal(run_one(fx), sizeof(in));
	assert_memory_equal(in, out, sizeof(out));
	assert_int_equal(read(fx->event_fd, &signalled, sizeof(signalled)), sizeof(signalled));
	assert_int_equal(signalled, 2);
}

static void test_every_other_operation_is_refused(void **state)
{
	struct fx *fx = *state;
	char buf[16];
	struct iovec iov = { buf, sizeof(buf) };
	struct io_uring_sqe *sqe;

	if (!fx)
		skip();
	io_uring_prep_openat(io_uring_get_sqe(&fx->ring), AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
	assert_int_equal(run_one(fx), -EACCES);
	io_uring_prep_nop(io_uring_get_sqe(&fx->ring));
	assert_int_equal(run_one(fx), -EACCES);
	io_uring_prep_fsync(io_uring_get_sqe(&fx->ring), fx->disk, 0);
	assert_int_equal(run_one(fx), -EACCES);
	io_uring_prep_recv(io_uring_get_sqe(&fx->ring), fx->disk, buf, sizeof(buf), 0);
	assert_int_equal(run_one(fx), -EACCES);
	/* A permitted operation with a flag (here, linking) is refused too. */
	sqe = io_uring_get_sqe(&fx->ring);
	io_uring_prep_readv(sqe, fx->disk, &iov, 1, 0);
	sqe->flags |= IOSQE_ASYNC;
	assert_int_equal(run_one(fx), -EACCES);
}

static void test_nothing_registers_once_it_runs(void **state)
{
	struct fx *fx = *state;
	int files[1] = { fx ? fx->disk : -1 };

	if (!fx)
		skip();
	assert_int_equal(io_uring_register_files(&fx->ring, files, 1), -EACCES);
	assert_int_equal(io_uring_unregister_eventfd(&fx->ring), -EACCES);
}

/* Failures say which step and leave nothing open. */
static void test_failures_name_the_step(void **state)
{
	struct io_uring ring;
	int efd = eventfd(0, EFD_CLOEXEC);

	(void)state;
	assert_true(efd >= 0);
	assert_int_equal(blk_ring_open(&ring, 0, efd), -EINVAL);
	assert_non_null(strstr(err_last(), "io_uring_queue_init (0 entries"));
	if (blk_ring_open(&ring, 8, efd) == 0) { /* a kernel with io_uring */
		io_uring_queue_exit(&ring);
		assert_int_equal(blk_ring_open(&ring, 8, -1), -EBADF);
		assert_non_null(strstr(err_last(), "io_uring_register_eventfd"));
	}
	close(efd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reads_and_writes_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_other_operation_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_registers_once_it_runs, setup, teardown),
		cmocka_unit_test(test_failures_name_the_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
