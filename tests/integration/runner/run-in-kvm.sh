#!/usr/bin/env bash
# run-in-kvm.sh: run a command on a machine with a real, usable /dev/kvm.
#
#   tests/integration/runner/run-in-kvm.sh [--mem MiB] [--smp N] [--stdin] -- COMMAND [ARGS...]
#   tests/integration/runner/run-in-kvm.sh [--mem MiB] [--smp N] --probe
#   (defaults: --mem 4096 --smp 1)
#
# If this host has hardware KVM (kvm_intel/kvm_amd behind a working /dev/kvm)
# COMMAND runs directly.  Otherwise (no /dev/kvm, or the software kvm_pvm one)
# it boots a "nested runner": QEMU TCG emulating an AMD EPYC with SVM+NPT,
# running Debian's own kernel with kvm-amd loaded, which sees the host's /
# read-only over 9p and chroots into it.  COMMAND runs there with
# cwd = the repository top, its stdout+stderr stream to our stdout, and we
# exit with its status.  See README.md next to this script.
#
# Env: EMBER_RUNNER=nested|direct  force a mode
#      EMBER_RUNNER_TIMEOUT=secs   wall-clock limit of the nested runner (1800)
#      EMBER_RUNNER_OUT=dir        writable results dir (build/runner/out);
#                                  the same path is writable inside the runner
#      EMBER_RUNNER_VERBOSE=1      after the run, print the runner's kernel
#                                  console and QEMU's messages
#      EMBER_RUNNER_KERNEL_PKG=pkg use this linux-image package instead of the
#                                  one linux-image-amd64 depends on
# Exit status: COMMAND's, or 124 (timeout) / 125 (runner failure) / 2 (usage).

set -euo pipefail

T0=${EPOCHREALTIME//[!0-9]/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../../.." && pwd -P)
# shellcheck source=../../apt_kernel_pkg.sh
source "$REPO/tests/apt_kernel_pkg.sh"
B=$REPO/build/runner

MEM=4096
# One CPU unless asked: on two, QEMU's nested SVM stalls more often and its
# watchdog does not always wake it (README.md, Stalls).
SMP=1
PROBE=0
STDIN=0

say() { printf 'runner: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 125
}
usage() {
	sed -n '4,5s/^#  */usage: /p' "${BASH_SOURCE[0]}" >&2
	exit 2
}
now_us() { local t=${EPOCHREALTIME//[!0-9]/}; echo "$t"; }
secs() { # microseconds -> "S.s"
	local us=$1
	printf '%d.%d' $((us / 1000000)) $(((us % 1000000) / 100000))
}

while (($#)); do
	case "$1" in
	--mem) MEM=${2:?--mem needs a value}; shift 2 ;;
	--mem=*) MEM=${1#*=}; shift ;;
	--smp) SMP=${2:?--smp needs a value}; shift 2 ;;
	--smp=*) SMP=${1#*=}; shift ;;
	--probe) PROBE=1; shift ;;
	--stdin) STDIN=1; shift ;;
	-h | --help) usage ;;
	--) shift; break ;;
	*) say "unknown option '$1'"; usage ;;
	esac
done
[[ $MEM =~ ^[0-9]+$ && $SMP =~ ^[0-9]+$ && $MEM -ge 256 && $SMP -ge 1 ]] ||
	die "--mem must be >= 256 (MiB) and --smp >= 1"
if ((PROBE)); then
	(($# == 0)) || usage
else
	(($# > 0)) || usage
fi

TIMEOUT=${EMBER_RUNNER_TIMEOUT:-1800}
[[ $TIMEOUT =~ ^[0-9]+$ && $TIMEOUT -gt 0 ]] || die "EMBER_RUNNER_TIMEOUT must be a positive number of seconds"
OUT=${EMBER_RUNNER_OUT:-$B/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd -P)

# ---------------------------------------------------------------- packages
APT_UPDATED=0
ensure_pkgs() { # pkg...: install the missing ones (tests/deps.sh says what and how big)
	"$REPO/tests/deps.sh" "$@" || die "cannot install $* (log: /tmp/ember-deps.log)"
}
apt_update() {
	((APT_UPDATED)) && return 0
	APT_UPDATED=1
	mkdir -p "$B"
	apt-get update -q >>"$B/apt.log" 2>&1 || say "warning: apt-get update failed (see $B/apt.log)"
}

# ---------------------------------------------------------------- mode
kvm_api_version() { # prints the API version of /dev/kvm, or an error word
	perl -e 'open(my $f, "+<", "/dev/kvm") or do { print "open-failed($!)"; exit };
	         my $r = ioctl($f, 0xAE00, 0);  # KVM_GET_API_VERSION
	         print defined $r ? ($r eq "0 but true" ? 0 : $r) : "ioctl-failed($!)"' 2>/dev/null ||
		echo "perl-failed"
}

MODE= WHY=
detect_mode() {
	case "${EMBER_RUNNER:-}" in
	nested | direct) MODE=$EMBER_RUNNER WHY="forced by EMBER_RUNNER=$EMBER_RUNNER"; return ;;
	'') ;;
	*) die "EMBER_RUNNER must be 'nested' or 'direct', not '$EMBER_RUNNER'" ;;
	esac
	MODE=nested
	if [[ ! -e /dev/kvm ]]; then
		WHY="host /dev/kvm missing"; return
	fi
	local api
	api=$(kvm_api_version)
	if [[ $api != 12 ]]; then
		WHY="host /dev/kvm unusable: KVM_GET_API_VERSION=$api"; return
	fi
	if [[ -d /sys/module/kvm_pvm ]]; then
		WHY="host /dev/kvm is kvm_pvm, software-emulated"; return
	fi
	local m
	for m in kvm_intel kvm_amd; do
		if [[ -d /sys/module/$m ]]; then
			MODE=direct WHY="hardware KVM: $m"; return
		fi
	done
	WHY="host /dev/kvm works but neither kvm_intel nor kvm_amd is loaded"
}

# ---------------------------------------------------------------- probe
if ((PROBE)); then
	command -v gcc >/dev/null && [[ -e /usr/include/linux/kvm.h ]] ||
		ensure_pkgs gcc libc6-dev linux-libc-dev
	mkdir -p "$B"
	if [[ ! -x $B/kvm_probe || $HERE/kvm_probe.c -nt $B/kvm_probe ]]; then
		gcc -O2 -Wall -Wextra -o "$B/kvm_probe.tmp" "$HERE/kvm_probe.c" ||
			die "cannot compile kvm_probe.c"
		mv "$B/kvm_probe.tmp" "$B/kvm_probe"
	fi
	set -- sh -c 'echo "probe: $(ls -l /dev/kvm 2>&1)"
		echo "probe: CPUs with svm in /proc/cpuinfo: $(grep -c -w svm /proc/cpuinfo)"
		echo "probe: kvm modules: $(grep -o "^kvm[_a-z]*" /proc/modules 2>/dev/null | tr "\n" " ")"
		exec "$0"' "$B/kvm_probe"
fi

detect_mode
say "mode=$MODE ($WHY)"

if [[ $MODE == direct ]]; then
	cd "$REPO"
	export EMBER_RUNNER_MODE=direct EMBER_RUNNER_OUT="$OUT"
	set +e
	"$@"
	rc=$?
	set -e
	say "exit code $rc"
	exit "$rc"
fi

# ================================================================ nested mode
ensure_pkgs qemu-system-x86 busybox-static kmod cpio xz-utils
# depmod lives in /sbin, which a non-login PATH may lack (and COMMAND keeps
# the caller's PATH, so do not change ours).
DEPMOD=$(PATH=$PATH:/usr/sbin:/sbin command -v depmod) || die "depmod not found (kmod)"
mkdir -p "$B"

# Modules to load, in order (dependencies from modules.dep are added first).
MODS_9P="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p"
MODS_KVM="irqbypass ccp kvm kvm-amd"
# TAP devices for the virtio-net tests and benchmark (the host side of a VM's
# network); CONFIG_TUN is a module in Debian's kernel.
MODS_NET="tun"

COLD=()
exec 9>"$B/.lock"
flock 9 # one builder at a time; released when the build is done
rm -rf "$B"/tmp.* # debris of an interrupted build

# ---- the kernel package (vmlinuz + the modules we need), never from /boot
kernel_pkg() { # prints "pkg version"
	apt_kernel_pkg linux-image-amd64 "${EMBER_RUNNER_KERNEL_PKG:-}" "$B/kernel-pkg.cache"
}

KDIR=$B/kernel
if read -r KPKG KPKGVER < <(kernel_pkg); then
	:
elif [[ -f $KDIR/.key ]]; then
	read -r KPKG KPKGVER _ <"$KDIR/.key"
	say "warning: apt cannot name the kernel package; using the cached $KPKG $KPKGVER"
else
	die "cannot find the kernel package (apt-cache show linux-image-amd64)"
fi
KKEY="$KPKG $KPKGVER | $MODS_9P | $MODS_KVM | $MODS_NET | pvh"

# Boot the uncompressed ELF vmlinux through its PVH entry when possible:
# decompressing the bzImage under TCG costs ~3 s per boot.
extract_pvh() { # bzImage out
	local z magic off tool=()
	command -v readelf >/dev/null || ensure_pkgs binutils
	for z in xz zstd gzip; do
		case $z in
		xz) magic=$'\xfd7zXZ' tool=(xz -dcq --single-stream) ;;
		zstd) magic=$'\x28\xb5\x2f\xfd' tool=(zstd -dcq) ;;
		gzip) magic=$'\x1f\x8b\x08' tool=(gzip -dcq) ;;
		esac
		command -v "${tool[0]}" >/dev/null || continue
		off=$(LC_ALL=C grep -m 1 -obUa "$magic" "$1") || continue
		off=${off%%$'\n'*}
		off=${off%%:*}
		# (the decompressor stops at the stream's end: SIGPIPE for tail)
		tail -c +$((off + 1)) "$1" | "${tool[@]}" >"$2.tmp" 2>/dev/null || true
		# XEN_ELFNOTE_PHYS32_ENTRY is note type 18
		if [[ $(head -c 4 "$2.tmp") == $'\x7fELF' &&
			$(readelf -n "$2.tmp" 2>/dev/null) =~ Xen[^$'\n']*0x00000012 ]]; then
			mv "$2.tmp" "$2"
			return 0
		fi
	done
	rm -f "$2.tmp"
	say "note: no PVH vmlinux in the kernel image; booting the bzImage (slower)"
}

build_kernel() {
	local tmp root deb kver line f name n base seen=" " grp order=()
	tmp=$(mktemp -d "$B/tmp.kernel.XXXXXX")
	deb=/var/cache/apt/archives/${KPKG}_${KPKGVER//:/%3a}_amd64.deb
	if [[ ! -f $deb ]]; then
		say "downloading $KPKG $KPKGVER ($(apt_pkg_size "$KPKG" "$KPKGVER"); once, cached in build/runner)"
		(cd "$tmp" && apt-get download -q "$KPKG=$KPKGVER" >"$tmp/download.log" 2>&1) ||
			{ apt_update; (cd "$tmp" && apt-get download -q "$KPKG=$KPKGVER" >>"$tmp/download.log" 2>&1); } ||
			{ tail -n 5 "$tmp/download.log" >&2; die "apt-get download $KPKG=$KPKGVER failed"; }
		deb=$(echo "$tmp"/*.deb)
	fi
	root=$tmp/root
	say "unpacking $KPKG ($(($(stat -c %s "$deb") / 1000000)) MB) and picking the kvm, 9p and tun modules"
	dpkg-deb -x "$deb" "$root" || die "dpkg-deb -x $deb failed"
	local kvers=("$root"/lib/modules/*/)
	kver=${kvers[0]%/}
	kver=${kver##*/}
	[[ ${#kvers[@]} == 1 && -f $root/boot/vmlinuz-$kver ]] ||
		die "$KPKG: expected one /lib/modules/VERSION and /boot/vmlinuz-VERSION"
	"$DEPMOD" -b "$root" "$kver" || die "depmod failed"
	local mdir=$root/lib/modules/$kver
	local -A path_of=() deps_of=()
	while IFS= read -r line; do
		f=${line%%:*}
		base=${f##*/}
		name=${base%%.ko*}
		name=${name//-/_}
		path_of[$name]=$f
		deps_of[$name]=${line#*:}
	done <"$mdir/modules.dep"
	add() { # grp name: append name's dependency closure, deps first
		local g=$1 n=${2//-/_} d ds=() i
		[[ $seen == *" $n "* ]] && return 0
		if [[ -z ${path_of[$n]:-} ]]; then
			if grep -q "/${2}.ko\$\|/${n}.ko\$" "$mdir/modules.builtin" 2>/dev/null; then
				: # built in: nothing to load
			else
				say "note: module $2 not in $KPKG, skipped"
			fi
			seen+="$n "
			return 0
		fi
		read -ra ds <<<"${deps_of[$n]}"
		for ((i = ${#ds[@]} - 1; i >= 0; i--)); do
			d=${ds[i]##*/}
			add "$g" "${d%%.ko*}"
		done
		seen+="$n "
		order+=("$g ${path_of[$n]}")
	}
	for n in $MODS_9P; do add 9p "$n"; done
	for n in $MODS_KVM; do add kvm "$n"; done
	for n in $MODS_NET; do add net "$n"; done

	local new=$tmp/kernel
	mkdir -p "$new/modules"
	cp "$root/boot/vmlinuz-$kver" "$new/vmlinuz"
	say "extracting the kernel's PVH vmlinux (faster to boot under emulation)"
	extract_pvh "$new/vmlinuz" "$new/vmlinux-pvh"
	: >"$new/modules.load"
	for line in "${order[@]}"; do
		grp=${line%% *}
		f=$mdir/${line#* }
		base=${f##*/}
		case "$base" in
		*.ko) cp "$f" "$new/modules/$base" ;;
		*.ko.xz) base=${base%.xz}; xz -dc "$f" >"$new/modules/$base" ;;
		*.ko.gz) base=${base%.gz}; gzip -dc "$f" >"$new/modules/$base" ;;
		*.ko.zst)
			ensure_pkgs zstd
			base=${base%.zst}; zstd -qdc "$f" >"$new/modules/$base" ;;
		*) die "unknown module format: $base" ;;
		esac
		echo "$grp $base" >>"$new/modules.load"
	done
	grep -q ' kvm-amd.ko$\| kvm_amd.ko$' "$new/modules.load" || die "$KPKG has no kvm-amd module"
	echo "$kver" >"$new/kver"
	echo "$KKEY" >"$new/.key"
	rm -rf "$KDIR"
	mv "$new" "$KDIR"
	rm -rf "$tmp"
}

if [[ ! -f $KDIR/.key || $(<"$KDIR/.key") != "$KKEY" ]]; then
	COLD+=(kernel)
	build_kernel
fi

# ---- the initramfs: busybox-static + runner-init.sh + modules
BUSYBOX=/bin/busybox
[[ -x $BUSYBOX ]] || die "$BUSYBOX missing (busybox-static)"
IKEY=$({
	echo "$KKEY"
	dpkg-query -W -f='${Version}' busybox-static
	cat "$HERE/runner-init.sh" "$KDIR/modules.load"
	echo "format 1"
} | sha256sum | cut -d' ' -f1)
INITRD=$B/initramfs.cpio
if [[ ! -f $INITRD || ! -f $INITRD.key || $(<"$INITRD.key") != "$IKEY" ]]; then
	COLD+=(initramfs)
	say "building the runner's initramfs (busybox, runner-init.sh, $(wc -l <"$KDIR/modules.load") modules)"
	stage=$(mktemp -d "$B/tmp.initramfs.XXXXXX")
	mkdir -p "$stage"/{bin,dev,proc,sys,etc,host,out,lib/modules,tmp}
	cp "$BUSYBOX" "$stage/bin/busybox"
	for a in $("$BUSYBOX" --list); do
		[[ $a == busybox ]] || ln -s busybox "$stage/bin/$a"
	done
	install -m 755 "$HERE/runner-init.sh" "$stage/init"
	cp "$KDIR"/modules/*.ko "$stage/lib/modules/"
	cp "$KDIR/modules.load" "$stage/etc/modules.load"
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) >"$INITRD.tmp" || die "cpio failed"
	rm -rf "$stage"
	mv "$INITRD.tmp" "$INITRD"
	echo "$IKEY" >"$INITRD.key"
fi
flock -u 9
exec 9>&-

# ---- per-run control dir inside the results share
for d in "$OUT"/.runner/*-*; do # left behind by runs that were SIGKILLed
	[[ -d $d ]] || continue
	p=${d##*/}
	kill -0 "${p%%-*}" 2>/dev/null || rm -rf "$d"
done
RUN_ID=$$-$RANDOM
CTL=$OUT/.runner/$RUN_ID
mkdir -p "$CTL"
QPID= FPID= WPID=
# --stdin from a terminal: QEMU puts it in raw mode and puts it back when
# it exits, but not when it is killed, so keep the settings to restore.
TTY_SAVED=
CMD_TTY=0 CMD_ROWS= CMD_COLS=
if ((STDIN)) && [[ -t 0 ]]; then
	TTY_SAVED=$(stty -g 2>/dev/null) || TTY_SAVED=
	CMD_TTY=1
	read -r CMD_ROWS CMD_COLS < <(stty size 2>/dev/null) || true
	# a terminal that never had a size says 0 0, which stty refuses to set
	[[ ${CMD_ROWS:-0} =~ ^[1-9][0-9]*$ && ${CMD_COLS:-0} =~ ^[1-9][0-9]*$ ]] || CMD_ROWS= CMD_COLS=
fi

cleanup() {
	local p
	for p in $QPID $FPID $WPID; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $QPID $FPID $WPID; do
		wait "$p" 2>/dev/null || true
	done
	[[ -z $TTY_SAVED ]] || stty "$TTY_SAVED" 2>/dev/null || true
	rm -rf "$CTL"
	rmdir "$OUT/.runner" 2>/dev/null || true
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM
trap 'say "hung up"; exit 129' HUP

squote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
	echo "OUT_PATH=$(squote "$OUT")"
	echo "REPO_PATH=$(squote "$REPO")"
	echo "CMD_STDIN=$STDIN"
	# a terminal on our side: the command gets one too (ttyS1 as its
	# controlling tty, line discipline on, our window size)
	echo "CMD_TTY=$CMD_TTY"
	echo "CMD_ROWS=${CMD_ROWS//[!0-9]/}"
	echo "CMD_COLS=${CMD_COLS//[!0-9]/}"
} >"$CTL/runner.env"

# cmd.sh: the caller's environment, cwd, umask, then COMMAND (run by bash).
{
	echo '# generated by run-in-kvm.sh'
	while IFS= read -r -d '' kv; do
		name=${kv%%=*} val=${kv#*=}
		[[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
		case "$name" in
		# per-session host state that means nothing inside the runner
		PWD | OLDPWD | SHLVL | _ | TMPDIR | DISPLAY | WAYLAND_DISPLAY | XAUTHORITY | \
			XDG_RUNTIME_DIR | DBUS_SESSION_BUS_ADDRESS | SSH_* | GPG_AGENT_INFO | \
			MAKE_TERMOUT | MAKE_TERMERR | MFLAGS | \
			BASHOPTS | SHELLOPTS | BASH_* | UID | EUID | PPID | GROUPS)
			continue ;;
		MAKEFLAGS) # the jobserver's pipes do not cross the VM boundary
			val=$(sed -E 's/ ?--jobserver-(auth|fds)=[^ ]*//g' <<<"$val") ;;
		esac
		printf 'export %s=%q\n' "$name" "$val"
	done < <(env -0)
	printf 'export EMBER_RUNNER_MODE=nested EMBER_RUNNER_OUT=%q\n' "$OUT"
	printf 'umask %s\n' "$(umask)"
	printf 'cd -- %q || exit 125\n' "$REPO"
	printf 'exec'
	printf ' %q' "$@"
	printf '\n'
} >"$CTL/cmd.sh"

T_BUILT=$(now_us)
if ((${#COLD[@]})); then
	say "built ${COLD[*]} in $(secs $((T_BUILT - T0))) s (cached in build/runner)"
fi

# ---- boot
KERNEL=$KDIR/vmlinuz
[[ -f $KDIR/vmlinux-pvh ]] && KERNEL=$KDIR/vmlinux-pvh
APPEND="console=ttyS0 quiet panic=-1 ember.run=$RUN_ID"
APPEND+=" i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
APPEND+=${EMBER_RUNNER_APPEND:+ $EMBER_RUNNER_APPEND}
QEMU=(qemu-system-x86_64
	-nodefaults -no-user-config -display none -no-reboot
	-accel tcg,thread=multi -cpu EPYC,+svm,+npt
	-m "$MEM" -smp "$SMP"
	-kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND"
	-serial "file:$CTL/console.log"
	-monitor "unix:$CTL/monitor,server=on,wait=off"
	-chardev stdio,id=cmdout,signal=off -serial chardev:cmdout
	-virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap
	-virtfs "local,path=${OUT//,/,,},mount_tag=out,security_model=none,multidevs=remap"
)
# qemu dies with its parent (timeout), which dies with us, even on SIGKILL.
PDEATH=()
command -v setpriv >/dev/null && PDEATH=(setpriv --pdeathsig KILL)

mkfifo "$CTL/stream" # in CTL, so SIGKILLed runs leave nothing elsewhere
filter() { # pass the command's output through; time the "ready" marker
	local line
	while IFS= read -r line; do
		if [[ $line == *@@EMBER-RUNNER-READY@@* ]]; then
			local t
			t=$(now_us)
			say "nested KVM ready, COMMAND started $(secs $((t - T0))) s after start (boot $(secs $((t - T_BUILT))) s)"
			exec cat
		fi
		printf '%s\n' "$line"
	done
	[[ -z $line ]] || printf '%s' "$line"
}
# QEMU's TCG with nested SVM now and then stops the whole runner: the vCPU
# halts in the idle loop with a deliverable timer interrupt left in its
# LAPIC's IRR and nothing that wakes it (seen in about 1 of 40-80 Linux
# guest boots; the wall clock keeps running, so the command would time out).
# Any new interrupt makes QEMU deliver the pending one, so a watchdog here
# follows the runner's heartbeat (a counter its init bumps every 2 s) and,
# when it stalls, presses a key on the runner's PS/2 keyboard through the
# QEMU monitor. A runner that stays stalled for EMBER_RUNNER_STALL seconds
# anyway is killed (exit 124).
STALL=${EMBER_RUNNER_STALL:-60}
monitor_send() { # command: one QEMU monitor command, best effort
	perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or exit 1;
		print $s "$ARGV[1]\n"; sleep 1; close $s' "$CTL/monitor" "$1" 2>/dev/null
}
watchdog() { # qemu's parent pid
	local last= cur stalled=0
	while sleep 2; do
		cur=$(cat "$CTL/heartbeat" 2>/dev/null) || continue
		if [[ $cur != "$last" ]]; then
			last=$cur stalled=0
			continue
		fi
		stalled=$((stalled + 2))
		if ((stalled >= STALL)); then
			echo "$stalled" >"$CTL/stalled"
			pkill -KILL -P "$1" 2>/dev/null
			return
		fi
		if ((stalled % 6 == 0)); then
			echo "$stalled" >>"$CTL/pokes"
			monitor_send "sendkey shift"
		fi
	done
}
# --stdin: QEMU's stdio chardev (which puts a terminal in raw mode) carries
# our stdin to ttyS1, the command's stdin inside.
QEMU_STDIN=/dev/null
((STDIN)) && QEMU_STDIN=/dev/stdin
filter <"$CTL/stream" &
FPID=$!
# --foreground: plain timeout moves QEMU into a process group of its own,
# which is not the terminal's foreground group, so the kernel stops QEMU
# with SIGTTOU as soon as it sets a terminal stdin to raw mode (make run
# in a real terminal hung so). QEMU starts no children of its own to kill.
"${PDEATH[@]}" timeout --foreground -k 10 "$TIMEOUT" "${PDEATH[@]}" "${QEMU[@]}" \
	<"$QEMU_STDIN" >"$CTL/stream" 2>"$CTL/qemu.log" &
QPID=$!
watchdog "$QPID" &
WPID=$!
set +e
wait "$QPID"
QRC=$?
QPID=
wait "$FPID"
FPID=
kill "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null
set -e

# keep the logs of the last run for post-mortems
cp "$CTL/console.log" "$B/last-console.log" 2>/dev/null || true
cp "$CTL/qemu.log" "$B/last-qemu.log" 2>/dev/null || true

if [[ ${EMBER_RUNNER_VERBOSE:-0} == 1 ]]; then
	sed 's/^/runner: console: /' "$CTL/console.log" >&2 || true
	sed 's/^/runner: qemu: /' "$CTL/qemu.log" >&2 || true
fi

T_END=$(now_us)
if [[ -s $CTL/pokes ]]; then
	say "the runner's heartbeat stalled: $(wc -l <"$CTL/pokes") wake-up key press(es) sent"
fi
if [[ -s $CTL/exitcode ]]; then
	RC_FINAL=$(<"$CTL/exitcode")
	[[ $RC_FINAL =~ ^[0-9]+$ ]] || RC_FINAL=125
	say "exit code $RC_FINAL (total $(secs $((T_END - T0))) s)"
	exit "$RC_FINAL"
fi

RC_FINAL=125
if [[ -s $CTL/stalled ]]; then
	say "FAILED: the runner stopped (no heartbeat for $(<"$CTL/stalled") s); qemu killed"
	RC_FINAL=124
elif ((QRC == 124 || QRC == 137)); then
	say "FAILED: timeout after ${TIMEOUT} s (EMBER_RUNNER_TIMEOUT); qemu killed"
	RC_FINAL=124
elif [[ -s $CTL/error ]]; then
	say "FAILED: runner error: $(<"$CTL/error")"
else
	say "FAILED: the runner recorded no exit code (qemu exit status $QRC)"
fi
say "--- last lines of the runner's kernel console ($B/last-console.log):"
tail -n 30 "$CTL/console.log" 2>/dev/null | sed 's/^/runner:   /' >&2 || true
qlog=$(grep -v "TCG doesn't support requested feature" "$CTL/qemu.log" 2>/dev/null | tail -n 20) || true
if [[ -n $qlog ]]; then
	say "--- qemu stderr ($B/last-qemu.log):"
	sed 's/^/runner:   /' <<<"$qlog" >&2
fi
exit "$RC_FINAL"
