#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/http_client.h"
#include "vmm/api_server.h"
#include "vmm/log.h"

#define WAIT_MS 5000

struct fixture {
	char dir[64];
	char sock[128];
	struct api_server *srv;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/ember-api-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->sock, sizeof(f->sock), "%s/api.sock", f->dir);
	if (api_server_start(f->sock, &f->srv))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	api_server_stop(f->srv);
	unlink(f->sock);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A client on its own thread, so the test thread can play the VMM. */
struct job {
	const char *sock;
	const char *method, *path, *body;
	const char *raw; /* sent as is instead of method/path/body */
	size_t raw_len;
	int wrc;    /* the write: the server may answer and close before the
		     * whole request is sent (413), which is fine */
	int rc, status;
	char headers[4096];
	char resp[4096];
	pthread_t th;
};

static void *job_run(void *opaque)
{
	struct job *j = opaque;
	int fd = http_client_connect(j->sock);

	j->rc = fd;
	if (fd < 0)
		return NULL;
	if (j->raw)
		j->wrc = http_client_write(fd, j->raw, j->raw_len);
	else
		j->wrc = http_client_send(fd, j->method, j->path, j->body);
	j->rc = http_client_read_response(fd, &j->status, j->headers, sizeof(j->headers), j->resp,
					  sizeof(j->resp));
	close(fd);
	return NULL;
}

static void job_start(struct job *j, const char *sock, const char *method, const char *path,
		      const char *body)
{
	j->sock = sock;
	j->method = method;
	j->path = path;
	j->body = body;
	j->rc = -EINPROGRESS;
	assert_int_equal(pthread_create(&j->th, NULL, job_run, j), 0);
}

static void job_start_raw(struct job *j, const char *sock, const char *raw, size_t len)
{
	j->raw = raw;
	j->raw_len = len;
	job_start(j, sock, NULL, NULL, NULL);
}

static void job_join(struct job *j)
{
	assert_int_equal(pthread_join(j->th, NULL), 0);
}

static int fd_readable(struct api_server *srv, int timeout_ms)
{
	struct pollfd p = { .fd = api_server_fd(srv), .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

/* The VMM side: wait for the eventfd, then take one request. */
static struct api_request *vmm_take(struct api_server *srv)
{
	assert_true(fd_readable(srv, WAIT_MS));
	return api_server_next(srv);
}

static void assert_queue_empty(struct api_server *srv)
{
	assert_false(fd_readable(srv, 0));
	assert_null(api_server_next(srv));
}

static void test_get_without_body(void **state)
{
	struct fixture *f = *state;
	struct api_request *req;
	struct job j = { 0 };

	job_start(&j, f->sock, "GET", "/", NULL);
	req = vmm_take(f->srv);
	assert_non_null(req);
	assert_int_equal(req->method, API_GET);
	assert_string_equal(req->method_name, "GET");
	assert_string_equal(req->path, "/");
	assert_null(req->body);
	assert_int_equal(req->body_len, 0);
	/* Taking the only request must leave the eventfd quiet, or the VMM
	 * loop would spin. */
	assert_queue_empty(f->srv);
	api_server_reply(f->srv, req, 200, strdup("{\"state\":\"Not started\"}"));
	job_join(&j);
	assert_int_equal(j.rc, 0);
	assert_int_equal(j.status, 200);
	assert_string_equal(j.resp, "{\"state\":\"Not started\"}");
	assert_non_null(strcasestr(j.headers, "\r\nContent-Type: application/json\r\n"));
}

static void test_put_body_arrives_intact(void **state)
{
	struct fixture *f = *state;
	/* Large enough to reach the handler in several pieces. */
	size_t len = 20000;
	char *body = malloc(len + 1);
	struct api_request *req;
	struct job j = { 0 };

	assert_non_null(body);
	for (size_t i = 0; i < len; i++)
		body[i] = (char)('a' + i % 26);
	memcpy(body, "{\"k\":\"", 6);
	memcpy(body + len - 2, "\"}", 2);
	body[len] = '\0';
	job_start(&j, f->sock, "PUT", "/drives/rootfs", body);
	req = vmm_take(f->srv);
	assert_non_null(req);
	assert_int_equal(req->method, API_PUT);
	assert_string_equal(req->path, "/drives/rootfs");
	assert_int_equal(req->body_len, len);
	assert_memory_equal(req->body, body, len);
	assert_int_equal(req->body[len], '\0');
	api_server_reply(f->srv, req, 204, NULL);
	job_join(&j);
	assert_int_equal(j.rc, 0);
	assert_int_equal(j.status, 204);
	assert_string_equal(j.resp, "");
	free(body);
}

static void test_empty_bodies_are_null(void **state)
{
	struct fixture *f = *state;
	static const char *const raws[] = {
		"PUT /vm HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"PUT /vm HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	};

	for (size_t i = 0; i < 2; i++) {
		struct api_request *req;
		struct job j = { 0 };

		job_start_raw(&j, f->sock, raws[i], strlen(raws[i]));
		req = vmm_take(f->srv);
		assert_non_null(req);
		assert_null(req->body);
		assert_int_equal(req->body_len, 0);
		api_server_reply(f->srv, req, 400, strdup("{\"fault_message\":\"empty\"}"));
		job_join(&j);
		assert_int_equal(j.status, 400);
	}
}

static void test_body_of_exactly_the_limit_is_accepted(void **state)
{
	struct fixture *f = *state;
	char *body = malloc(API_BODY_MAX + 1);
	struct api_request *req;
	struct job j = { 0 };

	assert_non_null(body);
	memset(body, 'x', API_BODY_MAX);
	body[API_BODY_MAX] = '\0';
	job_start(&j, f->sock, "PATCH", "/vm", body);
	req = vmm_take(f->srv);
	assert_non_null(req);
	assert_int_equal(req->method, API_PATCH);
	assert_int_equal(req->body_len, API_BODY_MAX);
	assert_int_equal(req->body[API_BODY_MAX - 1], 'x');
	assert_int_equal(req->body[API_BODY_MAX], '\0');
	api_server_reply(f->srv, req, 204, NULL);
	job_join(&j);
	assert_int_equal(j.status, 204);
	free(body);
}

static void test_query_string_is_stripped(void **state)
{
	struct fixture *f = *state;
	struct api_request *req;
	struct job j = { 0 };

	job_start(&j, f->sock, "GET", "/machine-config?verbose=1&x", NULL);
	req = vmm_take(f->srv);
	assert_non_null(req);
	assert_string_equal(req->path, "/machine-config");
	api_server_reply(f->srv, req, 200, strdup("{}"));
	job_join(&j);
	assert_int_equal(j.status, 200);
}

static void test_keep_alive_204_then_200(void **state)
{
	struct fixture *f = *state;
	int fd = http_client_connect(f->sock), status = 0;
	struct api_request *req;
	char headers[1024], body[256];

	assert_true(fd >= 0);
	/* Both requests written before either is answered: the server must
	 * take them one after the other from the same connection. */
	assert_int_equal(http_client_send(fd, "PUT", "/boot-source", "{\"a\":1}"), 0);
	assert_int_equal(http_client_send(fd, "GET", "/vm/config", NULL), 0);
	req = vmm_take(f->srv);
	assert_non_null(req);
	assert_string_equal(req->path, "/boot-source");
	assert_string_equal(req->body, "{\"a\":1}");
	/* A body handed with a 204 must not go on the wire. */
	api_server_reply(f->srv, req, 204, strdup("{\"stray\":1}"));
	assert_int_equal(http_client_read_response(fd, &status, headers, sizeof(headers), body,
						   sizeof(body)), 0);
	assert_int_equal(status, 204);
	assert_string_equal(body, "");
	req = vmm_take(f->srv);
	assert_non_null(req);
	assert_string_equal(req->path, "/vm/config");
	assert_null(req->body);
	api_server_reply(f->srv, req, 200, strdup("{\"b\":2}"));
	/* A stray byte after the 204 would corrupt this status line. */
	assert_int_equal(http_client_read_response(fd, &status, headers, sizeof(headers), body,
						   sizeof(body)), 0);
	assert_int_equal(status, 200);
	assert_string_equal(body, "{\"b\":2}");
	close(fd);
}

static void assert_fault(const struct job *j, int status)
{
	assert_int_equal(j->rc, 0);
	assert_int_equal(j->status, status);
	assert_non_null(strstr(j->resp, "{\"fault_message\":\""));
	assert_non_null(strcasestr(j->headers, "\r\nContent-Type: application/json\r\n"));
}

static void test_oversized_body_gets_413_and_is_not_queued(void **state)
{
	struct fixture *f = *state;
	char *body = malloc(API_BODY_MAX + 2);
	struct api_request *req;
	struct job j = { 0 }, ok = { 0 };

	assert_non_null(body);
	memset(body, 'x', API_BODY_MAX + 1);
	body[API_BODY_MAX + 1] = '\0';
	job_start(&j, f->sock, "PUT", "/drives/a", body);
	job_join(&j);
	assert_fault(&j, 413);
	assert_queue_empty(f->srv);
	/* The server is still serving. */
	job_start(&ok, f->sock, "GET", "/", NULL);
	req = vmm_take(f->srv);
	assert_non_null(req);
	api_server_reply(f->srv, req, 200, strdup("{}"));
	job_join(&ok);
	assert_int_equal(ok.status, 200);
	free(body);
}

static void test_huge_content_length_refused_before_the_body(void **state)
{
	struct fixture *f = *state;
	static const char raw[] = "PUT /drives/a HTTP/1.1\r\nHost: x\r\n"
				  "Content-Length: 99999999999999999999999\r\n\r\n";
	static const char raw2[] = "PUT /drives/a HTTP/1.1\r\nHost: x\r\n"
				   "Content-Length: 10000000\r\n\r\n{";
	struct job j = { 0 }, j2 = { 0 };

	/* No body follows: only a Content-Length check up front answers
	 * before the client's read times out. */
	job_start_raw(&j, f->sock, raw, sizeof(raw) - 1);
	job_join(&j);
	assert_int_equal(j.rc, 0);
	assert_true(j.status == 413 || j.status == 400);
	job_start_raw(&j2, f->sock, raw2, sizeof(raw2) - 1);
	job_join(&j2);
	assert_fault(&j2, 413);
	assert_queue_empty(f->srv);
}

static void test_chunked_upload(void **state)
{
	struct fixture *f = *state;
	static const char raw[] = "PUT /actions HTTP/1.1\r\nHost: x\r\n"
				  "Transfer-Encoding: chunked\r\n\r\n"
				  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
	struct api_request *req;
	struct job j = { 0 };

	job_start_raw(&j, f->sock, raw, sizeof(raw) - 1);
	req = vmm_take(f->srv);
	assert_non_null(req);
	assert_int_equal(req->method, API_PUT);
	assert_string_equal(req->path, "/actions");
	assert_int_equal(req->body_len, 11);
	assert_string_equal(req->body, "hello world");
	api_server_reply(f->srv, req, 204, NULL);
	job_join(&j);
	assert_int_equal(j.rc, 0);
	assert_int_equal(j.status, 204);
}

/* A chunked body of `total` bytes in 4 KiB chunks. */
static char *chunked_request(size_t total, size_t *len)
{
	size_t cap = total + total / 4096 * 16 + 256, n = 0;
	char *buf = malloc(cap);

	assert_non_null(buf);
	n += (size_t)sprintf(buf, "PUT /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	while (total) {
		size_t c = total < 4096 ? total : 4096;

		n += (size_t)sprintf(buf + n, "%zx\r\n", c);
		memset(buf + n, 'y', c);
		n += c;
		memcpy(buf + n, "\r\n", 2);
		n += 2;
		total -= c;
	}
	n += (size_t)sprintf(buf + n, "0\r\n\r\n");
	*len = n;
	return buf;
}

static void test_chunked_upload_is_bounded(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char *raw = chunked_request(API_BODY_MAX + 1, &len);
	char *huge = NULL;
	struct api_request *req;
	struct job j = { 0 }, j2 = { 0 }, ok = { 0 };

	job_start_raw(&j, f->sock, raw, len);
	job_join(&j);
	assert_fault(&j, 413);
	assert_queue_empty(f->srv);
	/* An endless stream is cut off (the connection closed, not read to
	 * the end for a 413), never queued, and the server goes on serving. */
	huge = chunked_request(16u << 20, &len);
	job_start_raw(&j2, f->sock, huge, len);
	job_join(&j2);
	assert_int_equal(j2.wrc, -EPIPE);
	assert_int_equal(j2.rc, -ECONNRESET);
	assert_queue_empty(f->srv);
	job_start(&ok, f->sock, "GET", "/", NULL);
	req = vmm_take(f->srv);
	assert_non_null(req);
	api_server_reply(f->srv, req, 200, strdup("{}"));
	job_join(&ok);
	assert_int_equal(ok.status, 200);
	free(raw);
	free(huge);
}

static void test_other_methods(void **state)
{
	struct fixture *f = *state;
	static const char *const methods[] = { "DELETE", "get", "POST" };
	static const char longm[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH";
	struct api_request *req;

	for (size_t i = 0; i < 3; i++) {
		struct job j = { 0 };

		job_start(&j, f->sock, methods[i], "/snapshot/create", NULL);
		req = vmm_take(f->srv);
		assert_non_null(req);
		assert_int_equal(req->method, API_OTHER);
		assert_string_equal(req->method_name, methods[i]);
		api_server_reply(f->srv, req, 405, strdup("{\"fault_message\":\"no\"}"));
		job_join(&j);
		assert_int_equal(j.status, 405);
	}
	/* A method longer than method_name is cut, still terminated. */
	struct job j = { 0 };

	job_start(&j, f->sock, longm, "/", NULL);
	req = vmm_take(f->srv);
	assert_non_null(req);
	assert_int_equal(req->method, API_OTHER);
	assert_int_equal(strnlen(req->method_name, sizeof(req->method_name)),
			 sizeof(req->method_name) - 1);
	assert_memory_equal(req->method_name, longm, sizeof(req->method_name) - 1);
	api_server_reply(f->srv, req, 405, NULL);
	job_join(&j);
	assert_int_equal(j.status, 405);
}

static void test_long_path(void **state)
{
	struct fixture *f = *state;
	char path[API_PATH_MAX + 2];
	struct api_request *req;
	struct job j = { 0 }, j2 = { 0 };

	/* The longest path that fits, terminator included, arrives whole. */
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[API_PATH_MAX - 1] = '\0';
	job_start(&j, f->sock, "GET", path, NULL);
	req = vmm_take(f->srv);
	assert_non_null(req);
	assert_string_equal(req->path, path);
	api_server_reply(f->srv, req, 404, NULL);
	job_join(&j);
	assert_int_equal(j.status, 404);
	/* One more byte is refused rather than truncated into another path. */
	path[API_PATH_MAX - 1] = 'p';
	path[API_PATH_MAX] = '\0';
	job_start(&j2, f->sock, "GET", path, NULL);
	job_join(&j2);
	assert_fault(&j2, 414);
	assert_queue_empty(f->srv);
}

static void test_existing_path_is_refused(void **state)
{
	struct fixture *f = *state;
	struct api_server *other = (struct api_server *)&other;
	char file[160];
	struct api_request *req;
	struct job j = { 0 };
	int fd;

	err_clear();
	assert_int_equal(api_server_start(f->sock, &other), -EEXIST);
	assert_non_null(strstr(err_last(), f->sock));
	/* The failed start must not have removed the live server's socket. */
	job_start(&j, f->sock, "GET", "/", NULL);
	req = vmm_take(f->srv);
	assert_non_null(req);
	api_server_reply(f->srv, req, 200, strdup("{}"));
	job_join(&j);
	assert_int_equal(j.status, 200);
	/* Any file at all, not only a socket. */
	snprintf(file, sizeof(file), "%s/plain", f->dir);
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(api_server_start(file, &other), -EEXIST);
	assert_int_equal(access(file, F_OK), 0);
	unlink(file);
}

static void test_bad_paths(void **state)
{
	struct api_server *srv = NULL;
	char path[200];

	(void)state;
	memset(path, 'a', sizeof(path));
	memcpy(path, "/tmp/", 5);
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(api_server_start(path, &srv), -ENAMETOOLONG);
	assert_null(srv);
	assert_int_equal(api_server_start("", &srv), -EINVAL);
	assert_int_equal(api_server_start(NULL, &srv), -EINVAL);
	assert_int_equal(api_server_start("/nonexistent-dir/x/api.sock", &srv), -ENOENT);
	assert_null(srv);
	api_server_stop(NULL);
}

static void wait_until_queued(struct api_server *srv)
{
	assert_true(fd_readable(srv, WAIT_MS));
}

static void test_stop_answers_queued_request_503(void **state)
{
	struct fixture *f = *state;
	struct job j = { 0 };
	struct stat st;

	job_start(&j, f->sock, "GET", "/", NULL);
	wait_until_queued(f->srv);
	api_server_stop(f->srv);
	f->srv = NULL;
	job_join(&j);
	assert_fault(&j, 503);
	assert_int_equal(stat(f->sock, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_stop_answers_taken_request_503(void **state)
{
	struct fixture *f = *state;
	struct job j = { 0 };

	job_start(&j, f->sock, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}");
	assert_non_null(vmm_take(f->srv));
	api_server_stop(f->srv);
	f->srv = NULL;
	job_join(&j);
	assert_fault(&j, 503);
}

static void test_socket_is_gone_after_stop(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(stat(f->sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	api_server_stop(f->srv);
	f->srv = NULL;
	assert_int_equal(stat(f->sock, &st), -1);
	assert_int_equal(errno, ENOENT);
	/* And the path is free for the next VMM. */
	assert_int_equal(api_server_start(f->sock, &f->srv), 0);
}

static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static void test_stop_closes_every_fd(void **state)
{
	struct fixture *f = *state;
	struct api_request *req;
	struct job j = { 0 };
	int before;

	api_server_stop(f->srv);
	f->srv = NULL;
	before = count_fds();
	assert_int_equal(api_server_start(f->sock, &f->srv), 0);
	job_start(&j, f->sock, "GET", "/", NULL);
	req = vmm_take(f->srv);
	assert_non_null(req);
	api_server_reply(f->srv, req, 200, strdup("{}"));
	job_join(&j);
	assert_int_equal(j.status, 200);
	api_server_stop(f->srv);
	f->srv = NULL;
	/* The listen socket, the eventfd and MHD's own fds are all gone. */
	assert_int_equal(count_fds(), before);
}

static void send_and_close(const char *sock, const char *raw)
{
	int fd = http_client_connect(sock);

	assert_true(fd >= 0);
	assert_int_equal(http_client_write(fd, raw, strlen(raw)), 0);
	close(fd);
}

static void test_hostile_clients(void **state)
{
	struct fixture *f = *state;
	static const char garbage[] = "\x01\x02\xff garbage \r\n\r\n\r\n";
	struct api_request *req;
	struct job j = { 0 }, ok = { 0 }, ok2 = { 0 };
	int half;

	send_and_close(f->sock, garbage);
	send_and_close(f->sock, "GET /machine-con");
	send_and_close(f->sock, "GET / HTTP/1.1\r\nHost: x\r\n");
	send_and_close(f->sock, "PUT /drives/a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a");
	send_and_close(f->sock, "PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
	/* Garbage gets an error answer, not the queue. */
	job_start_raw(&j, f->sock, garbage, sizeof(garbage) - 1);
	job_join(&j);
	assert_true(j.rc == -ECONNRESET || (j.rc == 0 && j.status == 400));
	/* A half request held open does not block other clients. */
	half = http_client_connect(f->sock);
	assert_true(half >= 0);
	assert_int_equal(http_client_write(half, "PUT /a HTTP/1.1\r\nContent-Le", 27), 0);
	job_start(&ok, f->sock, "GET", "/", NULL);
	req = vmm_take(f->srv);
	assert_non_null(req);
	assert_string_equal(req->path, "/");
	assert_queue_empty(f->srv);
	api_server_reply(f->srv, req, 200, strdup("{}"));
	job_join(&ok);
	assert_int_equal(ok.status, 200);
	close(half);
	/* A client that leaves before its answer: the reply goes nowhere and
	 * the next client is served. */
	half = http_client_connect(f->sock);
	assert_true(half >= 0);
	assert_int_equal(http_client_send(half, "GET", "/gone", NULL), 0);
	req = vmm_take(f->srv);
	assert_non_null(req);
	assert_string_equal(req->path, "/gone");
	close(half);
	api_server_reply(f->srv, req, 200, strdup("{\"x\":1}"));
	job_start(&ok2, f->sock, "GET", "/after", NULL);
	req = vmm_take(f->srv);
	assert_non_null(req);
	assert_string_equal(req->path, "/after");
	api_server_reply(f->srv, req, 200, strdup("{}"));
	job_join(&ok2);
	assert_int_equal(ok2.status, 200);
	assert_queue_empty(f->srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_without_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_body_arrives_intact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_bodies_are_null, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_of_exactly_the_limit_is_accepted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_query_string_is_stripped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_alive_204_then_200, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_body_gets_413_and_is_not_queued, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_huge_content_length_refused_before_the_body,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunked_upload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunked_upload_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_methods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_path_is_refused, setup, teardown),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test_setup_teardown(test_stop_answers_queued_request_503, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_answers_taken_request_503, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_is_gone_after_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_closes_every_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_clients, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
