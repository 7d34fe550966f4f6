/* PUT /snapshot/create and PUT /snapshot/load bodies into the plain structs
 * of vmm/snapshot_params.h, with the conventions of spec_json.c: key-path
 * messages, unknown keys refused, null as absent, all-or-nothing.
 *
 * What we accept, against Firecracker 1.10+ (swagger SnapshotCreateParams,
 * SnapshotLoadParams, MemoryBackend, NetworkOverride, VsockOverride):
 *  - create: snapshot_path, mem_file_path, snapshot_type (Full | Diff,
 *    default Full). `version` is refused: Firecracker deprecated it in 1.5
 *    and removed it in 1.6 (its CreateSnapshotParams denies unknown fields).
 *  - load: snapshot_path; exactly one of mem_backend {backend_type,
 *    backend_path} or the deprecated mem_file_path, with Firecracker's own
 *    words when both or neither are given; backend_type Uffd is refused
 *    (ember has no userfaultfd handler protocol); track_dirty_pages or the
 *    deprecated enable_diff_snapshots (either one turns tracking on);
 *    resume_vm; network_overrides; vsock_override; clock_realtime.
 *    Firecracker answers the deprecated keys with a Deprecation header;
 *    ember has no such header and takes them silently.
 * Stricter than Firecracker, as everywhere in ember: paths are non-empty,
 * bounded and NUL-free; override ids follow the resource-id rule; a
 * host_dev_name follows the kernel's interface-name rule; an interface or
 * TAP named twice in network_overrides is refused. */
#include <errno.h>
#include <string.h>

#include "vmm/spec_json.h"
#include "vmm/spec_json_field.h"

/* Firecracker's messages (src/firecracker/src/api_server/request/snapshot.rs). */
#define MSG_MEM_MISSING "missing field: either `mem_backend` or `mem_file_path` is required"
#define MSG_MEM_BOTH "too many fields: either `mem_backend` or `mem_file_path` exclusively is required"

/* A whole-body condition: the message alone for an API body, else with
 * the key path in front. */
static int body_error(const char *path, const char *msg)
{
	if (path && path[0])
		return err_set(-EINVAL, "%s: %s", path, msg);
	return err_set(-EINVAL, "%s", msg);
}

static int path_field(json_t *j, const char *path, const char *key, unsigned flags, char *out)
{
	return jf_string(j, path, key, flags | JF_NONEMPTY, out, SPEC_PATH_MAX);
}

int spec_json_parse_snapshot_create(json_t *j, const char *path, struct snapshot_create_params *out)
{
	static const char *const keys[] = { "snapshot_path", "mem_file_path", "snapshot_type", NULL };
	static const char *const types[] = { "Full", "Diff", NULL };
	struct snapshot_create_params p;
	char at[JF_PATH_MAX];
	unsigned e = 0;
	int ret;

	if (json_is_object(j) && json_object_get(j, "version")) {
		jf_join(at, sizeof(at), path, "version");
		return err_set(-EINVAL, "%s: not accepted (Firecracker 1.6 removed it: a snapshot is always written "
				       "in the current format)", at);
	}
	if ((ret = jf_check_object(j, path, keys)))
		return ret;
	memset(&p, 0, sizeof(p));
	if ((ret = path_field(j, path, "snapshot_path", JF_REQUIRED, p.snapshot_path)) < 0 ||
	    (ret = path_field(j, path, "mem_file_path", JF_REQUIRED, p.mem_file_path)) < 0 ||
	    (ret = jf_enum(j, path, "snapshot_type", 0, types, &e)) < 0)
		return ret;
	/* The memory file would overwrite the state just written, or the
	 * other way round. (Other spellings of one file are the caller's to
	 * catch when it opens them.) */
	if (!strcmp(p.snapshot_path, p.mem_file_path)) {
		jf_join(at, sizeof(at), path, "mem_file_path");
		return err_set(-EINVAL, "%s: the same file as snapshot_path", at);
	}
	p.type = e ? SNAPSHOT_DIFF : SNAPSHOT_FULL;
	*out = p;
	return 0;
}

/* The kernel's rule for interface names (dev_valid_name), as
 * spec_json_parse_net applies it; control bytes refused too. */
static int check_ifname(const char *at, const char *s)
{
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return err_set(-EINVAL, "%s: '%s' is not a valid interface name", at, s);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p == '/' || *p == ':' || *p <= ' ' || *p >= 0x7f)
			return err_set(-EINVAL, "%s: not a valid interface name (no '/', ':', spaces or control "
					       "characters)", at);
	return 0;
}

static int parse_mem_backend(json_t *j, const char *path, char *mem_file_path)
{
	static const char *const keys[] = { "backend_type", "backend_path", NULL };
	static const char *const types[] = { "File", "Uffd", NULL };
	char at[JF_PATH_MAX];
	unsigned e;
	int ret;

	if ((ret = jf_check_object(j, path, keys)) ||
	    (ret = jf_enum(j, path, "backend_type", JF_REQUIRED, types, &e)) < 0)
		return ret;
	if (e == 1) {
		jf_join(at, sizeof(at), path, "backend_type");
		return err_set(-EINVAL, "%s: Uffd (guest memory served by a userfaultfd page-fault handler) is not "
				       "supported by ember (use File)", at);
	}
	ret = path_field(j, path, "backend_path", JF_REQUIRED, mem_file_path);
	return ret < 0 ? ret : 0;
}

static int parse_net_override(json_t *j, const char *path, struct snapshot_net_override *o)
{
	static const char *const keys[] = { "iface_id", "host_dev_name", NULL };
	char at[JF_PATH_MAX];
	int ret;

	if ((ret = jf_check_object(j, path, keys)))
		return ret;
	if ((ret = jf_string(j, path, "iface_id", JF_REQUIRED, o->iface_id, sizeof(o->iface_id))) < 0)
		return ret;
	jf_join(at, sizeof(at), path, "iface_id");
	if ((ret = vm_spec_check_id(at, o->iface_id)))
		return ret;
	if ((ret = jf_string(j, path, "host_dev_name", JF_REQUIRED | JF_NONEMPTY, o->host_dev_name,
			     sizeof(o->host_dev_name))) < 0)
		return ret;
	jf_join(at, sizeof(at), path, "host_dev_name");
	return check_ifname(at, o->host_dev_name);
}

static int parse_net_overrides(json_t *arr, const char *path, struct snapshot_load_params *p)
{
	char key[JF_PATH_MAX], at[JF_PATH_MAX];
	size_t i;
	json_t *v;
	int ret;

	jf_join(key, sizeof(key), path, "network_overrides");
	if (!json_is_array(arr))
		return err_set(-EINVAL, "%s: expected an array", key);
	if (json_array_size(arr) > SPEC_MAX_NETS)
		return err_set(-EINVAL, "%s: at most %d interfaces", key, SPEC_MAX_NETS);
	json_array_foreach(arr, i, v) {
		struct snapshot_net_override *o = &p->net_overrides[i];

		jf_index(at, sizeof(at), key, (unsigned)i);
		if ((ret = parse_net_override(v, at, o)))
			return ret;
		/* Two overrides for one interface leave the winner to
		 * guesswork; two interfaces on one TAP cannot both open it. */
		for (size_t k = 0; k < i; k++) {
			if (!strcmp(p->net_overrides[k].iface_id, o->iface_id))
				return err_set(-EINVAL, "%s.iface_id: %s is given twice", at, o->iface_id);
			if (!strcmp(p->net_overrides[k].host_dev_name, o->host_dev_name))
				return err_set(-EINVAL, "%s.host_dev_name: %s is given twice", at, o->host_dev_name);
		}
		p->nr_net_overrides = (unsigned)i + 1;
	}
	return 0;
}

static int parse_vsock_override(json_t *j, const char *path, struct snapshot_load_params *p)
{
	static const char *const keys[] = { "uds_path", NULL };
	char at[JF_PATH_MAX];
	int ret;

	jf_join(at, sizeof(at), path, "vsock_override");
	if ((ret = jf_check_object(j, at, keys)) ||
	    (ret = path_field(j, at, "uds_path", JF_REQUIRED, p->vsock_uds_path)) < 0)
		return ret;
	p->has_vsock_override = true;
	return 0;
}

int spec_json_parse_snapshot_load(json_t *j, const char *path, struct snapshot_load_params *out)
{
	static const char *const keys[] = { "snapshot_path", "mem_backend", "mem_file_path", "track_dirty_pages",
					    "enable_diff_snapshots", "resume_vm", "network_overrides",
					    "vsock_override", "clock_realtime", NULL };
	struct snapshot_load_params p;
	char at[JF_PATH_MAX];
	bool diff = false;
	json_t *backend, *v;
	int ret;

	if ((ret = jf_check_object(j, path, keys)))
		return ret;
	memset(&p, 0, sizeof(p));
	p.mem_mode = RESTORE_MEM_LAZY;
	if ((ret = path_field(j, path, "snapshot_path", JF_REQUIRED, p.snapshot_path)) < 0)
		return ret;
	backend = jf_get(j, "mem_backend");
	if (backend && jf_get(j, "mem_file_path"))
		return body_error(path, MSG_MEM_BOTH);
	if (!backend && !jf_get(j, "mem_file_path"))
		return body_error(path, MSG_MEM_MISSING);
	if (backend) {
		jf_join(at, sizeof(at), path, "mem_backend");
		if ((ret = parse_mem_backend(backend, at, p.mem_file_path)))
			return ret;
	} else if ((ret = path_field(j, path, "mem_file_path", JF_REQUIRED, p.mem_file_path)) < 0) {
		return ret;
	}
	if ((ret = jf_bool(j, path, "track_dirty_pages", 0, &p.track_dirty_pages)) < 0 ||
	    (ret = jf_bool(j, path, "enable_diff_snapshots", 0, &diff)) < 0 ||
	    (ret = jf_bool(j, path, "resume_vm", 0, &p.resume_vm)) < 0 ||
	    (ret = jf_bool(j, path, "clock_realtime", 0, &p.clock_realtime)) < 0)
		return ret;
	p.track_dirty_pages |= diff;
	if ((v = jf_get(j, "network_overrides")) && (ret = parse_net_overrides(v, path, &p)))
		return ret;
	if ((v = jf_get(j, "vsock_override")) && (ret = parse_vsock_override(v, path, &p)))
		return ret;
	*out = p;
	return 0;
}
