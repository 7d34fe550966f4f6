#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hal/mock.h"
#include "snapshot/ram_file.h"
#include "vmm/log.h"

#define PAGE RAM_FILE_PAGE

static char tmp_path[64];

/* A fresh file; the path stays in tmp_path until the test unlinks it. */
static int tmp_file(void)
{
	int fd;

	strcpy(tmp_path, "/tmp/ember-ram-file-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	return fd;
}

static int tmp_file_unlinked(void)
{
	int fd = tmp_file();

	unlink(tmp_path);
	return fd;
}

static uint8_t *mem_new(uint64_t pages)
{
	uint8_t *m = aligned_alloc(PAGE, pages * PAGE);

	assert_non_null(m);
	memset(m, 0, pages * PAGE);
	return m;
}

static uint64_t fd_size(int fd)
{
	struct stat sb;

	assert_int_equal(fstat(fd, &sb), 0);
	return (uint64_t)sb.st_size;
}

static void assert_file_equals(int fd, uint64_t offset, const void *want, uint64_t len)
{
	uint8_t *got = malloc(len);

	assert_non_null(got);
	assert_int_equal(ram_file_pread_all(fd, got, len, offset, "test file"), 0);
	assert_memory_equal(got, want, len);
	free(got);
}

static bool is_data(int fd, uint64_t page)
{
	off_t d = lseek(fd, (off_t)(page * PAGE), SEEK_DATA);

	return d == (off_t)(page * PAGE);
}

static void test_full_skips_zero_pages(void **state)
{
	uint8_t *m = mem_new(16);
	struct ram_file_region r = { 16 * PAGE, 0, m, false };
	struct ram_file_stats st;
	struct stat sb;
	int fd = tmp_file_unlinked();

	(void)state;
	memset(m + 1 * PAGE, 0xa1, 2 * PAGE);
	m[3 * PAGE + PAGE - 1] = 1; /* only its last byte */
	m[7 * PAGE] = 2;            /* only its first byte */
	m[15 * PAGE + 100] = 3;
	assert_int_equal(ram_file_write_full(fd, &r, 1, &st), 0);
	assert_int_equal(st.pages_written, 5);
	assert_int_equal(st.pages_skipped, 11);
	assert_int_equal(st.bytes_written, 5 * PAGE);
	assert_int_equal(fd_size(fd), 16 * PAGE);
	assert_file_equals(fd, 0, m, 16 * PAGE);
	assert_int_equal(lseek(fd, 0, SEEK_DATA), PAGE);
	assert_int_equal(lseek(fd, PAGE, SEEK_HOLE), 4 * PAGE);
	assert_int_equal(lseek(fd, 4 * PAGE, SEEK_DATA), 7 * PAGE);
	assert_int_equal(lseek(fd, 7 * PAGE, SEEK_HOLE), 8 * PAGE);
	assert_int_equal(lseek(fd, 8 * PAGE, SEEK_DATA), 15 * PAGE);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_true((uint64_t)sb.st_blocks * 512 < 16 * PAGE);
	/* The stats are optional. */
	assert_int_equal(ram_file_write_full(fd, &r, 1, NULL), 0);
	close(fd);
	free(m);
}

static void test_full_two_regions(void **state)
{
	uint8_t *lo = mem_new(8), *hi = mem_new(4), zero[PAGE] = { 0 };
	struct ram_file_region r[2] = { { 8 * PAGE, 0, lo, false }, { 4 * PAGE, 16 * PAGE, hi, false } };
	struct ram_file_stats st;
	int fd = tmp_file_unlinked();

	(void)state;
	memset(lo, 0x11, 8 * PAGE);
	memset(hi + PAGE, 0x22, 3 * PAGE);
	assert_int_equal(ram_file_write_full(fd, r, 2, &st), 0);
	assert_int_equal(st.pages_written, 11);
	assert_int_equal(st.pages_skipped, 1);
	assert_int_equal(fd_size(fd), 20 * PAGE);
	assert_file_equals(fd, 0, lo, 8 * PAGE);
	assert_file_equals(fd, 16 * PAGE, hi, 4 * PAGE);
	for (uint64_t p = 8; p < 17; p++)
		assert_file_equals(fd, p * PAGE, zero, PAGE);
	assert_int_equal(lseek(fd, 8 * PAGE, SEEK_DATA), 17 * PAGE);
	close(fd);
	free(lo);
	free(hi);
}

static void test_full_stale_page_needs_trunc(void **state)
{
	uint8_t *m = mem_new(8), zero[PAGE] = { 0 };
	struct ram_file_region big = { 8 * PAGE, 0, m, false }, small = { 4 * PAGE, 0, m, false };
	int fd = tmp_file();

	(void)state;
	memset(m, 0x5a, 8 * PAGE);
	assert_int_equal(ram_file_write_full(fd, &big, 1, NULL), 0);
	close(fd);
	memset(m + 2 * PAGE, 0, PAGE);
	/* Without O_TRUNC the old page survives under the new hole; the
	 * smaller layout still cuts the file to its size. */
	fd = open(tmp_path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(ram_file_write_full(fd, &small, 1, NULL), 0);
	assert_int_equal(fd_size(fd), 4 * PAGE);
	assert_int_equal(pread(fd, zero, 1, 2 * PAGE), 1);
	assert_int_equal(zero[0], 0x5a);
	close(fd);
	fd = open(tmp_path, O_RDWR | O_TRUNC);
	assert_true(fd >= 0);
	unlink(tmp_path);
	assert_int_equal(ram_file_write_full(fd, &small, 1, NULL), 0);
	assert_file_equals(fd, 0, m, 4 * PAGE);
	assert_false(is_data(fd, 2));
	close(fd);
	free(m);
}

static void test_diff_writes_marked_pages(void **state)
{
	uint8_t *m = mem_new(130), *m2 = mem_new(2), zero[PAGE] = { 0 };
	struct ram_file_region r[2] = { { 130 * PAGE, 0, m, false }, { 2 * PAGE, 200 * PAGE, m2, false } };
	/* Pages 0, 5, 63-65, 129; bits past page 129 are junk to ignore. */
	uint64_t bm[3] = { 1ull | 1ull << 5 | 1ull << 63, 3ull, 1ull << 1 | ~0ull << 2 };
	uint64_t clean[1] = { 0 }, all[1] = { ~0ull };
	const uint64_t *const bitmaps[2] = { bm, clean }, *const all_bm[1] = { all };
	static const uint64_t dirty[] = { 0, 5, 63, 64, 65, 129 };
	struct ram_file_stats st;
	int fd = tmp_file_unlinked();

	(void)state;
	memset(m, 0x77, 130 * PAGE);
	memset(m + 5 * PAGE, 0, PAGE); /* dirty but now zero: still written */
	memset(m2, 0x88, 2 * PAGE);
	assert_int_equal(ram_file_write_diff(fd, r, 2, bitmaps, &st), 0);
	assert_int_equal(st.pages_written, 6);
	assert_int_equal(st.bytes_written, 6 * PAGE);
	assert_int_equal(st.pages_skipped, 126);
	assert_int_equal(fd_size(fd), 202 * PAGE);
	for (unsigned i = 0; i < 6; i++) {
		assert_true(is_data(fd, dirty[i]));
		assert_file_equals(fd, dirty[i] * PAGE, m + dirty[i] * PAGE, PAGE);
	}
	assert_int_equal(lseek(fd, 1 * PAGE, SEEK_DATA), 5 * PAGE);
	assert_int_equal(lseek(fd, 6 * PAGE, SEEK_DATA), 63 * PAGE);
	assert_int_equal(lseek(fd, 63 * PAGE, SEEK_HOLE), 66 * PAGE);
	assert_int_equal(lseek(fd, 66 * PAGE, SEEK_DATA), 129 * PAGE);
	assert_int_equal(lseek(fd, 130 * PAGE, SEEK_DATA), -1);
	assert_file_equals(fd, 200 * PAGE, zero, PAGE);
	/* All dirty: one run to the end of the region. */
	assert_int_equal(ram_file_write_diff(fd, &r[1], 1, all_bm, NULL), 0);
	assert_file_equals(fd, 200 * PAGE, m2, 2 * PAGE);
	close(fd);
	free(m);
	free(m2);
}

/* -1 if /proc/self/pagemap cannot tell, else whether the page is mapped. */
static int page_populated(const void *addr)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t ent;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, &ent, sizeof(ent), (off_t)((uintptr_t)addr / PAGE * sizeof(ent)));
	close(fd);
	return n == sizeof(ent) ? !!(ent & (1ull << 63 | 1ull << 62)) : -1;
}

/* Anonymous memory as the HAL hands it out (mapped here directly: calloc
 * under valgrind touches every page). Untouched pages must be skipped
 * without being read, touched ones still scanned. */
static void test_full_anon_skips_untouched(void **state)
{
	const uint64_t pages = 2048; /* 8 MiB: several probe batches */
	uint8_t *m = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *copy = mem_new(3);
	struct ram_file_region r = { pages * PAGE, 0, m, true };
	struct ram_file_region unaligned = { 2 * PAGE, 0, copy + 1, true };
	struct ram_file_stats st;
	int fd = tmp_file_unlinked();

	(void)state;
	assert_true(m != MAP_FAILED);
	/* 4 KiB pages, so touching one page populates only that one. */
	madvise(m, pages * PAGE, MADV_NOHUGEPAGE);
	m[3 * PAGE] = 1;
	m[600 * PAGE + 7] = 2;
	memset(m + 1500 * PAGE, 3, 3 * PAGE);
	m[1800 * PAGE] = 0; /* touched, still zero: read and skipped */
	assert_int_equal(ram_file_write_full(fd, &r, 1, &st), 0);
	assert_int_equal(st.pages_written, 5);
	assert_int_equal(st.pages_skipped, pages - 5);
	if (page_populated(m) >= 0) {
		assert_int_equal(page_populated(m + 3 * PAGE), 1);
		assert_int_equal(page_populated(m + 2000 * PAGE), 0); /* never read */
		r.anon = false;
		assert_int_equal(ram_file_write_full(fd, &r, 1, NULL), 0);
		assert_int_equal(page_populated(m + 2000 * PAGE), 1);
	}
	assert_file_equals(fd, 0, m, pages * PAGE);
	/* Off a page boundary the probe cannot line up: every page is read. */
	memset(copy, 9, 3 * PAGE);
	assert_int_equal(ram_file_write_full(fd, &unaligned, 1, &st), 0);
	assert_int_equal(st.pages_written, 2);
	assert_file_equals(fd, 0, copy + 1, 2 * PAGE);
	close(fd);
	munmap(m, pages * PAGE);
	free(copy);
}

static void expect_einval(int ret, const char *needle)
{
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err_last(), needle));
}

static void test_layout_refused(void **state)
{
	uint8_t *m = mem_new(4);
	struct ram_file_region ok = { 4 * PAGE, 0, m, false };
	struct ram_file_region overlap[2] = { { 4 * PAGE, 0, m, false }, { 2 * PAGE, 3 * PAGE, m, false } };
	struct ram_file_region bad_size = { PAGE + 1, 0, m, false }, bad_off = { PAGE, 1, m, false };
	struct ram_file_region empty = { 0, 0, m, false }, no_host = { PAGE, 0, NULL, false };
	struct ram_file_region wraps = { 2 * PAGE, UINT64_MAX - PAGE + 1, m, false };
	uint64_t bm[1] = { 1 };
	const uint64_t *const no_bm[1] = { NULL };
	int fd = tmp_file_unlinked();

	(void)state;
	expect_einval(ram_file_write_full(fd, &ok, 0, NULL), "no RAM regions");
	expect_einval(ram_file_write_full(fd, overlap, 2, NULL), "regions 0 and 1 overlap");
	expect_einval(ram_file_write_full(fd, &bad_size, 1, NULL), "RAM region 0");
	expect_einval(ram_file_write_full(fd, &bad_off, 1, NULL), "not 4 KiB aligned");
	expect_einval(ram_file_write_full(fd, &empty, 1, NULL), "empty");
	expect_einval(ram_file_write_full(fd, &no_host, 1, NULL), "has no memory");
	expect_einval(ram_file_write_full(fd, &wraps, 1, NULL), "overflows");
	expect_einval(ram_file_write_diff(fd, &ok, 1, NULL, NULL), "no dirty bitmap");
	expect_einval(ram_file_write_diff(fd, &ok, 1, no_bm, NULL), "no dirty bitmap");
	expect_einval(ram_file_write_diff(fd, overlap, 2, (const uint64_t *const[]){ bm, bm }, NULL), "overlap");
	assert_int_equal(fd_size(fd), 0);
	close(fd);
	free(m);
}

static void test_check_region(void **state)
{
	(void)state;
	assert_int_equal(ram_file_check_region(8 * PAGE, 4 * PAGE, 4 * PAGE), 0);
	assert_int_equal(ram_file_check_region(8 * PAGE, 0, 8 * PAGE), 0);
	expect_einval(ram_file_check_region(8 * PAGE, 4 * PAGE, 5 * PAGE), "past the end");
	expect_einval(ram_file_check_region(8 * PAGE - 1, 0, 8 * PAGE), "past the end");
	expect_einval(ram_file_check_region(8 * PAGE, 100, PAGE), "not 4 KiB aligned");
	expect_einval(ram_file_check_region(8 * PAGE, 0, PAGE - 1), "not 4 KiB aligned");
	expect_einval(ram_file_check_region(8 * PAGE, PAGE, 0), "empty");
	expect_einval(ram_file_check_region(UINT64_MAX, UINT64_MAX - PAGE + 1, 2 * PAGE), "overflows");
	expect_einval(ram_file_check_region(UINT64_MAX, 1ull << 63, PAGE), "overflows");
}

/* RLIMIT_FSIZE makes the kernel cut a write short at the limit and refuse
 * the next one (EFBIG): the retry loop and the error both run. The soft
 * limit is put back at once (not in a child: valgrind would count the
 * child's inherited heap as leaked). */
static void test_write_short_then_efbig(void **state)
{
	uint8_t *m = mem_new(8);
	struct ram_file_region r = { 8 * PAGE, 0, m, false };
	struct rlimit old, lim;
	void (*old_handler)(int);
	int fd = tmp_file_unlinked(), ret;

	(void)state;
	memset(m, 0x42, 8 * PAGE);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = (struct rlimit){ 3 * PAGE + 100, old.rlim_max };
	old_handler = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ret = ram_file_write_full(fd, &r, 1, NULL);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);
	assert_int_equal(ret, -EFBIG);
	assert_non_null(strstr(err_last(), "RAM region 0, page 0"));
	assert_int_equal(fd_size(fd), 3 * PAGE + 100);
	close(fd);
	free(m);
}

static void test_write_errors(void **state)
{
	uint8_t *m = mem_new(4);
	struct ram_file_region data = { 4 * PAGE, 0, m, false }, zeros = { 2 * PAGE, 0, m + 2 * PAGE, false };
	uint64_t bm[1] = { 2 };
	const uint64_t *const bms[1] = { bm };
	int fd = tmp_file(), ro, full;

	(void)state;
	ro = open(tmp_path, O_RDONLY);
	assert_true(ro >= 0);
	unlink(tmp_path);
	memset(m, 1, 2 * PAGE);
	assert_int_equal(ram_file_write_full(ro, &data, 1, NULL), -EBADF);
	assert_non_null(strstr(err_last(), "writing 8192 bytes of the memory file at offset 0x0"));
	assert_int_equal(ram_file_write_diff(ro, &data, 1, bms, NULL), -EBADF);
	assert_non_null(strstr(err_last(), "page 1"));
	/* Nothing to write: the sizing is what fails. */
	assert_true(ram_file_write_full(ro, &zeros, 1, NULL) < 0);
	assert_non_null(strstr(err_last(), "sizing the memory file"));
	full = open("/dev/full", O_WRONLY);
	if (full >= 0) {
		assert_int_equal(ram_file_write_full(full, &data, 1, NULL), -ENOSPC);
		close(full);
	}
	assert_int_equal(ram_file_pread_all(fd, m, PAGE, 0, "the empty file"), -EIO);
	assert_non_null(strstr(err_last(), "the file ends there"));
	close(ro);
	close(fd);
	free(m);
}

/* A two-region image: data, hole, data in the second region. */
static int sample_image(uint8_t **lo, uint8_t **hi)
{
	int fd = tmp_file_unlinked();
	struct ram_file_region r[2] = { { 4 * PAGE, 0, *lo = mem_new(4), false },
					{ 8 * PAGE, 4 * PAGE, *hi = mem_new(8), false } };

	memset(*lo, 0x31, 4 * PAGE);
	memset(*hi, 0x32, 2 * PAGE);
	memset(*hi + 5 * PAGE, 0x33, 2 * PAGE);
	assert_int_equal(ram_file_write_full(fd, r, 2, NULL), 0);
	return fd;
}

static void test_load_lazy_and_eager(void **state)
{
	uint8_t *lo, *hi, *got, byte;
	struct hal *h;
	const struct hal_mock_call *c;
	int fd = sample_image(&lo, &hi);

	(void)state;
	assert_int_equal(hal_mock_create(&h), 0);
	assert_int_equal(ram_file_load(h, fd, 4 * PAGE, 8 * PAGE, true, (void **)&got), 0);
	c = hal_mock_last_call(h, MOCK_MEM_MAP_FILE);
	assert_non_null(c);
	assert_int_equal(c->args[1], 4 * PAGE);
	assert_int_equal(c->args[2], 8 * PAGE);
	assert_int_equal(c->args[3], 1); /* private_cow */
	assert_memory_equal(got, hi, 8 * PAGE);
	memset(got, 0xee, 8 * PAGE);
	assert_int_equal(h->ops->mem_free(h, got, 8 * PAGE), 0);
	assert_int_equal(pread(fd, &byte, 1, 4 * PAGE), 1);
	assert_int_equal(byte, 0x32); /* copy-on-write: the file is untouched */

	assert_int_equal(ram_file_load(h, fd, 4 * PAGE, 8 * PAGE, false, (void **)&got), 0);
	assert_int_equal(hal_mock_call_count(h, MOCK_MEM_ALLOC), 1);
	assert_memory_equal(got, hi, 8 * PAGE);
	assert_int_equal(h->ops->mem_free(h, got, 8 * PAGE), 0);
	assert_int_equal(ram_file_load(h, fd, 0, 4 * PAGE, false, (void **)&got), 0);
	assert_memory_equal(got, lo, 4 * PAGE);
	assert_int_equal(h->ops->mem_free(h, got, 4 * PAGE), 0);
	h->ops->destroy(h);
	close(fd);
	free(lo);
	free(hi);
}

static void test_load_refused(void **state)
{
	uint8_t *lo, *hi;
	void *got = NULL;
	struct hal *h;
	int fd = sample_image(&lo, &hi), pipefd[2];

	(void)state;
	assert_int_equal(hal_mock_create(&h), 0);
	expect_einval(ram_file_load(h, fd, 4 * PAGE, 9 * PAGE, true, &got), "past the end of the 49152-byte");
	expect_einval(ram_file_load(h, fd, 100, PAGE, false, &got), "not 4 KiB aligned");
	expect_einval(ram_file_load(h, fd, 0, 0, true, &got), "empty");
	assert_int_equal(pipe(pipefd), 0);
	expect_einval(ram_file_load(h, pipefd[0], 0, PAGE, true, &got), "not a regular file");
	assert_int_equal(ram_file_load(h, -1, 0, PAGE, true, &got), -EBADF);
	assert_int_equal(hal_mock_calls_total(h), 0); /* refused before the HAL */
	assert_null(got);
	close(pipefd[0]);
	close(pipefd[1]);
	h->ops->destroy(h);
	close(fd);
	free(lo);
	free(hi);
}

static void test_load_hal_failures(void **state)
{
	uint8_t *lo, *hi;
	void *got = NULL;
	struct hal *h;
	int fd = sample_image(&lo, &hi), wo;
	char path[64];

	(void)state;
	assert_int_equal(hal_mock_create(&h), 0);
	hal_mock_fail_nth(h, MOCK_MEM_MAP_FILE, 1, -ENOMEM);
	assert_int_equal(ram_file_load(h, fd, 0, 4 * PAGE, true, &got), -ENOMEM);
	assert_non_null(strstr(err_last(), "mapping guest RAM [0x0, +0x4000)"));
	hal_mock_fail_nth(h, MOCK_MEM_ALLOC, 1, -ENOMEM);
	assert_int_equal(ram_file_load(h, fd, 0, 4 * PAGE, false, &got), -ENOMEM);
	assert_non_null(strstr(err_last(), "allocating"));
	/* Readable metadata, unreadable data: the copy fails after the
	 * allocation, which is given back. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	wo = open(path, O_WRONLY);
	assert_true(wo >= 0);
	assert_int_equal(ram_file_load(h, wo, 0, 4 * PAGE, false, &got), -EBADF);
	assert_non_null(strstr(err_last(), "copying guest RAM"));
	assert_int_equal(hal_mock_call_count(h, MOCK_MEM_FREE), 1);
	assert_null(got);
	close(wo);
	h->ops->destroy(h);
	close(fd);
	free(lo);
	free(hi);
}

static void test_next_data(void **state)
{
	uint8_t *lo, *hi;
	uint64_t d = 0, e = 0;
	int fd = sample_image(&lo, &hi);

	(void)state;
	assert_int_equal(ram_file_next_data(fd, 0, 20 * PAGE, &d, &e), 1);
	assert_int_equal(d, 0);
	assert_int_equal(e, 6 * PAGE);
	assert_int_equal(ram_file_next_data(fd, 2 * PAGE, 3 * PAGE, &d, &e), 1);
	assert_int_equal(e, 3 * PAGE); /* clipped */
	assert_int_equal(ram_file_next_data(fd, 6 * PAGE, 8 * PAGE, &d, &e), 0);
	assert_int_equal(ram_file_next_data(fd, 11 * PAGE, 20 * PAGE, &d, &e), 0);
	assert_int_equal(ram_file_next_data(fd, 5 * PAGE, 5 * PAGE, &d, &e), 0);
	assert_int_equal(ram_file_next_data(-1, 0, PAGE, &d, &e), -EBADF);
	assert_non_null(strstr(err_last(), "looking for data"));
	close(fd);
	free(lo);
	free(hi);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_skips_zero_pages),
		cmocka_unit_test(test_full_two_regions),
		cmocka_unit_test(test_full_stale_page_needs_trunc),
		cmocka_unit_test(test_full_anon_skips_untouched),
		cmocka_unit_test(test_diff_writes_marked_pages),
		cmocka_unit_test(test_layout_refused),
		cmocka_unit_test(test_check_region),
		cmocka_unit_test(test_write_short_then_efbig),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_load_lazy_and_eager),
		cmocka_unit_test(test_load_refused),
		cmocka_unit_test(test_load_hal_failures),
		cmocka_unit_test(test_next_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
