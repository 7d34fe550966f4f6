#include "vmm/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "vmm/log.h"

int file_read_all(const char *path, size_t max, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_set(-errno, "%s: %m", path);
	if (fstat(fd, &st) < 0) {
		int err = -errno;

		close(fd);
		return err_set(err, "%s: fstat: %s", path, strerror(-err));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(-EINVAL, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return err_set(-EFBIG, "%s: %lld bytes is larger than the %zu allowed", path,
			       (long long)st.st_size, max);
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return err_set(-ENOMEM, "%s: no memory for %lld bytes", path, (long long)st.st_size);
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;

			free(buf);
			close(fd);
			return err_set(err, "%s: read failed at byte %zu", path, got);
		}
		got += (size_t)n;
	}
	close(fd);
	*out = buf;
	*len = got;
	return 0;
}

void file_drop_range(void *buf, size_t offset, size_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = ((uintptr_t)buf + offset + page - 1) & ~(page - 1);
	uintptr_t end = ((uintptr_t)buf + offset + len) & ~(page - 1);

	/* Best effort: on failure the pages just stay resident. */
	if (end > start)
		madvise((void *)start, end - start, MADV_DONTNEED);
}

/* Splits `path` into its directory ("." when it has none, "/" for "/x")
 * and its last component (*base points into path). -ENAMETOOLONG when
 * the directory does not fit dir[PATH_MAX]. */
static int split_dir(const char *path, char dir[PATH_MAX], const char **base)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	*base = slash ? slash + 1 : path;
	if (n >= PATH_MAX)
		return -ENAMETOOLONG;
	if (!slash)
		strcpy(dir, ".");
	else if (!n)
		strcpy(dir, "/");
	else
		memcpy(dir, path, n), dir[n] = 0;
	return 0;
}

/* The directory's real path joined to the last component: NULL when the
 * directory cannot be resolved. The caller frees it. */
static char *canonical_name(const char *path)
{
	char dir[PATH_MAX], *real, *out = NULL;
	const char *base;

	if (split_dir(path, dir, &base) || !(real = realpath(dir, NULL)))
		return NULL;
	if (asprintf(&out, "%s/%s", real, base) < 0)
		out = NULL;
	free(real);
	return out;
}

static int stat_dir_of(const char *path, struct stat *st, const char **base)
{
	char dir[PATH_MAX];
	int ret = split_dir(path, dir, base);

	return ret ? ret : stat(dir, st) ? -errno : 0;
}

bool file_same(const char *a, const char *b)
{
	struct stat sa, sb;
	const char *ba, *bb;

	if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	/* Only stat: this runs on the VMM thread, whose seccomp filter has
	 * no getcwd or readlink for realpath(). */
	if (stat_dir_of(a, &sa, &ba) || stat_dir_of(b, &sb, &bb))
		return false;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino && !strcmp(ba, bb);
}

bool file_within(const char *dir, const char *path)
{
	char *d = realpath(dir, NULL), *f = realpath(path, NULL);
	size_t n;
	bool inside;

	if (!f && errno == ENOENT)
		f = canonical_name(path);
	if (!d || !f) {
		free(d);
		free(f);
		return false;
	}
	n = strlen(d);
	/* The root is "/": every resolved path starts with it. */
	inside = !strcmp(d, "/") ? strcmp(f, "/") != 0 : !strncmp(f, d, n) && f[n] == '/' && f[n + 1];
	free(d);
	free(f);
	return inside;
}
