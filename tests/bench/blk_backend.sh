#!/usr/bin/env bash
# Block-backend benchmark for virtio-blk: sync preadv/pwritev vs a worker
# thread vs io_uring (liburing), cached and O_DIRECT, on a 512 MiB file.
# Builds by hand into build/bench-backend/ (not via make, not into build/ember)
# and saves the table to build/bench-backend/result.txt.
# Usage: tests/bench/blk_backend.sh [blk_backend options, e.g. -t 200 -r 5]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=build/bench-backend
mkdir -p "$OUT"
tests/deps.sh build-essential liburing-dev
gcc -std=gnu11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE -pthread \
	-o "$OUT/blk_backend" tests/bench/blk_backend.c -luring
{
	echo "liburing: $(dpkg-query -W -f='${Version}' liburing-dev 2>/dev/null || echo '?')"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "disk: $(df --output=source,fstype "$OUT" | tail -1)"
	"$OUT/blk_backend" -f "$OUT/disk.img" "$@"
} | tee "$OUT/result.txt"
rm -f "$OUT/disk.img"
