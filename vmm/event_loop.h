/* An epoll loop: fds with a callback each. Device I/O, console input,
 * signals and the VM's exit notification all run here, off the vCPU
 * threads. */
#ifndef EMBER_EVENT_LOOP_H
#define EMBER_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*event_handler_fn)(void *opaque, uint32_t events);

#define EVENT_LOOP_MAX_HANDLERS 64

struct event_handler {
	int fd;
	event_handler_fn fn;
	void *opaque;
	bool used;
};

struct event_loop {
	int epfd;
	struct event_handler handlers[EVENT_LOOP_MAX_HANDLERS];
};

int event_loop_init(struct event_loop *loop);
void event_loop_fini(struct event_loop *loop);
/* `events` are EPOLLIN/EPOLLOUT bits. One registration per fd. */
int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_handler_fn fn, void *opaque);
int event_loop_modify(struct event_loop *loop, int fd, uint32_t events);
int event_loop_remove(struct event_loop *loop, int fd);
/* Waits up to timeout_ms (-1: forever) and runs the handlers of ready fds.
 * Returns how many ran, or a negative errno (EINTR is not an error: 0). */
int event_loop_run_once(struct event_loop *loop, int timeout_ms);

#endif
