#include "vmm/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/log.h"

ssize_t console_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct console *con = opaque;
	size_t n = 0, tail;
	bool wake;
	uint64_t one = 1;

	pthread_mutex_lock(&con->out_lock);
	if (!con->out_dead) {
		n = CONSOLE_OUT_RING - con->out_len < len ? CONSOLE_OUT_RING - con->out_len : len;
		tail = (con->out_head + con->out_len) % CONSOLE_OUT_RING;
		size_t first = CONSOLE_OUT_RING - tail < n ? CONSOLE_OUT_RING - tail : n;

		memcpy(con->out_ring + tail, buf, first);
		memcpy(con->out_ring, buf + first, n - first);
	}
	wake = n && con->out_len == 0;
	con->out_len += n;
	con->out_dropped += len - n;
	pthread_mutex_unlock(&con->out_lock);
	/* Only the first byte into an empty ring wakes the loop: it drains
	 * everything that came in meanwhile. */
	if (wake && write(con->out_wake_fd, &one, sizeof(one)) < 0)
		log_warn("console: eventfd write failed: %m");
	return (ssize_t)n;
}

uint64_t console_dropped(struct console *con)
{
	uint64_t n;

	pthread_mutex_lock(&con->out_lock);
	n = con->out_dropped;
	pthread_mutex_unlock(&con->out_lock);
	return n;
}

static void console_watch_output(struct console *con, bool on)
{
	if (con->out_pollable && con->out_watching != on &&
	    event_loop_modify(con->loop, con->out_nb_fd, on ? EPOLLOUT : 0) == 0)
		con->out_watching = on;
}

/* Writes out what the ring holds, at most a ring's worth per call so a
 * guest that keeps writing cannot keep the loop to itself. Returns true
 * when the ring is empty (or the output dead). Only the event-loop thread
 * (or fini) calls it: it alone moves out_head, so the bytes it writes stay
 * put while the lock is not held. */
static bool console_drain(struct console *con)
{
	size_t budget = CONSOLE_OUT_RING;
	uint64_t one = 1;

	while (budget) {
		size_t chunk;
		const uint8_t *p;
		ssize_t n;

		pthread_mutex_lock(&con->out_lock);
		chunk = con->out_dead ? 0 : con->out_len;
		if (chunk > CONSOLE_OUT_RING - con->out_head)
			chunk = CONSOLE_OUT_RING - con->out_head;
		p = con->out_ring + con->out_head;
		pthread_mutex_unlock(&con->out_lock);
		if (!chunk) {
			console_watch_output(con, false);
			return true;
		}
		n = write(con->out_nb_fd, p, chunk < budget ? chunk : budget);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* The reader is slow: come back when it has room. */
			console_watch_output(con, true);
			return false;
		}
		pthread_mutex_lock(&con->out_lock);
		if (n <= 0) {
			if (!con->out_dead)
				log_warn("console: output failed (%s); guest output is dropped from now on",
					 n < 0 ? strerror(errno) : "nothing written");
			con->out_dead = true;
			con->out_dropped += con->out_len;
			con->out_len = 0;
		} else {
			con->out_head = (con->out_head + (size_t)n) % CONSOLE_OUT_RING;
			con->out_len -= (size_t)n;
			budget -= (size_t)n;
		}
		pthread_mutex_unlock(&con->out_lock);
	}
	/* Budget spent with output left: the next turn goes on. */
	if (write(con->out_wake_fd, &one, sizeof(one)) < 0)
		log_warn("console: eventfd write failed: %m");
	return false;
}

static void console_on_out_wake(void *opaque, uint32_t events)
{
	struct console *con = opaque;
	uint64_t v;

	(void)events;
	if (read(con->out_wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("console: eventfd read failed: %m");
	console_drain(con);
}

static void console_on_out_ready(void *opaque, uint32_t events)
{
	(void)events;
	console_drain(opaque);
}

/* A description of out_fd whose writes never block. A pipe or terminal is
 * reopened through /proc with O_NONBLOCK, so the flag does not leak into
 * the description our caller (a shell) shares; files never block for
 * long and are written as they are; anything else (a socket, no /proc in a
 * jail) gets O_NONBLOCK itself, restored at fini. */
static int console_open_output(struct console *con)
{
	struct stat st;
	char path[32];
	int flags;

	con->out_nb_fd = con->out_fd;
	if (fstat(con->out_fd, &st))
		return err_fail(-errno, "console: fstat of output fd %d: %m", con->out_fd);
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", con->out_fd);
	if (!S_ISSOCK(st.st_mode)) {
		int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

		if (fd >= 0) {
			con->out_nb_fd = fd;
			con->out_nb_owned = true;
			return 0;
		}
	}
	flags = fcntl(con->out_fd, F_GETFL);
	if (flags < 0 || fcntl(con->out_fd, F_SETFL, flags | O_NONBLOCK))
		return err_fail(-errno, "console: cannot make output fd %d non-blocking: %m", con->out_fd);
	con->out_old_flags = flags;
	return 0;
}

static int console_init_output(struct console *con)
{
	struct epoll_event ev = { .events = EPOLLOUT };
	int ret;

	pthread_mutex_init(&con->out_lock, NULL);
	con->out_wake_fd = con->out_drain_epfd = con->out_nb_fd = -1;
	con->out_old_flags = -1;
	con->out_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (con->out_wake_fd < 0)
		return err_fail(-errno, "console: eventfd: %m");
	ret = console_open_output(con);
	if (ret)
		return ret;
	ret = event_loop_add(con->loop, con->out_wake_fd, EPOLLIN, console_on_out_wake, con);
	if (ret)
		return ret;
	/* A regular file cannot be polled (EPERM): its writes never wait. */
	con->out_pollable = event_loop_add(con->loop, con->out_nb_fd, 0, console_on_out_ready, con) == 0;
	if (con->out_pollable) {
		con->out_drain_epfd = epoll_create1(EPOLL_CLOEXEC);
		if (con->out_drain_epfd < 0 || epoll_ctl(con->out_drain_epfd, EPOLL_CTL_ADD, con->out_nb_fd, &ev))
			return err_fail(-errno, "console: epoll for the output: %m");
	}
	return 0;
}

void console_flush(struct console *con, int timeout_ms)
{
	struct epoll_event ev;

	if (con->out_wake_fd < 0)
		return;
	for (int waited = 0; !console_drain(con); waited += 100) {
		if (waited >= timeout_ms) {
			/* The reader did not come: what is left is dropped, so
			 * nothing waits for it twice. */
			pthread_mutex_lock(&con->out_lock);
			con->out_dropped += con->out_len;
			con->out_len = 0;
			con->out_dead = true;
			pthread_mutex_unlock(&con->out_lock);
			return;
		}
		if (con->out_drain_epfd >= 0)
			epoll_wait(con->out_drain_epfd, &ev, 1, 100);
	}
}

static void console_fini_output(struct console *con)
{
	console_flush(con, CONSOLE_FINI_DRAIN_MS);
	if (con->out_old_flags >= 0)
		fcntl(con->out_fd, F_SETFL, con->out_old_flags);
	if (con->out_nb_owned)
		close(con->out_nb_fd);
	if (con->out_drain_epfd >= 0)
		close(con->out_drain_epfd);
	if (con->out_wake_fd >= 0)
		close(con->out_wake_fd);
	con->out_nb_owned = false;
	con->out_drain_epfd = con->out_wake_fd = -1;
	pthread_mutex_destroy(&con->out_lock);
}

void console_notify_space(void *opaque)
{
	struct console *con = opaque;
	uint64_t one = 1;

	if (con->pending_len > con->pending_off && write(con->space_fd, &one, sizeof(one)) < 0)
		log_warn("console: eventfd write failed: %m");
}

/* Pushes what is pending; returns true when all of it went in. */
static bool console_flush_pending(struct console *con)
{
	size_t n;

	if (con->pending_off == con->pending_len)
		return true;
	n = con->push(con->push_opaque, con->pending + con->pending_off, con->pending_len - con->pending_off);
	con->pending_off += n;
	return con->pending_off == con->pending_len;
}

static void console_set_input_watch(struct console *con, bool on)
{
	if (con->input_open)
		event_loop_modify(con->loop, con->in_fd, on ? EPOLLIN : 0);
}

void console_set_escape(struct console *con, console_escape_fn on_escape, void *opaque)
{
	con->on_escape = on_escape;
	con->escape_opaque = opaque;
	con->escape_armed = false;
}

/* Takes the escape keys out of buf[0..len) in place (one Ctrl-A carried
 * over from the last read can make it one byte longer, so buf has room for
 * len + 1); returns the new length. */
static size_t console_filter_escape(struct console *con, uint8_t *buf, size_t len, bool *escaped)
{
	uint8_t in[CONSOLE_CHUNK];
	size_t out = 0;

	memcpy(in, buf, len);
	for (size_t i = 0; i < len; i++) {
		uint8_t key = in[i];

		if (!con->escape_armed) {
			if (key == CONSOLE_ESCAPE_KEY)
				con->escape_armed = true;
			else
				buf[out++] = key;
			continue;
		}
		con->escape_armed = false;
		if (key == 'x') {
			/* What follows the escape is not typed: the VM is stopping. */
			*escaped = true;
			return out;
		}
		if (key != 'a' && key != CONSOLE_ESCAPE_KEY)
			buf[out++] = CONSOLE_ESCAPE_KEY;
		buf[out++] = key == 'a' ? CONSOLE_ESCAPE_KEY : key;
	}
	return out;
}

static void console_on_input(void *opaque, uint32_t events)
{
	struct console *con = opaque;
	bool escaped = false;
	ssize_t n;

	(void)events;
	/* With the escape on, one byte stays free for a carried-over Ctrl-A. */
	n = read(con->in_fd, con->pending, sizeof(con->pending) - (con->on_escape ? 1 : 0));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* End of input: the guest keeps running without it. */
		event_loop_remove(con->loop, con->in_fd);
		con->input_open = false;
		return;
	}
	con->pending_off = 0;
	con->pending_len = (size_t)n;
	if (con->on_escape)
		con->pending_len = console_filter_escape(con, con->pending, (size_t)n, &escaped);
	if (escaped)
		con->on_escape(con->escape_opaque);
	if (!console_flush_pending(con))
		console_set_input_watch(con, false);
}

static void console_on_space(void *opaque, uint32_t events)
{
	struct console *con = opaque;
	uint64_t v;

	(void)events;
	if (read(con->space_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("console: eventfd read failed: %m");
	if (console_flush_pending(con))
		console_set_input_watch(con, true);
}

static void console_make_raw(struct console *con)
{
	struct termios raw;

	if (!isatty(con->in_fd) || tcgetattr(con->in_fd, &con->saved_tty) < 0)
		return;
	raw = con->saved_tty;
	cfmakeraw(&raw);
	/* Keep output post-processing so guest "\n" still returns the carriage. */
	raw.c_oflag = con->saved_tty.c_oflag;
	if (tcsetattr(con->in_fd, TCSANOW, &raw) == 0)
		con->tty_raw = true;
}

int console_init(struct console *con, struct event_loop *loop, int in_fd, int out_fd)
{
	memset(con, 0, sizeof(*con));
	con->in_fd = in_fd;
	con->out_fd = out_fd;
	con->loop = loop;
	con->space_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (con->space_fd < 0)
		return err_fail(-errno, "eventfd: %m");
	return console_init_output(con);
}

int console_attach(struct console *con, console_push_fn push, void *opaque)
{
	int ret;

	con->push = push;
	con->push_opaque = opaque;
	ret = event_loop_add(con->loop, con->space_fd, EPOLLIN, console_on_space, con);
	if (ret || con->in_fd < 0)
		return ret;
	/* A regular file or /dev/null cannot be polled; treat it as no input. */
	ret = event_loop_add(con->loop, con->in_fd, EPOLLIN, console_on_input, con);
	if (ret == -EPERM) {
		log_info("console: input fd %d cannot be polled, guest gets no input", con->in_fd);
		return 0;
	}
	if (ret)
		return ret;
	con->input_open = true;
	console_make_raw(con);
	return 0;
}

void console_fini(struct console *con)
{
	console_fini_output(con);
	if (con->tty_raw)
		tcsetattr(con->in_fd, TCSANOW, &con->saved_tty);
	con->tty_raw = false;
	if (con->space_fd >= 0)
		close(con->space_fd);
	con->space_fd = -1;
}
