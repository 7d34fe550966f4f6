/* The whole Firecracker config file (--config-file) into a vm_spec. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/spec_json.h"
#include "vmm/spec_json_field.h"

static int parse_drives(json_t *arr, struct vm_spec *spec)
{
	struct spec_drive d;
	char at[JF_PATH_MAX];
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return err_set(-EINVAL, "drives: expected an array");
	if (json_array_size(arr) > SPEC_MAX_DRIVES)
		return err_set(-EINVAL, "drives: at most %d drives", SPEC_MAX_DRIVES);
	json_array_foreach(arr, i, v) {
		int ret;

		jf_index(at, sizeof(at), "drives", (unsigned)i);
		if ((ret = spec_json_parse_drive(v, at, &d)))
			return ret;
		/* PUT replaces a drive with the same id; a file naming one twice
		 * is a mistake, not an update. */
		if (vm_spec_find_drive(spec, d.drive_id))
			return err_set(-EINVAL, "%s.drive_id: %s is used twice", at, d.drive_id);
		if ((ret = vm_spec_put_drive(spec, &d)))
			return err_wrap(ret, "%s", at);
	}
	return 0;
}

static int parse_nets(json_t *arr, struct vm_spec *spec)
{
	struct spec_net n;
	char at[JF_PATH_MAX];
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return err_set(-EINVAL, "network-interfaces: expected an array");
	if (json_array_size(arr) > SPEC_MAX_NETS)
		return err_set(-EINVAL, "network-interfaces: at most %d interfaces", SPEC_MAX_NETS);
	json_array_foreach(arr, i, v) {
		int ret;

		jf_index(at, sizeof(at), "network-interfaces", (unsigned)i);
		if ((ret = spec_json_parse_net(v, at, &n)))
			return ret;
		for (unsigned k = 0; k < spec->nr_nets; k++)
			if (!strcmp(spec->nets[k].iface_id, n.iface_id))
				return err_set(-EINVAL, "%s.iface_id: %s is used twice", at, n.iface_id);
		if ((ret = vm_spec_put_net(spec, &n)))
			return err_wrap(ret, "%s", at);
	}
	return 0;
}

static int parse_sections(json_t *root, struct vm_spec *spec)
{
	static const char *const keys[] = { "boot-source", "drives", "network-interfaces", "machine-config",
					    "vsock", "logger", "metrics", "entropy", "balloon", "cpu-config",
					    "mmds-config", NULL };
	static const char *const unsupported[] = { "cpu-config", "mmds-config" };
	json_t *v;
	int ret;

	if (!json_is_object(root))
		return err_set(-EINVAL, "config: expected a JSON object");
	if ((ret = jf_check_object(root, "", keys)))
		return ret;
	for (unsigned i = 0; i < 2; i++)
		if (jf_get(root, unsupported[i]))
			return err_set(-EINVAL, "%s: not supported by ember%s", unsupported[i],
				       i == 0 ? " (use --cpu-template with a custom template)" : "");
	/* Machine first: it does not depend on the rest, and the balloon
	 * check in vm_spec_validate needs its size. */
	if ((v = jf_get(root, "machine-config")) && (ret = spec_json_parse_machine(v, "machine-config", &spec->machine)))
		return ret;
	if ((v = jf_get(root, "boot-source")) && (ret = spec_json_parse_boot_source(v, "boot-source", &spec->boot)))
		return ret;
	if ((v = jf_get(root, "drives")) && (ret = parse_drives(v, spec)))
		return ret;
	if ((v = jf_get(root, "network-interfaces")) && (ret = parse_nets(v, spec)))
		return ret;
	if ((v = jf_get(root, "vsock")) && (ret = spec_json_parse_vsock(v, "vsock", &spec->vsock)))
		return ret;
	if ((v = jf_get(root, "logger")) && (ret = spec_json_parse_logger(v, "logger", &spec->logger)))
		return ret;
	if ((v = jf_get(root, "metrics")) && (ret = spec_json_parse_metrics(v, "metrics", &spec->metrics)))
		return ret;
	if ((v = jf_get(root, "entropy")) && (ret = spec_json_parse_entropy(v, "entropy", &spec->entropy)))
		return ret;
	if ((v = jf_get(root, "balloon")) && (ret = spec_json_parse_balloon(v, "balloon", &spec->balloon)))
		return ret;
	if (!spec->boot.present)
		return err_set(-EINVAL, "boot-source: missing (required)");
	return vm_spec_validate(spec);
}

int spec_json_parse_config(const char *text, size_t len, struct vm_spec *out)
{
	struct vm_spec *spec;
	json_t *root;
	int ret = spec_json_load(text, len, &root);

	if (ret)
		return ret;
	/* ~100 KiB: built on the heap and copied out only when all of it is good. */
	spec = malloc(sizeof(*spec));
	if (!spec) {
		json_decref(root);
		return err_set(-ENOMEM, "config: out of memory");
	}
	vm_spec_init(spec);
	ret = parse_sections(root, spec);
	json_decref(root);
	if (!ret)
		memcpy(out, spec, sizeof(*spec));
	free(spec);
	return ret;
}
