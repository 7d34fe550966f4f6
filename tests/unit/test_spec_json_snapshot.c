/* PUT /snapshot/create and PUT /snapshot/load bodies: every field and
 * default, every refusal with its key path (Firecracker's own words for
 * the mem_backend / mem_file_path choice), length limits, duplicates,
 * truncation, and all-or-nothing output. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/spec_json.h"

enum kind { CREATE, LOAD };

static struct snapshot_create_params cp;
static struct snapshot_load_params lp;

static const char full_create[] =
	"{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"/s/vm.state\", \"mem_file_path\": \"/s/vm.mem\"}\n";

static const char full_load[] =
	"{\n"
	"  \"snapshot_path\": \"/s/vm.state\",\n"
	"  \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"/s/vm.mem\"},\n"
	"  \"track_dirty_pages\": false,\n"
	"  \"enable_diff_snapshots\": true,\n"
	"  \"resume_vm\": true,\n"
	"  \"clock_realtime\": true,\n"
	"  \"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap7\"},\n"
	"                        {\"iface_id\": \"net_1\", \"host_dev_name\": \"fc-tap-8\"}],\n"
	"  \"vsock_override\": {\"uds_path\": \"/run/v2.sock\"}\n"
	"}\n";

/* Decodes text and runs the parser; a decoding error is a refusal too. */
static int parse_len(enum kind k, const char *path, const char *text, size_t len)
{
	json_t *j;
	int ret = spec_json_load(text, len, &j);

	if (ret)
		return ret;
	ret = k == CREATE ? spec_json_parse_snapshot_create(j, path, &cp) : spec_json_parse_snapshot_load(j, path, &lp);
	json_decref(j);
	return ret;
}

static int parse(enum kind k, const char *text)
{
	return parse_len(k, "", text, strlen(text));
}

/* A refused body names the key and leaves the output alone. */
static void expect_error_at(enum kind k, const char *path, const char *text, const char *what)
{
	static struct snapshot_create_params cs;
	static struct snapshot_load_params ls;
	int ret;

	memset(&cp, 0x5a, sizeof(cp));
	memset(&lp, 0x5a, sizeof(lp));
	memset(&cs, 0x5a, sizeof(cs));
	memset(&ls, 0x5a, sizeof(ls));
	ret = parse_len(k, path, text, strlen(text));
	if (ret != -EINVAL)
		fail_msg("returned %d, not -EINVAL: %s", ret, text);
	if (!strstr(err_last(), what))
		fail_msg("%s\n  error \"%s\" lacks \"%s\"", text, err_last(), what);
	if (memcmp(&cp, &cs, sizeof(cp)) || memcmp(&lp, &ls, sizeof(lp)))
		fail_msg("output changed on error: %s", text);
}

static void expect_error(enum kind k, const char *text, const char *what)
{
	expect_error_at(k, "", text, what);
}

static void test_create_fields(void **state)
{
	(void)state;
	memset(&cp, 0x5a, sizeof(cp));
	assert_int_equal(parse(CREATE, full_create), 0);
	assert_string_equal(cp.snapshot_path, "/s/vm.state");
	assert_string_equal(cp.mem_file_path, "/s/vm.mem");
	assert_int_equal(cp.type, SNAPSHOT_DIFF);
	/* Full by default, absent or null, and when named. */
	assert_int_equal(parse(CREATE, "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\"}"), 0);
	assert_int_equal(cp.type, SNAPSHOT_FULL);
	assert_string_equal(cp.snapshot_path, "a");
	assert_int_equal(parse(CREATE, "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"snapshot_type\": null}"), 0);
	assert_int_equal(cp.type, SNAPSHOT_FULL);
	assert_int_equal(parse(CREATE, "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"snapshot_type\": \"Full\"}"),
			 0);
	assert_int_equal(cp.type, SNAPSHOT_FULL);
	/* Relative paths are paths (Firecracker's jailer uses them). */
	assert_int_equal(parse(CREATE, "{\"snapshot_path\": \"snap/vmstate\", \"mem_file_path\": \"snap/mem\"}"), 0);
	assert_string_equal(cp.mem_file_path, "snap/mem");
}

static void test_create_errors(void **state)
{
	static const struct {
		const char *text, *what;
	} cases[] = {
		{ "{}", "snapshot_path: missing (required)" },
		{ "{\"snapshot_path\": \"a\"}", "mem_file_path: missing (required)" },
		{ "{\"mem_file_path\": \"b\"}", "snapshot_path: missing (required)" },
		{ "{\"snapshot_path\": null, \"mem_file_path\": \"b\"}", "snapshot_path: missing (required)" },
		{ "{\"snapshot_path\": \"\", \"mem_file_path\": \"b\"}", "snapshot_path: must not be empty" },
		{ "{\"snapshot_path\": \"a\", \"mem_file_path\": \"\"}", "mem_file_path: must not be empty" },
		{ "{\"snapshot_path\": 1, \"mem_file_path\": \"b\"}", "snapshot_path: expected a string, not an integer" },
		{ "{\"snapshot_path\": \"a\", \"mem_file_path\": [\"b\"]}", "mem_file_path: expected a string, not an array" },
		{ "{\"snapshot_path\": \"a\\u0000b\", \"mem_file_path\": \"b\"}", "snapshot_path: holds a NUL byte" },
		{ "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"snapshot_type\": \"diff\"}",
		  "snapshot_type: 'diff' is not one of Full, Diff" },
		{ "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"snapshot_type\": \"Incremental\"}",
		  "snapshot_type: 'Incremental' is not one of Full, Diff" },
		{ "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"snapshot_type\": 1}",
		  "snapshot_type: expected a string, not an integer" },
		{ "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"snapshot_type\": \"Fullxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}", "snapshot_type: not a known value" },
		{ "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"version\": \"1.0.0\"}",
		  "version: not accepted (Firecracker 1.6 removed it" },
		{ "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"version\": null}", "version: not accepted" },
		{ "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"mem_backend\": {}}", "mem_backend: unknown key" },
		{ "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"resume_vm\": true}", "resume_vm: unknown key" },
		{ "{\"snapshot_path\": \"/s/x\", \"mem_file_path\": \"/s/x\"}", "mem_file_path: the same file as snapshot_path" },
		{ "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"snapshot_path\": \"c\"}", "duplicate object key" },
		{ "[]", "body: expected an object, not an array" },
		{ "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\"", "invalid JSON" },
		{ "", "invalid JSON" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(CREATE, cases[i].text, cases[i].what);
}

static void test_load_fields(void **state)
{
	(void)state;
	memset(&lp, 0x5a, sizeof(lp));
	assert_int_equal(parse(LOAD, full_load), 0);
	assert_string_equal(lp.snapshot_path, "/s/vm.state");
	assert_string_equal(lp.mem_file_path, "/s/vm.mem");
	/* The deprecated enable_diff_snapshots turns tracking on even beside
	 * track_dirty_pages: false. */
	assert_true(lp.track_dirty_pages);
	assert_true(lp.resume_vm);
	assert_true(lp.clock_realtime);
	assert_int_equal(lp.mem_mode, RESTORE_MEM_LAZY);
	assert_int_equal(lp.nr_net_overrides, 2);
	assert_string_equal(lp.net_overrides[0].iface_id, "eth0");
	assert_string_equal(lp.net_overrides[0].host_dev_name, "tap7");
	assert_string_equal(lp.net_overrides[1].iface_id, "net_1");
	assert_string_equal(lp.net_overrides[1].host_dev_name, "fc-tap-8");
	/* Entries past the count are zero, not left over. */
	assert_string_equal(lp.net_overrides[2].iface_id, "");
	assert_true(lp.has_vsock_override);
	assert_string_equal(lp.vsock_uds_path, "/run/v2.sock");
}

static void test_load_defaults_and_variants(void **state)
{
	(void)state;
	/* The least a body can say: everything else off and empty. */
	memset(&lp, 0x5a, sizeof(lp));
	assert_int_equal(parse(LOAD, "{\"snapshot_path\": \"s\", \"mem_backend\": {\"backend_path\": \"m\","
				     " \"backend_type\": \"File\"}}"), 0);
	assert_string_equal(lp.snapshot_path, "s");
	assert_string_equal(lp.mem_file_path, "m");
	assert_false(lp.track_dirty_pages || lp.resume_vm || lp.clock_realtime || lp.has_vsock_override);
	assert_int_equal(lp.mem_mode, RESTORE_MEM_LAZY);
	assert_int_equal(lp.nr_net_overrides, 0);
	assert_string_equal(lp.vsock_uds_path, "");
	assert_string_equal(lp.net_overrides[0].iface_id, "");

	/* The deprecated mem_file_path lands in the same field. */
	assert_int_equal(parse(LOAD, "{\"snapshot_path\": \"s\", \"mem_file_path\": \"/old/mem\"}"), 0);
	assert_string_equal(lp.mem_file_path, "/old/mem");
	/* Nulls are absent: the other mem key then counts alone. */
	assert_int_equal(parse(LOAD, "{\"snapshot_path\": \"s\", \"mem_file_path\": \"/m\", \"mem_backend\": null,"
				     " \"network_overrides\": null, \"vsock_override\": null, \"resume_vm\": null,"
				     " \"track_dirty_pages\": null, \"enable_diff_snapshots\": null, \"clock_realtime\": null}"),
			 0);
	assert_string_equal(lp.mem_file_path, "/m");
	assert_false(lp.has_vsock_override || lp.resume_vm || lp.track_dirty_pages);
	assert_int_equal(parse(LOAD, "{\"snapshot_path\": \"s\", \"mem_file_path\": null,"
				     " \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"/b\"}}"), 0);
	assert_string_equal(lp.mem_file_path, "/b");

	/* Either dirty-page key alone turns tracking on. */
	assert_int_equal(parse(LOAD, "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", \"track_dirty_pages\": true}"), 0);
	assert_true(lp.track_dirty_pages);
	assert_int_equal(parse(LOAD, "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", \"enable_diff_snapshots\": true}"),
			 0);
	assert_true(lp.track_dirty_pages);
	assert_int_equal(parse(LOAD, "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", \"enable_diff_snapshots\": false,"
				     " \"track_dirty_pages\": false}"), 0);
	assert_false(lp.track_dirty_pages);

	/* An empty override list is no override. */
	assert_int_equal(parse(LOAD, "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", \"network_overrides\": []}"), 0);
	assert_int_equal(lp.nr_net_overrides, 0);
	/* A new parse starts afresh: nothing stays from the one before. */
	assert_int_equal(parse(LOAD, full_load), 0);
	assert_int_equal(parse(LOAD, "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}"), 0);
	assert_int_equal(lp.nr_net_overrides, 0);
	assert_false(lp.has_vsock_override);
	assert_string_equal(lp.net_overrides[1].host_dev_name, "");
}

#define MEM "\"mem_file_path\": \"m\""
#define SNAP "\"snapshot_path\": \"s\""

static void test_load_errors(void **state)
{
	static const struct {
		const char *text, *what;
	} cases[] = {
		{ "{" MEM "}", "snapshot_path: missing (required)" },
		{ "{\"snapshot_path\": \"\", " MEM "}", "snapshot_path: must not be empty" },
		{ "{\"snapshot_path\": true, " MEM "}", "snapshot_path: expected a string, not a boolean" },
		{ "{\"snapshot_path\": \"a\\u0000\", " MEM "}", "snapshot_path: holds a NUL byte" },
		{ "{" SNAP ", \"mem_file_path\": \"\"}", "mem_file_path: must not be empty" },
		{ "{" SNAP ", \"mem_file_path\": 5}", "mem_file_path: expected a string, not an integer" },
		{ "{" SNAP ", \"mem_file_path\": \"/m\\u0000x\"}", "mem_file_path: holds a NUL byte" },
		/* mem_backend */
		{ "{" SNAP ", \"mem_backend\": \"File\"}", "mem_backend: expected an object, not a string" },
		{ "{" SNAP ", \"mem_backend\": []}", "mem_backend: expected an object, not an array" },
		{ "{" SNAP ", \"mem_backend\": {}}", "mem_backend.backend_type: missing (required)" },
		{ "{" SNAP ", \"mem_backend\": {\"backend_path\": \"m\"}}", "mem_backend.backend_type: missing (required)" },
		{ "{" SNAP ", \"mem_backend\": {\"backend_type\": \"File\"}}", "mem_backend.backend_path: missing (required)" },
		{ "{" SNAP ", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"\"}}",
		  "mem_backend.backend_path: must not be empty" },
		{ "{" SNAP ", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": 1.5}}",
		  "mem_backend.backend_path: expected a string, not a real number" },
		{ "{" SNAP ", \"mem_backend\": {\"backend_type\": \"file\", \"backend_path\": \"m\"}}",
		  "mem_backend.backend_type: 'file' is not one of File, Uffd" },
		{ "{" SNAP ", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"/uffd.sock\"}}",
		  "mem_backend.backend_type: Uffd (guest memory served by a userfaultfd page-fault handler) is not "
		  "supported by ember (use File)" },
		{ "{" SNAP ", \"mem_backend\": {\"backend_type\": \"Uffd\"}}", "mem_backend.backend_type: Uffd" },
		{ "{" SNAP ", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"m\", \"x\": 1}}",
		  "mem_backend.x: unknown key" },
		{ "{" SNAP ", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"m\", \"backend_type\": \"Uffd\"}}",
		  "duplicate object key" },
		/* the other keys */
		{ "{" SNAP ", " MEM ", \"resume_vm\": \"true\"}", "resume_vm: expected a boolean, not a string" },
		{ "{" SNAP ", " MEM ", \"resume_vm\": 1}", "resume_vm: expected a boolean, not an integer" },
		{ "{" SNAP ", " MEM ", \"track_dirty_pages\": 0}", "track_dirty_pages: expected a boolean" },
		{ "{" SNAP ", " MEM ", \"enable_diff_snapshots\": \"yes\"}", "enable_diff_snapshots: expected a boolean" },
		{ "{" SNAP ", " MEM ", \"clock_realtime\": {}}", "clock_realtime: expected a boolean, not an object" },
		{ "{" SNAP ", " MEM ", \"huge_pages\": \"None\"}", "huge_pages: unknown key" },
		{ "{" SNAP ", " MEM ", \"snapshot_type\": \"Full\"}", "snapshot_type: unknown key" },
		{ "{" SNAP ", " MEM ", \"Resume_vm\": true}", "Resume_vm: unknown key" },
		/* network_overrides */
		{ "{" SNAP ", " MEM ", \"network_overrides\": {}}", "network_overrides: expected an array" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [5]}", "network_overrides[0]: expected an object, not an integer" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [null]}", "network_overrides[0]: expected an object, not null" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{}]}", "network_overrides[0].iface_id: missing (required)" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"eth0\"}]}",
		  "network_overrides[0].host_dev_name: missing (required)" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"host_dev_name\": \"t\"}]}",
		  "network_overrides[0].iface_id: missing (required)" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"t\", \"guest_mac\": \"x\"}]}",
		  "network_overrides[0].guest_mac: unknown key" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"eth-0\", \"host_dev_name\": \"t\"}]}",
		  "network_overrides[0].iface_id: 'eth-0' may hold only letters, digits and '_'" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"\", \"host_dev_name\": \"t\"}]}",
		  "network_overrides[0].iface_id: must not be empty" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": 0, \"host_dev_name\": \"t\"}]}",
		  "network_overrides[0].iface_id: expected a string, not an integer" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"e\", \"host_dev_name\": \"\"}]}",
		  "network_overrides[0].host_dev_name: must not be empty" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"e\", \"host_dev_name\": \"a/b\"}]}",
		  "network_overrides[0].host_dev_name: not a valid interface name" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"e\", \"host_dev_name\": \"a:b\"}]}",
		  "network_overrides[0].host_dev_name: not a valid interface name" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"e\", \"host_dev_name\": \"a b\"}]}",
		  "network_overrides[0].host_dev_name: not a valid interface name" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"e\", \"host_dev_name\": \"t\\u0001\"}]}",
		  "network_overrides[0].host_dev_name: not a valid interface name" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"e\", \"host_dev_name\": \"t\\u007f\"}]}",
		  "network_overrides[0].host_dev_name: not a valid interface name" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"e\", \"host_dev_name\": \"\\u00e9\"}]}",
		  "network_overrides[0].host_dev_name: not a valid interface name" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"e\", \"host_dev_name\": \"..\"}]}",
		  "network_overrides[0].host_dev_name: '..' is not a valid interface name" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"e\", \"host_dev_name\": \"t\\u0000\"}]}",
		  "network_overrides[0].host_dev_name: holds a NUL byte" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"e\", \"host_dev_name\": \"abcdefghijklmnop\"}]}",
		  "network_overrides[0].host_dev_name: longer than 15 bytes" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"t0\"},"
		  " {\"iface_id\": \"eth0\", \"host_dev_name\": \"t1\"}]}", "network_overrides[1].iface_id: eth0 is given twice" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"t0\"},"
		  " {\"iface_id\": \"eth1\", \"host_dev_name\": \"t1\"}, {\"iface_id\": \"eth2\", \"host_dev_name\": \"t0\"}]}",
		  "network_overrides[2].host_dev_name: t0 is given twice" },
		{ "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"t0\"},"
		  " {\"iface_id\": \"eth1\", \"host_dev_name\": \"t1\", \"iface_id\": \"eth2\"}]}", "duplicate object key" },
		/* vsock_override */
		{ "{" SNAP ", " MEM ", \"vsock_override\": \"/v.sock\"}", "vsock_override: expected an object, not a string" },
		{ "{" SNAP ", " MEM ", \"vsock_override\": {}}", "vsock_override.uds_path: missing (required)" },
		{ "{" SNAP ", " MEM ", \"vsock_override\": {\"uds_path\": \"\"}}", "vsock_override.uds_path: must not be empty" },
		{ "{" SNAP ", " MEM ", \"vsock_override\": {\"uds_path\": null}}", "vsock_override.uds_path: missing (required)" },
		{ "{" SNAP ", " MEM ", \"vsock_override\": {\"uds_path\": \"/v\\u0000\"}}", "vsock_override.uds_path: holds a NUL" },
		{ "{" SNAP ", " MEM ", \"vsock_override\": {\"uds_path\": \"/v\", \"guest_cid\": 3}}",
		  "vsock_override.guest_cid: unknown key" },
		/* the document */
		{ "[]", "body: expected an object, not an array" },
		{ "{" SNAP ", " MEM ", " SNAP "}", "duplicate object key" },
		{ "{" SNAP ", " MEM ", \"a\\u0000b\": 1}", "NUL byte in object key" },
		{ "{" SNAP ", " MEM "} x", "invalid JSON" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(LOAD, cases[i].text, cases[i].what);
}

static void test_load_mem_choice_firecracker_words(void **state)
{
	(void)state;
	/* Firecracker's exact messages, which clients match on. */
	expect_error(LOAD, "{" SNAP "}", "");
	assert_string_equal(err_last(), "missing field: either `mem_backend` or `mem_file_path` is required");
	expect_error(LOAD, "{" SNAP ", \"mem_file_path\": null, \"mem_backend\": null}", "");
	assert_string_equal(err_last(), "missing field: either `mem_backend` or `mem_file_path` is required");
	expect_error(LOAD, "{" SNAP ", " MEM ", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"m\"}}", "");
	assert_string_equal(err_last(),
			    "too many fields: either `mem_backend` or `mem_file_path` exclusively is required");
	/* Both present is refused whatever either holds. */
	expect_error(LOAD, "{" SNAP ", \"mem_file_path\": 7, \"mem_backend\": {}}", "too many fields");
	/* Under a key path (a body nested somewhere) the path comes first. */
	expect_error_at(LOAD, "load", "{" SNAP "}", "load: missing field: either `mem_backend`");
	expect_error_at(LOAD, "load", "{" SNAP ", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"u\"}}",
			"load.mem_backend.backend_type: Uffd");
	expect_error_at(LOAD, "load", "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"e\"}]}",
			"load.network_overrides[0].host_dev_name: missing (required)");
	expect_error_at(LOAD, "load", "{" SNAP ", " MEM ", \"vsock_override\": {\"x\": 1}}", "load.vsock_override.x: unknown key");
	expect_error_at(CREATE, "create", "{\"snapshot_path\": \"a\"}", "create.mem_file_path: missing (required)");
	expect_error_at(CREATE, "create", "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"version\": \"1\"}",
			"create.version: not accepted");
}

/* Builds {<prefix>"<len times c>"<suffix>} on the heap. */
static char *with_long(const char *prefix, size_t len, char c, const char *suffix)
{
	size_t a = strlen(prefix), b = strlen(suffix);
	char *s = malloc(a + len + b + 1);

	assert_non_null(s);
	memcpy(s, prefix, a);
	memset(s + a, c, len);
	memcpy(s + a + len, suffix, b + 1);
	return s;
}

static void test_length_limits(void **state)
{
	static const struct {
		enum kind k;
		const char *prefix, *suffix, *what;
	} paths[] = {
		{ CREATE, "{\"mem_file_path\": \"m\", \"snapshot_path\": \"", "\"}", "snapshot_path: longer than 4095 bytes" },
		{ CREATE, "{\"snapshot_path\": \"s\", \"mem_file_path\": \"", "\"}", "mem_file_path: longer than 4095 bytes" },
		{ LOAD, "{" MEM ", \"snapshot_path\": \"", "\"}", "snapshot_path: longer than 4095 bytes" },
		{ LOAD, "{" SNAP ", \"mem_file_path\": \"", "\"}", "mem_file_path: longer than 4095 bytes" },
		{ LOAD, "{" SNAP ", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"", "\"}}",
		  "mem_backend.backend_path: longer than 4095 bytes" },
		{ LOAD, "{" SNAP ", " MEM ", \"vsock_override\": {\"uds_path\": \"", "\"}}",
		  "vsock_override.uds_path: longer than 4095 bytes" },
	};
	char *s;

	(void)state;
	/* SPEC_PATH_MAX - 1 bytes fit, one more does not. */
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		s = with_long(paths[i].prefix, SPEC_PATH_MAX - 1, 'p', paths[i].suffix);
		if (parse(paths[i].k, s))
			fail_msg("case %zu: %s", i, err_last());
		free(s);
		s = with_long(paths[i].prefix, SPEC_PATH_MAX, 'p', paths[i].suffix);
		expect_error(paths[i].k, s, paths[i].what);
		free(s);
	}

	/* An iface_id of SPEC_ID_MAX fits; one more does not. */
	s = with_long("{" SNAP ", " MEM ", \"network_overrides\": [{\"host_dev_name\": \"t\", \"iface_id\": \"", SPEC_ID_MAX,
		      'i', "\"}]}");
	assert_int_equal(parse(LOAD, s), 0);
	assert_int_equal(strlen(lp.net_overrides[0].iface_id), SPEC_ID_MAX);
	free(s);
	s = with_long("{" SNAP ", " MEM ", \"network_overrides\": [{\"host_dev_name\": \"t\", \"iface_id\": \"",
		      SPEC_ID_MAX + 1, 'i', "\"}]}");
	expect_error(LOAD, s, "network_overrides[0].iface_id: longer than 64 bytes");
	free(s);
	/* A host_dev_name of 15 bytes (IFNAMSIZ - 1) fits. */
	assert_int_equal(parse(LOAD, "{" SNAP ", " MEM ", \"network_overrides\": [{\"iface_id\": \"e\","
				     " \"host_dev_name\": \"abcdefghijklmno\"}]}"), 0);
	assert_string_equal(lp.net_overrides[0].host_dev_name, "abcdefghijklmno");
	/* Unknown keys are shown bounded, whatever their length. */
	s = with_long("{" SNAP ", " MEM ", \"", 3000, 'k', "\": 1}");
	expect_error(LOAD, s, "kkk...: unknown key");
	assert_true(strlen(err_last()) < 200);
	free(s);
	s = with_long("{" SNAP ", " MEM ", \"mem_backend\": null, \"vsock_override\": {\"", 3000, 'k', "\": 1}}");
	expect_error(LOAD, s, "vsock_override.kkk");
	free(s);
}

static void test_too_many_overrides(void **state)
{
	static char text[4096];
	size_t len;

	(void)state;
	for (int n = SPEC_MAX_NETS; n <= SPEC_MAX_NETS + 1; n++) {
		len = (size_t)sprintf(text, "{" SNAP ", " MEM ", \"network_overrides\": [");
		for (int i = 0; i < n; i++)
			len += (size_t)sprintf(text + len, "%s{\"iface_id\": \"eth%d\", \"host_dev_name\": \"tap%d\"}",
					       i ? ", " : "", i, i);
		strcpy(text + len, "]}");
		if (n == SPEC_MAX_NETS) {
			assert_int_equal(parse(LOAD, text), 0);
			assert_int_equal(lp.nr_net_overrides, SPEC_MAX_NETS);
			assert_string_equal(lp.net_overrides[SPEC_MAX_NETS - 1].iface_id, "eth7");
			assert_string_equal(lp.net_overrides[SPEC_MAX_NETS - 1].host_dev_name, "tap7");
		} else {
			expect_error(LOAD, text, "network_overrides: at most 8 interfaces");
		}
	}
}

/* Every proper prefix of a good body is refused, by the decoder or by
 * the parser; the copies are exact-size so an overread shows in valgrind. */
static void every_prefix_refused(enum kind k, const char *text)
{
	size_t len = strlen(text);

	/* The last byte is a newline: everything before the closing brace is
	 * a proper prefix. */
	for (size_t cut = 0; cut < len - 1; cut++) {
		char *copy = malloc(cut ? cut : 1);

		assert_non_null(copy);
		memcpy(copy, text, cut);
		if (parse_len(k, "", copy, cut) >= 0)
			fail_msg("prefix of %zu bytes accepted", cut);
		free(copy);
	}
	assert_int_equal(parse_len(k, "", text, len - 1), 0);
}

static void test_every_prefix_refused(void **state)
{
	(void)state;
	every_prefix_refused(CREATE, full_create);
	every_prefix_refused(LOAD, full_load);
}

static void test_non_object_bodies(void **state)
{
	json_t *j;

	(void)state;
	/* Whatever the decoder lets through, the parsers refuse anything but
	 * an object. */
	j = json_string("x");
	assert_int_equal(spec_json_parse_snapshot_create(j, "", &cp), -EINVAL);
	assert_string_equal(err_last(), "body: expected an object, not a string");
	assert_int_equal(spec_json_parse_snapshot_load(j, "", &lp), -EINVAL);
	assert_string_equal(err_last(), "body: expected an object, not a string");
	json_decref(j);
	j = json_null();
	assert_int_equal(spec_json_parse_snapshot_load(j, "", &lp), -EINVAL);
	assert_int_equal(spec_json_parse_snapshot_create(j, "", &cp), -EINVAL);
	json_decref(j);
	j = json_integer(3);
	assert_int_equal(spec_json_parse_snapshot_load(j, "snap", &lp), -EINVAL);
	assert_string_equal(err_last(), "snap: expected an object, not an integer");
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_fields),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_load_fields),
		cmocka_unit_test(test_load_defaults_and_variants),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_mem_choice_firecracker_words),
		cmocka_unit_test(test_length_limits),
		cmocka_unit_test(test_too_many_overrides),
		cmocka_unit_test(test_every_prefix_refused),
		cmocka_unit_test(test_non_object_bodies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
