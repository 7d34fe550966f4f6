#!/usr/bin/env bash
# make integration: real-KVM tests. They run on the host when it has
# hardware KVM, otherwise inside the nested QEMU runner (see
# tests/integration/runner/README.md), started once for the whole suite.
# The runner gets one CPU: with two, QEMU's multi-threaded TCG wedged the
# whole runner in 4 of 6 suite runs here (nested SVM), with one it never did.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
make --no-print-directory BUILD="$build" "$build/ember" guests >/dev/null
exec tests/integration/runner/run-in-kvm.sh --smp "${EMBER_RUNNER_SMP:-1}" -- tests/integration/suite.sh "$build"
