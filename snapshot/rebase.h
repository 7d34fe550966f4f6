/* Merging a diff snapshot's memory file onto its base, like Firecracker's
 * rebase-snap: every data extent of the diff is copied into the base at the
 * same offset, so the base becomes the full image at the diff's point in
 * time. Apply diffs in the order they were taken.
 *
 * This is sound because ram_file_write_diff writes every dirty page as data,
 * even one that became all zero: a hole in a diff always means "unchanged",
 * never "now zero". The diff must keep its holes: one copied without
 * sparse support, or stored where SEEK_HOLE finds none (all data), would
 * overwrite the base with zeros. */
#ifndef EMBER_SNAPSHOT_REBASE_H
#define EMBER_SNAPSHOT_REBASE_H

#include "snapshot/ram_file.h"

/* base_fd open for writing, diff_fd for reading; both regular files of the
 * same size (-EINVAL otherwise). `st` (may be NULL) counts the bytes and
 * pages copied, pages_skipped the diff's holes. */
int snap_rebase(int base_fd, int diff_fd, struct ram_file_stats *st);

#endif
