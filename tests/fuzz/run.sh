#!/usr/bin/env bash
# Builds every tests/fuzz/fuzz_*.c with clang's libFuzzer (+ASan/UBSan) and
# runs each for FUZZ_SECONDS (default 30) over its seed corpus; FUZZ_TARGETS
# (names, space-separated) picks some. The library is compiled once, with
# the sanitizers and coverage but without libFuzzer's main. Each target's
# last lines (runs, coverage, time) go to build/fuzz/summary.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-30}
tests/deps.sh clang libclang-rt-14-dev >/dev/null
out=build/fuzz
mkdir -p "$out/obj"
flags=(-std=gnu11 -g -O1 -I. -D_GNU_SOURCE -pthread -Wno-gnu-variable-sized-type-not-at-end)
lib_src=$(ls hal/*.c vmm/*.c devices/*.c devices/*/*.c boot/*.c snapshot/*.c tests/virtio/racer.c 2>/dev/null |
	grep -v '^vmm/main.c$\|^vmm/[a-z_]*_main.c$')
objs=()
for src in $lib_src; do
	obj="$out/obj/$(echo "${src%.c}" | tr / _).o"
	if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ]; then
		clang "${flags[@]}" -fsanitize=fuzzer-no-link,address,undefined -c "$src" -o "$obj"
	fi
	objs+=("$obj")
done
: >"$out/summary.txt"
for target in tests/fuzz/fuzz_*.c; do
	name=$(basename "$target" .c)
	if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $name "* ]]; then continue; fi
	clang "${flags[@]}" -fsanitize=fuzzer,address,undefined -o "$out/$name" "$target" "${objs[@]}" \
		-ljansson -luring -lmicrohttpd -lseccomp
	mkdir -p "$out/corpus-$name"
	cp -n tests/fuzz/corpus/"$name"/* "$out/corpus-$name"/ 2>/dev/null || true
	echo "fuzz: $name for ${secs}s"
	start=$(date +%s)
	"$out/$name" -max_total_time="$secs" -max_len=1048576 "$out/corpus-$name" >"$out/$name.log" 2>&1 ||
		{ tail -30 "$out/$name.log"; exit 1; }
	tail -3 "$out/$name.log"
	echo "$name $(($(date +%s) - start))s $(grep -E '^Done [0-9]+ runs' "$out/$name.log" | tail -1)" \
		>>"$out/summary.txt"
done
cat "$out/summary.txt"
