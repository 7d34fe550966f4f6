#include "vmm/console.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/log.h"

ssize_t console_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct console *con = opaque;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(con->out_fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return done ? (ssize_t)done : -errno;
		done += (size_t)n;
	}
	return (ssize_t)done;
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
	return 0;
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
	if (con->tty_raw)
		tcsetattr(con->in_fd, TCSANOW, &con->saved_tty);
	con->tty_raw = false;
	if (con->space_fd >= 0)
		close(con->space_fd);
	con->space_fd = -1;
}
