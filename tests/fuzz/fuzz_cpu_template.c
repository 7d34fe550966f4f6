/* libFuzzer target: CPU template JSON (host-user input) into the parser and
 * onto a CPUID table. Must never crash or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmm/cpu_template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cpu_template tpl;
	static struct cpuid_table table;
	uint64_t v = 0;

	if (cpu_template_parse((const char *)data, size, &tpl) == 0) {
		memset(&table, 0, sizeof(table));
		table.head.nent = 1;
		table.entries[0].function = 1;
		cpu_template_apply_cpuid(&tpl, &table);
		cpu_template_apply_msr(&tpl, 0x1a0, &v);
	}
	return 0;
}
