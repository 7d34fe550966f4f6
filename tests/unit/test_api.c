/* Firecracker's endpoints through api_handle, on a controller whose VM is
 * built on the mock HAL: parsing, pre-/post-boot rules, Firecracker's fault
 * messages, and a real InstanceStart of a small PVH image. */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api_fixture.h"
#include "hal/mock.h"
#include "devices/virtio/blk.h"
#include "vmm/api.h"
#include "vmm/vm_virtio.h"
#include "vmm/controller.h"

#define POST_BOOT "The requested operation is not supported after starting the microVM."
#define PRE_BOOT "The requested operation is not supported before starting the microVM."

static int setup(void **state)
{
	*state = api_fixture_new("api-test");
	return 0;
}

static int teardown(void **state)
{
	api_fixture_free(*state);
	return 0;
}

static int call(struct api_fixture *f, const char *method, const char *path, const char *body)
{
	return api_fixture_call(f, method, path, body);
}

static const char *str(struct api_fixture *f, const char *key)
{
	json_t *v = json_object_get(f->json, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static const char *fault(struct api_fixture *f)
{
	assert_true(f->r.status >= 400);
	return str(f, "fault_message");
}

static void put_boot_source(struct api_fixture *f)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\", \"boot_args\": \"console=ttyS0\"}",
		 f->kernel);
	assert_int_equal(call(f, "PUT", "/boot-source", body), 204);
}

static void test_instance_info_and_version(void **state)
{
	struct api_fixture *f = *state;

	assert_int_equal(call(f, "GET", "/", NULL), 200);
	assert_string_equal(str(f, "state"), "Not started");
	assert_string_equal(str(f, "id"), "anonymous-instance");
	assert_string_equal(str(f, "app_name"), "ember");
	assert_true(strlen(str(f, "vmm_version")) > 0);
	assert_int_equal(call(f, "GET", "/version", NULL), 200);
	assert_true(strlen(str(f, "firecracker_version")) > 0);
}

static void test_request_shape_errors(void **state)
{
	struct api_fixture *f = *state;

	assert_int_equal(call(f, "GET", "/nope", NULL), 400);
	assert_string_equal(fault(f), "Invalid request method and/or path: GET nope.");
	assert_int_equal(call(f, "DELETE", "/drives/a", NULL), 400);
	assert_string_equal(fault(f), "Invalid request method and/or path: DELETE drives.");
	/* A path that is not UTF-8 still gets a valid JSON fault. */
	assert_int_equal(call(f, "GET", "/\xc3\x28\x01", NULL), 400);
	assert_string_equal(fault(f), "Invalid request method and/or path: GET ?(?.");
	assert_int_equal(call(f, "GET", "/", "{}"), 400);
	assert_string_equal(fault(f), "GET request cannot have a body.");
	assert_int_equal(call(f, "PUT", "/boot-source", NULL), 400);
	assert_string_equal(fault(f), "Empty PUT request.");
	assert_int_equal(call(f, "PATCH", "/machine-config", NULL), 400);
	assert_string_equal(fault(f), "Empty PATCH request.");
	assert_int_equal(call(f, "PUT", "/drives/a/b/c", "{}"), 400);
	assert_int_equal(call(f, "PUT", "/logger/x", "{}"), 400);
	assert_int_equal(call(f, "PUT", "/machine-config", "{\"vcpu_count\": 2,"), 400);
	assert_non_null(strstr(fault(f), "An error occurred when deserializing the json body of a request"));
	assert_int_equal(call(f, "PUT", "/machine-config", "{\"a\": 1, \"a\": 2}"), 400);
	assert_int_equal(call(f, "PUT", "/machine-config", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"), 400);
	assert_int_equal(call(f, "PUT", "/actions", "{\"action_type\": \"Reboot\"}"), 400);
	assert_int_equal(call(f, "PUT", "/actions", "{\"action_type\": 1}"), 400);
	assert_int_equal(call(f, "PUT", "/snapshot/create", "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}"), 400);
	assert_non_null(strstr(fault(f), "before starting the microVM"));
	assert_int_equal(call(f, "PUT", "/snapshot/load", "{\"snapshot_path\": \"s\"}"), 400);
	assert_non_null(strstr(fault(f), "mem_backend"));
	assert_int_equal(call(f, "PUT", "/snapshot/nope", "{}"), 400);
	assert_non_null(strstr(fault(f), "Invalid request method and/or path"));
}

static void test_machine_config_put_patch_get(void **state)
{
	struct api_fixture *f = *state;

	assert_int_equal(call(f, "GET", "/machine-config", NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(f->json, "vcpu_count")), 1);
	assert_int_equal(json_integer_value(json_object_get(f->json, "mem_size_mib")), 128);
	assert_int_equal(call(f, "PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}"), 204);
	assert_int_equal(call(f, "PATCH", "/machine-config", "{\"mem_size_mib\": 512}"), 204);
	assert_int_equal(f->ctl.spec.machine.vcpu_count, 2);
	assert_int_equal(f->ctl.spec.machine.mem_size_mib, 512);
	/* All or nothing: a bad field leaves the rest untouched. */
	assert_int_equal(call(f, "PATCH", "/machine-config", "{\"mem_size_mib\": 64, \"vcpu_count\": 33}"), 400);
	assert_non_null(strstr(fault(f), "vcpu_count"));
	assert_int_equal(f->ctl.spec.machine.mem_size_mib, 512);
	assert_int_equal(call(f, "PUT", "/machine-config", "{\"vcpu_count\": 2}"), 400);
	assert_int_equal(call(f, "GET", "/machine-config", NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(f->json, "mem_size_mib")), 512);
}

static void test_drives_and_ids(void **state)
{
	struct api_fixture *f = *state;
	char body[256];

	snprintf(body, sizeof(body),
		 "{\"drive_id\": \"other\", \"path_on_host\": \"%s\", \"is_root_device\": false}", f->disk);
	assert_int_equal(call(f, "PUT", "/drives/data", body), 400);
	assert_string_equal(fault(f), "The id from the path does not match the id from the body!");
	assert_int_equal(call(f, "PUT", "/drives/da-ta", body), 400);
	assert_string_equal(fault(f),
			    "API Resource IDs can only contain alphanumeric characters and underscores.");
	assert_int_equal(call(f, "PUT", "/drives/other",
			      "{\"drive_id\": \"other\", \"path_on_host\": \"/nonexistent/x\", \"is_root_device\": false}"),
			 400);
	assert_int_equal(f->ctl.spec.nr_drives, 0);
	assert_int_equal(call(f, "PUT", "/drives/other", body), 204);
	assert_int_equal(call(f, "PUT", "/drives/other", body), 204); /* replaces */
	assert_int_equal(f->ctl.spec.nr_drives, 1);
	assert_int_equal(call(f, "GET", "/vm/config", NULL), 200);
	assert_int_equal(json_array_size(json_object_get(f->json, "drives")), 1);
	assert_int_equal(call(f, "PATCH", "/drives/other", "{\"drive_id\": \"other\"}"), 400);
	assert_string_equal(fault(f), PRE_BOOT);
}

static void test_unimplemented_devices_are_refused_after_checking(void **state)
{
	struct api_fixture *f = *state;
	json_t *nets;

	/* virtio-net exists now: the interface is stored for the boot. */
	assert_int_equal(call(f, "PUT", "/network-interfaces/eth0",
			      "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}"),
			 204);
	assert_int_equal(call(f, "GET", "/vm/config", NULL), 200);
	nets = json_object_get(f->json, "network-interfaces");
	assert_int_equal(json_array_size(nets), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(nets, 0), "iface_id")), "eth0");
	assert_string_equal(json_string_value(json_object_get(json_array_get(nets, 0), "host_dev_name")), "tap0");
	assert_int_equal(call(f, "PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\"}"), 400);
	assert_non_null(strstr(fault(f), "host_dev_name"));
	/* Another interface on the same TAP would fight over it. */
	assert_int_equal(call(f, "PUT", "/network-interfaces/eth1",
			      "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap0\"}"),
			 400);
	assert_non_null(strstr(fault(f), "tap0"));
	assert_int_equal(call(f, "PUT", "/network-interfaces/eth1",
			      "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap1\"}"),
			 400);
	assert_string_equal(fault(f), "The id from the path does not match the id from the body!");
	assert_int_equal(call(f, "PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\"}"), 400);
	assert_string_equal(fault(f), PRE_BOOT);
	assert_int_equal(f->ctl.spec.nr_nets, 1);
	assert_int_equal(call(f, "PUT", "/vsock", "{\"guest_cid\": 2, \"uds_path\": \"/tmp/v.sock\"}"), 400);
	assert_non_null(strstr(fault(f), "guest_cid"));
	assert_false(f->ctl.spec.vsock.present);
	assert_int_equal(call(f, "PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}"), 204);
	assert_true(f->ctl.spec.vsock.present);
	assert_int_equal(f->ctl.spec.vsock.guest_cid, 3);
	assert_int_equal(call(f, "GET", "/vm/config", NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(f->json, "vsock"), "guest_cid")), 3);
}

static void test_network_interface_boot_and_patch(void **state)
{
	struct api_fixture *f = *state;
	bool open = false;
	json_t *rl;

	put_boot_source(f);
	assert_int_equal(call(f, "PUT", "/network-interfaces/eth0",
			      "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap7\", \"guest_mac\": \"06:00:ac:10:00:02\"}"),
			 204);
	assert_int_equal(call(f, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);
	assert_int_equal(f->ctl.vm->nr_virtio, 1);
	assert_string_equal(f->ctl.vm->virtio[0]->id, "eth0");
	assert_int_equal(hal_mock_tap_state(f->hal, "tap7", NULL, NULL, &open), 0);
	assert_true(open);
	assert_int_equal(call(f, "PUT", "/network-interfaces/eth1",
			      "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap8\"}"),
			 400);
	assert_string_equal(fault(f), POST_BOOT);
	/* PATCH keeps new rate limiters (shown, not enforced yet). */
	assert_int_equal(call(f, "PATCH", "/network-interfaces/eth0",
			      "{\"iface_id\": \"eth0\", \"rx_rate_limiter\": {\"bandwidth\": {\"size\": 1000, "
			      "\"refill_time\": 100}}}"),
			 204);
	assert_int_equal(call(f, "GET", "/vm/config", NULL), 200);
	rl = json_object_get(json_array_get(json_object_get(f->json, "network-interfaces"), 0), "rx_rate_limiter");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(rl, "bandwidth"), "size")), 1000);
	assert_int_equal(call(f, "PATCH", "/network-interfaces/eth9", "{\"iface_id\": \"eth9\"}"), 400);
	assert_non_null(strstr(fault(f), "eth9"));
	assert_int_equal(call(f, "PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth1\"}"), 400);
	assert_string_equal(fault(f), "The id from the path does not match the id from the body!");
	assert_int_equal(call(f, "PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"mtu\": 9000}"), 400);
	assert_non_null(strstr(fault(f), "mtu"));
	assert_int_equal(call(f, "PATCH", "/network-interfaces/eth0/x", "{}"), 400);
	assert_non_null(strstr(fault(f), "Invalid request method and/or path"));
}

static void test_network_interface_whose_tap_cannot_open_fails_the_start(void **state)
{
	struct api_fixture *f = *state;
	struct hal_tap *busy;

	put_boot_source(f);
	/* Someone else holds the TAP: the mock then refuses it as busy. */
	assert_int_equal(f->hal->ops->tap_open(f->hal, "tapbusy", &busy), 0);
	assert_int_equal(call(f, "PUT", "/network-interfaces/wan",
			      "{\"iface_id\": \"wan\", \"host_dev_name\": \"tapbusy\"}"),
			 204);
	assert_int_equal(call(f, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 400);
	assert_non_null(strstr(fault(f), "network-interfaces[0]"));
	assert_non_null(strstr(fault(f), "tapbusy"));
	assert_int_equal(f->ctl.state, CONTROLLER_NOT_STARTED);
	busy->ops->close(busy);
}

static void test_start_needs_a_boot_source(void **state)
{
	struct api_fixture *f = *state;

	assert_int_equal(call(f, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 400);
	assert_non_null(strstr(fault(f), "kernel"));
	assert_int_equal(f->ctl.state, CONTROLLER_NOT_STARTED);
	assert_int_equal(call(f, "PATCH", "/vm", "{\"state\": \"Paused\"}"), 400);
	assert_string_equal(fault(f), PRE_BOOT);
	assert_int_equal(call(f, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}"), 400);
	assert_string_equal(fault(f), PRE_BOOT);
	assert_int_equal(call(f, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}"), 400);
	assert_int_equal(call(f, "PUT", "/boot-source", "{\"kernel_image_path\": \"/nonexistent/k\"}"), 400);
	assert_non_null(strstr(fault(f), "kernel_image_path"));
}

static void test_boot_pause_resume_and_post_boot_rules(void **state)
{
	struct api_fixture *f = *state;
	char body[256], uds[128];

	put_boot_source(f);
	snprintf(body, sizeof(body),
		 "{\"drive_id\": \"root\", \"path_on_host\": \"%s\", \"is_root_device\": true}", f->disk);
	assert_int_equal(call(f, "PUT", "/drives/root", body), 204);
	assert_int_equal(call(f, "PUT", "/entropy", "{}"), 204);
	snprintf(uds, sizeof(uds), "%s/v.sock", f->dir);
	snprintf(body, sizeof(body), "{\"guest_cid\": 3, \"uds_path\": \"%s\"}", uds);
	assert_int_equal(call(f, "PUT", "/vsock", body), 204);
	assert_int_equal(access(uds, F_OK), -1); /* bound at InstanceStart, not before */
	assert_int_equal(call(f, "PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 64}"), 204);
	assert_int_equal(call(f, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);
	assert_int_equal(f->ctl.state, CONTROLLER_RUNNING);
	assert_int_equal(f->ctl.vm->nr_vcpus, 2);
	assert_int_equal(f->ctl.vm->nr_virtio, 3); /* the drive, the vsock and the rng */
	assert_int_equal(access(uds, F_OK), 0);
	assert_int_equal(call(f, "GET", "/", NULL), 200);
	assert_string_equal(str(f, "state"), "Running");
	assert_int_equal(call(f, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 400);
	assert_string_equal(fault(f), POST_BOOT);
	assert_int_equal(call(f, "PUT", "/boot-source", "{\"kernel_image_path\": \"/x\"}"), 400);
	assert_string_equal(fault(f), POST_BOOT);
	assert_int_equal(call(f, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64}"), 400);
	assert_string_equal(fault(f), POST_BOOT);
	assert_int_equal(call(f, "PUT", "/metrics", "{\"metrics_path\": \"/tmp/x\"}"), 400);
	assert_string_equal(fault(f), POST_BOOT);
	assert_int_equal(call(f, "PATCH", "/vm", "{\"state\": \"Paused\"}"), 204);
	assert_int_equal(f->ctl.vm->nr_parked, 2);
	assert_int_equal(call(f, "GET", "/", NULL), 200);
	assert_string_equal(str(f, "state"), "Paused");
	assert_int_equal(call(f, "PATCH", "/vm", "{\"state\": \"Sleeping\"}"), 400);
	assert_int_equal(call(f, "PATCH", "/vm", "{\"state\": \"Resumed\"}"), 204);
	assert_int_equal(call(f, "GET", "/", NULL), 200);
	assert_string_equal(str(f, "state"), "Running");
	/* A new backing file after boot: the guest sees the new capacity. */
	{
		static uint8_t bigger[128 * 1024];
		char disk2[128];

		snprintf(disk2, sizeof(disk2), "%s/disk2.img", f->dir);
		api_fixture_write_file(disk2, bigger, sizeof(bigger));
		assert_int_equal(blk_capacity_sectors(f->ctl.vm->virtio[0]->dev), 128);
		snprintf(body, sizeof(body), "{\"drive_id\": \"root\", \"path_on_host\": \"%s\"}", disk2);
		assert_int_equal(call(f, "PATCH", "/drives/root", body), 204);
		assert_int_equal(blk_capacity_sectors(f->ctl.vm->virtio[0]->dev), 256);
		assert_string_equal(f->ctl.spec.drives[0].path_on_host, disk2);
		assert_int_equal(call(f, "PATCH", "/drives/nope", "{\"drive_id\": \"nope\"}"), 400);
		snprintf(body, sizeof(body), "{\"drive_id\": \"root\", \"path_on_host\": \"%s/none\"}", f->dir);
		assert_int_equal(call(f, "PATCH", "/drives/root", body), 400);
		assert_int_equal(blk_capacity_sectors(f->ctl.vm->virtio[0]->dev), 256);
	}
	/* Ctrl-Alt-Del: IRQ 1 goes up with the scan codes queued. */
	assert_int_equal(call(f, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}"), 204);
	assert_true(hal_mock_irq_raises(f->hal, 1) > 0);
}

static void test_metrics_flush_over_the_api(void **state)
{
	struct api_fixture *f = *state;
	char body[256], path[128], line[8192];
	FILE *in;

	snprintf(path, sizeof(path), "%s/metrics.json", f->dir);
	snprintf(body, sizeof(body), "{\"metrics_path\": \"%s\"}", path);
	assert_int_equal(call(f, "PUT", "/metrics", body), 204);
	assert_int_equal(call(f, "PUT", "/metrics", body), 400); /* once only */
	assert_int_equal(call(f, "GET", "/", NULL), 200);
	assert_int_equal(call(f, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}"), 204);
	in = fopen(path, "r");
	assert_non_null(in);
	assert_non_null(fgets(line, sizeof(line), in));
	fclose(in);
	json_decref(f->json);
	f->json = json_loads(line, 0, NULL);
	assert_non_null(f->json);
	/* Two PUT /metrics (one failed), one GET /, and the flush itself. */
	assert_true(json_is_object(json_object_get(f->json, "put_api_requests")));
	assert_true(json_is_object(json_object_get(f->json, "vsock"))); /* zeros without a device */
	assert_true(json_integer_value(json_object_get(json_object_get(f->json, "get_api_requests"),
						       "instance_info_count")) >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_instance_info_and_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_shape_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_machine_config_put_patch_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drives_and_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unimplemented_devices_are_refused_after_checking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_network_interface_boot_and_patch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_network_interface_whose_tap_cannot_open_fails_the_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_needs_a_boot_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_pause_resume_and_post_boot_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_flush_over_the_api, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
