/* What a snapshot create or load asks for, as plain data: filled from the
 * API bodies (PUT /snapshot/create, PUT /snapshot/load) by spec_json and
 * from the CLI (--restore, --mem-file, --restore-mem) by cli, and carried
 * out by the controller. */
#ifndef EMBER_SNAPSHOT_PARAMS_H
#define EMBER_SNAPSHOT_PARAMS_H

#include <stdbool.h>

#include "vmm/vm_spec.h"

enum snapshot_type { SNAPSHOT_FULL, SNAPSHOT_DIFF };

/* How guest RAM comes back: mapped MAP_PRIVATE from the memory file (pages
 * are read on first touch, writes stay private), or read into anonymous
 * memory before the vCPUs start. */
enum restore_mem { RESTORE_MEM_LAZY, RESTORE_MEM_COPY };

struct snapshot_create_params {
	char snapshot_path[SPEC_PATH_MAX];
	char mem_file_path[SPEC_PATH_MAX];
	enum snapshot_type type;
};

struct snapshot_net_override {
	char iface_id[SPEC_ID_MAX + 1];
	char host_dev_name[16]; /* IFNAMSIZ */
};

struct snapshot_load_params {
	char snapshot_path[SPEC_PATH_MAX];
	char mem_file_path[SPEC_PATH_MAX]; /* mem_backend.backend_path or mem_file_path */
	bool resume_vm;
	bool track_dirty_pages;
	enum restore_mem mem_mode;
	struct snapshot_net_override net_overrides[SPEC_MAX_NETS];
	unsigned nr_net_overrides;
	bool has_vsock_override;
	char vsock_uds_path[SPEC_PATH_MAX];
	/* Firecracker's clock_realtime (x86_64): KVM_SET_CLOCK with
	 * KVM_CLOCK_REALTIME, so kvmclock advances by the wall-clock time
	 * since the snapshot; false resumes kvmclock where it stopped. */
	bool clock_realtime;
};

#endif
