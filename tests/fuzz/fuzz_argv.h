/* Command-line fuzz targets: the input split at NUL bytes into argv. */
#ifndef EMBER_FUZZ_ARGV_H
#define EMBER_FUZZ_ARGV_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_ARGS 64

/* argv[0] = prog, then each NUL-separated piece of data (at most
 * FUZZ_MAX_ARGS - 1), NULL-terminated. Returns the copy that argv points
 * into (the caller frees it), or NULL when out of memory. */
static inline char *fuzz_argv_split(const uint8_t *data, size_t size, char *prog, char *argv[FUZZ_MAX_ARGS + 1],
				    int *argc)
{
	char *copy = malloc(size + 1);

	if (!copy)
		return NULL;
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[0] = prog;
	*argc = 1;
	for (size_t i = 0; i <= size && *argc < FUZZ_MAX_ARGS;) {
		argv[(*argc)++] = copy + i;
		i += strlen(copy + i) + 1;
	}
	argv[*argc] = NULL;
	return copy;
}

#endif
