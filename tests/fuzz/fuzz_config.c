/* libFuzzer target: a Firecracker config file (host-user input) through
 * spec_json_parse_config. A config that parses must dump to JSON that
 * parses back to the same spec, or GET /vm/config would lie. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/spec_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm_spec first, second;
	char *dump;

	if (spec_json_parse_config((const char *)data, size, &first))
		return 0;
	dump = spec_json_dump_full(&first);
	if (!dump)
		abort();
	if (spec_json_parse_config(dump, strlen(dump), &second) || memcmp(&first, &second, sizeof(first)))
		abort();
	free(dump);
	return 0;
}
