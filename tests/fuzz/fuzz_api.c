/* libFuzzer target: API requests (host-user input) through api_handle, the
 * request path that every HTTP request takes after the transport. One input
 * is a sequence of requests, so the fuzzer reaches states such as a drive
 * replaced, a machine-config patched or a start refused:
 *   <method byte><path>\n<body>\0 ...
 * The method byte picks GET, PUT, PATCH or another method (low two bits);
 * bit 2 set means "no body". The controller has no hypervisor, so
 * InstanceStart stops after the spec, image and path checks. Logger and
 * metrics requests are skipped: they create the files they name. */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api.h"
#include "vmm/controller.h"
#include "vmm/log.h"

static void check_reply(const struct api_reply *r)
{
	json_t *j;

	if (r->status == 204 && r->json)
		abort(); /* a 204 never has a body */
	if (r->status >= 400 && !r->json)
		abort(); /* every error says why */
	if (!r->json)
		return;
	j = json_loads(r->json, 0, NULL);
	if (!j || (r->status >= 400 && !json_is_string(json_object_get(j, "fault_message"))))
		abort();
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct controller ctl;
	static struct api_request req;
	struct controller_env env = { 0 };
	size_t pos = 0;

	static bool quiet;

	if (!quiet) {
		/* Every refused request logs a line: millions of them. */
		log_configure(&(struct log_options){ .off = true });
		quiet = true;
	}
	controller_init(&ctl, &env, NULL);
	for (int n = 0; pos < size && n < 16; n++) {
		static const enum api_method methods[4] = { API_GET, API_PUT, API_PATCH, API_OTHER };
		static const char *const names[4] = { "GET", "PUT", "PATCH", "DELETE" };
		const uint8_t *nl, *end;
		struct api_reply r;
		size_t plen;
		uint8_t m = data[pos++];

		nl = memchr(data + pos, '\n', size - pos);
		if (!nl)
			break;
		plen = (size_t)(nl - (data + pos));
		if (plen >= sizeof(req.path))
			break;
		memset(&req, 0, sizeof(req));
		req.method = methods[m & 3];
		strcpy(req.method_name, names[m & 3]);
		memcpy(req.path, data + pos, plen);
		pos += plen + 1;
		end = memchr(data + pos, '\0', size - pos);
		if (!end)
			end = data + size;
		if (!(m & 4)) {
			req.body_len = (size_t)(end - (data + pos));
			req.body = malloc(req.body_len + 1);
			if (!req.body)
				abort();
			memcpy(req.body, data + pos, req.body_len);
			req.body[req.body_len] = '\0';
		}
		pos = (size_t)(end - data) + (end < data + size);
		if (strstr(req.path, "logger") || strstr(req.path, "metrics")) {
			free(req.body);
			continue;
		}
		api_handle(&ctl, &req, &r);
		check_reply(&r);
		free(r.json);
		free(req.body);
	}
	controller_fini(&ctl);
	return 0;
}
