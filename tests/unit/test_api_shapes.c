/* API bodies against Firecracker's OpenAPI description (swagger/firecracker.yaml):
 * the definitions below are its field names, types, required lists, enums and
 * bounds. Every reply api_handle gives is checked against them recursively,
 * every error must be exactly {"fault_message": string}, and each request
 * definition is sent with all its fields, then without each required one. */
#include <jansson.h>
#include <limits.h>
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
#include "vmm/api.h"
#include "vmm/controller.h"
#include "vmm/log.h"

/* ---- The spec's definitions ------------------------------------------- */

enum jtype { J_STR, J_INT, J_BOOL, J_OBJ, J_ARR };

struct shape;
struct field {
	const char *name;
	enum jtype type;
	bool req;
	const char *const *en;   /* string enum, NULL-terminated */
	const struct shape *sub; /* object: its definition; array: its items' */
	enum jtype item;         /* array items that have no definition */
	long long min, max;      /* integers */
};
struct shape {
	const char *name;
	struct field f[16]; /* ends at a NULL name */
};

#define STR(n, r) { .name = n, .type = J_STR, .req = r }
#define ENUM(n, r, e) { .name = n, .type = J_STR, .req = r, .en = e }
#define INTR(n, r, lo, hi) { .name = n, .type = J_INT, .req = r, .min = lo, .max = hi }
#define INT(n, r) INTR(n, r, LLONG_MIN, LLONG_MAX)
#define BOOL(n, r) { .name = n, .type = J_BOOL, .req = r }
#define OBJ(n, r, s) { .name = n, .type = J_OBJ, .req = r, .sub = &s }
#define ARR(n, r, s) { .name = n, .type = J_ARR, .req = r, .sub = &s }
#define ARRT(n, r, t) { .name = n, .type = J_ARR, .req = r, .item = t }

static const char *const e_cpu_template[] = { "C3", "T2", "T2S", "T2CL", "T2A", "V1N1", "None", NULL };
static const char *const e_huge_pages[] = { "None", "Transparent", "2M", NULL };
static const char *const e_cache_type[] = { "Unsafe", "Writeback", NULL };
static const char *const e_io_engine[] = { "Sync", "Async", NULL };
static const char *const e_level[] = { "Error", "Warning", "Info", "Debug", "Trace", "Off", NULL };
static const char *const e_state[] = { "Not started", "Running", "Paused", NULL };
static const char *const e_action[] = { "FlushMetrics", "InstanceStart", "SendCtrlAltDel", NULL };
static const char *const e_vm_state[] = { "Paused", "Resumed", NULL };
static const char *const e_mmds_version[] = { "V1", "V2", NULL };

static const struct shape TokenBucket = { "TokenBucket", {
	INTR("one_time_burst", false, 0, LLONG_MAX), INTR("refill_time", true, 0, LLONG_MAX),
	INTR("size", true, 0, LLONG_MAX) } };
static const struct shape RateLimiter = { "RateLimiter", {
	OBJ("bandwidth", false, TokenBucket), OBJ("ops", false, TokenBucket) } };
static const struct shape Balloon = { "Balloon", {
	INT("amount_mib", true), BOOL("deflate_on_oom", true), INT("stats_polling_interval_s", false),
	BOOL("free_page_hinting", false), BOOL("free_page_reporting", false) } };
static const struct shape BootSource = { "BootSource", {
	STR("boot_args", false), STR("initrd_path", false), STR("kernel_image_path", true) } };
static const struct shape CpuConfig = { "CpuConfig", {
	ARRT("kvm_capabilities", false, J_STR), ARRT("cpuid_modifiers", false, J_OBJ),
	ARRT("msr_modifiers", false, J_OBJ), ARRT("reg_modifiers", false, J_OBJ),
	ARRT("vcpu_features", false, J_OBJ) } };
static const struct shape Drive = { "Drive", {
	STR("drive_id", true), STR("partuuid", false), BOOL("is_root_device", true),
	ENUM("cache_type", false, e_cache_type), BOOL("is_read_only", false), STR("path_on_host", false),
	OBJ("rate_limiter", false, RateLimiter), ENUM("io_engine", false, e_io_engine), STR("socket", false) } };
static const struct shape PartialDrive = { "PartialDrive", {
	STR("drive_id", true), STR("path_on_host", false), OBJ("rate_limiter", false, RateLimiter) } };
static const struct shape Pmem = { "Pmem", {
	STR("id", true), STR("path_on_host", true), BOOL("root_device", false), BOOL("read_only", false),
	OBJ("rate_limiter", false, RateLimiter) } };
static const struct shape Error = { "Error", { STR("fault_message", false) } };
static const struct shape InstanceActionInfo = { "InstanceActionInfo", {
	ENUM("action_type", true, e_action) } };
static const struct shape InstanceInfo = { "InstanceInfo", {
	STR("app_name", true), STR("id", true), ENUM("state", true, e_state), STR("vmm_version", true) } };
static const struct shape Logger = { "Logger", {
	ENUM("level", false, e_level), STR("log_path", false), BOOL("show_level", false),
	BOOL("show_log_origin", false), STR("module", false) } };
static const struct shape MachineConfiguration = { "MachineConfiguration", {
	ENUM("cpu_template", false, e_cpu_template), BOOL("smt", false), INT("mem_size_mib", true),
	BOOL("track_dirty_pages", false), INTR("vcpu_count", true, 1, 32), ENUM("huge_pages", false, e_huge_pages) } };
static const struct shape Metrics = { "Metrics", { STR("metrics_path", true) } };
static const struct shape MmdsConfig = { "MmdsConfig", {
	ENUM("version", false, e_mmds_version), ARRT("network_interfaces", true, J_STR),
	STR("ipv4_address", false), BOOL("imds_compat", false) } };
static const struct shape NetworkInterface = { "NetworkInterface", {
	STR("guest_mac", false), STR("host_dev_name", true), STR("iface_id", true),
	INTR("mtu", false, 68, 65535), OBJ("rx_rate_limiter", false, RateLimiter),
	OBJ("tx_rate_limiter", false, RateLimiter) } };
static const struct shape Vm = { "Vm", { ENUM("state", true, e_vm_state) } };
static const struct shape EntropyDevice = { "EntropyDevice", { OBJ("rate_limiter", false, RateLimiter) } };
static const struct shape MemoryHotplugConfig = { "MemoryHotplugConfig", {
	INT("total_size_mib", false), INTR("slot_size_mib", false, 128, LLONG_MAX),
	INTR("block_size_mib", false, 2, LLONG_MAX) } };
static const struct shape FirecrackerVersion = { "FirecrackerVersion", { STR("firecracker_version", true) } };
static const struct shape Vsock = { "Vsock", {
	INTR("guest_cid", true, 3, LLONG_MAX), STR("uds_path", true), STR("vsock_id", false) } };
static const struct shape FullVmConfiguration = { "FullVmConfiguration", {
	OBJ("balloon", false, Balloon), ARR("drives", false, Drive), OBJ("boot-source", false, BootSource),
	OBJ("cpu-config", false, CpuConfig), OBJ("logger", false, Logger),
	OBJ("machine-config", false, MachineConfiguration), OBJ("metrics", false, Metrics),
	OBJ("memory-hotplug", false, MemoryHotplugConfig), OBJ("mmds-config", false, MmdsConfig),
	ARR("network-interfaces", false, NetworkInterface), ARR("pmem", false, Pmem), OBJ("vsock", false, Vsock),
	OBJ("entropy", false, EntropyDevice) } };

static const char *const type_name[] = { "string", "integer", "boolean", "object", "array" };

static bool has_type(json_t *v, enum jtype t)
{
	return t == J_STR ? json_is_string(v) : t == J_INT ? json_is_integer(v) : t == J_BOOL ? json_is_boolean(v)
	       : t == J_OBJ ? json_is_object(v) : json_is_array(v);
}

static const struct field *find_field(const struct shape *s, const char *key)
{
	for (const struct field *fl = s->f; fl->name; fl++)
		if (!strcmp(fl->name, key))
			return fl;
	return NULL;
}

/* Why the last shape_ok() said no. */
static char why[512];

static bool shape_ok(json_t *v, const struct shape *s, const char *at);

#define NO(...) (snprintf(why, sizeof(why), __VA_ARGS__), false)

static bool value_ok(json_t *v, const struct field *fl, const char *at)
{
	if (!has_type(v, fl->type))
		return NO("%s: expected a %s as the spec says", at, type_name[fl->type]);
	if (fl->type == J_INT && (json_integer_value(v) < fl->min || json_integer_value(v) > fl->max))
		return NO("%s: %lld is outside the spec's [%lld, %lld]", at, (long long)json_integer_value(v),
			  fl->min, fl->max);
	if (fl->en) {
		const char *const *e = fl->en;

		while (*e && strcmp(*e, json_string_value(v)))
			e++;
		if (!*e)
			return NO("%s: '%s' is not in the spec's enum", at, json_string_value(v));
	}
	if (fl->type == J_OBJ && fl->sub)
		return shape_ok(v, fl->sub, at);
	if (fl->type == J_ARR) {
		size_t i;
		json_t *item;
		char sub[256];

		json_array_foreach(v, i, item) {
			snprintf(sub, sizeof(sub), "%.200s[%zu]", at, i);
			if (fl->sub ? !shape_ok(item, fl->sub, sub) : !has_type(item, fl->item))
				return fl->sub ? false : NO("%s: expected a %s", sub, type_name[fl->item]);
		}
	}
	return true;
}

/* v must be an object of definition s: no key the spec lacks, every
 * required key present and not null, each value of the spec's shape. */
static bool shape_ok(json_t *v, const struct shape *s, const char *at)
{
	const char *key;
	json_t *val;
	char sub[256];

	if (!json_is_object(v))
		return NO("%s: expected a %s object", at, s->name);
	json_object_foreach(v, key, val) {
		const struct field *fl = find_field(s, key);

		snprintf(sub, sizeof(sub), "%.160s.%.64s", at, key);
		if (!fl)
			return NO("%s: key not defined by %s", sub, s->name);
		if (json_is_null(val)) {
			if (fl->req)
				return NO("%s: required by %s but null", sub, s->name);
			continue;
		}
		if (!value_ok(val, fl, sub))
			return false;
	}
	for (const struct field *fl = s->f; fl->name; fl++)
		if (fl->req && !json_object_get(v, fl->name))
			return NO("%s: %s requires '%s'", at, s->name, fl->name);
	return true;
}

static void check_shape(json_t *v, const struct shape *s, const char *at)
{
	if (!shape_ok(v, s, at))
		fail_msg("%s", why);
}

/* ---- The fixture (tests/unit/api_fixture.c) ---------------------------- */

static int setup(void **state)
{
	*state = api_fixture_new("shapes-test");
	return 0;
}

static int teardown(void **state)
{
	api_fixture_free(*state);
	return 0;
}

/* What each GET answers with. */
static const struct {
	const char *path;
	const struct shape *s;
} gets[] = { { "/", &InstanceInfo }, { "/version", &FirecrackerVersion },
	     { "/machine-config", &MachineConfiguration }, { "/vm/config", &FullVmConfiguration } };

static const struct shape *response_shape(const char *path)
{
	for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]); i++)
		if (!strcmp(gets[i].path, path))
			return gets[i].s;
	return NULL;
}

/* Every reply goes through the spec: 204 has no body, an error is exactly
 * {"fault_message": string}, a 200 is checked against its definition. */
static int call(struct api_fixture *f, const char *method, const char *path, const char *body)
{
	api_fixture_call(f, method, path, body);
	if (f->r.status == 204) {
		assert_null(f->r.json);
	} else if (f->r.status >= 400) {
		check_shape(f->json, &Error, "Error");
		assert_int_equal(json_object_size(f->json), 1);
		assert_true(json_string_length(json_object_get(f->json, "fault_message")) > 0);
	} else {
		assert_int_equal(f->r.status, 200);
		assert_string_equal(method, "GET");
		assert_non_null(response_shape(path));
		check_shape(f->json, response_shape(path), response_shape(path)->name);
	}
	return f->r.status;
}

static const char *fault(struct api_fixture *f)
{
	return json_string_value(json_object_get(f->json, "fault_message"));
}

static void get_all(struct api_fixture *f)
{
	for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]); i++)
		assert_int_equal(call(f, "GET", gets[i].path, NULL), 200);
}

static void expect_state(struct api_fixture *f, const char *state)
{
	assert_int_equal(call(f, "GET", "/", NULL), 200);
	assert_string_equal(json_string_value(json_object_get(f->json, "state")), state);
}

/* The value at a dotted path ("drives.0.io_engine") of GET /vm/config. */
static json_t *dig(struct api_fixture *f, const char *dotted)
{
	char buf[128], *save = NULL;
	json_t *v;

	assert_int_equal(call(f, "GET", "/vm/config", NULL), 200);
	v = f->json;
	snprintf(buf, sizeof(buf), "%s", dotted);
	for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, strtoul(k, NULL, 10)) : json_object_get(v, k);
	return v;
}

/* ---- Request bodies, every field the spec defines --------------------- */

#define RL_FULL "{\"bandwidth\": {\"size\": 1048576, \"one_time_burst\": 4096, \"refill_time\": 100}," \
		" \"ops\": {\"size\": 1000, \"one_time_burst\": 10, \"refill_time\": 1000}}"

static void body_drive(struct api_fixture *f, char *b, size_t n, const char *cache, const char *engine)
{
	snprintf(b, n,
		 "{\"drive_id\": \"root\", \"partuuid\": \"0eaa91a0-01\", \"is_root_device\": true, \"cache_type\": \"%s\","
		 " \"is_read_only\": false, \"path_on_host\": \"%s\", \"rate_limiter\": " RL_FULL ", \"io_engine\": \"%s\"}",
		 cache, f->disk, engine);
}

static void body_logger(struct api_fixture *f, char *b, size_t n, const char *level)
{
	snprintf(b, n, "{\"level\": \"%s\", \"log_path\": \"%s\", \"show_level\": true, \"show_log_origin\": true,"
		 " \"module\": \"api_server::request\"}", level, f->log);
}

#define MACHINE_FULL "{\"vcpu_count\": 2, \"mem_size_mib\": 64, \"smt\": false, \"track_dirty_pages\": true," \
		     " \"cpu_template\": \"None\", \"huge_pages\": \"None\"}"
#define ENTROPY_FULL "{\"rate_limiter\": " RL_FULL "}"
#define NET_FULL "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"06:00:ac:10:00:02\"," \
		 " \"mtu\": 1500, \"rx_rate_limiter\": " RL_FULL ", \"tx_rate_limiter\": " RL_FULL "}"
#define VSOCK_FULL "{\"guest_cid\": 3, \"uds_path\": \"/tmp/ember-shapes-v.sock\", \"vsock_id\": \"vsock0\"}"

/* A field ember documents as refused, with a value the spec allows. */
struct refusal {
	const char *key, *value;
};

static void send_json(struct api_fixture *f, const char *method, const char *path, json_t *j, int want)
{
	char *text = json_dumps(j, JSON_COMPACT);

	assert_non_null(text);
	if (call(f, method, path, text) != want)
		fail_msg("%s %s %s: status %d (%s), wanted %d", method, path, text, f->r.status,
			 f->json ? fault(f) : "", want);
	free(text);
}

/* body must hold every field of s but the refused ones and match s. Sent
 * whole it gets `want` (a 400 then says "not implemented"); each refused
 * field added gets a 400 naming it; each required field left out gets a
 * 400 naming it. */
static void check_request(struct api_fixture *f, const char *method, const char *path, const struct shape *s,
			  const char *body, int want, const struct refusal *refused)
{
	json_t *full = json_loads(body, 0, NULL), *j;

	assert_non_null(full);
	check_shape(full, s, s->name);
	for (const struct field *fl = s->f; fl->name; fl++) {
		bool is_refused = false;

		for (const struct refusal *r = refused; r && r->key; r++)
			is_refused |= !strcmp(r->key, fl->name);
		if (!is_refused && !json_object_get(full, fl->name))
			fail_msg("the %s body leaves out '%s'", s->name, fl->name);
	}
	send_json(f, method, path, full, want);
	if (want == 400)
		assert_non_null(strstr(fault(f), "not implemented"));
	for (const struct refusal *r = refused; r && r->key; r++) {
		j = json_deep_copy(full);
		assert_int_equal(json_object_set_new(j, r->key, json_loads(r->value, JSON_DECODE_ANY, NULL)), 0);
		check_shape(j, s, s->name);
		send_json(f, method, path, j, 400);
		if (!strstr(fault(f), r->key) && !strstr(fault(f), "not supported") &&
		    !strstr(fault(f), "not implemented"))
			fail_msg("%s=%s refused with '%s'", r->key, r->value, fault(f));
		json_decref(j);
	}
	for (const struct field *fl = s->f; fl->name; fl++) {
		if (!fl->req)
			continue;
		j = json_deep_copy(full);
		json_object_del(j, fl->name);
		send_json(f, method, path, j, 400);
		if (!strstr(fault(f), fl->name))
			fail_msg("%s %s without '%s': '%s' does not name it", method, path, fl->name, fault(f));
		json_decref(j);
	}
	json_decref(full);
}

static void configure_everything(struct api_fixture *f)
{
	char b[1024];

	snprintf(b, sizeof(b), "{\"kernel_image_path\": \"%s\", \"initrd_path\": \"%s\", \"boot_args\": \"console=ttyS0\"}",
		 f->kernel, f->initrd);
	check_request(f, "PUT", "/boot-source", &BootSource, b, 204, NULL);
	body_drive(f, b, sizeof(b), "Writeback", "Sync");
	check_request(f, "PUT", "/drives/root", &Drive, b, 204,
		      (const struct refusal[]){ { "socket", "\"/tmp/vhost.sock\"" }, { NULL, NULL } });
	check_request(f, "PUT", "/machine-config", &MachineConfiguration, MACHINE_FULL, 204,
		      (const struct refusal[]){ { "cpu_template", "\"C3\"" }, { "cpu_template", "\"T2\"" },
						{ "cpu_template", "\"T2S\"" }, { "cpu_template", "\"T2CL\"" },
						{ "cpu_template", "\"T2A\"" }, { "cpu_template", "\"V1N1\"" },
						{ "huge_pages", "\"Transparent\"" }, { NULL, NULL } });
	assert_int_equal(call(f, "PATCH", "/machine-config", MACHINE_FULL), 204);
	check_request(f, "PUT", "/entropy", &EntropyDevice, ENTROPY_FULL, 204, NULL);
	body_logger(f, b, sizeof(b), "Info");
	check_request(f, "PUT", "/logger", &Logger, b, 204, NULL);
	snprintf(b, sizeof(b), "{\"metrics_path\": \"%s\"}", f->metrics);
	check_request(f, "PUT", "/metrics", &Metrics, b, 204, NULL);
}

/* ---- Tests -------------------------------------------------------------- */

static void test_request_bodies_and_responses_through_a_boot(void **state)
{
	/* Sections configured with every field, so the checker recurses into
	 * each optional part of FullVmConfiguration. */
	static const char *const present[] = {
		"drives.0.partuuid", "drives.0.rate_limiter.bandwidth.one_time_burst", "drives.0.rate_limiter.ops.size",
		"entropy.rate_limiter.ops.refill_time", "logger.log_path", "logger.module", "metrics.metrics_path",
		"boot-source.initrd_path", "boot-source.boot_args", "machine-config.huge_pages",
	};
	struct api_fixture *f = *state;
	char b[1024];

	get_all(f);
	expect_state(f, "Not started");
	assert_true(json_is_null(dig(f, "logger"))); /* null: optional and unset */
	assert_int_equal(json_array_size(dig(f, "drives")), 0);
	configure_everything(f);
	get_all(f);
	for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++)
		if (!dig(f, present[i]) || json_is_null(dig(f, present[i])))
			fail_msg("GET /vm/config has no %s", present[i]);

	/* InstanceActionInfo: FlushMetrics and InstanceStart pre-boot. */
	check_request(f, "PUT", "/actions", &InstanceActionInfo, "{\"action_type\": \"FlushMetrics\"}", 204, NULL);
	assert_int_equal(call(f, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}"), 400);
	check_request(f, "PUT", "/actions", &InstanceActionInfo, "{\"action_type\": \"InstanceStart\"}", 204, NULL);
	expect_state(f, "Running");
	get_all(f);

	/* Post-boot bodies: SendCtrlAltDel, FlushMetrics, Vm, PartialDrive. */
	check_request(f, "PUT", "/actions", &InstanceActionInfo, "{\"action_type\": \"SendCtrlAltDel\"}", 204, NULL);
	assert_int_equal(call(f, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}"), 204);
	check_request(f, "PATCH", "/vm", &Vm, "{\"state\": \"Paused\"}", 204, NULL);
	expect_state(f, "Paused");
	get_all(f);
	check_request(f, "PATCH", "/vm", &Vm, "{\"state\": \"Resumed\"}", 204, NULL);
	expect_state(f, "Running");
	snprintf(b, sizeof(b), "{\"drive_id\": \"root\", \"path_on_host\": \"%s\", \"rate_limiter\": "
		 "{\"bandwidth\": {\"size\": 5, \"refill_time\": 7}}}", f->disk2);
	check_request(f, "PATCH", "/drives/root", &PartialDrive, b, 204, NULL);
	assert_string_equal(json_string_value(dig(f, "drives.0.path_on_host")), f->disk2);
	assert_int_equal(json_integer_value(dig(f, "drives.0.rate_limiter.bandwidth.refill_time")), 7);
	get_all(f);
	assert_int_equal(call(f, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 400);
}

/* Sections only a config file can set (no API route here) still dump in
 * the spec's shapes: NetworkInterface, Vsock, Balloon. */
static void config_file_sections_dump_in_spec_shapes(void **state)
{
	struct api_fixture *f = *state;
	struct vm_spec *spec = malloc(sizeof(*spec));
	char text[2048];

	assert_non_null(spec);
	snprintf(text, sizeof(text),
		 "{\"boot-source\": {\"kernel_image_path\": \"%s\"},"
		 " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128},"
		 " \"network-interfaces\": [" NET_FULL ", {\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\"}],"
		 " \"vsock\": " VSOCK_FULL ","
		 " \"balloon\": {\"amount_mib\": 16, \"deflate_on_oom\": true, \"stats_polling_interval_s\": 1,"
		 " \"free_page_hinting\": false, \"free_page_reporting\": false}}",
		 f->kernel);
	if (spec_json_parse_config(text, strlen(text), spec))
		fail_msg("config: %s", err_last());
	controller_fini(&f->ctl);
	api_fixture_init_controller(f, spec);
	free(spec);
	get_all(f);
	assert_int_equal(json_integer_value(dig(f, "network-interfaces.0.mtu")), 1500);
	assert_string_equal(json_string_value(dig(f, "network-interfaces.0.guest_mac")), "06:00:ac:10:00:02");
	assert_true(json_is_object(dig(f, "network-interfaces.0.rx_rate_limiter.ops")));
	assert_true(json_is_object(dig(f, "network-interfaces.0.tx_rate_limiter.bandwidth")));
	assert_int_equal(json_array_size(dig(f, "network-interfaces")), 2);
	assert_int_equal(json_integer_value(dig(f, "vsock.guest_cid")), 3);
	assert_string_equal(json_string_value(dig(f, "vsock.vsock_id")), "vsock0");
	assert_true(json_is_true(dig(f, "balloon.deflate_on_oom")));
	assert_int_equal(json_integer_value(dig(f, "balloon.amount_mib")), 16);
}

/* NetworkInterface stored and Vsock refused over the API; both dumped from a file. */
static void test_network_interface_and_vsock(void **state)
{
	struct api_fixture *f = *state;

	check_request(f, "PUT", "/network-interfaces/eth0", &NetworkInterface, NET_FULL, 204, NULL);
	check_request(f, "PUT", "/vsock", &Vsock, VSOCK_FULL, 204, NULL);
	/* The spec's bounds are ember's: mtu [68, 65535], guest_cid >= 3. */
	assert_int_equal(call(f, "PUT", "/network-interfaces/eth0",
			      "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"mtu\": 67}"), 400);
	assert_non_null(strstr(fault(f), "mtu"));
	assert_int_equal(call(f, "PUT", "/vsock", "{\"guest_cid\": 2, \"uds_path\": \"/tmp/v\"}"), 400);
	assert_non_null(strstr(fault(f), "guest_cid"));
	config_file_sections_dump_in_spec_shapes(state);
}

static void test_enum_values_are_accepted_and_echoed(void **state)
{
	struct api_fixture *f = *state;
	char b[1024];

	for (const char *const *c = e_cache_type; *c; c++) {
		for (const char *const *e = e_io_engine; *e; e++) {
			body_drive(f, b, sizeof(b), *c, *e);
			assert_int_equal(call(f, "PUT", "/drives/root", b), 204);
			assert_string_equal(json_string_value(dig(f, "drives.0.cache_type")), *c);
			assert_string_equal(json_string_value(dig(f, "drives.0.io_engine")), *e);
		}
	}
	for (const char *const *l = e_level; *l; l++) {
		body_logger(f, b, sizeof(b), *l);
		assert_int_equal(call(f, "PUT", "/logger", b), 204);
		assert_string_equal(json_string_value(dig(f, "logger.level")), *l);
	}
	/* "The possible values are case-insensitive." */
	body_logger(f, b, sizeof(b), "warning");
	assert_int_equal(call(f, "PUT", "/logger", b), 204);
	assert_string_equal(json_string_value(dig(f, "logger.level")), "Warning");
	assert_int_equal(call(f, "PUT", "/logger", "{\"level\": \"Loud\"}"), 400);
	assert_non_null(strstr(fault(f), "level"));
	/* huge_pages: None and 2M; cpu_template: None (others refused above). */
	assert_int_equal(call(f, "PUT", "/machine-config",
			      "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"2M\"}"), 204);
	assert_string_equal(json_string_value(dig(f, "machine-config.huge_pages")), "2M");
	assert_int_equal(call(f, "PATCH", "/machine-config", "{\"huge_pages\": \"None\", \"cpu_template\": \"None\"}"),
			 204);
	assert_int_equal(call(f, "GET", "/machine-config", NULL), 200);
	assert_string_equal(json_string_value(json_object_get(f->json, "huge_pages")), "None");
	assert_int_equal(call(f, "PUT", "/machine-config", "{\"vcpu_count\": 33, \"mem_size_mib\": 128}"), 400);
	assert_non_null(strstr(fault(f), "vcpu_count"));
	assert_int_equal(call(f, "PUT", "/machine-config", "{\"vcpu_count\": 32, \"mem_size_mib\": 128}"), 204);
	/* Vm and InstanceActionInfo enums: values outside them are refused. */
	assert_int_equal(call(f, "PATCH", "/vm", "{\"state\": \"Running\"}"), 400);
	assert_int_equal(call(f, "PUT", "/actions", "{\"action_type\": \"Reboot\"}"), 400);
	assert_int_equal(call(f, "PUT", "/drives/root", "{\"drive_id\": \"root\", \"is_root_device\": true,"
			      " \"path_on_host\": \"/tmp\", \"cache_type\": \"None\"}"), 400);
}

static bool text_ok(const char *text, const struct shape *s)
{
	json_t *j = json_loads(text, 0, NULL);
	bool ok;

	assert_non_null(j);
	ok = shape_ok(j, s, s->name);
	json_decref(j);
	return ok;
}

/* The checker itself catches what it is there for. */
static void test_checker_catches_mismatches(void **state)
{
	(void)state;
	assert_true(text_ok("{\"app_name\": \"e\", \"id\": \"i\", \"state\": \"Paused\", \"vmm_version\": \"1\"}",
			    &InstanceInfo));
	assert_false(text_ok("{\"app_name\": \"e\", \"id\": \"i\", \"state\": \"Booting\", \"vmm_version\": \"1\"}",
			     &InstanceInfo));
	assert_false(text_ok("{\"app_name\": \"e\", \"id\": \"i\", \"state\": \"Running\"}", &InstanceInfo));
	assert_false(text_ok("{\"app_name\": \"e\", \"id\": null, \"state\": \"Running\", \"vmm_version\": \"1\"}",
			     &InstanceInfo));
	assert_false(text_ok("{\"fault_message\": \"x\", \"x\": 1}", &Error));
	assert_false(text_ok("{\"vcpu_count\": 33, \"mem_size_mib\": true}", &MachineConfiguration));
	assert_false(text_ok("{\"drives\": [{\"drive_id\": \"a\", \"is_root_device\": true, \"rate_limiter\":"
			     " {\"ops\": {\"size\": 1}}}]}", &FullVmConfiguration));
	assert_non_null(strstr(why, "refill_time"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checker_catches_mismatches),
		cmocka_unit_test_setup_teardown(test_request_bodies_and_responses_through_a_boot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_network_interface_and_vsock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enum_values_are_accepted_and_echoed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
