#include "tests/unit/http_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define HTTP_CLIENT_TIMEOUT_S 5
#define HTTP_CLIENT_HEAD_MAX 8192

int http_client_connect(const char *sock_path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = HTTP_CLIENT_TIMEOUT_S };
	int fd;

	if (strlen(sock_path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int http_client_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int http_client_send(int fd, const char *method, const char *path, const char *body)
{
	char head[1024 + 4096];
	int n;

	if (body)
		n = snprintf(head, sizeof(head),
			     "%s %s HTTP/1.1\r\nHost: localhost\r\n"
			     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			     method, path, strlen(body));
	else
		n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: localhost\r\n\r\n",
			     method, path);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -ENAMETOOLONG;
	n = http_client_write(fd, head, (size_t)n);
	if (n == 0 && body)
		n = http_client_write(fd, body, strlen(body));
	return n;
}

/* recv() that maps EOF to -ECONNRESET and a timeout to -ETIMEDOUT. */
static ssize_t http_client_recv(int fd, char *buf, size_t len)
{
	ssize_t n;

	do
		n = recv(fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
	return n == 0 ? -ECONNRESET : n;
}

static const char *http_client_header(const char *head, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, name, len) == 0 && p[2 + len] == ':')
			return p + 3 + len;
	return NULL;
}

int http_client_read_response(int fd, int *status, char *headers, size_t headers_size,
			      char *body, size_t body_size)
{
	char head[HTTP_CLIENT_HEAD_MAX + 1];
	size_t have = 0, head_len, body_have, want;
	const char *end = NULL, *cl;
	int to_eof = 0;

	/* Byte by byte up to the blank line, so nothing of a following
	 * keep-alive response is consumed here. */
	while (!end) {
		ssize_t n;

		if (have == HTTP_CLIENT_HEAD_MAX)
			return -EMSGSIZE;
		n = http_client_recv(fd, head + have, 1);
		if (n < 0)
			return (int)n;
		have++;
		head[have] = '\0';
		if (have >= 4 && memcmp(head + have - 4, "\r\n\r\n", 4) == 0)
			end = head + have;
	}
	head_len = have;
	if (sscanf(head, "HTTP/1.%*1[01] %3d", status) != 1)
		return -EPROTO;
	if (headers) {
		if (head_len >= headers_size)
			return -EMSGSIZE;
		memcpy(headers, head, head_len + 1);
	}
	cl = http_client_header(head, "Content-Length");
	if (cl) {
		char *stop;
		unsigned long long v = strtoull(cl, &stop, 10);

		if (stop == cl || *stop != '\r')
			return -EPROTO;
		want = v;
	} else if (*status == 204 || *status == 304 || *status / 100 == 1) {
		want = 0;
	} else {
		to_eof = 1;
		want = body_size - 1;
	}
	if (!body_size || (want >= body_size && !to_eof))
		return -EMSGSIZE;
	for (body_have = 0; body_have < want;) {
		ssize_t n = http_client_recv(fd, body + body_have, want - body_have);

		if (n == -ECONNRESET && to_eof)
			break;
		if (n < 0)
			return (int)n;
		body_have += (size_t)n;
	}
	body[body_have] = '\0';
	return 0;
}

int http_client_request(const char *sock_path, const char *method, const char *path,
			const char *body, int *status, char *resp, size_t resp_size)
{
	int fd = http_client_connect(sock_path), err, rerr;

	if (fd < 0)
		return fd;
	err = http_client_send(fd, method, path, body);
	/* A server may answer early (413) and close before taking the whole
	 * body; its answer is still there to read. */
	rerr = http_client_read_response(fd, status, NULL, 0, resp, resp_size);
	close(fd);
	return rerr == 0 ? 0 : err ? err : rerr;
}
