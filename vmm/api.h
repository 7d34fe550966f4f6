/* Firecracker's REST endpoints, served on the VMM thread: each request
 * taken from the API server queue goes through api_handle, which parses and
 * checks the body, applies it to the controller and says what to answer. */
#ifndef EMBER_API_H
#define EMBER_API_H

#include "vmm/api_server.h"
#include "vmm/controller.h"

struct api_reply {
	int status; /* HTTP status */
	char *json; /* malloc'd body, or NULL for none (204) */
};

void api_handle(struct controller *ctl, const struct api_request *req, struct api_reply *out);

#endif
