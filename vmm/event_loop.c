#include "vmm/event_loop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "vmm/log.h"

int event_loop_init(struct event_loop *loop)
{
	memset(loop, 0, sizeof(*loop));
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return err_fail(-errno, "epoll_create1: %m");
	return 0;
}

void event_loop_fini(struct event_loop *loop)
{
	if (loop->epfd >= 0)
		close(loop->epfd);
	loop->epfd = -1;
}

static struct event_handler *event_loop_find(struct event_loop *loop, int fd)
{
	for (unsigned i = 0; i < EVENT_LOOP_MAX_HANDLERS; i++)
		if (loop->handlers[i].used && loop->handlers[i].fd == fd)
			return &loop->handlers[i];
	return NULL;
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_handler_fn fn, void *opaque)
{
	struct event_handler *h = NULL;
	struct epoll_event ev = { .events = events };

	if (event_loop_find(loop, fd))
		return err_fail(-EEXIST, "fd %d is already watched", fd);
	for (unsigned i = 0; i < EVENT_LOOP_MAX_HANDLERS && !h; i++)
		if (!loop->handlers[i].used)
			h = &loop->handlers[i];
	if (!h)
		return err_fail(-ENOSPC, "more than %d watched fds", EVENT_LOOP_MAX_HANDLERS);
	ev.data.ptr = h;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return err_fail(-errno, "epoll_ctl add fd %d: %m", fd);
	*h = (struct event_handler){ .fd = fd, .fn = fn, .opaque = opaque, .used = true };
	return 0;
}

int event_loop_modify(struct event_loop *loop, int fd, uint32_t events)
{
	struct event_handler *h = event_loop_find(loop, fd);
	struct epoll_event ev = { .events = events };

	if (!h)
		return err_fail(-ENOENT, "fd %d is not watched", fd);
	ev.data.ptr = h;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return err_fail(-errno, "epoll_ctl mod fd %d: %m", fd);
	return 0;
}

int event_loop_remove(struct event_loop *loop, int fd)
{
	struct event_handler *h = event_loop_find(loop, fd);

	if (!h)
		return err_fail(-ENOENT, "fd %d is not watched", fd);
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	h->used = false;
	return 0;
}

int event_loop_run_once(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event evs[16];
	int n = epoll_wait(loop->epfd, evs, 16, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : err_fail(-errno, "epoll_wait: %m");
	for (int i = 0; i < n; i++) {
		struct event_handler *h = evs[i].data.ptr;

		/* A handler earlier in this batch may have removed this one. */
		if (h->used)
			h->fn(h->opaque, evs[i].events);
	}
	return n;
}
