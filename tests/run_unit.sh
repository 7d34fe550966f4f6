#!/usr/bin/env bash
# Runs every unit-test binary; with --valgrind, under memcheck, failing on
# any error or leak. Prints one summary line: "unit: N passed, N failed".
set -u
valgrind=0
if [ "${1:-}" = --valgrind ]; then valgrind=1; shift; fi
build=$1; shift
passed=0 failed=0 failed_names=()
for t in "$@"; do
	name=$(basename "$t")
	log="$build/tests/$name.log"
	if [ $valgrind = 1 ]; then
		# fair-sched: valgrind runs one thread at a time, and without it a
		# spinning thread that plays the racing guest may never be let run.
		cmd=(valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=all
		     --errors-for-leak-kinds=definite,indirect,possible --track-fds=no
		     --fair-sched=yes
		     --suppressions=tests/valgrind.supp "$t")
	else
		cmd=("$t")
	fi
	if CMOCKA_MESSAGE_OUTPUT=stdout "${cmd[@]}" >"$log" 2>&1; then
		n=$(grep -cE '^\[       OK \]' "$log")
		passed=$((passed + n))
		printf '  %-32s %4d ok\n' "$name" "$n"
	else
		n_ok=$(grep -cE '^\[       OK \]' "$log")
		# cmocka names a failed test twice (inline and in the list).
		n_bad=$(grep -E '^\[  FAILED  \] [A-Za-z_]' "$log" | sort -u | wc -l)
		[ "$n_bad" -eq 0 ] && n_bad=1
		passed=$((passed + n_ok)); failed=$((failed + n_bad))
		failed_names+=("$name")
		printf '  %-32s FAILED (see %s)\n' "$name" "$log"
		tail -30 "$log" | sed 's/^/    | /'
	fi
done
mode=unit; [ $valgrind = 1 ] && mode=memcheck
echo "$mode: $passed passed, $failed failed"
[ $failed -eq 0 ]
