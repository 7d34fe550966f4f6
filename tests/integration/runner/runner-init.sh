#!/bin/sh
# /init of the nested KVM runner's initramfs (runs under busybox sh as PID 1).
#
# Built into build/runner/initramfs.cpio by run-in-kvm.sh; any change to this
# file rebuilds the initramfs.  Contract with the host script:
#   - kernel command line carries ember.run=<id> (digits and '-' only);
#   - 9p tag "host" is the host's / (read-only), tag "out" is the writable
#     results directory; the control dir is <out>/.runner/<id>/ holding
#     runner.env (OUT_PATH=host path of the results dir) and cmd.sh;
#   - /etc/modules.load lists "<group> <file.ko>" in load order, groups
#     "9p" (virtio + 9p stack), "kvm" (irqbypass ccp kvm kvm-amd) and "net"
#     (tun, for the TAP devices of the virtio-net tests);
#   - ttyS0 is the kernel console (a log file on the host), ttyS1 carries the
#     command's stdout+stderr to the host's stdout;
#   - the command's exit status is written to <ctl>/exitcode, a runner
#     failure to <ctl>/error; then the machine powers off.
PATH=/bin
export PATH
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys

CTL=
say() { echo "runner-init: [$(cut -d' ' -f1 /proc/uptime)] $*"; }
die() {
	say "FATAL: $*"
	if [ -n "$CTL" ] && [ -d "$CTL" ]; then
		echo "$*" >"$CTL/error"
	fi
	dmesg | tail -n 40
	sync
	poweroff -f
	sleep 30
	exit 1
}

RUN=
for a in $(cat /proc/cmdline); do
	case "$a" in
	ember.run=*) RUN=${a#ember.run=} ;;
	esac
done

load_group() {
	while read -r grp ko; do
		[ "$grp" = "$1" ] || continue
		insmod "/lib/modules/$ko" || die "insmod $ko failed"
	done </etc/modules.load
}

# 1. virtio-pci + 9p, then the two shares.
say "init started"
load_group 9p
mkdir -p /host /out
OPTS=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$OPTS,ro,cache=loose" host /host ||
	die "cannot mount the host root (9p tag 'host')"
mount -t 9p -o "$OPTS,cache=none" out /out ||
	die "cannot mount the results share (9p tag 'out')"
case "$RUN" in
'' | *[!0-9-]*) die "bad or missing ember.run= on the kernel command line" ;;
esac
[ -f "/out/.runner/$RUN/runner.env" ] || die "no control dir /out/.runner/$RUN"
CTL=/out/.runner/$RUN
OUT_PATH= REPO_PATH= CMD_TTY= CMD_ROWS= CMD_COLS=
. "$CTL/runner.env"
[ -n "$OUT_PATH" ] && [ -n "$REPO_PATH" ] || die "runner.env lacks OUT_PATH or REPO_PATH"

say "9p shares mounted"

# 2. A usable root inside the read-only host view.
H=/host
mount -t proc proc $H/proc || die "mount proc"
mount -t sysfs sysfs $H/sys || die "mount sysfs"
mount -t devtmpfs devtmpfs $H/dev || die "mount devtmpfs"
mkdir -p $H/dev/pts $H/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $H/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $H/dev/shm
ln -sf /proc/self/fd $H/dev/fd
ln -sf /proc/self/fd/0 $H/dev/stdin
ln -sf /proc/self/fd/1 $H/dev/stdout
ln -sf /proc/self/fd/2 $H/dev/stderr
# Fresh tmpfs on /tmp, /run, /var/tmp; a repository that lives under one of
# them (a CI clone in /tmp) is moved aside first and put back on top.
mkdir -p /stash
STASHED=
case "$REPO_PATH/" in
/tmp/* | /run/* | /var/tmp/*)
	mount -o bind "$H$REPO_PATH" /stash || die "bind $REPO_PATH"
	STASHED=1
	;;
esac
mount -t tmpfs -o mode=1777 tmpfs $H/tmp || die "mount /tmp"
mount -t tmpfs -o mode=755 tmpfs $H/run || die "mount /run"
[ -d $H/var/tmp ] && mount -t tmpfs -o mode=1777 tmpfs $H/var/tmp
if [ -n "$STASHED" ]; then
	mkdir -p "$H$REPO_PATH" && mount -o move /stash "$H$REPO_PATH" ||
		die "cannot put $REPO_PATH back over the tmpfs"
fi
mkdir -p "$H$OUT_PATH" 2>/dev/null
mount -o bind /out "$H$OUT_PATH" || die "bind-mount results share at $OUT_PATH"

# 3. Real KVM (AMD SVM with nested paging, emulated by the outer QEMU).
load_group kvm
[ -c /dev/kvm ] || die "/dev/kvm missing after loading the kvm modules"
load_group net
say "kvm loaded, starting the command"

hostname ember-runner
ip link set lo up 2>/dev/null

# 4. Run the command: own session (no controlling tty), stdio on ttyS1.
#    The subshells keep PID 1 from adopting ttyS1 as its controlling tty.
(stty -F /dev/ttyS1 raw -echo && echo "@@EMBER-RUNNER-READY@@" >/dev/ttyS1) ||
	die "cannot set up ttyS1"
# A heartbeat for the host's watchdog: a counter in the results share that
# stops changing when this machine stops running (see run-in-kvm.sh).
(i=0; while :; do i=$((i + 1)); echo $i >"$CTL/heartbeat"; sleep 2; done) &
hb=$!
cmd_in=/dev/null ctty=
[ "${CMD_STDIN:-0}" = 1 ] && cmd_in=/dev/ttyS1
# The caller typed into a terminal: the command gets a terminal too, with
# ttyS1 as its controlling tty (job control, Ctrl-C, echo) in the caller's
# window size.
if [ "${CMD_TTY:-0}" = 1 ]; then
	stty -F /dev/ttyS1 sane ${CMD_ROWS:+rows $CMD_ROWS} ${CMD_COLS:+cols $CMD_COLS} ||
		die "cannot set up ttyS1 as a terminal"
	ctty=-c
fi
setsid $ctty chroot $H /bin/bash "$OUT_PATH/.runner/$RUN/cmd.sh" <$cmd_in >/dev/ttyS1 2>&1
rc=$?
kill $hb 2>/dev/null
say "command exited with status $rc"
# stty uses TCSADRAIN: wait until the UART has sent everything.
(stty -F /dev/ttyS1 raw)
echo "$rc" >"$CTL/exitcode.tmp" && mv "$CTL/exitcode.tmp" "$CTL/exitcode"
sync
umount "$H$OUT_PATH" 2>/dev/null
umount /out 2>/dev/null
poweroff -f
