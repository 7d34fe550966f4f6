/* ember-jailer's file-system steps: directories, the busy lock, the mount
 * namespace and pivot_root, device nodes and files copied into the jail. */
#include "vmm/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vmm/log.h"

#define COPY_CHUNK (128u << 10)

/* mkdir -p. Directories below the first `own_from` bytes of `path` (the
 * jail's own) are made root-owned 0755 even if they already exist: a
 * previous VMM owned the jail's / and may have made them. Above that
 * (/tmp, /srv, ...) existing directories are the host's and left alone. */
static int mkdirs_owned(const char *path, size_t own_from)
{
	char buf[PATH_MAX];
	size_t len = strnlen(path, sizeof(buf));

	if (!len || len >= sizeof(buf))
		return err_set(-ENAMETOOLONG, "mkdir %.64s...: path empty or too long", path);
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		struct stat st;

		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) == 0) {
			/* The umask must not decide what the jail looks like. */
			if (chmod(buf, 0755) < 0)
				return err_set(-errno, "chmod 0755 %s: %s", buf, strerror(errno));
		} else if (errno != EEXIST) {
			return err_set(-errno, "mkdir %s: %s", buf, strerror(errno));
		}
		if (stat(buf, &st) < 0)
			return err_set(-errno, "stat %s: %s", buf, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return err_set(-ENOTDIR, "mkdir %s: exists and is not a directory", buf);
		if (i > own_from && geteuid() == 0 && (st.st_uid != 0 || st.st_gid != 0 || (st.st_mode & 07777) != 0755)) {
			if (lchown(buf, 0, 0) < 0 || chmod(buf, 0755) < 0)
				return err_set(-errno, "making %s root-owned 0755: %s", buf, strerror(errno));
		}
		buf[i] = path[i];
	}
	return 0;
}

int jail_mkdirs(const char *path)
{
	return mkdirs_owned(path, PATH_MAX);
}

int jail_lock(const char *lock_path, int *fd)
{
	int lfd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (lfd < 0)
		return err_set(-errno, "opening lock file %s: %s", lock_path, strerror(errno));
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		close(lfd);
		if (err == EWOULDBLOCK) {
			const char *slash = strrchr(lock_path, '/');

			return err_set(-EBUSY, "chroot %.*s is busy: another ember-jailer holds %s (same --id)",
				       slash ? (int)(slash - lock_path) : 1, slash ? lock_path : ".", lock_path);
		}
		return err_set(-err, "flock %s: %s", lock_path, strerror(err));
	}
	*fd = lfd;
	return 0;
}

int jail_join_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_set(-errno, "--netns %s: %s", path, strerror(errno));
	if (setns(fd, CLONE_NEWNET) < 0) {
		int err = errno;

		close(fd);
		return err_set(-err, "--netns %s: setns: %s", path, strerror(err));
	}
	close(fd);
	return 0;
}

int jail_enter_root(const char *root)
{
	if (unshare(CLONE_NEWNS) < 0)
		return err_set(-errno, "unshare(CLONE_NEWNS): %s", strerror(errno));
	/* Private, not slave: a mount the host makes under the jail later
	 * must not show up inside it. */
	if (mount("none", "/", "none", MS_PRIVATE | MS_REC, NULL) < 0)
		return err_set(-errno, "making / recursively private: %s", strerror(errno));
	/* pivot_root wants the new root to be a mount point. */
	if (mount(root, root, "none", MS_BIND | MS_REC, NULL) < 0)
		return err_set(-errno, "bind-mounting %s on itself: %s", root, strerror(errno));
	if (chdir(root) < 0)
		return err_set(-errno, "chdir %s: %s", root, strerror(errno));
	/* With new and old root the same, the old root ends up stacked on
	 * "." and is detached right away: no old_root directory to make. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return err_set(-errno, "pivot_root into %s: %s", root, strerror(errno));
	if (umount2(".", MNT_DETACH) < 0)
		return err_set(-errno, "detaching the old root: %s", strerror(errno));
	if (chdir("/") < 0)
		return err_set(-errno, "chdir / in the jail: %s", strerror(errno));
	return 0;
}

static int join_rel(char *out, size_t cap, const char *root, const char *rel)
{
	size_t rlen = strlen(root);
	int n;

	while (*rel == '/')
		rel++;
	n = snprintf(out, cap, "%s%s%s", root, rlen && root[rlen - 1] == '/' ? "" : "/", rel);
	if (n < 0 || (size_t)n >= cap)
		return err_set(-ENAMETOOLONG, "%s/%s: path too long", root, rel);
	return 0;
}

/* Makes the parent directories of <root>/<rel> (the jail's own) and
 * returns the full path in `out`. */
static int jail_path(char *out, size_t cap, const char *root, const char *rel)
{
	char dir[PATH_MAX];
	char *slash;
	int ret = join_rel(out, cap, root, rel);

	if (ret)
		return ret;
	memcpy(dir, out, strlen(out) + 1);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return mkdirs_owned(dir, strlen(root));
}

static int make_node(const char *root, const char *rel, unsigned maj, unsigned min, mode_t mode, uid_t uid,
		     gid_t gid)
{
	char path[PATH_MAX];
	struct stat st;
	int ret = jail_path(path, sizeof(path), root, rel);

	if (ret)
		return ret;
	/* Whatever is there (a stale node, or a link a previous VMM left
	 * in its /dev) is replaced by a node the jailer made. */
	if (lstat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return err_set(-EISDIR, "creating %s: a directory is in the way", path);
		if (unlink(path) < 0)
			return err_set(-errno, "removing the old %s: %s", path, strerror(errno));
	}
	if (mknod(path, S_IFCHR | mode, makedev(maj, min)) < 0)
		return err_set(-errno, "mknod %s (c %u:%u): %s", path, maj, min, strerror(errno));
	if (lchown(path, uid, gid) < 0)
		return err_set(-errno, "chown %u:%u %s: %s", (unsigned)uid, (unsigned)gid, path, strerror(errno));
	if (chmod(path, mode) < 0)
		return err_set(-errno, "chmod %04o %s: %s", (unsigned)mode, path, strerror(errno));
	return 0;
}

int jail_make_devices(const char *root, uid_t uid, gid_t gid)
{
	int ret;

	if ((ret = make_node(root, "dev/kvm", 10, 232, 0660, uid, gid)) ||
	    (ret = make_node(root, "dev/net/tun", 10, 200, 0660, uid, gid)) ||
	    (ret = make_node(root, "dev/urandom", 1, 9, 0666, uid, gid)))
		return ret;
	return 0;
}

static int copy_fd(int src, int dst, off_t size, const char *to)
{
	char *buf = malloc(COPY_CHUNK);
	off_t off = 0;
	int ret = 0;

	if (!buf)
		return err_set(-ENOMEM, "copying to %s: no memory", to);
	while (off < size && !ret) {
		size_t want = size - off < (off_t)COPY_CHUNK ? (size_t)(size - off) : COPY_CHUNK;
		ssize_t n = pread(src, buf, want, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = err_set(n < 0 ? -errno : -EIO, "copying to %s: read at %lld: %s", to, (long long)off,
				      n < 0 ? strerror(errno) : "file shrank");
			break;
		}
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(dst, buf + done, (size_t)(n - done));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				ret = err_set(w < 0 ? -errno : -EIO, "copying to %s: write: %s", to,
					      w < 0 ? strerror(errno) : "no progress");
				break;
			}
			done += w;
		}
		off += n;
	}
	free(buf);
	return ret;
}

int jail_install_file(int src_fd, const char *root, const char *rel, mode_t mode)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	struct stat src, dst;
	int fd, ret = jail_path(path, sizeof(path), root, rel);

	if (ret)
		return ret;
	if (fstat(src_fd, &src) < 0)
		return err_set(-errno, "copying to %s: fstat of the source: %s", path, strerror(errno));
	if (!S_ISREG(src.st_mode))
		return err_set(-EINVAL, "copying to %s: the source is not a regular file", path);
	if (lstat(path, &dst) == 0 && dst.st_dev == src.st_dev && dst.st_ino == src.st_ino)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.jailer-tmp", path);
	if (unlink(tmp) < 0 && errno != ENOENT)
		return err_set(-errno, "removing %s: %s", tmp, strerror(errno));
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(-errno, "creating %s: %s", tmp, strerror(errno));
	ret = copy_fd(src_fd, fd, src.st_size, path);
	if (!ret && fchmod(fd, mode) < 0)
		ret = err_set(-errno, "chmod %04o %s: %s", (unsigned)mode, tmp, strerror(errno));
	if (close(fd) < 0 && !ret)
		ret = err_set(-errno, "closing %s: %s", tmp, strerror(errno));
	/* rename replaces a file or link atomically and never follows one. */
	if (!ret && rename(tmp, path) < 0)
		ret = err_set(-errno, "renaming %s to %s: %s", tmp, path, strerror(errno));
	if (ret)
		unlink(tmp);
	return ret;
}

int jail_own_root(const char *root, uid_t uid, gid_t gid)
{
	if (lchown(root, uid, gid) < 0)
		return err_set(-errno, "chown %u:%u %s: %s", (unsigned)uid, (unsigned)gid, root, strerror(errno));
	return 0;
}
