#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/event_loop.h"

struct hit {
	int fd;
	int count;
	struct event_loop *loop;
	int remove_fd;
};

static void on_ready(void *opaque, uint32_t events)
{
	struct hit *h = opaque;
	uint64_t v;

	assert_true(events & EPOLLIN);
	assert_int_equal(read(h->fd, &v, sizeof(v)), sizeof(v));
	h->count++;
	if (h->remove_fd >= 0)
		event_loop_remove(h->loop, h->remove_fd);
}

static void test_dispatch_and_remove(void **state)
{
	struct event_loop loop;
	int a = eventfd(0, EFD_NONBLOCK), b = eventfd(0, EFD_NONBLOCK);
	struct hit ha = { .fd = a, .remove_fd = -1 }, hb = { .fd = b, .remove_fd = -1 };
	uint64_t one = 1;

	(void)state;
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(event_loop_add(&loop, a, EPOLLIN, on_ready, &ha), 0);
	assert_int_equal(event_loop_add(&loop, b, EPOLLIN, on_ready, &hb), 0);
	assert_int_equal(event_loop_add(&loop, a, EPOLLIN, on_ready, &ha), -EEXIST);
	assert_int_equal(event_loop_run_once(&loop, 0), 0);
	assert_int_equal(write(a, &one, sizeof(one)), sizeof(one));
	assert_int_equal(event_loop_run_once(&loop, 100), 1);
	assert_int_equal(ha.count, 1);
	assert_int_equal(hb.count, 0);
	/* Not interested in input any more: no dispatch. */
	assert_int_equal(event_loop_modify(&loop, b, 0), 0);
	assert_int_equal(write(b, &one, sizeof(one)), sizeof(one));
	assert_int_equal(event_loop_run_once(&loop, 0), 0);
	assert_int_equal(event_loop_modify(&loop, b, EPOLLIN), 0);
	assert_int_equal(event_loop_run_once(&loop, 100), 1);
	assert_int_equal(hb.count, 1);
	assert_int_equal(event_loop_remove(&loop, b), 0);
	assert_int_equal(event_loop_remove(&loop, b), -ENOENT);
	assert_int_equal(event_loop_modify(&loop, b, EPOLLIN), -ENOENT);
	assert_int_equal(event_loop_add(&loop, -1, EPOLLIN, on_ready, &ha), -EBADF);
	event_loop_fini(&loop);
	close(a);
	close(b);
}

static void test_handler_removing_another_ready_one(void **state)
{
	struct event_loop loop;
	int a = eventfd(0, EFD_NONBLOCK), b = eventfd(0, EFD_NONBLOCK);
	struct hit ha = { .fd = a, .loop = &loop, .remove_fd = b };
	struct hit hb = { .fd = b, .loop = &loop, .remove_fd = a };
	uint64_t one = 1;

	(void)state;
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(event_loop_add(&loop, a, EPOLLIN, on_ready, &ha), 0);
	assert_int_equal(event_loop_add(&loop, b, EPOLLIN, on_ready, &hb), 0);
	assert_int_equal(write(a, &one, sizeof(one)), sizeof(one));
	assert_int_equal(write(b, &one, sizeof(one)), sizeof(one));
	event_loop_run_once(&loop, 100);
	/* Whichever ran first removed the other, which must not run. */
	assert_int_equal(ha.count + hb.count, 1);
	event_loop_fini(&loop);
	close(a);
	close(b);
}

static void test_capacity(void **state)
{
	struct event_loop loop;
	int fds[EVENT_LOOP_MAX_HANDLERS + 1];
	struct hit h = { .remove_fd = -1 };

	(void)state;
	assert_int_equal(event_loop_init(&loop), 0);
	for (int i = 0; i <= EVENT_LOOP_MAX_HANDLERS; i++) {
		fds[i] = eventfd(0, 0);
		int ret = event_loop_add(&loop, fds[i], EPOLLIN, on_ready, &h);

		assert_int_equal(ret, i < EVENT_LOOP_MAX_HANDLERS ? 0 : -ENOSPC);
	}
	for (int i = 0; i <= EVENT_LOOP_MAX_HANDLERS; i++)
		close(fds[i]);
	event_loop_fini(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch_and_remove),
		cmocka_unit_test(test_handler_removing_another_ready_one),
		cmocka_unit_test(test_capacity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
