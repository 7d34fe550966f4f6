#include "snapshot/rebase.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm/log.h"

/* Big enough that per-call overhead vanishes, small enough to stay in cache. */
#define REBASE_CHUNK (1u << 20)

static int file_size(int fd, const char *what, uint64_t *size)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0)
		return err_fail(-errno, "%s (fd %d): %s", what, fd, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return err_fail(-EINVAL, "%s (fd %d) is not a regular file", what, fd);
	*size = (uint64_t)sb.st_size;
	return 0;
}

/* pread/pwrite rather than copy_file_range: the same on every filesystem,
 * and diffs are small next to the guest. */
static int copy_extent(int base_fd, int diff_fd, uint8_t *buf, uint64_t from, uint64_t to)
{
	for (uint64_t pos = from; pos < to;) {
		uint64_t len = to - pos < REBASE_CHUNK ? to - pos : REBASE_CHUNK;
		int ret = ram_file_pread_all(diff_fd, buf, len, pos, "the diff file");

		if (!ret)
			ret = ram_file_pwrite_all(base_fd, buf, len, pos, "the base file");
		if (ret)
			return ret;
		pos += len;
	}
	return 0;
}

int snap_rebase(int base_fd, int diff_fd, struct ram_file_stats *st)
{
	struct ram_file_stats local = { 0 };
	uint64_t base_size, diff_size, pos = 0, data, hole, copied = 0, pages = 0;
	uint64_t first, next_page = 0;
	uint8_t *buf;
	int ret, found;

	if (!st)
		st = &local;
	*st = (struct ram_file_stats){ 0 };
	ret = file_size(base_fd, "base file", &base_size);
	if (!ret)
		ret = file_size(diff_fd, "diff file", &diff_size);
	if (ret)
		return ret;
	if (base_size != diff_size)
		return err_fail(-EINVAL, "the base file is %llu bytes and the diff file %llu: not snapshots of the same VM",
				(unsigned long long)base_size, (unsigned long long)diff_size);
	buf = malloc(REBASE_CHUNK);
	if (!buf)
		return err_fail(-ENOMEM, "no memory for a %u-byte copy buffer", REBASE_CHUNK);
	while ((found = ram_file_next_data(diff_fd, pos, diff_size, &data, &hole)) > 0) {
		ret = copy_extent(base_fd, diff_fd, buf, data, hole);
		if (ret) {
			err_wrap(ret, "merging the diff's data at [0x%llx, 0x%llx) onto the base",
				 (unsigned long long)data, (unsigned long long)hole);
			break;
		}
		copied += hole - data;
		/* Extents follow filesystem blocks, which may be smaller than a
		 * page: count each page holding data once. */
		first = data / RAM_FILE_PAGE > next_page ? data / RAM_FILE_PAGE : next_page;
		next_page = (hole + RAM_FILE_PAGE - 1) / RAM_FILE_PAGE;
		pages += next_page - first;
		pos = hole;
	}
	free(buf);
	if (ret)
		return ret;
	if (found < 0)
		return err_wrap(found, "scanning the diff file for data");
	st->bytes_written = copied;
	st->pages_written = pages;
	st->pages_skipped = (diff_size + RAM_FILE_PAGE - 1) / RAM_FILE_PAGE - pages;
	return 0;
}
