#include "vmm/file.h"

#include <errno.h>
#include <fcntl.h>
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
