/* Hardening in the order it happens:
 *   1. process start (main): no_new_privs, the main seccomp list;
 *   2. each vCPU thread, before its first KVM_RUN: no file at all
 *      (Landlock), the vcpu list;
 *   3. the API thread, from its first instruction: no file, the api list;
 *   4. the main thread once the VM is built and its vCPUs are parked,
 *      before the guest runs: the VM's files only, the vmm list.
 * Off until sandbox_configure() turns it on, so unit tests that build VMs
 * in-process are not filtered. */
#ifndef EMBER_SANDBOX_H
#define EMBER_SANDBOX_H

#include <stdbool.h>

#include "vmm/landlock.h"
#include "vmm/seccomp_filter.h"

struct vm_spec;

#define SANDBOX_MAX_PATHS 48

struct sandbox_config {
	int seccomp_level;             /* enum seccomp_level */
	bool landlock;
	const char *snapshot_dir;      /* writable for snapshots; NULL: the working directory */
	const char *api_sock;          /* its directory keeps the right to remove it */
};

void sandbox_configure(const struct sandbox_config *cfg);
bool sandbox_enabled(void);
/* Step 1. */
int sandbox_enter_main(void);
/* Step 2 and 3. */
int sandbox_enter_vcpu(void);
int sandbox_enter_api(void);
/* Step 4: `spec` names the files the running VM may still open. */
int sandbox_enter_vmm(const struct vm_spec *spec);
struct sandbox_paths {
	struct landlock_path path[SANDBOX_MAX_PATHS];
	unsigned n;
	char snapshot_dir[4096];
	char api_dir[4096];
	char vsock_dir[4096];
};

/* The files step 4 leaves reachable for `spec`: drives read or read-write,
 * the log and metrics files, /proc/self/pagemap (sparse snapshots), the
 * snapshot directory, and removal only in the API and vsock sockets'
 * directories. */
int sandbox_vm_paths(const struct vm_spec *spec, const struct sandbox_config *cfg, struct sandbox_paths *out);

#endif
