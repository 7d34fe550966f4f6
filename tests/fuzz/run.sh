#!/usr/bin/env bash
# Builds every tests/fuzz/fuzz_*.c with clang's libFuzzer (+ASan/UBSan) and
# runs each for FUZZ_SECONDS (default 30) over its seed corpus.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-30}
tests/deps.sh clang libclang-rt-14-dev >/dev/null
out=build/fuzz
mkdir -p "$out"
lib_src=$(ls hal/*.c vmm/*.c devices/*.c devices/*/*.c boot/*.c snapshot/*.c 2>/dev/null | grep -v '^vmm/main.c$\|^vmm/[a-z_]*_main.c$')
for target in tests/fuzz/fuzz_*.c; do
	name=$(basename "$target" .c)
	clang -std=gnu11 -g -O1 -I. -D_GNU_SOURCE -pthread -fsanitize=fuzzer,address,undefined \
		-o "$out/$name" "$target" tests/virtio/racer.c $lib_src -ljansson -luring -lmicrohttpd
	mkdir -p "$out/corpus-$name"
	cp -n tests/fuzz/corpus/"$name"/* "$out/corpus-$name"/ 2>/dev/null || true
	echo "fuzz: $name for ${secs}s"
	"$out/$name" -max_total_time="$secs" -max_len=1048576 "$out/corpus-$name" 2>&1 | tail -3
done
