#!/usr/bin/env bash
# Fails if hardware access appears outside hal/: ioctl(, mmap( of memory,
# /dev/kvm or /dev/net/tun in vmm/, devices/, boot/ or snapshot/.
# Usage: tests/check_hal_boundary.sh [TREE]   (default: the repository)
set -u
tree=${1:-$(dirname "$0")/..}
cd "$tree" || exit 2
dirs=()
for d in vmm devices boot snapshot; do [ -d "$d" ] && dirs+=("$d"); done
[ ${#dirs[@]} -eq 0 ] && { echo "hal-boundary: no source folders under $tree" >&2; exit 2; }
hits=$(grep -rnE 'ioctl\(|(^|[^_a-zA-Z])mmap\(|/dev/kvm|/dev/net/tun' \
	--include='*.c' --include='*.h' "${dirs[@]}" | grep -vE '^[^:]+:[0-9]+:\s*(//|/?\*)')
if [ -n "$hits" ]; then
	echo "hal-boundary: hardware access outside hal/:" >&2
	echo "$hits" >&2
	exit 1
fi
echo "hal-boundary: ok (${dirs[*]} clean)"
