#!/usr/bin/env bash
# Proves the boundary check bites: a planted ioctl( in vmm/ must fail it,
# and a clean tree must pass.
set -u
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/vmm" "$tmp/boot"
echo 'int f(void) { return 0; }' >"$tmp/vmm/clean.c"
"$here/check_hal_boundary.sh" "$tmp" >/dev/null 2>&1 || { echo "hal-boundary selftest: clean tree failed"; exit 1; }
for plant in 'ioctl(fd, 1);' 'p = mmap(0, 4096, 3, 0x22, -1, 0);' 'open("/dev/kvm", 2);' 'open("/dev/net/tun", 2);'; do
	echo "int g(void) { $plant return 0; }" >"$tmp/vmm/planted.c"
	if "$here/check_hal_boundary.sh" "$tmp" >/dev/null 2>&1; then
		echo "hal-boundary selftest: planted '$plant' was not caught"
		exit 1
	fi
done
echo "hal-boundary selftest: ok (4 planted violations caught)"
