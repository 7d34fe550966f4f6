#!/usr/bin/env bash
# The sandbox on real KVM (seccomp per thread, Landlock), proved from inside
# a running ember. The test build ($build/testhooks/ember, compiled with
# -DEMBER_TEST_HOOKS) has hidden triggers: --test-forbidden-syscall KIND
# makes a thread of that kind call socket(AF_INET) (or mmap PROT_EXEC) once
# its filter is in place; --test-open PATH makes the VMM thread open PATH
# just before the guest runs. The release binary has neither.
#   * each thread kind (vcpu, vmm, api) is killed by SIGSYS for a call off
#     its list, and so is an executable mapping on a vCPU thread;
#   * with --seccomp-level 0 the same trigger returns: the kill is the
#     filter's, not the trigger's;
#   * every thread of a running ember has its filters (Seccomp: 2 and the
#     filter count in /proc/PID/task/*/status);
#   * Landlock: the VMM thread cannot open /etc/passwd once set up, can
#     with --no-landlock, and can still open its own drive.
# Prints "sandbox: N passed, N failed".
set -u
build=${1:-build}
ember=$(realpath "$build/ember")
hooks=$(realpath -m "$build/testhooks/ember")
guest=$(realpath "$build/guest/spin_guest.elf")
tmp=$(mktemp -d /tmp/ember-sandbox.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

. "$(dirname "$0")/checks.sh"

# killed_by_sigsys NAME KIND ARGS...: ember must die of SIGSYS (status 159)
# right after saying it makes the forbidden call, which must not return.
killed_by_sigsys() {
	local name=$1 kind=$2 rc
	shift 2
	timeout 60 "$hooks" --kernel "$guest" --mem 32 --no-api --test-forbidden-syscall "$kind" "$@" \
		</dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc != 159 ]; then
		fail "$name" "exit $rc, want 159 (SIGSYS)"
	elif ! grep -q "ember: test: .* on the vcpu thread\|ember: test: socket(AF_INET) on the $kind thread" "$tmp/err"; then
		fail "$name" "the trigger never ran"
	elif grep -q "the filter let it through" "$tmp/err"; then
		fail "$name" "the call returned"
	else
		pass "$name"
	fi
}

echo "sandbox (seccomp and Landlock on real KVM):"
if [ ! -x "$hooks" ]; then
	echo "  FAIL $hooks is missing (make testhooks)"
	echo "sandbox: 0 passed, 1 failed"
	exit 1
fi

killed_by_sigsys vcpu-socket vcpu
killed_by_sigsys vcpu-exec-mmap vcpu-exec-mmap
killed_by_sigsys vmm-socket vmm

# The API thread: its trigger fires on the first request.
rm -f "$tmp/api.sock"
"$hooks" --api-sock "$tmp/api.sock" --test-forbidden-syscall api </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
for ((i = 0; i < 50; i++)); do [ -S "$tmp/api.sock" ] && break; sleep 0.1; done
curl -s --max-time 5 --unix-socket "$tmp/api.sock" http://localhost/ >/dev/null
for ((i = 0; i < 50; i++)); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -9 $pid 2>/dev/null
wait $pid
rc=$?
if [ $rc = 159 ] && grep -q "socket(AF_INET) on the api thread" "$tmp/err" && ! grep -q "let it through" "$tmp/err"; then
	pass api-socket
else
	fail api-socket "exit $rc, want 159 (SIGSYS) after the trigger"
fi

# Level 0: the trigger returns and the guest runs on.
"$hooks" --kernel "$guest" --mem 32 --no-api --seccomp-level 0 --test-forbidden-syscall vcpu \
	</dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
if wait_for SPIN "$tmp/out" && grep -q "the filter let it through" "$tmp/err"; then
	stop $pid; rc=$?
	[ $rc = 0 ] && pass seccomp-level-0 || fail seccomp-level-0 "exit $rc after SIGTERM, want 0"
else
	stop $pid
	fail seccomp-level-0 "the guest did not run on, or the call did not return"
fi

# A release ember: every thread filtered, the right number of filters each
# (main's list plus the thread's own; 1 for the main thread before boot).
truncate -s 1M "$tmp/disk.img"
rm -f "$tmp/api.sock"
(cd "$tmp" && exec "$ember" --kernel "$guest" --mem 32 --vcpus 2 --api-sock api.sock \
	--drive path=disk.img) </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
if wait_for SPIN "$tmp/out" && curl -s --max-time 5 --unix-socket "$tmp/api.sock" http://localhost/ | grep -q Running; then
	bad=""
	for st in /proc/$pid/task/*/status; do
		name=$(sed -n 's/^Name:\t//p' "$st")
		mode=$(sed -n 's/^Seccomp:\t//p' "$st")
		n=$(sed -n 's/^Seccomp_filters:\t//p' "$st")
		nnp=$(sed -n 's/^NoNewPrivs:\t//p' "$st")
		echo "    thread $name: Seccomp $mode, filters ${n:-?}, NoNewPrivs $nnp"
		[ "$mode" = 2 ] && [ "$nnp" = 1 ] || bad="$bad $name"
		[ -z "$n" ] || [ "$n" = 2 ] || bad="$bad $name(filters=$n)"
	done
	threads=$(ls /proc/$pid/task | wc -l)
	stop $pid; rc=$?
	if [ -n "$bad" ]; then
		fail every-thread-filtered "unfiltered or wrongly filtered:$bad"
	elif [ "$threads" -lt 4 ] || [ $rc != 0 ]; then
		fail every-thread-filtered "$threads threads (want main, api, 2 vCPUs), exit $rc"
	else
		pass every-thread-filtered
	fi
else
	stop $pid
	fail every-thread-filtered "the guest or the API did not come up"
fi

# Landlock: after set-up the VMM thread reaches only the VM's files.
landlock_open() {
	local name=$1 want=$2 path=$3
	shift 3
	(cd "$tmp" && exec "$hooks" --kernel "$guest" --mem 32 --no-api --drive path=disk.img \
		--test-open "$path" "$@") </dev/null >"$tmp/out" 2>"$tmp/err" &
	local pid=$!
	wait_for "test-open" "$tmp/err" 100
	stop $pid >/dev/null
	if grep -q "ember: test-open $path: $want\$" "$tmp/err"; then
		pass "$name"
	else
		fail "$name" "want 'test-open $path: $want', got '$(grep test-open "$tmp/err")'"
	fi
}
if grep -qs landlock /sys/kernel/security/lsm || python3 -c 'import ctypes,sys; sys.exit(ctypes.CDLL(None).syscall(444, None, 0, 1) < 1)' 2>/dev/null; then
	landlock_open landlock-denies-passwd "Permission denied" /etc/passwd
	landlock_open landlock-off-opens-passwd "opened" /etc/passwd --no-landlock
	landlock_open landlock-keeps-the-drive "opened" "$tmp/disk.img"
else
	echo "  SKIP landlock: this kernel has no Landlock (ember logs that and goes on)"
fi

echo "sandbox: $passed passed, $failed failed"
[ $failed = 0 ]
