/* Command-line parsing for the ember binary. Pure: no I/O beyond what the
 * caller prints, so every flag and every bad value is unit-tested. */
#ifndef EMBER_CLI_H
#define EMBER_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/drive.h"
#include "vmm/log.h"
#include "vmm/snapshot_params.h"
#include "vmm/vm_spec.h"

#define CLI_DEFAULT_MEM_MiB 128
#define CLI_MAX_MEM_MiB (1024ULL * 1024) /* 1 TiB */
#define CLI_DEFAULT_CMDLINE                                                                  \
	"console=ttyS0 reboot=k panic=1 pci=off i8042.noaux i8042.nomux i8042.dumbkbd"

#define CLI_MAX_DRIVES 16

struct cli_options {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	const char *cpu_template; /* Firecracker custom CPU template (JSON) */
	uint64_t mem_mib;
	uint32_t vcpus;
	enum log_level log_level;
	bool help;
	bool version;
	/* Print the monotonic time of the first KVM_RUN, for the start-up benchmark. */
	bool print_startup;
	/* --drive specs, in order (the guest sees vda, vdb, ...). */
	struct spec_drive drives[CLI_MAX_DRIVES];
	unsigned nr_drives;
	bool rng; /* add a virtio-rng device */
	/* --net interfaces, in order (the guest sees eth0, eth1, ...), already
	 * checked and, for id=,subnet=, derived with net_alloc. */
	struct spec_net nets[SPEC_MAX_NETS];
	unsigned nr_nets;
	/* --vsock cid=N,uds=PATH (vsock.present set when given). */
	struct spec_vsock vsock;
	/* Print VM-exit counters by reason when the VM stops. */
	bool print_exit_stats;
	/* Ctrl-A x on the console ends ember as SIGTERM would (console.h). */
	bool console_escape;
	/* Print each --net's TAP, MAC and addresses (cli_print_nets) and exit. */
	bool print_net;

	/* Firecracker's way in: a whole config file, an API socket, or both. */
	const char *config_file;
	const char *api_sock;
	bool no_api;             /* boot from the config file or shortcuts, no API */
	const char *id;          /* instance id (NULL: SPEC_DEFAULT_ID) */
	const char *log_path;
	bool show_level;
	bool show_log_origin;
	bool log_level_set;      /* --log-level given (else log_level is the default) */
	const char *metrics_path;
	bool cmdline_set;        /* --cmdline given (else cmdline is the default) */
	/* The first VM-shaping shortcut given (--kernel, --mem, ...), or NULL;
	 * these conflict with --config-file and with --restore. */
	const char *shortcut;

	/* Restoring a snapshot instead of booting: --restore SNAPSHOT and
	 * --mem-file FILE (both or neither), --restore-mem lazy|copy. */
	const char *restore;
	const char *mem_file;
	enum restore_mem restore_mem; /* RESTORE_MEM_LAZY unless --restore-mem copy */
	bool restore_mem_set;         /* --restore-mem given */

	/* Hardening (see vmm/sandbox.h). */
	int seccomp_level;            /* --seccomp-level 0|1|2 (default 2); --no-seccomp is 0 */
	bool seccomp_level_set;
	bool no_landlock;
	const char *snapshot_dir;     /* --snapshot-dir: where snapshots may be written */
	enum cli_print_seccomp { CLI_PRINT_SECCOMP_NONE, CLI_PRINT_SECCOMP_TABLE, CLI_PRINT_SECCOMP_PFC } print_seccomp;
};

/* Returns 0, or -EINVAL with err_last() naming the bad argument. */
int cli_parse(int argc, char *const argv[], struct cli_options *out);
void cli_print_usage(FILE *f);
/* One line per --net, as shell assignments a host set-up script can eval:
 * iface=eth0 tap='NAME' mac=MAC, plus guest= gateway= netmask= prefix= for
 * id=,subnet= (what ember derives and tells the guest with ip=). */
void cli_print_nets(const struct cli_options *opt, FILE *f);

/* Applies the command line onto *spec (fresh from vm_spec_init, or a parsed
 * config file): the VM-shaping shortcuts when there is no --config-file,
 * then --id and the logger and metrics flags. Returns 0 or -EINVAL (a
 * --drive id with '-', which API ids cannot hold; an overlong value). */
int cli_to_spec(const struct cli_options *opt, struct vm_spec *spec);

/* What --restore asks the controller to load: the two paths, mem_mode from
 * --restore-mem, resume_vm set (a restore from the command line runs the
 * VM at once), no dirty-page tracking, no overrides. Returns 0, or -EINVAL
 * when the line has no --restore (*out is then untouched). */
int cli_to_load_params(const struct cli_options *opt, struct snapshot_load_params *out);

#endif
