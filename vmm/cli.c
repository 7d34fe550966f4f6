#include "vmm/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/layout.h"

static int parse_u64(const char *flag, const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!text[0] || text[0] == '-' || text[0] == '+')
		return err_set(-EINVAL, "%s: '%s' is not a number", flag, text);
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end)
		return err_set(-EINVAL, "%s: '%s' is not a number", flag, text);
	if (v < min || v > max)
		return err_set(-EINVAL, "%s: %llu is out of range [%llu, %llu]", flag, v,
			       (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

/* Splits "--flag=value" or takes the next argument as the value. */
static int take_value(int argc, char *const argv[], int *i, const char *flag, const char **value)
{
	const char *arg = argv[*i];
	size_t n = strlen(flag);

	if (arg[n] == '=') {
		*value = arg + n + 1;
		return 0;
	}
	if (*i + 1 >= argc)
		return err_set(-EINVAL, "%s needs a value", flag);
	*value = argv[++*i];
	return 0;
}

static bool flag_is(const char *arg, const char *flag)
{
	size_t n = strlen(flag);

	return strncmp(arg, flag, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

int cli_parse(int argc, char *const argv[], struct cli_options *out)
{
	memset(out, 0, sizeof(*out));
	out->mem_mib = CLI_DEFAULT_MEM_MiB;
	out->vcpus = 1;
	out->cmdline = CLI_DEFAULT_CMDLINE;
	out->log_level = LOG_WARN;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *v = NULL;
		uint64_t n;
		int ret = 0;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			out->help = true;
		} else if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
			out->version = true;
		} else if (strcmp(arg, "--print-startup") == 0) {
			out->print_startup = true;
		} else if (strcmp(arg, "--print-exit-stats") == 0) {
			out->print_exit_stats = true;
		} else if (strcmp(arg, "--rng") == 0) {
			out->rng = true;
		} else if (flag_is(arg, "--drive")) {
			ret = take_value(argc, argv, &i, "--drive", &v);
			if (!ret && out->nr_drives >= CLI_MAX_DRIVES)
				ret = err_set(-EINVAL, "--drive: at most %d drives", CLI_MAX_DRIVES);
			if (!ret) {
				char id[16];

				snprintf(id, sizeof(id), "drive%u", out->nr_drives);
				ret = drive_parse(v, id, &out->drives[out->nr_drives]);
			}
			if (!ret)
				out->nr_drives++;
		} else if (flag_is(arg, "--kernel")) {
			ret = take_value(argc, argv, &i, "--kernel", &out->kernel);
		} else if (flag_is(arg, "--initrd")) {
			ret = take_value(argc, argv, &i, "--initrd", &out->initrd);
		} else if (flag_is(arg, "--cpu-template")) {
			ret = take_value(argc, argv, &i, "--cpu-template", &out->cpu_template);
		} else if (flag_is(arg, "--cmdline")) {
			ret = take_value(argc, argv, &i, "--cmdline", &out->cmdline);
		} else if (flag_is(arg, "--mem")) {
			ret = take_value(argc, argv, &i, "--mem", &v);
			if (!ret)
				ret = parse_u64("--mem", v, LAYOUT_MEM_MIN_MiB, CLI_MAX_MEM_MiB, &out->mem_mib);
		} else if (flag_is(arg, "--vcpus")) {
			ret = take_value(argc, argv, &i, "--vcpus", &v);
			if (!ret)
				ret = parse_u64("--vcpus", v, 1, LAYOUT_MAX_VCPUS, &n);
			if (!ret)
				out->vcpus = (uint32_t)n;
		} else if (flag_is(arg, "--log-level")) {
			ret = take_value(argc, argv, &i, "--log-level", &v);
			if (!ret && log_level_parse(v, &out->log_level))
				ret = err_set(-EINVAL, "--log-level: '%s' is not one of Error, Warning, Info, Debug, Trace", v);
		} else {
			ret = err_set(-EINVAL, "unknown argument '%s' (see --help)", arg);
		}
		if (ret)
			return ret;
	}
	if (!out->help && !out->version && !out->kernel)
		return err_set(-EINVAL, "--kernel is required (see --help)");
	return 0;
}

void cli_print_usage(FILE *f)
{
	fprintf(f,
		"usage: ember --kernel PATH [options]\n"
		"\n"
		"Boots a Linux guest on KVM: an ELF vmlinux (PVH entry, or its 64-bit entry)\n"
		"or a bzImage (Linux 64-bit boot protocol). The guest's COM1 is this terminal.\n"
		"\n"
		"  --kernel PATH        kernel image (ELF vmlinux or bzImage)\n"
		"  --initrd PATH        initial ramdisk\n"
		"  --cmdline STR        kernel command line\n"
		"                       (default: \"%s\")\n"
		"  --mem MiB            guest memory, %llu..%llu (default %d)\n"
		"  --vcpus N            virtual CPUs, 1..%d (default 1)\n"
		"  --cpu-template PATH  CPUID/MSR bit masks, Firecracker custom-template JSON\n"
		"  --drive path=FILE[,ro=on|off][,id=NAME]\n"
		"                       a virtio-blk disk (repeatable: vda, vdb, ...); the file\n"
		"                       is locked, so no second VMM can write it; ro=on refuses\n"
		"                       guest writes; NAME (<= 20 chars) answers GET_ID\n"
		"  --rng                a virtio-rng device fed by the host's getrandom()\n"
		"  --log-level LEVEL    Error, Warning, Info, Debug or Trace (default Warning)\n"
		"  --print-exit-stats   print VM exits by reason when the VM stops\n"
		"  --print-startup      print the monotonic time of the first KVM_RUN\n"
		"  --help, --version\n"
		"\n"
		"Exit status: 0 when the guest powers off, reboots or halts, or on SIGTERM;\n"
		"1 on a VMM error; 2 on a vCPU failure (registers are printed);\n"
		"3 when the guest kernel reports a panic (pvpanic);\n"
		"78 for a bad configuration (kernel, initrd); 64 for bad arguments.\n",
		CLI_DEFAULT_CMDLINE, LAYOUT_MEM_MIN_MiB, CLI_MAX_MEM_MiB, CLI_DEFAULT_MEM_MiB,
		LAYOUT_MAX_VCPUS);
}
