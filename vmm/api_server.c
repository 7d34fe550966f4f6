#include "vmm/api_server.h"

#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/sandbox.h"
#include "vmm/test_hooks.h"

/* A handful of clients at most talk to one VMM; the limit keeps a client
 * that opens sockets in a loop from exhausting our fds. */
#define API_CONN_LIMIT 16
/* Idle connections (half a request, a silent keep-alive) are dropped after
 * this many seconds. */
#define API_CONN_TIMEOUT_S 30
/* A chunked body over the limit is read and dropped so the client still gets
 * its 413, but only this far: past it the connection is closed. */
#define API_DISCARD_MAX (1024 * 1024)
/* How long api_server_stop lets the 503 answers reach their clients. */
#define API_STOP_DRAIN_MS 1000

struct api_server {
	struct MHD_Daemon *mhd;
	int event_fd;
	char *sock_path;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a reply, a stop, a finished request */
	struct api_request *head, *tail;
	int stopping;
	/* Requests queued or answered whose response MHD has not finished
	 * with; api_server_stop waits for them so the 503s go out. */
	unsigned inflight;
	int listen_fd;
	char start_error[ERR_MSG_MAX]; /* why the API thread's sandbox failed */
};

/* MHD's per-request context. */
struct api_conn {
	struct api_request req;
	size_t cap;     /* allocated size of req.body */
	size_t seen;    /* body bytes received, kept counting once dropped */
	int refused;    /* a fault response was queued early */
	int counted;    /* part of srv->inflight */
};

/* ---- responses ---------------------------------------------------------- */

static enum MHD_Result api_send(struct MHD_Connection *conn, int status, const char *json,
				int close_after)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len = json ? strlen(json) : 0;

	resp = MHD_create_response_from_buffer(len, (void *)(json ? json : ""), MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (json && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") != MHD_YES)
		ret = MHD_NO;
	else if (close_after &&
		 MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)
		ret = MHD_NO;
	else
		ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The messages are fixed text and numbers, never request bytes, so they need
 * no JSON escaping. */
static enum MHD_Result api_send_fault(struct MHD_Connection *conn, int status, int close_after,
				      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum MHD_Result api_send_fault(struct MHD_Connection *conn, int status, int close_after,
				      const char *fmt, ...)
{
	char msg[256], json[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(json, sizeof(json), "{\"fault_message\":\"%s\"}", msg);
	return api_send(conn, status, json, close_after);
}

static enum MHD_Result api_send_too_large(struct MHD_Connection *conn, uint64_t len)
{
	return api_send_fault(conn, MHD_HTTP_CONTENT_TOO_LARGE, 1,
			      "Request payload with size %" PRIu64
			      " is larger than the limit of %d allowed by server.",
			      len, API_BODY_MAX);
}

/* ---- the queue ---------------------------------------------------------- */

/* Called with srv->lock held. Keeps the eventfd readable exactly while the
 * queue is non-empty: it is read under the same lock as the queue, so a
 * request queued concurrently cannot have its wake-up swallowed. */
static void api_queue_push(struct api_server *srv, struct api_request *req)
{
	uint64_t one = 1;

	req->next = NULL;
	if (srv->tail)
		srv->tail->next = req;
	else
		srv->head = req;
	srv->tail = req;
	if (write(srv->event_fd, &one, sizeof(one)) != sizeof(one))
		log_error("API eventfd write failed: %s", strerror(errno));
}

static void api_queue_settle(struct api_server *srv)
{
	uint64_t v;

	if (!srv->head && read(srv->event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_error("API eventfd read failed: %s", strerror(errno));
}

/* Returns whether req was still queued. */
static int api_queue_remove(struct api_server *srv, struct api_request *req)
{
	struct api_request *prev = NULL;

	for (struct api_request *r = srv->head; r; prev = r, r = r->next) {
		if (r != req)
			continue;
		if (prev)
			prev->next = r->next;
		else
			srv->head = r->next;
		if (srv->tail == r)
			srv->tail = prev;
		r->next = NULL;
		api_queue_settle(srv);
		return 1;
	}
	return 0;
}

/* ---- MHD callbacks ------------------------------------------------------ */

static int api_body_append(struct api_conn *c, const char *data, size_t len)
{
	size_t need = c->req.body_len + len + 1;

	c->seen += len;
	if (c->seen > API_BODY_MAX)
		return 0; /* dropped; answered with 413 at the end */
	if (need > c->cap) {
		size_t cap = c->cap ? c->cap : 1024;
		char *p;

		while (cap < need)
			cap *= 2;
		if (cap > API_BODY_MAX + 1)
			cap = API_BODY_MAX + 1;
		p = realloc(c->req.body, cap);
		if (!p)
			return -ENOMEM;
		c->req.body = p;
		c->cap = cap;
	}
	memcpy(c->req.body + c->req.body_len, data, len);
	c->req.body_len += len;
	c->req.body[c->req.body_len] = '\0';
	return 0;
}

/* The first call, with only the headers: refuse a declared length over the
 * limit now, before the client sends (or we wait for) the body. */
static enum MHD_Result api_on_headers(struct MHD_Connection *conn, struct api_conn *c)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long len;
	char *end;

	if (!cl)
		return MHD_YES;
	errno = 0;
	len = strtoull(cl, &end, 10);
	if (errno == ERANGE || len > API_BODY_MAX) {
		c->refused = 1;
		return api_send_too_large(conn, errno == ERANGE ? UINT64_MAX : len);
	}
	if (end != cl && len) {
		c->req.body = malloc(len + 1);
		if (!c->req.body)
			return MHD_NO;
		c->cap = len + 1;
	}
	return MHD_YES;
}

static void api_fill_method(struct api_request *req, const char *method)
{
	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0)
		req->method = API_GET;
	else if (strcmp(method, MHD_HTTP_METHOD_PUT) == 0)
		req->method = API_PUT;
	else if (strcmp(method, MHD_HTTP_METHOD_PATCH) == 0)
		req->method = API_PATCH;
	else
		req->method = API_OTHER;
	/* Only for messages: a longer method name is cut, not refused. */
	snprintf(req->method_name, sizeof(req->method_name), "%s", method);
}

/* Hands the request to the VMM thread and waits for its answer. This blocks
 * MHD's only thread, so requests are handled one at a time, as in
 * Firecracker. */
static enum MHD_Result api_dispatch(struct api_server *srv, struct MHD_Connection *conn,
				    struct api_conn *c)
{
	struct api_request *req = &c->req;
	enum MHD_Result ret;
	char *json;
	int status;

	pthread_mutex_lock(&srv->lock);
	if (srv->stopping) {
		pthread_mutex_unlock(&srv->lock);
		return api_send_fault(conn, MHD_HTTP_SERVICE_UNAVAILABLE, 1,
				      "The VMM is shutting down.");
	}
	c->counted = 1;
	srv->inflight++;
	api_queue_push(srv, req);
	while (!req->done && !srv->stopping)
		pthread_cond_wait(&srv->cond, &srv->lock);
	if (!req->done) {
		/* Queued or taken, it will not be answered now. */
		api_queue_remove(srv, req);
		pthread_mutex_unlock(&srv->lock);
		return api_send_fault(conn, MHD_HTTP_SERVICE_UNAVAILABLE, 1,
				      "The VMM is shutting down.");
	}
	status = req->status;
	json = req->response;
	req->response = NULL;
	pthread_mutex_unlock(&srv->lock);

	if (status < 100 || status > 599) {
		log_error("API reply with invalid status %d for %s %s", status, req->method_name,
			  req->path);
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	/* HTTP forbids a body on these; sending one would desynchronise a
	 * keep-alive client. */
	if (json && (status == 204 || status == 304 || status < 200)) {
		free(json);
		json = NULL;
	}
	ret = api_send(conn, status, json, 0);
	free(json);
	return ret;
}

static enum MHD_Result api_on_request(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	struct api_server *srv = cls;
	struct api_conn *c = *con_cls;
	size_t path_len;

	(void)version;
	if (!c) {
		static _Thread_local bool named;

		/* libmicrohttpd names its thread itself: take it back for the
		 * logger and for ps. */
		if (!named) {
			pthread_setname_np(pthread_self(), "ember-api");
			named = true;
			test_hooks_after_sandbox(SECCOMP_THREAD_API);
		}
		c = calloc(1, sizeof(*c));
		if (!c)
			return MHD_NO;
		*con_cls = c;
		return api_on_headers(conn, c);
	}
	if (c->refused) {
		/* MHD may still pass us body bytes after an early answer. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (api_body_append(c, upload_data, n))
			return MHD_NO;
		/* Endless chunked uploads are cut off rather than read forever. */
		return c->seen > (size_t)API_BODY_MAX + API_DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	/* The whole request is in. */
	if (c->seen > API_BODY_MAX)
		return api_send_too_large(conn, c->seen);
	/* MHD already splits the query string off; cut it here too so that
	 * holds whatever MHD does. */
	path_len = strcspn(url, "?");
	if (path_len >= API_PATH_MAX)
		return api_send_fault(conn, MHD_HTTP_URI_TOO_LONG, 0,
				      "The request path is longer than %d bytes.", API_PATH_MAX - 1);
	memcpy(c->req.path, url, path_len);
	c->req.path[path_len] = '\0';
	api_fill_method(&c->req, method);
	return api_dispatch(srv, conn, c);
}

static void api_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			     enum MHD_RequestTerminationCode why)
{
	struct api_server *srv = cls;
	struct api_conn *c = *con_cls;

	(void)conn;
	(void)why;
	if (!c)
		return;
	*con_cls = NULL;
	if (c->counted) {
		pthread_mutex_lock(&srv->lock);
		srv->inflight--;
		pthread_cond_broadcast(&srv->cond);
		pthread_mutex_unlock(&srv->lock);
	}
	free(c->req.body);
	free(c->req.response);
	free(c);
}

static void api_on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	/* Most of what MHD reports is a client misbehaving or leaving, not a VMM
	 * fault, so it stays out of the default (Warning) output. */
	log_write(LOG_INFO, "libmicrohttpd", "%s", msg);
}

/* ---- the public side ---------------------------------------------------- */

static int api_listen(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(addr.sun_path))
		return err_fail(-ENAMETOOLONG, "API socket path '%s' is longer than %zu bytes", path,
				sizeof(addr.sun_path) - 1);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	/* Non-blocking: a client that vanishes between poll and accept must
	 * not stall MHD's thread. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_fail(-errno, "socket: %s", strerror(errno));
	/* bind() fails on any existing file, which is the check without a
	 * window between testing the path and taking it. */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		err = -errno;
		close(fd);
		if (err == -EADDRINUSE)
			return err_fail(-EEXIST,
					"API socket path '%s' already exists; remove it or choose another",
					path);
		return err_fail(err, "bind '%s': %s", path, strerror(-err));
	}
	if (listen(fd, API_CONN_LIMIT)) {
		err = -errno;
		close(fd);
		unlink(path);
		return err_fail(err, "listen '%s': %s", path, strerror(-err));
	}
	return fd;
}

static void api_free(struct api_server *srv)
{
	if (srv->event_fd >= 0)
		close(srv->event_fd);
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
	free(srv->sock_path);
	free(srv);
}

static void *api_start_mhd(void *arg);

int api_server_start(const char *sock_path, struct api_server **out)
{
	struct api_server *srv;
	pthread_condattr_t ca;
	pthread_t starter;
	int fd, ret;

	if (!sock_path || !*sock_path || !out)
		return err_fail(-EINVAL, "no API socket path");
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return err_fail(-ENOMEM, "out of memory");
	srv->event_fd = -1;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->cond, &ca);
	pthread_condattr_destroy(&ca);
	srv->sock_path = strdup(sock_path);
	if (!srv->sock_path) {
		api_free(srv);
		return err_fail(-ENOMEM, "out of memory");
	}
	srv->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (srv->event_fd < 0) {
		int err = -errno;

		api_free(srv);
		return err_fail(err, "eventfd: %s", strerror(-err));
	}
	fd = api_listen(sock_path);
	if (fd < 0) {
		api_free(srv);
		return fd;
	}
	srv->listen_fd = fd;
	ret = pthread_create(&starter, NULL, api_start_mhd, srv);
	if (!ret)
		pthread_join(starter, NULL);
	if (ret || !srv->mhd) {
		close(fd);
		unlink(sock_path);
		api_free(srv);
		if (ret)
			return err_fail(-ret, "cannot start the API thread: %s", strerror(ret));
		if (srv->start_error[0])
			return err_set(-EPERM, "%s", srv->start_error);
		return err_fail(-EIO, "libmicrohttpd could not start on '%s'", sock_path);
	}
	*out = srv;
	return 0;
}

/* MHD's thread is created from here, so it inherits this thread's name,
 * signal mask and sandbox from its first instruction. */
static void *api_start_mhd(void *arg)
{
	struct api_server *srv = arg;
	sigset_t all;

	/* With every signal blocked, process signals always go to the
	 * threads that expect them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	prctl(PR_SET_NAME, "ember-api");
	if (sandbox_enter_api()) {
		snprintf(srv->start_error, sizeof(srv->start_error), "%s", err_last());
		return NULL;
	}
	/* ITC is what lets MHD_quiesce_daemon hand the listen socket back, so
	 * that we, not MHD, close it. */
	srv->mhd = MHD_start_daemon(
		MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		api_on_request, srv,
		/* First, or MHD prints what comes before it itself. */
		MHD_OPTION_EXTERNAL_LOGGER, api_on_mhd_log, srv,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)srv->listen_fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)API_CONN_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)API_CONN_TIMEOUT_S,
		MHD_OPTION_NOTIFY_COMPLETED, api_on_completed, srv, MHD_OPTION_END);
	return NULL;
}

int api_server_fd(const struct api_server *srv)
{
	return srv->event_fd;
}

struct api_request *api_server_next(struct api_server *srv)
{
	struct api_request *req;

	pthread_mutex_lock(&srv->lock);
	req = srv->head;
	if (req) {
		srv->head = req->next;
		if (!srv->head)
			srv->tail = NULL;
		req->next = NULL;
	}
	api_queue_settle(srv);
	pthread_mutex_unlock(&srv->lock);
	return req;
}

void api_server_reply(struct api_server *srv, struct api_request *req, int status, char *json)
{
	pthread_mutex_lock(&srv->lock);
	req->status = status;
	req->response = json;
	req->done = 1;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
}

void api_server_stop(struct api_server *srv)
{
	struct timespec deadline;
	MHD_socket fd;

	if (!srv)
		return;
	/* No new connections from here on. */
	fd = MHD_quiesce_daemon(srv->mhd);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += (API_STOP_DRAIN_MS % 1000) * 1000000L;
	deadline.tv_sec += API_STOP_DRAIN_MS / 1000 + deadline.tv_nsec / 1000000000L;
	deadline.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&srv->lock);
	srv->stopping = 1;
	pthread_cond_broadcast(&srv->cond);
	/* Let the waiting handlers' 503s reach their clients before MHD closes
	 * every connection; a client that does not read is not waited for
	 * long. */
	while (srv->inflight)
		if (pthread_cond_timedwait(&srv->cond, &srv->lock, &deadline) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&srv->lock);
	MHD_stop_daemon(srv->mhd);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	unlink(srv->sock_path);
	api_free(srv);
}
