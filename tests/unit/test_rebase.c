#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "snapshot/ram_file.h"
#include "snapshot/rebase.h"
#include "vmm/log.h"

#define PAGE RAM_FILE_PAGE
#define LO_PAGES 48u
#define HI_PAGES 16u
#define HI_OFFSET (64 * PAGE) /* a gap between the regions, as in a layout with a hole */
#define FILE_PAGES 80u

extern char **environ;

struct guest {
	uint8_t *lo, *hi;
	struct ram_file_region r[2];
};

static void guest_init(struct guest *g)
{
	g->lo = aligned_alloc(PAGE, LO_PAGES * PAGE);
	g->hi = aligned_alloc(PAGE, HI_PAGES * PAGE);
	assert_non_null(g->lo);
	assert_non_null(g->hi);
	for (unsigned p = 0; p < LO_PAGES; p++)
		memset(g->lo + p * PAGE, p % 4 ? (int)p : 0, PAGE); /* every 4th page zero */
	memset(g->hi, 0, HI_PAGES * PAGE);
	memset(g->hi + 2 * PAGE, 0xc0, 4 * PAGE);
	g->r[0] = (struct ram_file_region){ .size = LO_PAGES * PAGE, .host = g->lo };
	g->r[1] = (struct ram_file_region){ .size = HI_PAGES * PAGE, .file_offset = HI_OFFSET, .host = g->hi };
}

static void guest_fini(struct guest *g)
{
	free(g->lo);
	free(g->hi);
}

static int tmp_file(char *path)
{
	int fd;

	strcpy(path, "/tmp/ember-rebase-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	return fd;
}

static uint8_t *read_whole(int fd, uint64_t len)
{
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	assert_int_equal(ram_file_pread_all(fd, buf, len, 0, "test file"), 0);
	return buf;
}

/* Dirties pages 1 (now zero), 5, 6, 7, 44 of the low region and 0 (was
 * zero) and 3 of the high one; returns the diff file. */
static int guest_dirty_and_diff(struct guest *g, char *path)
{
	uint64_t bm_lo[1] = { 1ull << 1 | 7ull << 5 | 1ull << 44 }, bm_hi[1] = { 1ull | 1ull << 3 };
	const uint64_t *const bms[2] = { bm_lo, bm_hi };
	int fd = tmp_file(path);

	memset(g->lo + 1 * PAGE, 0, PAGE);
	memset(g->lo + 5 * PAGE, 0xd5, 3 * PAGE);
	g->lo[44 * PAGE + 17] ^= 0xff;
	memset(g->hi, 0xd0, PAGE);
	g->hi[3 * PAGE] = 0x33;
	assert_int_equal(ram_file_write_diff(fd, g->r, 2, bms, NULL), 0);
	return fd;
}

static void assert_base_is_guest(int base, const struct guest *g)
{
	uint8_t *img = read_whole(base, FILE_PAGES * PAGE);

	assert_memory_equal(img, g->lo, LO_PAGES * PAGE);
	assert_memory_equal(img + HI_OFFSET, g->hi, HI_PAGES * PAGE);
	free(img);
}

static void test_rebase_merges_diff(void **state)
{
	struct guest g;
	struct ram_file_stats st;
	char bpath[32], dpath[32];
	int base = tmp_file(bpath), diff;

	(void)state;
	guest_init(&g);
	assert_int_equal(ram_file_write_full(base, g.r, 2, NULL), 0);
	diff = guest_dirty_and_diff(&g, dpath);
	unlink(bpath);
	unlink(dpath);
	assert_int_equal(snap_rebase(base, diff, &st), 0);
	assert_int_equal(st.pages_written, 7);
	assert_int_equal(st.bytes_written, 7 * PAGE);
	assert_int_equal(st.pages_skipped, FILE_PAGES - 7);
	/* The base now holds the guest as of the diff, the page that became
	 * zero included. */
	assert_base_is_guest(base, &g);
	/* Again is a no-op; the stats are optional. */
	assert_int_equal(snap_rebase(base, diff, NULL), 0);
	assert_base_is_guest(base, &g);
	close(base);
	close(diff);
	guest_fini(&g);
}

/* An extent longer than the copy buffer, and a diff with no data at all. */
static void test_rebase_big_extent_and_empty_diff(void **state)
{
	const uint64_t size = (3u << 20) + 5 * PAGE;
	uint8_t *mem = aligned_alloc(PAGE, size), *img;
	uint64_t *bm = calloc(size / PAGE / 64 + 1, sizeof(*bm));
	const uint64_t *const bms[1] = { bm };
	struct ram_file_region r = { .size = size, .host = mem };
	struct ram_file_stats st;
	char bpath[32], dpath[32];
	int base = tmp_file(bpath), diff = tmp_file(dpath);

	(void)state;
	unlink(bpath);
	unlink(dpath);
	assert_non_null(mem);
	assert_non_null(bm);
	for (uint64_t i = 0; i < size; i++)
		mem[i] = (uint8_t)(i * 7 / 4096 + 1);
	assert_int_equal(ftruncate(base, (off_t)size), 0);
	assert_int_equal(ram_file_write_diff(diff, &r, 1, bms, NULL), 0);
	assert_int_equal(snap_rebase(base, diff, &st), 0);
	assert_int_equal(st.bytes_written, 0);
	assert_int_equal(st.pages_skipped, size / PAGE);
	memset(bm, 0xff, (size / PAGE / 64 + 1) * sizeof(*bm));
	assert_int_equal(ram_file_write_diff(diff, &r, 1, bms, NULL), 0);
	assert_int_equal(snap_rebase(base, diff, &st), 0);
	assert_int_equal(st.bytes_written, size);
	img = read_whole(base, size);
	assert_memory_equal(img, mem, size);
	free(img);
	close(base);
	close(diff);
	free(mem);
	free(bm);
}

static void test_rebase_refuses(void **state)
{
	char bpath[32], dpath[32];
	int base = tmp_file(bpath), diff = tmp_file(dpath), ro, pipefd[2];

	(void)state;
	assert_int_equal(ftruncate(base, 8 * PAGE), 0);
	assert_int_equal(ftruncate(diff, 4 * PAGE), 0);
	assert_int_equal(snap_rebase(base, diff, NULL), -EINVAL);
	assert_non_null(strstr(err_last(), "base file is 32768 bytes and the diff file 16384"));
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(snap_rebase(pipefd[1], diff, NULL), -EINVAL);
	assert_non_null(strstr(err_last(), "base file (fd"));
	assert_int_equal(snap_rebase(base, pipefd[0], NULL), -EINVAL);
	assert_non_null(strstr(err_last(), "diff file (fd"));
	assert_int_equal(snap_rebase(-1, diff, NULL), -EBADF);
	/* A base opened read-only: the first write fails, named. */
	assert_int_equal(ftruncate(diff, 8 * PAGE), 0);
	assert_int_equal(pwrite(diff, "x", 1, 5 * PAGE), 1);
	ro = open(bpath, O_RDONLY);
	assert_true(ro >= 0);
	assert_int_equal(snap_rebase(ro, diff, NULL), -EBADF);
	assert_non_null(strstr(err_last(), "merging the diff's data at [0x5000, 0x6000)"));
	assert_non_null(strstr(err_last(), "of the base file"));
	close(ro);
	/* A diff that cannot be read. */
	ro = open(dpath, O_WRONLY);
	assert_true(ro >= 0);
	assert_int_equal(snap_rebase(base, ro, NULL), -EBADF);
	assert_non_null(strstr(err_last(), "of the diff file"));
	close(ro);
	unlink(bpath);
	unlink(dpath);
	close(pipefd[0]);
	close(pipefd[1]);
	close(base);
	close(diff);
}

/* Runs the tool built next to this test binary: exit status, or -1. */
static int run_tool(const char *tool, const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *argv[] = { (char *)tool, (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	assert_int_equal(posix_spawn(&pid, tool, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_tool(void **state)
{
	char self[PATH_MAX], tool[PATH_MAX + 32], bpath[32], dpath[32], other[32], bflag[48], dflag[48];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct guest g;
	int base, diff, fd;

	(void)state;
	assert_true(n > 0);
	self[n] = 0;
	/* $(BUILD)/tests/test_rebase -> $(BUILD)/ember-rebase-snap */
	snprintf(tool, sizeof(tool), "%s/../ember-rebase-snap", dirname(self));
	if (access(tool, X_OK)) {
		skip();
		return;
	}
	guest_init(&g);
	base = tmp_file(bpath);
	assert_int_equal(ram_file_write_full(base, g.r, 2, NULL), 0);
	diff = guest_dirty_and_diff(&g, dpath);
	fd = tmp_file(other);
	assert_int_equal(run_tool(tool, NULL, NULL, NULL, NULL), 1);
	assert_int_equal(run_tool(tool, "--help", NULL, NULL, NULL), 0);
	assert_int_equal(run_tool(tool, "--version", NULL, NULL, NULL), 0);
	assert_int_equal(run_tool(tool, "--base-file", bpath, "--bogus", NULL), 1);
	assert_int_equal(run_tool(tool, "--base-file", bpath, "--diff-file", NULL), 1);
	assert_int_equal(run_tool(tool, "--base-file", "/nonexistent/base", "--diff-file", dpath), 1);
	assert_int_equal(run_tool(tool, "--base-file", bpath, "--diff-file", "/nonexistent/diff"), 1);
	assert_int_equal(run_tool(tool, "--base-file", bpath, "--diff-file", other), 1); /* sizes differ */
	assert_int_equal(run_tool(tool, "--base-file", bpath, "--diff-file", dpath), 0);
	assert_base_is_guest(base, &g);
	snprintf(bflag, sizeof(bflag), "--base-file=%s", bpath);
	snprintf(dflag, sizeof(dflag), "--diff-file=%s", dpath);
	assert_int_equal(run_tool(tool, dflag, bflag, NULL, NULL), 0);
	assert_base_is_guest(base, &g);
	unlink(bpath);
	unlink(dpath);
	unlink(other);
	close(fd);
	close(base);
	close(diff);
	guest_fini(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rebase_merges_diff),
		cmocka_unit_test(test_rebase_big_extent_and_empty_diff),
		cmocka_unit_test(test_rebase_refuses),
		cmocka_unit_test(test_tool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
