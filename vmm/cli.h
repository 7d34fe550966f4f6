/* Command-line parsing for the ember binary. Pure: no I/O beyond what the
 * caller prints, so every flag and every bad value is unit-tested. */
#ifndef EMBER_CLI_H
#define EMBER_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/drive.h"
#include "vmm/log.h"

#define CLI_DEFAULT_MEM_MiB 128
#define CLI_MAX_MEM_MiB (1024ULL * 1024) /* 1 TiB */
#define CLI_DEFAULT_CMDLINE                                                                  \
	"console=ttyS0 reboot=k panic=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"

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
	struct drive_spec drives[CLI_MAX_DRIVES];
	unsigned nr_drives;
	bool rng; /* add a virtio-rng device */
	/* Print VM-exit counters by reason when the VM stops. */
	bool print_exit_stats;
};

/* Returns 0, or -EINVAL with err_last() naming the bad argument. */
int cli_parse(int argc, char *const argv[], struct cli_options *out);
void cli_print_usage(FILE *f);

#endif
