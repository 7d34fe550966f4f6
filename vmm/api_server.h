/* The HTTP side of the API: libmicrohttpd serving HTTP/1.1 on a Unix socket
 * that we bind ourselves, on its own thread. It never touches VM state: each
 * complete request goes into a queue, an eventfd wakes the VMM thread, which
 * takes the request with api_server_next(), handles it and answers with
 * api_server_reply(). The HTTP thread waits for that answer and sends it.
 *
 * Bodies over API_BODY_MAX bytes are refused with 413 (as JSON
 * {"fault_message": ...}) before they reach the queue. */
#ifndef EMBER_API_SERVER_H
#define EMBER_API_SERVER_H

#include <stddef.h>

#define API_BODY_MAX (64 * 1024) /* Firecracker's default payload limit is 51200 */
#define API_PATH_MAX 1024

enum api_method { API_GET, API_PUT, API_PATCH, API_OTHER };

struct api_request {
	enum api_method method;
	char method_name[16];   /* as sent, for messages ("DELETE") */
	char path[API_PATH_MAX]; /* the URL path, without the query string */
	char *body;             /* NUL-terminated; NULL when the request had none */
	size_t body_len;
	/* Private to api_server.c from here on. */
	struct api_request *next;
	int status;
	char *response;
	int done;
};

struct api_server;

/* Binds and listens on `sock_path` (refusing a path that exists, as
 * Firecracker does), then starts the HTTP thread. */
int api_server_start(const char *sock_path, struct api_server **out);
/* Readable (an eventfd) while requests wait in the queue. */
int api_server_fd(const struct api_server *srv);
/* Takes the next queued request, or NULL. Clears the eventfd when empty. */
struct api_request *api_server_next(struct api_server *srv);
/* Answers a request taken with api_server_next. `status` is the HTTP status;
 * `json` (may be NULL: no body) is sent as application/json and is freed by
 * the server. After this call `req` belongs to the server again. */
void api_server_reply(struct api_server *srv, struct api_request *req, int status, char *json);
/* Stops the thread, answers anything still queued with 503, closes and
 * unlinks the socket. NULL is fine. */
void api_server_stop(struct api_server *srv);

#endif
