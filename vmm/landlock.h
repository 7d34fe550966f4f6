/* Landlock: after set-up, a thread may reach only the files its running VM
 * needs. A restriction holds for the calling thread and the threads it
 * creates afterwards, and can never be lifted. */
#ifndef EMBER_LANDLOCK_H
#define EMBER_LANDLOCK_H

#include <stdbool.h>

enum landlock_access {
	LANDLOCK_READ = 1 << 0,  /* open a file for reading */
	LANDLOCK_WRITE = 1 << 1, /* open a file for writing (and truncate it) */
	/* A directory: create, replace, remove and open regular files in it
	 * (snapshot targets, the API socket's directory). */
	LANDLOCK_DIR_FILES = 1 << 2,
	/* A directory: only remove files from it (the API and vsock sockets
	 * ember unlinks when it exits). */
	LANDLOCK_DIR_REMOVE = 1 << 3,
};

struct landlock_path {
	const char *path;
	unsigned access; /* enum landlock_access bits */
};

/* The kernel's Landlock ABI version, or a negative errno when it has none
 * (-ENOSYS: not built in; -EOPNOTSUPP: built in but disabled at boot). */
int landlock_abi_version(void);
/* Restricts the calling thread to `paths` (n may be 0: no file at all).
 * Returns 0 when enforced, 1 when the kernel has no Landlock (the caller
 * logs that and goes on), or a negative errno naming the path at fault. */
int landlock_restrict(const struct landlock_path *paths, unsigned n);

#endif
