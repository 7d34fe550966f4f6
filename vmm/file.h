/* Reading host files the user names (kernels, initrds), and telling
 * whether two of their names are one file. */
#ifndef EMBER_FILE_H
#define EMBER_FILE_H

#include <stdbool.h>
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
/* Whether two paths name one file: the same inode where both exist,
 * otherwise the same name in the same directory (so "a", "./a" and
 * "d/../a" are one, and so is a symlink to it once it exists). A
 * directory that cannot be reached makes them different. Uses stat only
 * (it runs under the VMM thread's seccomp filter). */
bool file_same(const char *a, const char *b);
/* Whether `path`, resolved (symlinks followed; a file not there yet by its
 * directory), lies strictly inside the directory `dir`. */
bool file_within(const char *dir, const char *path);

#endif
