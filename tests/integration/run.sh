#!/usr/bin/env bash
# make integration: real-KVM tests. They run on the host when it has
# hardware KVM, otherwise inside the nested QEMU runner (see
# tests/integration/runner/README.md).
#
# Two runner starts for the suite: one CPU for the test guests, the signal shutdowns and
# the 1-vCPU Linux boots, two CPUs for the 2-vCPU Linux boots (on one CPU
# their vCPUs spin-wait on each other and stall). QEMU's nested SVM loses
# an interrupt now and then and stops the runner; with one CPU the
# runner's watchdog wakes it with a key press (see runner/README.md), with
# two that does not always work, so the two-CPU runner only gets the boots
# that need it. A runner that stops for good (exit 124/125: nothing inside
# could report) is started once more; a test failure is never retried.
#   run.sh BUILD            all real-KVM tests (make integration, CI)
#   run.sh BUILD linux      only the Debian kernel boots
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
what=${2:-all}
runner=tests/integration/runner/run-in-kvm.sh
log=$(mktemp /tmp/ember-integration.XXXXXX)
trap 'rm -f "$log" "$log.one"' EXIT
status=0

# in_runner ENV... RUNNER ARGS...: one runner start, restarted once on a wedge.
in_runner() {
	local rc attempt
	for attempt in 1 2; do
		env EMBER_RUNNER_TIMEOUT="${EMBER_RUNNER_TIMEOUT:-1200}" "$@" 2>&1 | tee "$log.one"
		rc=${PIPESTATUS[0]}
		[ "$rc" = 124 ] || [ "$rc" = 125 ] || break
		echo "integration: the runner wedged (exit $rc); starting it once more"
	done
	cat "$log.one" >>"$log"
	[ "$rc" = 0 ] || status=1
}

make --no-print-directory BUILD="$build" "$build/ember" "$build/ember-rebase-snap" "$build/ember-jailer" testhooks guests debian-image >/dev/null || exit 1
if [ "$what" = linux ]; then
	in_runner LINUX_VCPUS=1 $runner --smp 1 -- tests/integration/test_linux.sh "$build"
else
	in_runner LINUX_VCPUS=1 $runner --smp 1 -- tests/integration/suite.sh "$build"
fi
in_runner LINUX_VCPUS=2 $runner --smp 2 -- tests/integration/test_linux.sh "$build"
# make run and make shell as a user starts them, on a pseudo-terminal: from
# the host, each with its own runner.
if [ "$what" = all ]; then
	tests/integration/test_terminal.sh "$build" 2>&1 | tee "$log.one"
	[ "${PIPESTATUS[0]}" = 0 ] || status=1
	cat "$log.one" >>"$log"
fi

pass=0 fail=0
while read -r p f; do pass=$((pass + p)); fail=$((fail + f)); done \
	< <(sed -nE 's/^[a-z]+: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$log")
[ $status = 0 ] || [ $fail -gt 0 ] || fail=1
echo "integration ($what): $pass passed, $fail failed"
exit $status
