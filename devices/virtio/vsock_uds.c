/* virtio-vsock host side: the listening Unix socket, the "CONNECT <port>"
 * handshake of host programs, connections to "<uds_path>_<port>", and the
 * non-blocking writes of guest data (buffered within our credit). Host
 * programs are as hostile as the guest: lines are bounded and timed, and
 * nothing here blocks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/virtio/vsock_internal.h"
#include "vmm/log.h"

/* Connections accepted per listener event, so a flood of host programs
 * cannot hold the event loop. */
#define VSOCK_ACCEPT_BATCH 64
#define VSOCK_LISTEN_BACKLOG 128

static int uds_addr(struct sockaddr_un *a, const char *path)
{
	size_t n = strlen(path);

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (n >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	memcpy(a->sun_path, path, n);
	return 0;
}

int vsock_uds_listen(struct vsock *v)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = VSOCK_TAG_LISTENER };
	struct sockaddr_un a;
	int ret = uds_addr(&a, v->uds_path);

	if (ret)
		return err_fail(ret, "virtio-vsock: socket path %s is too long", v->uds_path);
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (v->listen_fd < 0)
		return err_fail(-errno, "virtio-vsock: socket: %m");
	/* bind refuses an existing path: we never unlink what we did not
	 * create. */
	if (bind(v->listen_fd, (struct sockaddr *)&a, sizeof(a))) {
		ret = err_fail(-errno, "virtio-vsock: binding %s: %m", v->uds_path);
		close(v->listen_fd);
		v->listen_fd = -1;
		return ret;
	}
	if (listen(v->listen_fd, VSOCK_LISTEN_BACKLOG) || epoll_ctl(v->ep_fd, EPOLL_CTL_ADD, v->listen_fd, &ev)) {
		ret = err_fail(-errno, "virtio-vsock: listening on %s: %m", v->uds_path);
		vsock_uds_close_listener(v);
		return ret;
	}
	return 0;
}

void vsock_uds_close_listener(struct vsock *v)
{
	if (v->listen_fd < 0)
		return;
	close(v->listen_fd);
	v->listen_fd = -1;
	unlink(v->uds_path);
}

static void arm_sweep(struct vsock *v, bool on)
{
	long ns = (long)(v->connect_timeout_ns / 4);
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	if (on == v->timer_armed)
		return;
	if (on) {
		if (ns < 1000000)
			ns = 1000000;
		its.it_value = its.it_interval = (struct timespec){ ns / 1000000000L, ns % 1000000000L };
	}
	if (timerfd_settime(v->timer_fd, 0, &its, NULL)) {
		log_error("virtio-vsock: CONNECT timer: %m");
		return;
	}
	v->timer_armed = on;
}

void vsock_uds_accept(struct vsock *v)
{
	for (unsigned i = 0; i < VSOCK_ACCEPT_BATCH; i++) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct vsock_conn *c;

		if (fd < 0) {
			/* EAGAIN: done. Anything else (EMFILE, a program
			 * that gave up): the next event retries. */
			return;
		}
		c = vsock_conn_alloc(v, fd, CONN_HOST_CONNECT);
		if (!c) {
			close(fd);
			vsock_count(v, VSOCK_STAT_CONNS_KILLED, 1);
			continue;
		}
		c->deadline_ns = vsock_now_ns() + v->connect_timeout_ns;
		vsock_uds_update_poll(v, c);
		arm_sweep(v, true);
	}
}

int vsock_uds_parse_connect(const char *line, size_t len, uint32_t *port)
{
	static const char verb[] = "CONNECT ";
	const size_t vl = sizeof(verb) - 1;
	uint64_t p = 0;
	size_t i;

	if (len < vl + 2 || line[len - 1] != '\n' || strncasecmp(line, verb, vl))
		return -EINVAL;
	for (i = vl; i < len - 1; i++) {
		if (line[i] < '0' || line[i] > '9' || i - vl >= 10)
			return -EINVAL;
		p = p * 10 + (uint64_t)(line[i] - '0');
	}
	if (p > UINT32_MAX)
		return -EINVAL;
	*port = (uint32_t)p;
	return 0;
}

static bool local_port_used(struct vsock *v, uint32_t port)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		const struct vsock_conn *c = &v->conns[i];

		if (c->state != CONN_FREE && c->state != CONN_HOST_CONNECT && c->local_port == port)
			return true;
	}
	return false;
}

/* With at most VSOCK_MAX_CONNS ports taken, one of the next
 * VSOCK_MAX_CONNS + 1 is free. */
static uint32_t alloc_local_port(struct vsock *v)
{
	for (;;) {
		uint32_t p = v->next_local_port;

		v->next_local_port = p == VSOCK_LOCAL_PORT_LAST ? VSOCK_LOCAL_PORT_FIRST : p + 1;
		if (!local_port_used(v, p))
			return p;
	}
}

static void line_done(struct vsock *v, struct vsock_conn *c)
{
	uint32_t port;

	if (vsock_uds_parse_connect(c->line, c->line_len, &port)) {
		vsock_conn_kill(v, c);
		return;
	}
	c->state = CONN_REQUEST_SENT;
	v->nr_connecting--;
	c->local_port = alloc_local_port(v);
	c->peer_port = port;
	vsock_conn_hash(v, c);
	vsock_count(v, VSOCK_STAT_CONNS_ADDED, 1);
	c->pend = PEND_REQUEST;
	vsock_uds_update_poll(v, c);
	vsock_conn_enqueue(v, c);
}

/* A byte at a time: whatever follows the '\n' is stream data for the
 * guest and must stay in the socket. */
void vsock_uds_read_line(struct vsock *v, struct vsock_conn *c)
{
	while (c->line_len < VSOCK_CONNECT_LINE_MAX) {
		char ch;
		ssize_t r = recv(c->fd, &ch, 1, MSG_DONTWAIT);

		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (r <= 0) {
			vsock_conn_remove(v, c); /* the program left */
			return;
		}
		c->line[c->line_len++] = ch;
		if (ch == '\n') {
			line_done(v, c);
			return;
		}
	}
	vsock_conn_kill(v, c); /* no '\n' within the bound */
}

int vsock_uds_connect(struct vsock *v, uint32_t port)
{
	struct sockaddr_un a;
	char path[sizeof(a.sun_path) + 16];
	int fd;

	snprintf(path, sizeof(path), "%s_%u", v->uds_path, port);
	if (uds_addr(&a, path))
		return -ENAMETOOLONG; /* vsock_create leaves room; kept as a guard */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A Unix stream connect never stays in progress: it succeeds, or
	 * fails (EAGAIN when the backlog is full counts as refused). */
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int send_some(struct vsock_conn *c, const uint8_t *p, uint32_t len, uint32_t *done)
{
	ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (w < 0) {
		*done = 0;
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
	}
	*done = (uint32_t)w;
	return 0;
}

int vsock_uds_flush(struct vsock *v, struct vsock_conn *c)
{
	while (c->buf_len) {
		uint32_t run = VSOCK_BUF_ALLOC - c->buf_head, done;
		int ret;

		if (run > c->buf_len)
			run = c->buf_len;
		ret = send_some(c, c->buf + c->buf_head, run, &done);
		if (ret)
			return ret;
		c->buf_head = (c->buf_head + done) % VSOCK_BUF_ALLOC;
		c->buf_len -= done;
		c->fwd_cnt += done;
		if (done < run)
			break;
	}
	if (!c->buf_len) {
		free(c->buf);
		c->buf = NULL;
		c->buf_head = 0;
	}
	vsock_uds_update_poll(v, c);
	return 0;
}

int vsock_uds_send(struct vsock *v, struct vsock_conn *c, const uint8_t *data, uint32_t len)
{
	uint32_t done = 0, tail;
	int ret;

	if (!c->buf_len && len) {
		ret = send_some(c, data, len, &done);
		if (ret)
			return ret;
		c->fwd_cnt += done;
	}
	if (done == len)
		return 0;
	/* The caller checked the credit: rx_cnt - fwd_cnt, which is what the
	 * ring holds after this, stays within VSOCK_BUF_ALLOC. */
	if (!c->buf) {
		c->buf = malloc(VSOCK_BUF_ALLOC);
		if (!c->buf)
			return -ENOMEM;
	}
	for (uint32_t i = done; i < len;) {
		uint32_t n = len - i;

		tail = (c->buf_head + c->buf_len) % VSOCK_BUF_ALLOC;
		if (n > VSOCK_BUF_ALLOC - tail)
			n = VSOCK_BUF_ALLOC - tail;
		memcpy(c->buf + tail, data + i, n);
		c->buf_len += n;
		i += n;
	}
	vsock_uds_update_poll(v, c);
	return 0;
}

static uint32_t wanted_events(const struct vsock_conn *c)
{
	uint32_t e = 0;

	if (c->fd < 0)
		return 0;
	if (c->state == CONN_HOST_CONNECT)
		return EPOLLIN;
	if (c->state == CONN_ESTABLISHED && !c->readable && !c->host_eof && !(c->guest_shut & VSOCK_SHUTDOWN_RCV))
		e |= EPOLLIN;
	if ((c->state == CONN_ESTABLISHED || c->state == CONN_CLOSING) && c->buf_len)
		e |= EPOLLOUT;
	return e;
}

/* No interest means out of the set: a registered fd reports HUP and ERR
 * whatever its mask, and level-triggered that would spin. */
void vsock_uds_update_poll(struct vsock *v, struct vsock_conn *c)
{
	uint32_t want = wanted_events(c);
	struct epoll_event ev = { .events = want, .data.u64 = VSOCK_TAG_CONN + (uint64_t)(c - v->conns) };
	int op = !want ? EPOLL_CTL_DEL : c->poll_mask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	if (want == c->poll_mask)
		return;
	if (epoll_ctl(v->ep_fd, op, c->fd, &ev)) {
		log_error("virtio-vsock: watching port %u: %m", c->local_port);
		return;
	}
	c->poll_mask = want;
}

void vsock_uds_sweep(struct vsock *v)
{
	uint64_t now = vsock_now_ns();

	for (unsigned i = 0; i < VSOCK_MAX_CONNS && v->nr_connecting; i++) {
		struct vsock_conn *c = &v->conns[i];

		if (c->state == CONN_HOST_CONNECT && now >= c->deadline_ns)
			vsock_conn_kill(v, c);
	}
	if (!v->nr_connecting)
		arm_sweep(v, false);
}

void vsock_uds_event(struct vsock *v, struct vsock_conn *c, uint32_t events)
{
	if (c->state == CONN_HOST_CONNECT) {
		vsock_uds_read_line(v, c);
		return;
	}
	if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && c->buf_len) {
		if (vsock_uds_flush(v, c)) {
			vsock_conn_kill(v, c);
			return;
		}
		vsock_conn_after_flush(v, c);
	}
	if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && (c->poll_mask & EPOLLIN)) {
		/* Read when the guest has credit and RX buffers for it; until
		 * then the socket is not watched (the data waits in it). */
		c->readable = true;
		vsock_uds_update_poll(v, c);
		vsock_conn_enqueue(v, c);
	}
}
