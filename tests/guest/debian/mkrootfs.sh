#!/usr/bin/env bash
# Builds a tiny ext4 root file system image for the rootfs boot test
# (agent.c's ember.root=/dev/vdX): busybox-static with its applets, empty
# /dev /proc /sys /tmp /mnt, and a /sbin/init script that prints
#
#     EMBER-ROOTFS init-started pid=<its pid>
#     EMBER-ROOTFS root=<device mounted on / per /proc/mounts>
#     EMBER-ROOTFS kernel=<release>
#
# then powers the VM off (poweroff -f). With INIT=shell (the image `make
# debian-image` leaves in build/debian/rootfs.ext4, for people) it mounts
# /proc, /sys, /dev and /tmp, prints the same first lines and gives a
# busybox shell on the console; leaving it powers off. No root or loop mount
# needed: mke2fs -d copies a staged tree into the image.
# Usage: tests/guest/debian/mkrootfs.sh IMAGE [SIZE_MIB [test|shell]]   (32, test)
set -euo pipefail
img=${1:?usage: mkrootfs.sh IMAGE [SIZE_MIB [test|shell]]}
size=${2:-32}
init=${3:-test}
case $init in test | shell) ;; *) echo "mkrootfs.sh: INIT must be test or shell, not '$init'" >&2; exit 2 ;; esac
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
need=()
[[ -x /bin/busybox ]] && /bin/busybox --list >/dev/null 2>&1 || need+=(busybox-static)
PATH=$PATH:/sbin:/usr/sbin command -v mke2fs >/dev/null || need+=(e2fsprogs)
((${#need[@]} == 0)) || "$HERE/../../deps.sh" "${need[@]}"
MKE2FS=$(PATH=$PATH:/sbin:/usr/sbin command -v mke2fs)

stage=$(mktemp -d "${TMPDIR:-/tmp}/ember-rootfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,tmp,mnt,root}
cp /bin/busybox "$stage/bin/busybox"
# shellcheck disable=SC2016 # sh -c expands them
(cd "$stage" && /bin/busybox --list-full | grep -vx 'bin/busybox' |
	xargs -d '\n' sh -c 'for a; do [ -e "$a" ] || [ -L "$a" ] || ln -s /bin/busybox "$a"; done' sh)
rm -f "$stage/sbin/init" # busybox's own init applet: ours is a script
cat >"$stage/sbin/init" <<'INIT'
#!/bin/sh
# /sbin/init of ember's test rootfs (tests/guest/debian/mkrootfs.sh)
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
[ -r /proc/mounts ] || mount -t proc proc /proc
echo "EMBER-ROOTFS init-started pid=$$"
echo "EMBER-ROOTFS root=$(awk '$2 == "/" { r = $1 } END { print r }' /proc/mounts)"
echo "EMBER-ROOTFS kernel=$(uname -r)"
if [ -f /etc/ember-shell ]; then
	mount -t sysfs sysfs /sys 2>/dev/null
	mount -t devtmpfs devtmpfs /dev 2>/dev/null
	mount -t tmpfs tmpfs /tmp 2>/dev/null
	hostname -F /etc/hostname
	echo "EMBER-ROOTFS shell (exit powers the VM off)"
	PS1='rootfs:\w# ' setsid cttyhack sh -l
fi
sync
poweroff -f
echo "EMBER-ROOTFS poweroff-failed"
sleep 1000000
INIT
chmod 755 "$stage/sbin/init"
echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd"
echo "root:x:0:" >"$stage/etc/group"
echo "ember-rootfs" >"$stage/etc/hostname"
[[ $init == test ]] || : >"$stage/etc/ember-shell"
rm -f "$img"
: >"$img" # (mke2fs announces files it has to create)
"$MKE2FS" -q -t ext4 -L ember-rootfs -d "$stage" -F "$img" "${size}M"
