#!/usr/bin/env bash
# Runs inside a machine with real KVM: every integration test, then one
# summary line over all of them.
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
echo "integration: $(uname -r), /dev/kvm $( [ -c /dev/kvm ] && echo present || echo MISSING )"
log=$(mktemp /tmp/ember-suite.XXXXXX)
status=0
for t in tests/integration/run_guests.sh tests/integration/test_signals.sh tests/integration/test_hostile.sh \
	tests/integration/test_linux.sh \
	tests/integration/test_virtio.sh tests/integration/test_api.sh tests/integration/test_net.sh \
	tests/integration/test_vsock.sh tests/integration/test_snapshot.sh tests/integration/test_sandbox.sh tests/integration/test_jailer.sh; do
	"$t" "$build" 2>&1 | tee -a "$log"
	[ "${PIPESTATUS[0]}" = 0 ] || status=1
done
total_pass=0 total_fail=0
while read -r p f; do
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
done < <(sed -nE 's/^[a-z]+: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$log")
rm -f "$log"
echo "suite total: $total_pass passed, $total_fail failed"
exit $status
