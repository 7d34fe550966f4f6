/* Block drives from the command line: "path=FILE[,ro=on|off][,id=NAME]",
 * opened and locked so that two VMMs never write one disk. */
#ifndef EMBER_DRIVE_H
#define EMBER_DRIVE_H

#include <stdbool.h>
#include <stdint.h>

#define DRIVE_ID_MAX 20 /* virtio-blk GET_ID answers 20 bytes */
#define DRIVE_PATH_MAX 4096

struct drive_spec {
	char path[DRIVE_PATH_MAX];
	char id[DRIVE_ID_MAX + 1];
	bool read_only;
	bool sync_io; /* preadv/pwritev instead of io_uring (Firecracker's "Sync" engine) */
};

/* `default_id` names the drive when the spec has no id=. Returns 0 or
 * -EINVAL naming the bad key or value. */
int drive_parse(const char *spec, const char *default_id, struct drive_spec *out);
/* Opens the file (read-write unless read-only) and takes a lock on it:
 * exclusive for a writable drive, shared for a read-only one, so a second
 * writer (or a writer beside readers) gets -EBUSY. *size is in bytes. */
int drive_open(const struct drive_spec *d, int *fd, uint64_t *size);

#endif
