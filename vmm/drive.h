/* Block drives from the command line: "path=FILE[,ro=on|off][,id=NAME]",
 * opened and locked so that two VMMs never write one disk. */
#ifndef EMBER_DRIVE_H
#define EMBER_DRIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/vm_spec.h"

#define DRIVE_ID_MAX 20 /* the longest --drive id=: virtio-blk GET_ID answers 20 bytes */
#define DRIVE_PATH_MAX SPEC_PATH_MAX

/* A drive has one shape from the command line or the API to the device,
 * struct spec_drive, so no copy on the way can drop a field. --drive
 * fills drive_id, path_on_host and is_read_only; its io_engine is Async
 * (io_uring, falling back to preadv/pwritev where the host has none).
 * `default_id` names the drive when the spec has no id=. Returns 0 or
 * -EINVAL naming the bad key or value. */
int drive_parse(const char *spec, const char *default_id, struct spec_drive *out);
/* Opens path_on_host (read-write unless is_read_only) and takes a lock on
 * it: exclusive for a writable drive, shared for a read-only one, so a
 * second writer (or a writer beside readers) gets -EBUSY. *size is in
 * bytes. */
int drive_open(const struct spec_drive *d, int *fd, uint64_t *size);

#endif
