/* libFuzzer target: PUT /snapshot/create and PUT /snapshot/load bodies
 * (host-user input). Every input goes through both parsers; whatever one
 * accepts must hold the invariants the controller relies on: paths
 * non-empty and NUL-terminated in their arrays, at most SPEC_MAX_NETS
 * overrides with valid, distinct ids and interface names, nothing set
 * beyond what the count or flag says, and a refused body leaves the
 * output alone. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/spec_json.h"

static void check_path(const char *p, size_t size)
{
	size_t len = strnlen(p, size);

	if (!len || len >= size)
		abort();
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void check_ifname(const char *s)
{
	size_t len = strnlen(s, 16);

	if (!len || len >= 16 || !strcmp(s, ".") || !strcmp(s, ".."))
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 0x7f || c == '/' || c == ':')
			abort();
	}
}

static void check_create(const struct snapshot_create_params *p)
{
	check_path(p->snapshot_path, sizeof(p->snapshot_path));
	check_path(p->mem_file_path, sizeof(p->mem_file_path));
	if (!strcmp(p->snapshot_path, p->mem_file_path))
		abort();
	if (p->type != SNAPSHOT_FULL && p->type != SNAPSHOT_DIFF)
		abort();
}

static void check_load(const struct snapshot_load_params *p)
{
	check_path(p->snapshot_path, sizeof(p->snapshot_path));
	check_path(p->mem_file_path, sizeof(p->mem_file_path));
	if (p->mem_mode != RESTORE_MEM_LAZY || p->nr_net_overrides > SPEC_MAX_NETS)
		abort();
	for (unsigned i = 0; i < p->nr_net_overrides; i++) {
		const struct snapshot_net_override *o = &p->net_overrides[i];

		if (strnlen(o->iface_id, sizeof(o->iface_id)) >= sizeof(o->iface_id) ||
		    vm_spec_check_id("iface_id", o->iface_id))
			abort();
		check_ifname(o->host_dev_name);
		for (unsigned k = 0; k < i; k++)
			if (!strcmp(p->net_overrides[k].iface_id, o->iface_id) ||
			    !strcmp(p->net_overrides[k].host_dev_name, o->host_dev_name))
				abort();
	}
	if (!all_zero(&p->net_overrides[p->nr_net_overrides],
		      (SPEC_MAX_NETS - p->nr_net_overrides) * sizeof(p->net_overrides[0])))
		abort();
	if (p->has_vsock_override)
		check_path(p->vsock_uds_path, sizeof(p->vsock_uds_path));
	else if (p->vsock_uds_path[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct snapshot_create_params create, create_before;
	static struct snapshot_load_params load, load_before;
	json_t *j;

	if (spec_json_load((const char *)data, size, &j))
		return 0;
	memset(&create, 0xa5, sizeof(create));
	create_before = create;
	if (!spec_json_parse_snapshot_create(j, "", &create))
		check_create(&create);
	else if (memcmp(&create, &create_before, sizeof(create)))
		abort();
	memset(&load, 0xa5, sizeof(load));
	load_before = load;
	if (!spec_json_parse_snapshot_load(j, "", &load))
		check_load(&load);
	else if (memcmp(&load, &load_before, sizeof(load)))
		abort();
	json_decref(j);
	return 0;
}
