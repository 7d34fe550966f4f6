#!/usr/bin/env bash
# Runs inside a machine with real KVM: every integration test, one summary.
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
status=0
echo "integration: $(uname -r), /dev/kvm $( [ -c /dev/kvm ] && echo present || echo MISSING )"
tests/integration/run_guests.sh "$build" || status=1
exit $status
