/* Reading host files the user names (kernels, initrds). */
#ifndef EMBER_FILE_H
#define EMBER_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Reads all of `path` into a malloc'd buffer. Refuses files larger than
 * `max` and anything that is not a regular file. */
int file_read_all(const char *path, size_t max, uint8_t **out, size_t *len);
/* Gives the whole pages inside buf[offset, offset+len) back to the kernel;
 * they read as zeros afterwards. A boot_release callback (ctx = buf): once
 * a 50 MB vmlinux is copied into guest RAM, its buffer need not stay
 * resident and count twice in the VMM's RSS. */
void file_drop_range(void *buf, size_t offset, size_t len);

#endif
