/* libFuzzer target: ember's command line (host-user input). The input is
 * split at NUL bytes into argv. Whatever cli_parse accepts must hold what
 * main relies on: a seccomp level of 0..2, values that point into argv,
 * and a spec that cli_to_spec either fills or refuses. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_argv.h"
#include "vmm/cli.h"
#include "vmm/vm_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm_spec spec;
	char *argv[FUZZ_MAX_ARGS + 1];
	struct cli_options opt;
	int argc;
	char *copy = fuzz_argv_split(data, size, "ember", argv, &argc);

	if (!copy)
		return 0;
	if (cli_parse(argc, argv, &opt) == 0) {
		if (opt.seccomp_level < 0 || opt.seccomp_level > 2)
			abort();
		if (opt.snapshot_dir && (opt.snapshot_dir < copy || opt.snapshot_dir > copy + size))
			abort();
		if (!opt.help && !opt.version && !opt.print_seccomp) {
			vm_spec_init(&spec);
			if (cli_to_spec(&opt, &spec) == 0 && spec.machine.vcpu_count == 0 && !opt.restore &&
			    (opt.kernel || opt.config_file))
				abort();
		}
	}
	free(copy);
	return 0;
}
