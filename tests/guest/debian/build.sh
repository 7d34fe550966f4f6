#!/usr/bin/env bash
# Builds the Debian guest image for the real-kernel tests (issue 3, point 4),
# from Debian packages only:
#
#   OUTDIR/bzImage            linux-image-cloud-amd64's kernel (LZ4 bzImage)
#   OUTDIR/vmlinux            the ELF inside it, for the PVH entry
#   OUTDIR/initramfs.cpio     busybox-static, the virtio modules in
#                             modules.dep order, tests/guest/debian/agent.c as /init
#   OUTDIR/iperf3.cpio        a second newc archive with Debian's iperf3 and
#                             the shared libraries it loads, to append to
#                             initramfs.cpio (cat a b >c: the kernel unpacks
#                             both) for the network benchmark; kept apart so
#                             the other boots do not carry ~7 MB more
#   OUTDIR/kernel-version     e.g. "linux-image-6.1.0-56-cloud-amd64 6.1.192-2 6.1.0-56-cloud-amd64"
#
# Usage: tests/guest/debian/build.sh [OUTDIR]      (default build/debian)
# Env:   EMBER_DEBIAN_KERNEL_PKG  a linux-image-* package instead of the one
#                                 linux-image-cloud-amd64 depends on
#
# Does nothing when OUTDIR/.key matches the inputs: the kernel package and
# version, this script, agent.c, the module list and iperf3's version. The kernel .deb is
# fetched with `apt-get download` (or taken from apt's archive cache), kept
# in OUTDIR/deb and unpacked with dpkg-deb -x: never installed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../apt_kernel_pkg.sh
source "$HERE/../../apt_kernel_pkg.sh"
OUT=${1:-build/debian}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
META=linux-image-cloud-amd64
MODLIST=$HERE/modules
AGENT=$HERE/agent.c

say() { echo "debian-image: $*" >&2; }
die() { say "error: $*"; exit 1; }

have() { command -v "$1" >/dev/null 2>&1; }
# lz4 readelf depmod cpio gcc + static libc, busybox-static
need=()
have lz4 || need+=(lz4)
have readelf || need+=(binutils)
have depmod || [[ -x /usr/sbin/depmod || -x /sbin/depmod ]] || need+=(kmod)
have cpio || need+=(cpio)
have gcc || need+=(gcc)
[[ -f /usr/lib/x86_64-linux-gnu/libc.a ]] || need+=(libc6-dev)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need+=(busybox-static)
dpkg-query -W -f='${Status}' iperf3 2>/dev/null | grep -q 'ok installed' || need+=(iperf3)
((${#need[@]} == 0)) || "$HERE/../../deps.sh" "${need[@]}"
DEPMOD=$(command -v depmod || echo /usr/sbin/depmod)
[[ -x $DEPMOD ]] || DEPMOD=/sbin/depmod

# --- which kernel package: apt-cache takes ~1 s, so remember its answer
# for as long as apt's lists and sources do not change.
apt_update() { say "apt-get update"; apt-get update -q >/dev/null 2>&1 || true; }
kernel_pkg() { # prints "pkg version"
	apt_kernel_pkg "$META" "${EMBER_DEBIAN_KERNEL_PKG:-}" "$OUT/.kernel-pkg"
}

if read -r KPKG KVER_DEB < <(kernel_pkg); then
	:
elif [[ -f $OUT/kernel-version ]]; then
	read -r KPKG KVER_DEB _ <"$OUT/kernel-version"
	say "warning: apt cannot name the kernel package; using the cached $KPKG $KVER_DEB"
else
	die "cannot find the kernel package (apt-cache show $META)"
fi

IPERF_VER=$(dpkg-query -W -f='${Version}' iperf3 libiperf0 2>/dev/null | tr '\n' ' ')
KEY="$KPKG $KVER_DEB $(cat "${BASH_SOURCE[0]}" "$AGENT" "$MODLIST" | sha256sum | cut -c1-16) iperf3 ${IPERF_VER% }"
if [[ -f $OUT/.key && $(<"$OUT/.key") == "$KEY" && -s $OUT/bzImage && -s $OUT/vmlinux &&
	-s $OUT/initramfs.cpio && -s $OUT/iperf3.cpio ]]; then
	say "up to date ($KPKG $KVER_DEB)"
	exit 0
fi
rm -f "$OUT/.key"
say "building for $KPKG $KVER_DEB in $OUT"

# --- the kernel package
debname=${KPKG}_${KVER_DEB//:/%3a}_amd64.deb
mkdir -p "$OUT/deb"
deb=$OUT/deb/$debname
if [[ ! -f $deb ]]; then
	if [[ -f /var/cache/apt/archives/$debname ]]; then
		cp "/var/cache/apt/archives/$debname" "$deb.tmp"
	else
		say "downloading $KPKG $KVER_DEB ($(apt_pkg_size "$KPKG" "$KVER_DEB"); once, kept in $OUT/deb)"
		rm -rf "$OUT/deb/dl" && mkdir -p "$OUT/deb/dl"
		dl() { (cd "$OUT/deb/dl" && apt-get download -q "$KPKG=$KVER_DEB" >"$OUT/deb/download.log" 2>&1); }
		dl || { apt_update; dl; } ||
			{ tail -n 5 "$OUT/deb/download.log" >&2; die "apt-get download $KPKG=$KVER_DEB failed"; }
		mv "$OUT/deb/dl/"*.deb "$deb.tmp"
		rm -rf "$OUT/deb/dl"
	fi
	find "$OUT/deb" -maxdepth 1 -name '*.deb' -delete # drop older kernels
	mv "$deb.tmp" "$deb"
fi
# Unpacked once per .deb (PKG/.unpacked names it): an agent.c change
# does not pay for dpkg-deb and depmod again.
PKG=$OUT/pkg
if [[ ! -f $PKG/.unpacked || $(<"$PKG/.unpacked") != "$debname" ]]; then
	rm -rf "$PKG"
	dpkg-deb -x "$deb" "$PKG" || die "dpkg-deb -x $deb failed"
	kvers=("$PKG"/lib/modules/*/)
	[[ ${#kvers[@]} == 1 ]] || die "$KPKG: expected one /lib/modules/VERSION"
	KREL=${kvers[0]%/}
	"$DEPMOD" -b "$PKG" "${KREL##*/}" || die "depmod failed"
	echo "$debname" >"$PKG/.unpacked"
fi
kvers=("$PKG"/lib/modules/*/)
KREL=${kvers[0]%/}
KREL=${KREL##*/}
[[ ${#kvers[@]} == 1 && -f $PKG/boot/vmlinuz-$KREL && -f $PKG/lib/modules/$KREL/modules.dep ]] ||
	die "$KPKG: expected one /lib/modules/VERSION and /boot/vmlinuz-VERSION"

# --- bzImage and the vmlinux inside it
cp "$PKG/boot/vmlinuz-$KREL" "$OUT/bzImage.tmp"
mv "$OUT/bzImage.tmp" "$OUT/bzImage"
# LZ4 legacy frame magic 02 21 4c 18; the first match is the payload. lz4
# complains about what follows the frame (the rest of the bzImage): accept
# its output when it is an ELF with the PVH note.
vmlinux_ok=
while IFS=: read -r off _; do
	tail -c +$((off + 1)) "$OUT/bzImage" | lz4 -dc >"$OUT/vmlinux.tmp" 2>/dev/null || true
	if [[ $(head -c 4 "$OUT/vmlinux.tmp") == $'\x7fELF' ]] &&
		readelf -n "$OUT/vmlinux.tmp" 2>/dev/null | grep -q 'Xen.*(0x00000012)'; then
		vmlinux_ok=1
		break
	fi
done < <(LC_ALL=C grep -obUa $'\x02\x21\x4c\x18' "$OUT/bzImage" || true)
[[ -n $vmlinux_ok ]] || { rm -f "$OUT/vmlinux.tmp"; die "no LZ4 ELF vmlinux with a PVH note in the bzImage"; }
mv "$OUT/vmlinux.tmp" "$OUT/vmlinux"
# XEN_ELFNOTE_PHYS32_ENTRY (type 18): 8-byte descriptor in these kernels,
# 4 in newer ones; the entry is the low 32 bits (little endian).
pvh=$(readelf -n "$OUT/vmlinux" | grep -A1 'Xen.*(0x00000012)' |
	sed -n 's/.*description data: \(..\) \(..\) \(..\) \(..\).*/0x\4\3\2\1/p')
say "vmlinux: ELF entry $(readelf -h "$OUT/vmlinux" | awk '/Entry point/ { print $4 }'), PVH entry $pvh"

# --- the agent
gcc -std=gnu11 -static -O2 -Wall -Wextra -Werror -s -o "$OUT/agent" "$AGENT"

# --- modules in load order: each one's dependencies (modules.dep lists
# them with the deepest last), then the module itself, each once.
MDIR=$PKG/lib/modules/$KREL
declare -A path_of=() deps_of=()
while IFS= read -r line; do
	f=${line%%:*}
	name=${f##*/}
	name=${name%%.ko*}
	name=${name//-/_}
	path_of[$name]=$f
	deps_of[$name]=${line#*:}
done <"$MDIR/modules.dep"
order=()
declare -A seen=()
add_mod() { # path relative to MDIR
	local f=$1 name
	name=${f##*/}
	name=${name%%.ko*}
	name=${name//-/_}
	[[ -n ${seen[$name]:-} ]] && return 0
	seen[$name]=1
	order+=("$f")
}
while read -r m _; do
	[[ -z $m || $m == \#* ]] && continue
	m=${m//-/_}
	if [[ -z ${path_of[$m]:-} ]]; then
		if grep -q "/${m}.ko" "$MDIR/modules.builtin" 2>/dev/null ||
			grep -q "/${m//_/-}.ko" "$MDIR/modules.builtin" 2>/dev/null; then
			say "$m is built into $KREL"
			continue
		fi
		die "module $m not in $KPKG"
	fi
	read -ra deps <<<"${deps_of[$m]}"
	for ((i = ${#deps[@]} - 1; i >= 0; i--)); do add_mod "${deps[i]}"; done
	add_mod "${path_of[$m]}"
done <"$MODLIST"

# --- the initramfs tree
ROOT=$OUT/root
rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,mnt,lib/modules/"$KREL"}
cp /bin/busybox "$ROOT/bin/busybox"
# applets as absolute symlinks (bin/ls -> /bin/busybox), in one pass
(cd "$ROOT" && /bin/busybox --list-full | grep -vx 'bin/busybox' |
	xargs -d '\n' sh -c 'for a; do [ -e "$a" ] || ln -s /bin/busybox "$a"; done' sh)
[[ -L $ROOT/bin/sh ]] || ln -s /bin/busybox "$ROOT/bin/sh"
cp "$OUT/agent" "$ROOT/init"
: >"$ROOT/etc/ember-modules"
for f in "${order[@]}"; do
	mkdir -p "$ROOT/lib/modules/$KREL/$(dirname "$f")"
	case $f in # compressed modules: finit_module wants them plain
	*.ko.xz) xz -dc "$MDIR/$f" >"$ROOT/lib/modules/$KREL/${f%.xz}"; f=${f%.xz} ;;
	*.ko.zst) zstd -dcq "$MDIR/$f" >"$ROOT/lib/modules/$KREL/${f%.zst}"; f=${f%.zst} ;;
	*.ko.gz) gzip -dc "$MDIR/$f" >"$ROOT/lib/modules/$KREL/${f%.gz}"; f=${f%.gz} ;;
	*) cp "$MDIR/$f" "$ROOT/lib/modules/$KREL/$f" ;;
	esac
	echo "/lib/modules/$KREL/$f" >>"$ROOT/etc/ember-modules"
done
cp "$MDIR"/modules.{order,builtin,builtin.modinfo} "$ROOT/lib/modules/$KREL/" 2>/dev/null || true
"$DEPMOD" -b "$ROOT" "$KREL" # so busybox modprobe works in the shell
echo "root:x:0:0:root:/root:/bin/sh" >"$ROOT/etc/passwd"
echo "root:x:0:" >"$ROOT/etc/group"
echo "ember" >"$ROOT/etc/hostname"
# The kernel opens /dev/console for /init's fds 0-2 before devtmpfs is
# mounted, so the archive carries the node (the agent reopens it otherwise).
mknod -m 600 "$ROOT/dev/console" c 5 1 2>/dev/null || say "note: cannot mknod dev/console (not root)"

(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) >"$OUT/initramfs.cpio.tmp"
mv "$OUT/initramfs.cpio.tmp" "$OUT/initramfs.cpio"

# --- iperf3 and its shared libraries (as ldd resolves them on this Debian
# host, at the paths the binary asks for: /lib64/ld-linux-x86-64.so.2 and
# /lib/x86_64-linux-gnu/), as an archive of its own
IROOT=$OUT/iperf3-root
rm -rf "$IROOT"
mkdir -p "$IROOT/usr/bin"
cp -L /usr/bin/iperf3 "$IROOT/usr/bin/iperf3"
while read -r lib; do
	[[ -n $lib ]] || continue
	mkdir -p "$IROOT$(dirname "$lib")"
	cp -L "$lib" "$IROOT$lib"
done < <(ldd /usr/bin/iperf3 | sed -nE 's/.*=> (\/[^ ]+) .*/\1/p; s/^\s*(\/[^ ]+) \(0x.*/\1/p')
[[ -n $(find "$IROOT" -name 'ld-linux-x86-64.so.2') ]] || die "iperf3: no dynamic loader found by ldd"
(cd "$IROOT" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) >"$OUT/iperf3.cpio.tmp"
mv "$OUT/iperf3.cpio.tmp" "$OUT/iperf3.cpio"
echo "$KPKG $KVER_DEB $KREL" >"$OUT/kernel-version"
printf '%s\n' "${order[@]}" | sed 's|.*/||' >"$OUT/modules.order"
echo "$KEY" >"$OUT/.key"
say "done: bzImage $(stat -c %s "$OUT/bzImage") B, vmlinux $(stat -c %s "$OUT/vmlinux") B, initramfs.cpio $(stat -c %s "$OUT/initramfs.cpio") B, ${#order[@]} modules, iperf3.cpio $(stat -c %s "$OUT/iperf3.cpio") B"
