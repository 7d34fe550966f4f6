/* API transport latency, no VM: a client sends GET / to the API server over
 * its Unix socket and a replier thread, standing in for the VMM thread,
 * answers each request as soon as the eventfd wakes it. What it measures is
 * the transport's own round trip (socket, libmicrohttpd, queue, eventfd,
 * condition variable), on a keep-alive connection and with a new
 * connection per request as curl does. Prints the median and the 99th
 * percentile of ROUNDS round trips, in microseconds. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/api_server.h"
#include "vmm/log.h"

#define ROUNDS 5000

static const char request[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

struct replier {
	struct api_server *srv;
	volatile int stop;
};

static void *replier_run(void *opaque)
{
	struct replier *r = opaque;
	struct pollfd p = { .fd = api_server_fd(r->srv), .events = POLLIN };

	while (!r->stop) {
		struct api_request *req;

		if (poll(&p, 1, 100) != 1)
			continue;
		while ((req = api_server_next(r->srv)))
			api_server_reply(r->srv, req, 200, strdup("{\"state\":\"Running\"}"));
	}
	return NULL;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int client_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		perror("connect");
		exit(1);
	}
	return fd;
}

/* Reads until the blank line and the Content-Length bytes after it; the
 * replier's answer is short enough to arrive in one or two reads. */
static void client_roundtrip(int fd)
{
	char buf[1024];
	size_t have = 0;

	if (send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(request) - 1) {
		perror("send");
		exit(1);
	}
	for (;;) {
		ssize_t n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		char *end, *cl;

		if (n <= 0) {
			fprintf(stderr, "recv: %s\n", n ? strerror(errno) : "closed");
			exit(1);
		}
		have += (size_t)n;
		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		cl = strcasestr(buf, "Content-Length:");
		if (end && cl && have >= (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10))
			return;
	}
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, long long *v)
{
	qsort(v, ROUNDS, sizeof(*v), cmp_ll);
	printf("api GET / %-22s median %7.1f us   p99 %7.1f us   (%d round trips)\n", what,
	       v[ROUNDS / 2] / 1e3, v[ROUNDS * 99 / 100] / 1e3, ROUNDS);
}

int main(void)
{
	static long long t[ROUNDS];
	char dir[] = "/tmp/ember-api-bench-XXXXXX", path[64];
	struct replier r = { 0 };
	pthread_t th;
	int fd;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/api.sock", dir);
	if (api_server_start(path, &r.srv)) {
		fprintf(stderr, "api_server_start: %s\n", err_last());
		return 1;
	}
	pthread_create(&th, NULL, replier_run, &r);

	fd = client_connect(path);
	for (int i = 0; i < 100; i++)
		client_roundtrip(fd);
	for (int i = 0; i < ROUNDS; i++) {
		long long t0 = now_ns();

		client_roundtrip(fd);
		t[i] = now_ns() - t0;
	}
	close(fd);
	report("(keep-alive)", t);

	for (int i = 0; i < ROUNDS; i++) {
		long long t0 = now_ns();

		fd = client_connect(path);
		client_roundtrip(fd);
		close(fd);
		t[i] = now_ns() - t0;
	}
	report("(connection each)", t);

	r.stop = 1;
	pthread_join(th, NULL);
	api_server_stop(r.srv);
	rmdir(dir);
	return 0;
}
