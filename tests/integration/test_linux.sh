#!/usr/bin/env bash
# Real-kernel tests: Debian's cloud kernel boots under ember to the test
# agent (/init of build/debian/initramfs.cpio) through the bzImage (Linux
# 64-bit boot protocol) and through the vmlinux PVH entry, with 1 and 2
# vCPUs; the command line arrives intact; guest poweroff exits 0, reboot
# exits 0, and a kernel panic (pvpanic) exits non-zero.
# Prints "linux: N passed, N failed".
set -u
build=${1:-build}
img=$build/debian
timeout_s=${EMBER_LINUX_TIMEOUT:-90}
tmp=$(mktemp -d /tmp/ember-linux.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
base="console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"

for f in "$img/bzImage" "$img/vmlinux" "$img/initramfs.cpio"; do
	if [ ! -f "$f" ]; then
		echo "linux: missing $f (make debian-image)"; echo "linux: 0 passed, 1 failed"; exit 1
	fi
done

fail() {
	echo "  FAIL $1: $2"
	grep -vE '^\s*$' "$tmp/out" | tail -15 | sed 's/^/    | /'
	failed=$((failed + 1))
}

# boot NAME KERNEL VCPUS SCENARIO WANT_RC WANT_STOP [EXTRA_CMDLINE]
boot() {
	local name=$1 kernel=$2 vcpus=$3 scenario=$4 want_rc=$5 want_stop=$6 extra=${7:-} rc line
	local cmdline="$base ember.scenario=$scenario ember.token=$name$extra"
	timeout -k 5 "$timeout_s" "$build/ember" --kernel "$img/$kernel" --initrd "$img/initramfs.cpio" \
		--mem 256 --vcpus "$vcpus" --log-level Info --print-exit-stats --cmdline "$cmdline" \
		</dev/null >"$tmp/out" 2>&1
	rc=$?
	tr -d '\r' <"$tmp/out" >"$tmp/out.lf" && mv "$tmp/out.lf" "$tmp/out"
	if [ $rc = 124 ] || [ $rc = 137 ]; then fail "$name" "timed out after ${timeout_s}s"; return; fi
	if [ "$rc" != "$want_rc" ]; then fail "$name" "exit $rc, want $want_rc"; return; fi
	if ! grep -q "EMBER-AGENT .* init-started" "$tmp/out"; then fail "$name" "the agent never started"; return; fi
	if ! grep -q "VM stopped: $want_stop" "$tmp/out" && [ "$want_rc" = 0 ]; then
		fail "$name" "want 'VM stopped: $want_stop'"; return
	fi
	if [ "$scenario" = info ]; then
		if ! grep -qx "nproc=$vcpus" "$tmp/out"; then fail "$name" "want nproc=$vcpus, got $(grep '^nproc=' "$tmp/out")"; return; fi
		line=$(grep '^cmdline=' "$tmp/out" | head -1)
		if [ "$line" != "cmdline=$cmdline" ]; then fail "$name" "command line changed: [$line]"; return; fi
	fi
	t=$(sed -nE 's/^EMBER-AGENT ([0-9.]+) init-started.*/\1/p' "$tmp/out" | head -1)
	echo "  PASS $name (init at ${t}s guest time, $(grep -oE 'io=[0-9]+' "$tmp/out" | head -1 | cut -d= -f2) I/O exits)"
	passed=$((passed + 1))
}

# The make-run path: the shell scenario on the serial console. Commands go
# in once the prompt is up; leaving the shell must power the VM off.
shell_boot() {
	local name=shell rc i
	mkfifo "$tmp/in"
	timeout -k 5 "$timeout_s" "$build/ember" --kernel "$img/bzImage" --initrd "$img/initramfs.cpio" \
		--mem 256 --cmdline "$base ember.scenario=shell" <"$tmp/in" >"$tmp/out" 2>&1 &
	local pid=$!
	exec 3>"$tmp/in"
	for ((i = 0; i < timeout_s * 2; i++)); do
		grep -q 'ember:/# ' "$tmp/out" && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.5
	done
	# shellcheck disable=SC2016 # the guest shell expands it
	echo 'echo shell-says-$((6 * 7)); exit' >&3
	exec 3>&-
	wait $pid
	rc=$?
	rm -f "$tmp/in"
	tr -d '\r' <"$tmp/out" >"$tmp/out.lf" && mv "$tmp/out.lf" "$tmp/out"
	if [ $rc != 0 ]; then fail $name "exit $rc, want 0"; return; fi
	if ! grep -qx 'shell-says-42' "$tmp/out"; then fail $name "the shell did not run the command"; return; fi
	if ! grep -q 'EMBER-AGENT .* shell-exited' "$tmp/out"; then fail $name "no shell-exited marker"; return; fi
	echo "  PASS $name (busybox shell ran a command; exit powered the VM off)"
	passed=$((passed + 1))
}

echo "linux (Debian $(cat "$img/kernel-version" 2>/dev/null), ember, 256 MiB):"
# LINUX_VCPUS picks the vCPU counts to boot (the 2-vCPU boots need a runner
# with two CPUs, see tests/integration/run.sh); "1 2" by default.
for v in ${LINUX_VCPUS:-1 2}; do
	for k in bzImage vmlinux; do
		boot "$k-vcpus$v" "$k" "$v" info 0 "guest shutdown" " quoted=\"a b\" path=/x/y,z=1"
	done
	if [ "$v" = 1 ]; then
		boot "poweroff" bzImage 1 poweroff 0 "guest shutdown"
		boot "reboot" bzImage 1 reboot 0 "guest reset"
		boot "panic" bzImage 1 panic 3 "guest crash"
		shell_boot
	fi
done
echo "linux: $passed passed, $failed failed"
[ $failed = 0 ]
