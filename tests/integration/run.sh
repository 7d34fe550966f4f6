#!/usr/bin/env bash
# make integration: real-KVM tests. They run on the host when it has
# hardware KVM, otherwise inside the nested QEMU runner (see
# tests/integration/runner/README.md), started once for the whole suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
make --no-print-directory BUILD="$build" "$build/ember" guests >/dev/null
exec tests/integration/runner/run-in-kvm.sh -- tests/integration/suite.sh "$build"
