#include "vmm/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/log.h"

/* Rights by the ABI version that introduced them (landlock.h). */
#define FS_RIGHTS_V1                                                                                         \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |          \
	 LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |       \
	 LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |           \
	 LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |        \
	 LANDLOCK_ACCESS_FS_MAKE_SYM)
#define FS_RIGHT_REFER (1ULL << 13)    /* ABI 2 */
#define FS_RIGHT_TRUNCATE (1ULL << 14) /* ABI 3 */
/* ABI 4: TCP bind and connect. Debian 12's headers predate them, so the
 * grown ruleset struct is spelt out here. */
#define NET_RIGHTS_V4 ((1ULL << 0) | (1ULL << 1))

struct ruleset_attr_v4 {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
};

static long ll_create_ruleset(const struct landlock_ruleset_attr *attr, size_t size, uint32_t flags)
{
	return syscall(SYS_landlock_create_ruleset, attr, size, flags);
}

int landlock_abi_version(void)
{
	long v = ll_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return v < 0 ? -errno : (int)v;
}

/* Every right this kernel knows is handled, so anything not granted below
 * is denied. Later ABIs' rights (ioctl on devices, ...) are left out: ember
 * opens no device after set-up, and older kernels would refuse them. */
static uint64_t handled_rights(int abi)
{
	uint64_t r = FS_RIGHTS_V1;

	if (abi >= 2)
		r |= FS_RIGHT_REFER;
	if (abi >= 3)
		r |= FS_RIGHT_TRUNCATE;
	return r;
}

static uint64_t granted_rights(unsigned access, bool is_dir, uint64_t handled)
{
	uint64_t r = 0;

	if (access & LANDLOCK_READ)
		r |= LANDLOCK_ACCESS_FS_READ_FILE;
	if (access & LANDLOCK_WRITE)
		r |= LANDLOCK_ACCESS_FS_WRITE_FILE | FS_RIGHT_TRUNCATE;
	if ((access & LANDLOCK_DIR_FILES) && is_dir)
		r |= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | FS_RIGHT_TRUNCATE |
		     LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REMOVE_FILE;
	if ((access & LANDLOCK_DIR_REMOVE) && is_dir)
		r |= LANDLOCK_ACCESS_FS_REMOVE_FILE;
	return r & handled;
}

static int add_path(int ruleset, const struct landlock_path *p, uint64_t handled)
{
	struct landlock_path_beneath_attr attr = { 0 };
	struct stat st;
	int fd = open(p->path, O_PATH | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return err_set(-errno, "landlock: %s: %s", p->path, strerror(errno));
	if (fstat(fd, &st)) {
		ret = err_set(-errno, "landlock: %s: %s", p->path, strerror(errno));
		goto out;
	}
	if ((p->access & (LANDLOCK_DIR_FILES | LANDLOCK_DIR_REMOVE)) && !S_ISDIR(st.st_mode)) {
		ret = err_set(-ENOTDIR, "landlock: %s: not a directory", p->path);
		goto out;
	}
	attr.parent_fd = fd;
	attr.allowed_access = granted_rights(p->access, S_ISDIR(st.st_mode), handled);
	if (attr.allowed_access &&
	    syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0))
		ret = err_set(-errno, "landlock: rule for %s: %s", p->path, strerror(errno));
out:
	close(fd);
	return ret;
}

int landlock_restrict(const struct landlock_path *paths, unsigned n)
{
	int abi = landlock_abi_version(), ruleset, ret = 0;
	struct ruleset_attr_v4 attr = { 0 };

	if (abi == -ENOSYS || abi == -EOPNOTSUPP)
		return 1;
	if (abi < 0)
		return err_set(abi, "landlock: cannot read the ABI version: %s", strerror(-abi));
	attr.handled_access_fs = handled_rights(abi);
	/* Network rights handled and never granted: ember needs no TCP (the
	 * TAP is a file, every socket is AF_UNIX). Older kernels take only
	 * the first field. */
	attr.handled_access_net = abi >= 4 ? NET_RIGHTS_V4 : 0;
	ruleset = (int)ll_create_ruleset((const struct landlock_ruleset_attr *)&attr,
					 abi >= 4 ? sizeof(attr) : sizeof(attr.handled_access_fs), 0);
	if (ruleset < 0)
		return err_set(-errno, "landlock: create_ruleset: %s", strerror(errno));
	for (unsigned i = 0; !ret && i < n; i++)
		ret = add_path(ruleset, &paths[i], attr.handled_access_fs);
	/* Landlock needs no_new_privs from an unprivileged thread; ember sets
	 * it for the whole process before any thread starts. */
	if (!ret && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		ret = err_set(-errno, "landlock: no_new_privs: %s", strerror(errno));
	if (!ret && syscall(SYS_landlock_restrict_self, ruleset, 0))
		ret = err_set(-errno, "landlock: restrict_self: %s", strerror(errno));
	close(ruleset);
	return ret;
}
