/* A controller on the mock HAL with the files an API test needs (a small
 * PVH kernel, an initrd, two disks) in a temporary directory, and a way to
 * send it one request the way the API thread would. */
#ifndef EMBER_TEST_API_FIXTURE_H
#define EMBER_TEST_API_FIXTURE_H

#include <jansson.h>
#include <stddef.h>

#include "hal/hal.h"
#include "vmm/api.h"
#include "vmm/controller.h"
#include "vmm/event_loop.h"

struct api_fixture {
	struct hal *hal;
	struct event_loop loop;
	struct controller ctl;
	char dir[64];
	char kernel[96], initrd[96], disk[96], disk2[96], log[96], metrics[96];
	struct api_reply r;
	json_t *json; /* the last reply, parsed; NULL without a body */
};

/* Files are made under /tmp/ember-<tag>.XXXXXX; asserts on failure. */
struct api_fixture *api_fixture_new(const char *tag);
/* (Re)initialises the controller on the fixture's HAL and loop; a NULL
 * spec means Firecracker's defaults. */
void api_fixture_init_controller(struct api_fixture *f, const struct vm_spec *spec);
void api_fixture_free(struct api_fixture *f);
/* Sends METHOD PATH with BODY (NULL: none) through api_handle; returns the
 * status. Asserts every body is valid JSON and a 204 has none. */
int api_fixture_call(struct api_fixture *f, const char *method, const char *path, const char *body);
void api_fixture_write_file(const char *path, const void *data, size_t len);

#endif
