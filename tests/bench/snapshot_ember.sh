#!/usr/bin/env bash
# ember's side of the snapshot benchmark, the same guest as
# snapshot_qemu.sh (bzImage, the agent's snapshot scenario: a ticker every
# 100 ms and a vsock server; 1 vCPU; a raw scratch disk on virtio-blk; vsock),
# for each guest size in BENCH_SNAP_MEMS ("128 1024" MiB):
#   create   boot with --api-sock, wait for tick 20, PATCH /vm Paused, PUT
#            /snapshot/create Full; create time is ember's own (the "created
#            in N ms" log line: the state file, then the sparse memory file);
#            the state file's size and the memory file's apparent and
#            allocated sizes
#   restore  for each mode in BENCH_SNAP_MODES ("lazy copy"): one warm-up
#            (page cache, not counted), then BENCH_SNAP_RUNS (5) times
#            `ember --restore --mem-file --restore-mem MODE --print-startup
#            --no-api` in a new process: exec -> first KVM_RUN (the guest
#            running again; CLOCK_MONOTONIC taken just before execve), split
#            into exec -> main() (the dynamic loader) and main() -> first
#            KVM_RUN (ember's restore), and the load itself (the "loaded in
#            N ms" log line, Firecracker's load_snapshot latency); each run checks that the next tick
#            is the one after the last before the snapshot
# Prints a line per run and a table of medians (min and max). Numbers,
# never pass/fail on speed; exit 1 if a run fails.
#
# usage: tests/bench/snapshot_ember.sh [BUILD]    (default build)
# From the host it builds what it needs and runs itself inside the nested
# runner (--smp 1) unless the host has hardware KVM.
# Env: BENCH_SNAP_MEMS="128 1024"  BENCH_SNAP_RUNS=5  BENCH_SNAP_MODES="lazy copy"
set -uo pipefail
self=$(cd "$(dirname "$0")" && pwd -P)/$(basename "$0")
cd "$(dirname "$self")/../.." || exit 1
build=$(realpath -m "${1:-build}")
if [ -z "${EMBER_RUNNER_MODE:-}" ] && [ ! -c /dev/kvm ]; then
	make --no-print-directory BUILD="${1:-build}" "${1:-build}/ember" debian-image >/dev/null || exit 1
	exec env EMBER_RUNNER_TIMEOUT="${EMBER_RUNNER_TIMEOUT:-3600}" \
		tests/integration/runner/run-in-kvm.sh --smp 1 -- "$self" "${1:-build}"
fi
img=$build/debian ember=$build/ember
runs=${BENCH_SNAP_RUNS:-5}
tmp=$(mktemp -d /tmp/ember-snapbench.XXXXXX) || exit 1
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
cmdline="console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.dumbkbd ember.scenario=snapshot"
status=0

api() { curl -s -o /dev/null -w '%{http_code}' --unix-socket "$1" -X "$2" "http://localhost$3" \
	-H 'Content-Type: application/json' --data-binary "$4"; }
last_tick() { grep -ao 'snap-tick [0-9]*' "$1" | tail -1 | cut -d' ' -f2; }
wait_grep() { # SECONDS PATTERN FILE
	local i
	for ((i = 0; i < $1 * 10; i++)); do grep -aq -- "$2" "$3" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
ns_of() { sed -nE "s/.*$1 at ([0-9]+) ns.*/\\1/p" "$2" | head -1; }
# med V...: "median (min-max)"
med() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f (%.1f-%.1f)", m, a[1], a[NR] }'; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e6 }'; }

rows=()
for mem in ${BENCH_SNAP_MEMS:-128 1024}; do
	d=$tmp/m$mem
	mkdir -p "$d" && cd "$d" || exit 1
	truncate -s 8M disk.img
	"$ember" --api-sock api.sock --kernel "$img/bzImage" --initrd "$img/initramfs.cpio" --mem "$mem" \
		--cmdline "$cmdline" --drive path=disk.img,id=scratch --vsock cid=3,uds=v.sock --log-level Info \
		</dev/null >boot.out 2>boot.err &
	pid=$!; pids+=("$pid")
	if ! wait_grep 600 'snap-tick 20 ' boot.out; then
		echo "snapshot-ember: $mem MiB: no tick 20"; tail -5 boot.out; status=1; kill -9 "$pid"; continue
	fi
	api api.sock PATCH /vm '{"state": "Paused"}' >/dev/null
	code=$(api api.sock PUT /snapshot/create '{"snapshot_type": "Full", "snapshot_path": "vm.snap", "mem_file_path": "vm.mem"}')
	last=$(last_tick boot.out)
	kill -9 "$pid"; wait "$pid" 2>/dev/null
	rm -f v.sock # a killed VMM leaves its vsock socket; the restore binds it again
	create=$(sed -nE 's/.*created in ([0-9.]+) ms.*/\1/p' boot.err | head -1)
	if [ "$code" != 204 ] || [ -z "$create" ]; then
		echo "snapshot-ember: $mem MiB: create answered $code"; tail -3 boot.err; status=1; continue
	fi
	state_b=$(stat -c %s vm.snap) mem_b=$(stat -c %s vm.mem) mem_alloc=$(($(stat -c %b vm.mem) * 512))
	echo "$mem MiB: create $create ms; state $state_b B; memory $((mem_b >> 20)) MiB apparent, $((mem_alloc >> 20)) MiB allocated (tick $last)"
	for mode in ${BENCH_SNAP_MODES:-lazy copy}; do
		tot=() ld=() own=() load=()
		for ((r = 0; r <= runs; r++)); do
			perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e \
				'printf STDERR "exec at %.0f ns\n", clock_gettime(CLOCK_MONOTONIC) * 1e9; exec @ARGV or die' \
				"$ember" --restore vm.snap --mem-file vm.mem --restore-mem "$mode" --print-startup --no-api \
				--log-level Info </dev/null >r.out 2>r.err &
			pid=$!; pids+=("$pid")
			wait_grep 120 "snap-tick $((last + 1)) " r.out
			ok=$?
			kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
			rm -f v.sock
			t0=$(ns_of exec r.err) tm=$(ns_of main r.err) t1=$(ns_of 'first KVM_RUN' r.err)
			if [ $ok != 0 ] || [ -z "$t1" ]; then
				echo "  $mode run $r: FAILED (no tick $((last + 1)))"; tail -3 r.err; status=1; continue
			fi
			[ $r = 0 ] && continue # warm-up
			tot+=("$(ms "$t0" "$t1")") ld+=("$(ms "$t0" "$tm")") own+=("$(ms "$tm" "$t1")")
			load+=("$(sed -nE 's/.*loaded in ([0-9.]+) ms.*/\1/p' r.err | head -1)")
			echo "  $mode run $r: exec -> first KVM_RUN ${tot[-1]} ms (exec -> main ${ld[-1]}, main -> KVM_RUN ${own[-1]}, load ${load[-1]}); tick $((last + 1)) followed"
		done
		[ ${#tot[@]} = 0 ] && continue
		rows+=("$mem MiB|$mode|$create|$((mem_alloc >> 20)) MiB|$(med "${tot[@]}")|$(med "${ld[@]}")|$(med "${own[@]}")|$(med "${load[@]}")")
	done
	cd "$tmp" || exit 1
done
echo
echo "| guest | restore | create (ms) | memory file allocated | exec -> running (ms) | exec -> main | main -> running | load request |"
echo "|---|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do echo "| ${row//|/ | } |"; done
exit $status
