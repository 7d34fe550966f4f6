/* Firecracker's JSON schema (config file and API bodies) into struct vm_spec
 * and back. Every parser takes the JSON value plus the key path it sits at
 * ("drives[1]", "machine-config", or "" for an API body) so that a message
 * names the exact key: "drives[1].is_read_only: expected a boolean". All
 * input is hostile: unknown keys, wrong types, out-of-range numbers, strings
 * longer than their field or with an embedded NUL are refused, never
 * truncated or ignored. Each parser is all-or-nothing: on an error its output
 * is left untouched. JSON null counts as an absent optional field, as in
 * Firecracker (whose GET /vm/config prints null for unset values). */
#ifndef EMBER_SPEC_JSON_H
#define EMBER_SPEC_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "vmm/snapshot_params.h"
#include "vmm/vm_spec.h"

#define SPEC_JSON_MAX_TEXT (1u << 20) /* a config file or API body */

/* Parses text (not NUL-terminated) with duplicate keys refused and the size
 * capped. *out is an object or array; the caller json_decref()s it.
 * Returns 0, -E2BIG or -EINVAL ("invalid JSON at line L, column C: why"). */
int spec_json_load(const char *text, size_t len, json_t **out);

/* PUT /boot-source: kernel_image_path required; sets present. */
int spec_json_parse_boot_source(json_t *j, const char *path, struct spec_boot_source *out);
/* PUT /machine-config: vcpu_count and mem_size_mib required, the others
 * back to their defaults when absent. cpu_template_path (an ember
 * extension, not in the schema) is kept from *m. */
int spec_json_parse_machine(json_t *j, const char *path, struct spec_machine *m);
/* PATCH /machine-config: every field optional, applied onto *m. */
int spec_json_patch_machine(json_t *j, const char *path, struct spec_machine *m);
/* PUT /drives/{id}: a virtio-blk Drive (vhost-user `socket` is refused). */
int spec_json_parse_drive(json_t *j, const char *path, struct spec_drive *out);

/* PATCH /drives/{id}: what may change on a drive after boot. */
struct spec_partial_drive {
	char drive_id[SPEC_ID_MAX + 1];
	bool has_path_on_host;
	char path_on_host[SPEC_PATH_MAX];
	bool has_rate_limiter;
	struct spec_rate_limiter rate_limiter;
};
int spec_json_parse_partial_drive(json_t *j, const char *path, struct spec_partial_drive *out);

/* PUT /network-interfaces/{id}. */
int spec_json_parse_net(json_t *j, const char *path, struct spec_net *out);

/* PATCH /network-interfaces/{id}: new rate limiters for an interface. */
struct spec_partial_net {
	char iface_id[SPEC_ID_MAX + 1];
	bool has_rx_rate_limiter;
	struct spec_rate_limiter rx_rate_limiter;
	bool has_tx_rate_limiter;
	struct spec_rate_limiter tx_rate_limiter;
};
int spec_json_parse_partial_net(json_t *j, const char *path, struct spec_partial_net *out);

int spec_json_parse_vsock(json_t *j, const char *path, struct spec_vsock *out);
int spec_json_parse_logger(json_t *j, const char *path, struct spec_logger *out);
int spec_json_parse_metrics(json_t *j, const char *path, struct spec_metrics *out);
int spec_json_parse_entropy(json_t *j, const char *path, struct spec_entropy *out);
int spec_json_parse_balloon(json_t *j, const char *path, struct spec_balloon *out);
int spec_json_parse_rate_limiter(json_t *j, const char *path, struct spec_rate_limiter *out);

/* PUT /snapshot/create: snapshot_path and mem_file_path required (and not
 * the same string), snapshot_type Full (default) or Diff; the removed
 * `version` key is refused. */
int spec_json_parse_snapshot_create(json_t *j, const char *path, struct snapshot_create_params *out);
/* PUT /snapshot/load: snapshot_path required; exactly one of mem_backend
 * (backend_type File; Uffd is refused) or the deprecated mem_file_path, both
 * landing in mem_file_path; track_dirty_pages set by it or by the deprecated
 * enable_diff_snapshots; resume_vm and clock_realtime default false;
 * network_overrides (at most SPEC_MAX_NETS, no iface_id or host_dev_name
 * twice) and vsock_override optional. mem_mode is always RESTORE_MEM_LAZY
 * (the API has no say in it). */
int spec_json_parse_snapshot_load(json_t *j, const char *path, struct snapshot_load_params *out);

/* A whole Firecracker config file (--config-file): starts from
 * vm_spec_init, applies every section, puts drives and interfaces in file
 * order (a duplicate id is an error) and ends with vm_spec_validate.
 * cpu-config and mmds-config are refused as not supported; any other
 * unknown top-level key as unknown. */
int spec_json_parse_config(const char *text, size_t len, struct vm_spec *out);

/* GET /vm/config (FullVmConfiguration) and GET /machine-config. Return a
 * malloc'd NUL-terminated string, or NULL with err_last() set (out of
 * memory, or a CLI-given path that is not valid UTF-8). */
char *spec_json_dump_full(const struct vm_spec *spec);
char *spec_json_dump_machine(const struct spec_machine *m);

#endif
