/* Temporary directories and files for the jailer's unit tests. */
#ifndef EMBER_TEST_JAIL_FIXTURE_H
#define EMBER_TEST_JAIL_FIXTURE_H

#include <stddef.h>
#include <sys/types.h>

/* mkdtemp under /tmp; fails the test if it cannot. */
void jail_fixture_tmpdir(char *out, size_t cap);
/* Writes `text` to `path` (created or truncated) with `mode`. */
void jail_fixture_write(const char *path, const char *text, mode_t mode);
/* Reads at most cap-1 bytes of `path` into out (NUL-terminated); "" if
 * it cannot be read. */
void jail_fixture_read(const char *path, char *out, size_t cap);
/* rm -rf, not following links. */
void jail_fixture_rm_rf(const char *path);

#endif
