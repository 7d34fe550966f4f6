#include "api_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "guest_image.h"
#include "hal/mock.h"
#include "vmm/log.h"

static ssize_t sink_write(void *opaque, const uint8_t *buf, size_t len)
{
	(void)opaque;
	(void)buf;
	return (ssize_t)len;
}

void api_fixture_write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	fclose(fp);
}

void api_fixture_init_controller(struct api_fixture *f, const struct vm_spec *spec)
{
	struct controller_env env = { 0 };

	env.hal = f->hal;
	env.loop = &f->loop;
	env.console = (struct vm_console){ sink_write, NULL, NULL };
	controller_init(&f->ctl, &env, spec);
}

struct api_fixture *api_fixture_new(const char *tag)
{
	static const uint8_t hlt[] = { 0xf4 };
	static uint8_t image[8192], zeros[64 * 1024];
	static const char *const names[] = { "vmlinux", "initrd", "disk.img", "disk2.img", "log", "metrics" };
	struct api_fixture *f = calloc(1, sizeof(*f));
	size_t n;

	assert_non_null(f);
	char *paths[] = { f->kernel, f->initrd, f->disk, f->disk2, f->log, f->metrics };

	assert_int_equal(hal_mock_create(&f->hal), 0);
	hal_mock_set_run_blocks(f->hal, true);
	assert_int_equal(event_loop_init(&f->loop), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ember-%.16s.XXXXXX", tag);
	assert_non_null(mkdtemp(f->dir));
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		snprintf(paths[i], sizeof(f->kernel), "%s/%s", f->dir, names[i]);
	n = guest_image_pvh_elf(image, sizeof(image), hlt, sizeof(hlt));
	assert_true(n > 0);
	api_fixture_write_file(f->kernel, image, n);
	api_fixture_write_file(f->initrd, zeros, 4096);
	api_fixture_write_file(f->disk, zeros, sizeof(zeros));
	api_fixture_write_file(f->disk2, zeros, sizeof(zeros));
	api_fixture_init_controller(f, NULL);
	return f;
}

void api_fixture_free(struct api_fixture *f)
{
	char cmd[128];

	controller_finish(&f->ctl);
	controller_fini(&f->ctl);
	log_reset();
	event_loop_fini(&f->loop);
	f->hal->ops->destroy(f->hal);
	free(f->r.json);
	json_decref(f->json);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
}

int api_fixture_call(struct api_fixture *f, const char *method, const char *path, const char *body)
{
	struct api_request req = { 0 };
	char *copy = body ? strdup(body) : NULL;

	req.method = !strcmp(method, "GET") ? API_GET : !strcmp(method, "PUT") ? API_PUT
		   : !strcmp(method, "PATCH") ? API_PATCH : API_OTHER;
	snprintf(req.method_name, sizeof(req.method_name), "%s", method);
	snprintf(req.path, sizeof(req.path), "%s", path);
	req.body = copy;
	req.body_len = body ? strlen(body) : 0;
	free(f->r.json);
	json_decref(f->json);
	f->json = NULL;
	api_handle(&f->ctl, &req, &f->r);
	free(copy);
	if (f->r.json) {
		f->json = json_loads(f->r.json, 0, NULL);
		assert_non_null(f->json); /* every body we send is valid JSON */
	}
	if (f->r.status == 204)
		assert_null(f->r.json);
	return f->r.status;
}
