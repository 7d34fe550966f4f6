#include "snapshot/ram_file.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hal/hal.h"
#include "vmm/log.h"

#define PAGE RAM_FILE_PAGE

/* Guest pages are mostly either all zero or non-zero in their first bytes,
 * so the scan ORs eight words at a time (vectorised by the compiler) and
 * stops at the first non-zero block. memcpy keeps the loads legal for any
 * alignment and type the buffer was written through. */
static bool page_is_zero(const uint8_t *p)
{
	for (unsigned off = 0; off < PAGE; off += 64) {
		uint64_t w[8];

		memcpy(w, p + off, sizeof(w));
		if (w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7])
			return false;
	}
	return true;
}

/* Short transfers and EINTR are retried; a read past the end or a write
 * that makes no progress is an error. */
static int transfer_all(int fd, uint8_t *p, uint64_t len, uint64_t offset, const char *what, bool write)
{
	while (len) {
		ssize_t n = write ? pwrite(fd, p, len, (off_t)offset) : pread(fd, p, len, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set(n < 0 ? -errno : -EIO, "%s: %s %llu bytes of %s at offset 0x%llx: %s",
				       write ? "ram_file_pwrite_all" : "ram_file_pread_all",
				       write ? "writing" : "reading", (unsigned long long)len, what,
				       (unsigned long long)offset,
				       n < 0 ? strerror(errno) : write ? "no progress" : "the file ends there");
		p += n;
		len -= (uint64_t)n;
		offset += (uint64_t)n;
	}
	return 0;
}

int ram_file_pwrite_all(int fd, const void *buf, uint64_t len, uint64_t offset, const char *what)
{
	/* Cast only: transfer_all never writes through p when writing. */
	return transfer_all(fd, (uint8_t *)buf, len, offset, what, true);
}

int ram_file_pread_all(int fd, void *buf, uint64_t len, uint64_t offset, const char *what)
{
	return transfer_all(fd, buf, len, offset, what, false);
}

int ram_file_check_region(uint64_t file_size, uint64_t offset, uint64_t size)
{
	uint64_t end;

	if (!size)
		return err_fail(-EINVAL, "RAM region at file offset 0x%llx is empty", (unsigned long long)offset);
	if (offset % PAGE || size % PAGE)
		return err_fail(-EINVAL, "RAM region [0x%llx, +0x%llx) in the file is not 4 KiB aligned",
				(unsigned long long)offset, (unsigned long long)size);
	if (__builtin_add_overflow(offset, size, &end) || end > INT64_MAX)
		return err_fail(-EINVAL, "RAM region [0x%llx, +0x%llx) in the file overflows a file offset",
				(unsigned long long)offset, (unsigned long long)size);
	if (end > file_size)
		return err_fail(-EINVAL, "RAM region [0x%llx, 0x%llx) goes past the end of the %llu-byte memory file",
				(unsigned long long)offset, (unsigned long long)end, (unsigned long long)file_size);
	return 0;
}

/* Checks the writer's layout and returns where the file must end. */
static int layout_check(const struct ram_file_region *r, unsigned n, uint64_t *end)
{
	*end = 0;
	if (!n)
		return err_fail(-EINVAL, "no RAM regions to write");
	for (unsigned i = 0; i < n; i++) {
		int ret = ram_file_check_region(UINT64_MAX, r[i].file_offset, r[i].size);

		if (ret)
			return err_wrap(ret, "RAM region %u", i);
		if (!r[i].host)
			return err_fail(-EINVAL, "RAM region %u has no memory", i);
		for (unsigned j = 0; j < i; j++) {
			if (r[i].file_offset < r[j].file_offset + r[j].size &&
			    r[j].file_offset < r[i].file_offset + r[i].size)
				return err_fail(-EINVAL, "RAM regions %u and %u overlap in the file", j, i);
		}
		if (r[i].file_offset + r[i].size > *end)
			*end = r[i].file_offset + r[i].size;
	}
	return 0;
}

/* Also cuts what an older, bigger snapshot left past the end (a file
 * reused without O_TRUNC). */
static int file_set_size(int fd, uint64_t end)
{
	if (ftruncate(fd, (off_t)end) < 0)
		return err_fail(-errno, "sizing the memory file to %llu bytes: %s", (unsigned long long)end,
				strerror(errno));
	return 0;
}

static int write_pages(int fd, const struct ram_file_region *r, unsigned i, uint64_t first, uint64_t count,
		       struct ram_file_stats *st)
{
	uint64_t off = first * PAGE, len = count * PAGE;
	int ret = ram_file_pwrite_all(fd, (const uint8_t *)r->host + off, len, r->file_offset + off,
				      "the memory file");

	if (ret)
		return err_wrap(ret, "RAM region %u, page %llu", i, (unsigned long long)first);
	st->bytes_written += len;
	st->pages_written += count;
	return 0;
}

/* pagemap entry bits: a page neither present nor swapped out was never
 * populated (see Documentation/admin-guide/mm/pagemap.rst). */
#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_SWAPPED (1ull << 62)
#define PROBE_BATCH 512u /* entries per read: 2 MiB of memory */

/* Which pages of an anonymous region are certainly zero, batch by batch. */
struct probe {
	int fd;          /* /proc/self/pagemap, or -1: assume every page populated */
	uint64_t vpage;  /* virtual page number of the region's first page */
	uint64_t first;  /* region page of ent[0]; UINT64_MAX before the first read */
	uint64_t n;      /* entries in ent[] */
	uint64_t ent[PROBE_BATCH];
};

static bool probe_untouched(struct probe *pr, uint64_t page, uint64_t pages)
{
	if (pr->fd < 0)
		return false;
	if (page - pr->first >= pr->n) {
		uint64_t want = pages - page < PROBE_BATCH ? pages - page : PROBE_BATCH;
		ssize_t got = pread(pr->fd, pr->ent, want * sizeof(pr->ent[0]), (off_t)((pr->vpage + page) * 8));

		pr->first = page;
		pr->n = got > 0 ? (uint64_t)got / sizeof(pr->ent[0]) : 0;
		/* The probe only saves work: when it fails, read the pages. */
		if (!pr->n) {
			close(pr->fd);
			pr->fd = -1;
			return false;
		}
	}
	return !(pr->ent[page - pr->first] & (PAGEMAP_PRESENT | PAGEMAP_SWAPPED));
}

static int region_write_full(int fd, const struct ram_file_region *r, unsigned i, struct probe *pr,
			     struct ram_file_stats *st)
{
	uint64_t pages = r->size / PAGE, run = 0;
	/* Entries are per host page: only an aligned region lines up. */
	bool probe = r->anon && (uintptr_t)r->host % PAGE == 0;
	int ret = 0;

	pr->vpage = (uintptr_t)r->host / PAGE;
	pr->first = UINT64_MAX;
	pr->n = 0;
	for (uint64_t p = 0; p < pages && !ret; p++) {
		const uint8_t *page = (const uint8_t *)r->host + p * PAGE;

		if ((!probe || !probe_untouched(pr, p, pages)) && !page_is_zero(page)) {
			run++;
			continue;
		}
		st->pages_skipped++;
		if (run)
			ret = write_pages(fd, r, i, p - run, run, st);
		run = 0;
	}
	if (run && !ret)
		ret = write_pages(fd, r, i, pages - run, run, st);
	return ret;
}

int ram_file_write_full(int fd, const struct ram_file_region *r, unsigned n, struct ram_file_stats *st)
{
	struct ram_file_stats local = { 0 };
	struct probe pr = { .fd = -1 };
	uint64_t end;
	int ret = layout_check(r, n, &end);

	if (!st)
		st = &local;
	*st = (struct ram_file_stats){ 0 };
	for (unsigned i = 0; i < n && !ret; i++) {
		if (r[i].anon && pr.fd < 0)
			pr.fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		ret = region_write_full(fd, &r[i], i, &pr, st);
	}
	if (pr.fd >= 0)
		close(pr.fd);
	return ret ? ret : file_set_size(fd, end);
}

/* The first page at or after `from` (and below `pages`) whose bit equals
 * `set`; `pages` if none. Whole words are skipped at once. */
static uint64_t bitmap_find(const uint64_t *bm, uint64_t pages, uint64_t from, bool set)
{
	while (from < pages) {
		uint64_t w = set ? bm[from / 64] : ~bm[from / 64];

		w &= ~0ull << (from % 64);
		if (w) {
			uint64_t p = from / 64 * 64 + (uint64_t)__builtin_ctzll(w);

			return p < pages ? p : pages;
		}
		from = (from / 64 + 1) * 64;
	}
	return pages;
}

int ram_file_write_diff(int fd, const struct ram_file_region *r, unsigned n, const uint64_t *const *bitmaps,
			struct ram_file_stats *st)
{
	struct ram_file_stats local = { 0 };
	uint64_t end, total = 0;
	int ret = layout_check(r, n, &end);

	if (!st)
		st = &local;
	*st = (struct ram_file_stats){ 0 };
	for (unsigned i = 0; i < n && !ret; i++) {
		uint64_t pages = r[i].size / PAGE, p = 0;

		if (!bitmaps || !bitmaps[i]) {
			ret = err_fail(-EINVAL, "RAM region %u has no dirty bitmap", i);
			break;
		}
		total += pages;
		while (!ret && (p = bitmap_find(bitmaps[i], pages, p, true)) < pages) {
			uint64_t first = p;

			p = bitmap_find(bitmaps[i], pages, first, false);
			ret = write_pages(fd, &r[i], i, first, p - first, st);
		}
	}
	if (ret)
		return ret;
	st->pages_skipped = total - st->pages_written;
	return file_set_size(fd, end);
}

int ram_file_next_data(int fd, uint64_t pos, uint64_t end, uint64_t *data, uint64_t *hole)
{
	off_t d, h;

	if (pos >= end)
		return 0;
	d = lseek(fd, (off_t)pos, SEEK_DATA);
	if (d < 0 && errno == ENXIO)
		return 0;
	if (d < 0)
		return err_fail(-errno, "looking for data at offset 0x%llx: %s", (unsigned long long)pos,
				strerror(errno));
	if ((uint64_t)d >= end)
		return 0;
	h = lseek(fd, d, SEEK_HOLE);
	if (h < 0)
		return err_fail(-errno, "looking for a hole at offset 0x%llx: %s", (unsigned long long)d,
				strerror(errno));
	*data = (uint64_t)d;
	*hole = (uint64_t)h < end ? (uint64_t)h : end;
	return 1;
}

/* Only the data extents are read: holes are zero in the file and already
 * zero in fresh anonymous memory, and leaving them untouched keeps them
 * from counting as resident. */
static int load_copy(int fd, uint64_t file_offset, uint64_t size, uint8_t *dst)
{
	uint64_t end = file_offset + size, pos = file_offset, data, hole;
	int found;

	while ((found = ram_file_next_data(fd, pos, end, &data, &hole)) > 0) {
		int ret = ram_file_pread_all(fd, dst + (data - file_offset), hole - data, data, "the memory file");

		if (ret)
			return ret;
		pos = hole;
	}
	return found;
}

int ram_file_load(struct hal *hal, int fd, uint64_t file_offset, uint64_t size, bool lazy, void **host)
{
	struct stat sb;
	void *p;
	int ret;

	if (fstat(fd, &sb) < 0)
		return err_fail(-errno, "memory file fd %d: %s", fd, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return err_fail(-EINVAL, "memory file fd %d is not a regular file", fd);
	ret = ram_file_check_region((uint64_t)sb.st_size, file_offset, size);
	if (ret)
		return ret;
	if (lazy) {
		ret = hal->ops->mem_map_file(hal, fd, file_offset, size, true, host);
		return ret ? err_wrap(ret, "mapping guest RAM [0x%llx, +0x%llx) of the memory file",
				      (unsigned long long)file_offset, (unsigned long long)size)
			   : 0;
	}
	ret = hal->ops->mem_alloc(hal, size, HAL_MEM_NORESERVE, &p);
	if (ret)
		return err_wrap(ret, "allocating %llu MiB for guest RAM", (unsigned long long)(size >> 20));
	ret = load_copy(fd, file_offset, size, p);
	if (ret) {
		err_wrap(ret, "copying guest RAM [0x%llx, +0x%llx) from the memory file",
			 (unsigned long long)file_offset, (unsigned long long)size);
		hal->ops->mem_free(hal, p, size);
		return ret;
	}
	*host = p;
	return 0;
}
