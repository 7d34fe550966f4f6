#!/usr/bin/env bash
# Clean shutdown on SIGTERM and SIGINT: ember runs a guest that parks every
# vCPU in HLT (blocked inside KVM), gets the signal, must kick its vCPU
# threads out of KVM_RUN, tear down and exit 0 within a few seconds.
# Prints "signals: N passed, N failed".
set -u
build=${1:-build}
tmp=$(mktemp -d /tmp/ember-signals.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

one() {
	local sig=$1 vcpus=$2 name="$1-vcpus$2" pid i rc
	"$build/ember" --kernel "$build/guest/spin_guest.elf" --mem 32 --vcpus "$vcpus" --log-level Info \
		</dev/null >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q SPIN "$tmp/out" && break
		sleep 0.1
	done
	if ! grep -q SPIN "$tmp/out"; then
		kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
		echo "  FAIL $name: guest never started"; sed 's/^/    | /' "$tmp/err" | tail -5
		failed=$((failed + 1)); return
	fi
	sleep 0.3 # let the APs block in KVM too
	kill -"$sig" $pid
	for ((i = 0; i < 50; i++)); do
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 $pid 2>/dev/null; then
		kill -9 $pid; wait $pid 2>/dev/null
		echo "  FAIL $name: still running 5 s after SIG$sig"
		failed=$((failed + 1)); return
	fi
	wait $pid; rc=$?
	if [ $rc != 0 ] || ! grep -q "VM stopped: signal" "$tmp/err"; then
		echo "  FAIL $name: exit $rc, want 0 and 'VM stopped: signal'"; sed 's/^/    | /' "$tmp/err" | tail -5
		failed=$((failed + 1)); return
	fi
	echo "  PASS $name"
	passed=$((passed + 1))
}

echo "signals (ember, spin guest parked in HLT):"
for sig in TERM INT; do
	for v in 1 4; do one $sig $v; done
done
echo "signals: $passed passed, $failed failed"
[ $failed = 0 ]
