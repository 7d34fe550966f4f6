/* A tiny blocking HTTP/1.1 client over a Unix socket, for tests that talk to
 * the API server. Every call returns 0 (or a fd) or a negative errno; reads
 * time out after a few seconds so a broken server fails a test instead of
 * hanging it. Responses must carry Content-Length or end with the connection
 * (no chunked responses: the API server never sends them). */
#ifndef EMBER_TEST_HTTP_CLIENT_H
#define EMBER_TEST_HTTP_CLIENT_H

#include <stddef.h>

/* One request on a fresh connection, closed afterwards. `body` may be NULL
 * (no body, no Content-Length). `resp` receives the response body,
 * NUL-terminated; -EMSGSIZE when it does not fit. */
int http_client_request(const char *sock_path, const char *method, const char *path,
			const char *body, int *status, char *resp, size_t resp_size);

/* The pieces, for keep-alive and hand-made requests. */
int http_client_connect(const char *sock_path);
/* Writes all of buf (MSG_NOSIGNAL: a closed peer is -EPIPE, not a signal). */
int http_client_write(int fd, const void *buf, size_t len);
int http_client_send(int fd, const char *method, const char *path, const char *body);
/* Reads one response. `headers` (may be NULL) receives the status line and
 * header block, NUL-terminated; -ECONNRESET when the peer closes before a
 * whole response arrived. */
int http_client_read_response(int fd, int *status, char *headers, size_t headers_size,
			      char *body, size_t body_size);

#endif
