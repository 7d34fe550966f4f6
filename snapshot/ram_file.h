/* The guest-RAM file of a snapshot: each RAM region's bytes at the
 * file_offset the MACHINE record gives it (snapshot/format.h), in 4 KiB
 * pages.
 *
 * A full snapshot writes every non-zero page and leaves zero pages as holes,
 * so a mostly idle guest costs little disk. A diff snapshot writes only the
 * pages KVM's dirty log marks, zero or not: its holes mean "unchanged since
 * the previous snapshot", which is what snap_rebase (snapshot/rebase.h)
 * relies on to merge it onto a base.
 *
 * Writers want the file opened with O_TRUNC: a page left as a hole would
 * otherwise keep whatever an older snapshot wrote there. Never write into
 * the file a guest's RAM is lazily mapped from (a restored VM's own memory
 * file): its untouched pages still read through to the file.
 *
 * Errors are negative errnos with a message (err_last()) naming the region,
 * file offset and failing call. */
#ifndef EMBER_SNAPSHOT_RAM_FILE_H
#define EMBER_SNAPSHOT_RAM_FILE_H

#include <stdbool.h>
#include <stdint.h>

struct hal;

#define RAM_FILE_PAGE 4096u

struct ram_file_region {
	uint64_t size;        /* bytes, a non-zero multiple of RAM_FILE_PAGE */
	uint64_t file_offset; /* page aligned; regions must not overlap in the file */
	const void *host;     /* the region's guest memory */
	/* The memory came from hal mem_alloc (anonymous, nothing serves its
	 * missing pages): a page never touched is known to be zero, so the
	 * full writer skips it without reading it. Leave false for memory
	 * mapped from a file, whose missing pages hold the file's data. */
	bool anon;
};

struct ram_file_stats {
	uint64_t bytes_written;
	uint64_t pages_written;
	uint64_t pages_skipped; /* zero pages (full), clean pages (diff), holes (rebase) */
};

/* Writes each region's non-zero pages at its file_offset, runs of
 * consecutive non-zero pages in one pwrite, and sizes the file to the end of
 * the furthest region. `st` may be NULL. -EINVAL for a bad layout.
 * Reading a never-touched page costs a page fault (tens of microseconds in
 * a nested VM: seconds per GiB), so for `anon` regions /proc/self/pagemap
 * first says which pages were never populated; without it every page is
 * read. */
int ram_file_write_full(int fd, const struct ram_file_region *r, unsigned n, struct ram_file_stats *st);

/* Writes only the pages whose bit is set in bitmaps[i]: bit p (uint64_t
 * words, least significant bit first, as KVM's dirty log) is page p of
 * region i; bits past the region's last page are ignored. Every bitmap must
 * be non-NULL. The file is sized to the full layout, the rest are holes. */
int ram_file_write_diff(int fd, const struct ram_file_region *r, unsigned n, const uint64_t *const *bitmaps,
			struct ram_file_stats *st);

/* 0 if [offset, offset+size) is page aligned, non-empty, does not overflow
 * and lies inside a file of file_size bytes; -EINVAL with a message
 * otherwise. A region past EOF is refused because a MAP_PRIVATE mapping of
 * it would SIGBUS when the guest touches the missing part. */
int ram_file_check_region(uint64_t file_size, uint64_t offset, uint64_t size);

/* Brings one region back through the HAL into *host (free it with
 * hal->ops->mem_free(hal, *host, size)). lazy maps the file MAP_PRIVATE:
 * pages are read on first touch and writes stay private. Otherwise the data
 * extents are read into fresh anonymous memory (holes stay untouched zero
 * pages). The fd must be a regular file holding the whole region. */
int ram_file_load(struct hal *hal, int fd, uint64_t file_offset, uint64_t size, bool lazy, void **host);

/* The next data extent of fd at or after `pos` and before `end`:
 * returns 1 with [*data, *hole) set (clipped to end), 0 when the rest is a
 * hole, or a negative errno. Moves the fd's file offset (pread/pwrite users
 * do not care). A filesystem without hole support reports all data. */
int ram_file_next_data(int fd, uint64_t pos, uint64_t end, uint64_t *data, uint64_t *hole);

/* pwrite/pread of the whole buffer: retries short transfers and EINTR.
 * A read that hits EOF early fails with -EIO. `what` names the file in
 * the message. */
int ram_file_pwrite_all(int fd, const void *buf, uint64_t len, uint64_t offset, const char *what);
int ram_file_pread_all(int fd, void *buf, uint64_t len, uint64_t offset, const char *what);

#endif
