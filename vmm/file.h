/* Reading host files the user names (kernels, initrds). */
#ifndef EMBER_FILE_H
#define EMBER_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Reads all of `path` into a malloc'd buffer. Refuses files larger than
 * `max` and anything that is not a regular file. */
int file_read_all(const char *path, size_t max, uint8_t **out, size_t *len);

#endif
