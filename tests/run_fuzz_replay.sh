#!/usr/bin/env bash
# Replays each fuzz target's seed corpus (tests/fuzz/corpus/<target>/) and
# a few generated hostile inputs through the plain replay build.
set -u
fail=0
for bin in "$@"; do
	name=$(basename "$bin")
	corpus="tests/fuzz/corpus/$name"
	if ! out=$("$bin" "$corpus" 2>&1); then
		echo "  fuzz-replay $name FAILED"; echo "$out" | tail -20 | sed 's/^/    | /'; fail=1
	else
		echo "  fuzz-replay $name: $out"
	fi
done
exit $fail
