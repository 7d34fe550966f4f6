/* libFuzzer target: what ember-jailer reads to copy a dynamically linked
 * VMM's libraries into its jail. The first byte picks the parser: even,
 * the ELF head searched for PT_INTERP; odd, the loader's --list output.
 * An accepted interpreter is an absolute NUL-terminated path; accepted
 * libraries are absolute, bounded, without "." or ".." components. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/jail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jail_libs libs;
	char interp[JAIL_LIB_PATH_MAX];

	if (!size)
		return 0;
	if (!(data[0] & 1)) {
		if (jail_elf_interp(data + 1, size - 1, interp, sizeof(interp)) == 0 && interp[0] &&
		    (interp[0] != '/' || strnlen(interp, sizeof(interp)) == sizeof(interp)))
			abort();
		return 0;
	}
	if (jail_parse_lib_list((const char *)data + 1, size - 1, &libs) == 0) {
		if (libs.n > JAIL_MAX_LIBS)
			abort();
		for (unsigned i = 0; i < libs.n; i++) {
			const char *p = libs.path[i];

			if (p[0] != '/' || strnlen(p, JAIL_LIB_PATH_MAX) == JAIL_LIB_PATH_MAX || strstr(p, "/../") ||
			    strstr(p, "/./") || strchr(p, '\n') || strchr(p, ' '))
				abort();
		}
	}
	return 0;
}
