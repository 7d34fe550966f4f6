#!/usr/bin/env bash
# Snapshots of a running Debian guest (bzImage, 1 vCPU, SNAP_MEM MiB, the
# test agent's snapshot scenario: a ticker printing "snap-tick N mono=<ms>
# real=<ms>" every 100 ms, and an AF_VSOCK line server on port 5000 with
# ping, time, "blk SEED" (1 MiB O_DIRECT write + read-back of /dev/vda) and
# quit). Firecracker's semantics throughout: PATCH /vm to pause, PUT
# /snapshot/create, and restore in a new process, by `ember --restore` or
# by PUT /snapshot/load.
#
# Tests (SNAP_TESTS, default "main twice corrupt diff"):
#   main     boot with --api-sock, a scratch raw disk and --vsock:
#     (the drive is given as the relative path disk.img: every VM runs in
#     a directory of its own, as Firecracker's jailer puts each in its
#     chroot, so restored clones open their own copy of the same path)
#     boot          the agent listens on vsock 5000 and ticks past 20
#     guest-vsock   a host connection (CONNECT 5000): ping -> pong, time, and
#                   blk 1: blk-ok, and the sha256 the guest read back is
#                   the first MiB of the disk image on the host; the
#                   connection is left open
#     pause         PATCH /vm Paused: 204, the ticks stop
#     create        PUT /snapshot/create Full: 204; the open connection is
#                   still open
#     files         the state and memory files exist; the memory file's
#                   apparent size is the guest's RAM (allocated size shown:
#                   it is sparse)
#     then kill -9 of the VMM (the host end of the open connection sees EOF)
#     restore-lazy  ember --restore --mem-file (the default, lazy MAP_PRIVATE)
#                   in a new process: exec -> first KVM_RUN (--print-startup)
#     counter       the first tick after the restore is the last one before
#                   it plus one, and no kernel boot banner or agent start
#                   appears: the same guest goes on
#     clock         CLOCK_MONOTONIC advanced across the restore by less
#                   than SNAP_MONO_JUMP_MS (3000) plus the time the VM sat
#                   paused before the snapshot was written (kvmclock runs
#                   while paused, as in Firecracker), never by the time
#                   since the snapshot; it never goes back, and ticks every
#                   ~100 ms afterwards (see check_restored)
#     old-conn      the guest's end of the connection held across the
#                   snapshot is reset (TRANSPORT_RESET: snap-conn-end ...
#                   end=ECONNRESET)
#     reconnect     a new CONNECT 5000: ping -> pong, time sane
#     blk           blk 2 after the restore: blk-ok, the disk image holds it
#     shutdown      "quit": the restored guest powers off, ember exits 0
#     restore-copy  the same snapshot again with --restore-mem copy: the
#                   counter continues from the same point, ping and blk 3
#   twice    two fresh `ember --api-sock` processes, each in its own
#            directory holding its own copy of disk.img, each PUT
#            /snapshot/load from the same state and memory files (resume_vm
#            false, its own vsock_override uds_path), PATCH /vm Resumed;
#            both continue the counter from
#            the same tick and answer blk (different seeds) into their own
#            disk copies
#   corrupt  the state file with one byte flipped: --restore exits non-zero
#            naming the snapshot/CRC; a truncated memory file: non-zero,
#            naming the memory file's size
#   diff     boot from a config file with machine-config track_dirty_pages,
#            Full snapshot, resume, tick on, pause, Diff snapshot to a
#            second memory file; ember-rebase-snap --base-file (a copy of
#            the full memory) --diff-file (the diff); --restore from the
#            Diff state file and the merged memory: the counter continues
#            from the Diff point
# Prints "snapshot: N passed, N failed".
#
# usage: test_snapshot.sh BUILD     (needs real KVM: run it through the runner)
# Env:   SNAP_TESTS="main twice corrupt diff"   SNAP_MEM=128 (MiB)
#        SNAP_TIMEOUT=300 seconds for a boot to reach its ticks (the
#                         emulated runner is slow when the host is busy)
#        SNAP_MONO_JUMP_MS=3000
set -u
build=$(realpath "${1:-build}")
img=$build/debian
ember=$build/ember
rebase=$build/ember-rebase-snap
mem=${SNAP_MEM:-128}
boot_s=${SNAP_TIMEOUT:-300}
jump_ms=${SNAP_MONO_JUMP_MS:-3000}
cid=3 port=5000
PATH=$PATH:/usr/sbin:/sbin
base="console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"
cmdline="$base ember.scenario=snapshot ember.vsock_port=$port"
tmp=$(mktemp -d /tmp/ember-snap.XXXXXX) || exit 1
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
passed=0 failed=0
out_dir=${EMBER_RUNNER_OUT:-$tmp}

bail() { echo "snapshot: $1"; echo "snapshot: 0 passed, 1 failed"; exit 1; }
for f in "$img/bzImage" "$img/initramfs.cpio" "$ember"; do
	[ -f "$f" ] || bail "missing $f (make debian-image, make $ember)"
done
for c in python3 curl; do command -v $c >/dev/null || bail "$c missing"; done
"$ember" --help 2>&1 | grep -q -- '--vsock' || bail "$ember has no --vsock option"

fail() { # fail NAME WHY [CONSOLE_FILE]
	echo "  FAIL $1: $2"
	local f
	for f in "${3:-}" "${3:+${3%.out}.err}"; do
		[ -n "$f" ] && [ -s "$f" ] && tr -d '\r' <"$f" | grep -vE '^\s*$' | tail -12 | sed 's/^/    | /'
	done
	failed=$((failed + 1))
}
pass() {
	echo "  PASS $1${2:+ ($2)}"
	passed=$((passed + 1))
}

# api SOCK METHOD PATH [BODY]: sets code, body and secs (curl's total time).
api() {
	local args=(-s -o "$tmp/resp" -w '%{http_code} %{time_total}' --unix-socket "$1" -X "$2"
		-H 'Accept: application/json' "http://localhost$3")
	[ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	local r
	r=$(curl "${args[@]}" 2>>"$tmp/curl.err") || r="000 0"
	code=${r%% *} secs=${r#* }
	body=$(cat "$tmp/resp" 2>/dev/null)
}
# expect CODE SOCK METHOD PATH [BODY]: sets why when the answer is not CODE.
expect() {
	local want=$1
	shift
	api "$@"
	[ "$code" = "$want" ] && return 0
	why="$2 $3 answered $code, not $want: $body"
	return 1
}
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
wait_sock() { local i; for ((i = 0; i < 100; i++)); do [ -S "$1" ] && return 0; sleep 0.1; done; return 1; }

# The agent's markers in a console file: "EMBER-AGENT <t> EVENT DETAIL".
agent_all() { tr -d '\r' <"$1" | sed -nE "s/^EMBER-AGENT [0-9.]+ $2 ?//p"; }
# ticks FILE, ticks_of <FILE: "N MONO REAL" per tick line.
# A kernel message may land inside a tick line the pause cut in two (after a
# restore the guest's clocksource watchdog often speaks first): it starts
# at its "[ seconds.micros] " stamp and runs to the end of the line, so it
# is cut out before the line is read.
ticks_of() {
	tr -d '\r' | sed -E 's/\[ *[0-9]+\.[0-9]{6}\] .*$//' |
		sed -nE 's/^.*EMBER-AGENT [0-9.]+ snap-tick ([0-9]+) mono=([0-9]+) real=([0-9]+)$/\1 \2 \3/p'
}
ticks() { ticks_of <"$1"; }
last_tick() { ticks "$1" | tail -1; }
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -1; }
# wait_tick FILE PID MIN SECONDS: until a tick >= MIN, the VMM ends or
# time runs out.
wait_tick() {
	local end=$((SECONDS + $4)) n
	while [ $SECONDS -lt $end ]; do
		n=$(last_tick "$1" | cut -d' ' -f1)
		[ -n "$n" ] && [ "$n" -ge "$3" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}
# wait_exit PID SECONDS: sets rc, or returns 1 on timeout.
wait_exit() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		if ! kill -0 "$1" 2>/dev/null; then
			wait "$1"; rc=$?; return 0
		fi
		sleep 0.1
	done
	return 1
}
stop_vm() { # stop_vm PID: SIGTERM, then SIGKILL after 20 s
	kill -TERM "$1" 2>/dev/null
	wait_exit "$1" 20 || { kill -9 "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
}
disk_sha() { head -c 1048576 "$1" | sha256sum | cut -d' ' -f1; }
keep() { cp "$1" "$out_dir/snapshot-$2" 2>/dev/null; }
# sizes FILE: "apparent N B, allocated N B".
sizes() { echo "$(stat -c %s "$1") B apparent, $(du -B1 "$1" | cut -f1) B allocated"; }

# stamp T0FILE CMD...: execs CMD with its CLOCK_MONOTONIC exec time (ns) in
# T0FILE; run it with & (a subshell, which execs perl, which takes the time
# and execs CMD: $! is the VMM's pid). Without perl's Time::HiRes there is
# no latency figure.
if perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e 1 2>/dev/null; then
	stamp() {
		local f=$1
		shift
		exec perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e \
			'open(my $f, ">", shift) or die; printf $f "%.0f\n", clock_gettime(CLOCK_MONOTONIC) * 1e9; close $f; exec @ARGV or die "exec: $!"' \
			"$f" "$@"
	}
else
	stamp() { shift; exec "$@"; }
fi
# latency_ms T0FILE ERRFILE: exec -> "first KVM_RUN at <ns> ns", in ms.
latency_ms() {
	local t0 t1
	t0=$(cat "$1" 2>/dev/null)
	t1=$(sed -nE 's/.*first KVM_RUN at ([0-9]+) ns.*/\1/p' "$2" | head -1)
	[ -n "$t0" ] && [ -n "$t1" ] && awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }'
}

# The host side of vsock, Firecracker's protocol on the Unix socket, in one
# Python process started at once (Python takes half a minute to start in
# the emulated runner, so never once per check): it reads requests from a
# FIFO, one line each, "OUTFILE<TAB>CMD<TAB>ARG...", runs each in a thread,
# writes its lines to OUTFILE and then creates OUTFILE.done.
#   session UDS CMD... [-- UDS CMD...]: per group, one connection to port
#     5000, each CMD sent as a line; "UDS CMD => REPLY" per command, or
#     "UDS error ..."
#   hold UDS CMD...: the same, then "held", and the connection stays open
#     until the peer ends it: "end=eof|data|ERROR"
cat >"$tmp/sv.py" <<'EOF'
import socket, sys, threading, time

def connect(uds, port=5000, timeout=60, tries=20):
    for i in range(tries):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(uds)
            s.sendall(b"CONNECT %d\n" % port)
            line = readline(s)
            if not line.startswith("OK "):
                raise ConnectionError("answer %r" % line)
            return s
        except (OSError, ConnectionError) as e:
            s.close()
            err = e
            time.sleep(0.5)
    raise ConnectionError("connect %s: %r after %d tries" % (uds, err, tries))

def readline(s):
    line = b""
    while not line.endswith(b"\n"):
        b = s.recv(1)
        if not b:
            raise ConnectionError("closed after %r" % line)
        line += b
        if len(line) > 512:
            raise ConnectionError("no newline in %r" % line)
    return line.decode(errors="replace").rstrip("\r\n")

def run(out, uds, cmds):
    s = connect(uds)
    for c in cmds:
        s.sendall(c.encode() + b"\n")
        out("%s %s => %s" % (uds, c, readline(s)))
    return s

def cmd_session(out, *args):
    groups, cur = [], []
    for a in args:
        if a == "--":
            groups.append(cur)
            cur = []
        else:
            cur.append(a)
    groups.append(cur)
    for g in groups:
        try:
            run(out, g[0], g[1:]).close()
        except Exception as e:
            out("%s error %r" % (g[0], e))

def cmd_hold(out, uds, *cmds):
    s = run(out, uds, cmds)
    out("held")
    s.settimeout(None)
    try:
        b = s.recv(1)
        out("end=%s" % ("eof" if not b else "data"))
    except OSError as e:
        out("end=%s" % type(e).__name__)

def serve(req):
    path, cmd, args = req[0], req[1], req[2:]
    with open(path, "a", buffering=1) as f:
        def out(line):
            f.write(line + "\n")
        try:
            globals()["cmd_" + cmd](out, *args)
        except Exception as e:
            out("error %r" % e)
    open(path + ".done", "w").close()

fifo, ready = sys.argv[1], sys.argv[2]
open(ready, "w").close()
while True:
    with open(fifo) as f:
        for line in f:
            threading.Thread(target=serve, args=(line.rstrip("\n").split("\t"),), daemon=True).start()
EOF
mkfifo "$tmp/sv.fifo"
(exec timeout 3600 python3 -S "$tmp/sv.py" "$tmp/sv.fifo" "$tmp/sv.ready") >"$tmp/sv.log" 2>&1 &
sv_pid=$!; pids+=("$sv_pid")
# sv_start OUTFILE CMD ARG...: a request to the helper; sv OUTFILE CMD
# ARG...: the same, waiting up to 300 s for it to finish.
sv_start() {
	local i
	for ((i = 0; i < 1200; i++)); do
		[ -e "$tmp/sv.ready" ] && break
		kill -0 "$sv_pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$1" "$1.done"
	(IFS=$'\t'; printf '%s\n' "$*") | timeout 10 tee "$tmp/sv.fifo" >/dev/null ||
		echo "error: the vsock helper is not running: $(tail -2 "$tmp/sv.log")" >"$1"
}
sv() {
	local i
	sv_start "$@"
	for ((i = 0; i < 3000; i++)); do
		[ -e "$1.done" ] && return 0
		grep -q '^error: the vsock helper' "$1" 2>/dev/null && return 1
		sleep 0.1
	done
	echo "error: timed out" >>"$1"
	return 1
}
# reply FILE UDS CMD: the reply to CMD in a session's output.
reply() { grep -F "$2 $3 => " "$1" | head -1 | sed 's/.* => //'; }

# check_blk NAME OUTFILE UDS SEED DISK: blk-ok SEED, and the disk image
# holds what the guest read back.
check_blk() {
	local r hex
	r=$(reply "$2" "$3" "blk $4")
	hex=$(sed -nE "s/^blk-ok $4 ([0-9a-f]{64})$/\1/p" <<<"$r")
	if [ -z "$hex" ]; then
		fail "$1" "blk $4 answered [$r] $(grep error "$2" | head -1)"
	elif [ "$hex" != "$(disk_sha "$5")" ]; then
		fail "$1" "the guest read back sha256 $hex, the disk image's first MiB is $(disk_sha "$5")"
	else
		pass "$1" "1 MiB O_DIRECT write+read, sha256 ${hex:0:16}... equals $(basename "$5")'s first MiB"
	fi
}

# median_iv FILE: the median interval (ms, CLOCK_MONOTONIC) between the
# ticks in a console file.
median_iv() {
	ticks "$1" | awk 'NR > 1 { print $2 - m } { m = $2 }' | sort -n |
		awk '{ a[NR] = $1 } END { print NR ? a[int((NR + 1) / 2)] : -1 }'
}

# complete FILE: the file up to its last newline (pausing the guest may cut
# the console's last line in two).
complete() {
	if [ "$(tail -c1 "$1" | od -An -tx1 | tr -d ' \n')" = 0a ]; then cat "$1"; else sed '$d' "$1"; fi
}

# check_restored NAME SRC OUT PID T0FILE PAUSED_MS SNAP_T: after a restore
# whose console is OUT, of a VM whose console up to the snapshot is SRC: the
# counter continues (the first tick after is the last before plus one: the
# two consoles are read joined, so a line the pause cut in two is whole
# again; and no boot banner) and the guest clock is sane: CLOCK_MONOTONIC
# steps across the restore by less than PAUSED_MS (how long the VM sat
# paused before the snapshot was written, or loaded before it resumed:
# kvmclock runs then, as in Firecracker) plus max(SNAP_MONO_JUMP_MS, 4
# ticks as they were before), however long ago SNAP_T (the wall clock when
# the snapshot was written) was; it never goes back, and the ticks come
# every 90 ms or more, at most
# max(400 ms, 3x the median before the snapshot) at the median (a busy
# emulated runner stretches them); CLOCK_REALTIME does not go back. Waits
# for 20 ticks past the restore.
check_restored() {
	local name=$1 src=$2 o=$3 pid=$4 k all n0 mono0 real0 pre first mono1 real1 lat iv med jump hi step ago
	ago=$(($(now_ms) - ${7:-0}))
	k=$(complete "$src" | ticks_of | wc -l)
	read -r n0 mono0 real0 <<<"$(complete "$src" | ticks_of | tail -1)"
	pre=$(median_iv "$src")
	jump=$jump_ms hi=400
	[ "${pre:-0}" -gt 0 ] && [ $((4 * pre)) -gt "$jump" ] && jump=$((4 * pre))
	jump=$((jump + ${6:-0}))
	[ "${pre:-0}" -gt 0 ] && [ $((3 * pre)) -gt "$hi" ] && hi=$((3 * pre))
	if [ "$k" = 0 ]; then
		fail "$name/counter" "no tick in the console before the snapshot ($src)"
		return 1
	fi
	if ! wait_tick "$o" "$pid" $((n0 + 21)) 60; then
		fail "$name/counter" "no tick past $((n0 + 21)) within 60 s (last: [$(last_tick "$o")])" "$o"
		return 1
	fi
	all=$(cat "$src" "$o" | ticks_of)
	read -r first mono1 real1 <<<"$(sed -n "$((k + 1))p" <<<"$all")"
	if [ "$first" != $((n0 + 1)) ]; then
		fail "$name/counter" "first tick after the restore is $first, want $((n0 + 1))" "$o"
	elif tr -d '\r' <"$o" | grep -qE 'Linux version|EMBER-AGENT [0-9.]+ init-started'; then
		fail "$name/counter" "the guest booted again" "$o"
	else
		lat=
		[ -n "${5:-}" ] && lat=$(latency_ms "$5" "${o%.out}.err")
		pass "$name/counter" "tick $n0 -> $first, no boot${lat:+; exec -> first KVM_RUN $lat ms}"
	fi
	# CLOCK_MONOTONIC steps: across the restore (the last tick before to the
	# third after), and between the ticks after it
	step=$(sed -n "$k,$((k + 3))p" <<<"$all" | awk 'NR > 1 && $2 - m > s { s = $2 - m } { m = $2 } END { print s + 0 }')
	iv=$(sed -n "$((k + 1)),\$p" <<<"$all" | awk 'NR > 1 { print $2 - m } { m = $2 }')
	med=$(sort -n <<<"$iv" | awk '{ a[NR] = $1 } END { print NR ? a[int((NR + 1) / 2)] : -1 }')
	if [ "$step" -ge "$jump" ]; then
		fail "$name/clock" "CLOCK_MONOTONIC stepped by $step ms across the restore (want < $jump ms, ${6:-0} of them paused): $(sed -n "$k,$((k + 3))p" <<<"$all" | cut -d' ' -f1,2 | tr '\n' ' ')"
	elif grep -q '^-' <<<"$iv" || [ $((mono1 - mono0)) -lt 0 ]; then
		fail "$name/clock" "CLOCK_MONOTONIC went back: $mono0 before, $(tr '\n' ' ' <<<"$iv")"
	elif [ "$med" -lt 90 ] || [ "$med" -gt "$hi" ]; then
		fail "$name/clock" "median tick interval $med ms after the restore, want 90..$hi (${pre:-?} before)"
	elif [ "$real1" -lt "$real0" ]; then
		fail "$name/clock" "CLOCK_REALTIME went back across the restore: $real0 -> $real1"
	else
		pass "$name/clock" "monotonic steps by at most $step ms across the restore (paused ${6:-0} ms; snapshot written $((ago / 1000)) s ago), realtime +$((real1 - real0)) ms; then a tick every $med ms (median; $pre before)"
	fi
}

# flip_byte FILE OFFSET: xors the byte at OFFSET with 0xff.
flip_byte() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	# shellcheck disable=SC2059 # the format is the point
	printf "$(printf '\\%03o' $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

echo "snapshot (Debian $(cut -d' ' -f3 "$img/kernel-version" 2>/dev/null), bzImage, 1 vCPU, $mem MiB, a scratch disk, vsock CID $cid):"

snap=$tmp/vm.snap memf=$tmp/vm.mem disk=$tmp/disk.img last=
# the wall clock when the snapshot was written, and how long the VM had
# been paused then (ms)
snap_t=0 paused_ms=0
cd "$tmp" || exit 1
truncate -s 8M "$disk"

t_main() {
	local o=$tmp/a.out sock=$tmp/a.sock uds=$tmp/a.vsock pid r held n t
	: >"$o"
	"$ember" --api-sock "$sock" --kernel "$img/bzImage" --initrd "$img/initramfs.cpio" --mem "$mem" --vcpus 1 \
		--cmdline "$cmdline" --drive "path=disk.img,id=scratch" --vsock "cid=$cid,uds=$uds" \
		</dev/null >"$o" 2>"$tmp/a.err" &
	pid=$!; pids+=("$pid")
	if ! wait_tick "$o" "$pid" 20 "$boot_s" || [ -z "$(agent_all "$o" snap-listening)" ]; then
		fail main/boot "no snap-listening and tick 20 within $boot_s s" "$o"
		stop_vm "$pid"; keep "$o" main-boot.console.log
		return
	fi
	pass main/boot "$(agent_all "$o" snap-listening), tick $(last_tick "$o" | cut -d' ' -f1)"

	# one connection: ping, time, blk 1; then held open across the snapshot
	sv_start "$tmp/hold.out" hold "$uds" ping time "blk 1"
	for _ in $(seq 1200); do grep -qE '^(held|end=|error)' "$tmp/hold.out" 2>/dev/null && break; sleep 0.1; done
	r=$(reply "$tmp/hold.out" "$uds" ping)
	if [ "$r" = pong ] && grep -q '^held' "$tmp/hold.out"; then
		pass main/guest-vsock "CONNECT $port, ping -> pong, $(reply "$tmp/hold.out" "$uds" time); left open"
	else
		fail main/guest-vsock "ping answered [$r]: $(tr '\n' ' ' <"$tmp/hold.out")" "$o"
	fi
	check_blk main/guest-blk "$tmp/hold.out" "$uds" 1 "$disk"
	held=$(agent_all "$o" snap-conn | tail -1)

	# pause
	# pause, and create at once (the guest's clock runs on while it is
	# paused, up to the snapshot)
	t=$(now_ms)
	if ! expect 204 "$sock" PATCH /vm '{"state": "Paused"}'; then
		fail main/pause "$why" "$o"
		stop_vm "$pid"; keep "$o" main.console.log
		return
	fi
	if ! expect 204 "$sock" PUT /snapshot/create \
		"{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$snap\", \"mem_file_path\": \"$memf\"}"; then
		fail main/create "$why" "$o"
		stop_vm "$pid"; keep "$o" main.console.log
		return
	fi
	snap_t=$(now_ms)
	paused_ms=$((snap_t - t))
	if grep -q '^end=' "$tmp/hold.out"; then
		fail main/create "204 in $secs s, but the held connection ended: $(grep '^end=' "$tmp/hold.out")"
	else
		pass main/create "204 in $secs s, $paused_ms ms after the pause; the held connection is still open"
	fi
	sleep 0.3; n=$(last_tick "$o"); sleep 1
	if [ "$(last_tick "$o")" != "$n" ]; then
		fail main/pause "ticks went on while paused ($n -> $(last_tick "$o"))"
	else
		pass main/pause "ticks stopped at ${n%% *}"
	fi
	if [ ! -s "$snap" ] || [ ! -f "$memf" ]; then
		fail main/files "state file $(ls -l "$snap" 2>&1), memory file $(ls -l "$memf" 2>&1)"
	elif [ "$(stat -c %s "$memf")" != $((mem << 20)) ]; then
		fail main/files "memory file is $(stat -c %s "$memf") B, want $((mem << 20)) (the guest's RAM)"
	else
		pass main/files "state: $(sizes "$snap"); memory: $(sizes "$memf")"
	fi
	last=$(last_tick "$o")

	# kill -9: the VMM is gone, its sockets stay behind
	kill -9 "$pid"; wait "$pid" 2>/dev/null
	keep "$o" main-boot.console.log
	for _ in $(seq 100); do grep -q '^end=' "$tmp/hold.out" && break; sleep 0.1; done
	rm -f "$sock" "$uds"

	# restore by the CLI, lazy
	o=$tmp/b.out
	: >"$o"
	stamp "$tmp/b.t0" "$ember" --restore "$snap" --mem-file "$memf" --api-sock "$tmp/b.sock" --print-startup \
		</dev/null >"$o" 2>"$tmp/b.err" &
	pid=$!; pids+=("$pid")
	sleep 1
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"
		fail main/restore-lazy "ember --restore exited $?" "$o"
		return
	fi
	pass main/restore-lazy "running; exec -> first KVM_RUN $(latency_ms "$tmp/b.t0" "$tmp/b.err") ms"
	check_restored main "$tmp/a.out" "$o" "$pid" "" "$paused_ms" "$snap_t" || { stop_vm "$pid"; keep "$o" main-restored.console.log; return; }

	# the held connection: the host end saw EOF at the kill, the guest's end
	# was reset by the restore
	n=$(field n "$held")
	for _ in $(seq 50); do agent_all "$o" snap-conn-end | grep -q "^n=$n " && break; sleep 0.1; done
	r=$(agent_all "$o" snap-conn-end | grep "^n=$n " | head -1)
	if ! grep -q '^end=eof' "$tmp/hold.out"; then
		fail main/old-conn "the host end of the held connection: [$(grep '^end=' "$tmp/hold.out")], want EOF"
	elif [ "$(field end "$r")" != ECONNRESET ]; then
		fail main/old-conn "the guest's end of the held connection n=$n: [${r:-no snap-conn-end}], want end=ECONNRESET"
	else
		pass main/old-conn "host end EOF; guest: snap-conn-end $r"
	fi

	r=$tmp/b.sv
	sv "$r" session "$uds" ping time "blk 2" quit
	if [ "$(reply "$r" "$uds" ping)" = pong ]; then
		local tm
		tm=$(reply "$r" "$uds" time)
		pass main/reconnect "new CONNECT $port, ping -> pong, $tm (last tick before: mono=$(cut -d' ' -f2 <<<"$last"))"
	else
		fail main/reconnect "$(tr '\n' ' ' <"$r")" "$o"
	fi
	check_blk main/blk "$r" "$uds" 2 "$disk"
	if ! wait_exit "$pid" 30; then
		fail main/shutdown "the restored VM still runs 30 s after quit"
		stop_vm "$pid"
	elif [ "$rc" != 0 ]; then
		fail main/shutdown "exit $rc after the guest powered off" "$o"
	else
		pass main/shutdown "quit -> power off, exit 0"
	fi
	keep "$o" main-restored.console.log

	# restore again, copying RAM
	o=$tmp/c.out
	: >"$o"
	rm -f "$uds"
	stamp "$tmp/c.t0" "$ember" --restore "$snap" --mem-file "$memf" --restore-mem copy --print-startup \
		</dev/null >"$o" 2>"$tmp/c.err" &
	pid=$!; pids+=("$pid")
	if check_restored copy "$tmp/a.out" "$o" "$pid" "$tmp/c.t0" "$paused_ms" "$snap_t"; then
		sv "$tmp/c.sv" session "$uds" ping "blk 3"
		if [ "$(reply "$tmp/c.sv" "$uds" ping)" = pong ]; then
			pass copy/reconnect "ping -> pong"
		else
			fail copy/reconnect "$(tr '\n' ' ' <"$tmp/c.sv")" "$o"
		fi
		check_blk copy/blk "$tmp/c.sv" "$uds" 3 "$disk"
	fi
	stop_vm "$pid"
	keep "$o" copy-restored.console.log
}

# Two VMs at once from one memory file, each with its own vsock socket and
# disk copy.
t_twice() {
	local i ok=1 o s u d pid r
	if [ -z "$last" ] || [ ! -f "$memf" ]; then
		fail twice/setup "no snapshot (main failed or did not run)"
		return
	fi
	local -a vpid loaded resumed
	for i in 1 2; do
		s=$tmp/t$i.sock u=$tmp/t$i.vsock d=$tmp/vm$i/disk.img o=$tmp/t$i.out
		mkdir -p "$tmp/vm$i" && cp "$disk" "$d"
		(cd "$tmp/vm$i" && exec "$ember" --api-sock "$s") </dev/null >"$o" 2>"${o%.out}.err" &
		vpid[i]=$!; pids+=("${vpid[i]}")
		wait_sock "$s" || { fail twice/load "VM $i: no API socket" "$o"; return; }
		if ! expect 204 "$s" PUT /snapshot/load "{\"snapshot_path\": \"$snap\",
			\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$memf\"},
			\"resume_vm\": false, \"vsock_override\": {\"uds_path\": \"$u\"}}"; then
			fail twice/load "VM $i: $why" "$o"
			ok=0
		fi
		loaded[i]=$(now_ms)
	done
	[ $ok = 1 ] && pass twice/load "both loaded from $(basename "$memf") (resume_vm false, own vsock uds), each opening its own disk.img"
	for i in 1 2; do
		[ $ok = 1 ] || break
		expect 204 "$tmp/t$i.sock" PATCH /vm '{"state": "Resumed"}' || { fail twice/resume "VM $i: $why" "$tmp/t$i.out"; ok=0; }
		resumed[i]=$(now_ms)
	done
	if [ $ok = 1 ]; then
		for i in 1 2; do
			check_restored "twice/vm$i" "$tmp/a.out" "$tmp/t$i.out" "${vpid[i]}" "" \
				$((paused_ms + resumed[i] - loaded[i])) "$snap_t"
		done
		sv "$tmp/t.sv" session "$tmp/t1.vsock" ping "blk 11" -- "$tmp/t2.vsock" ping "blk 12"
		for i in 1 2; do
			r=$(reply "$tmp/t.sv" "$tmp/t$i.vsock" ping)
			if [ "$r" = pong ]; then
				pass "twice/vm$i-vsock" "ping -> pong on $(basename "$tmp/t$i.vsock")"
			else
				fail "twice/vm$i-vsock" "$(grep "t$i.vsock" "$tmp/t.sv" | tr '\n' ' ')" "$tmp/t$i.out"
			fi
			check_blk "twice/vm$i-blk" "$tmp/t.sv" "$tmp/t$i.vsock" "1$i" "$tmp/vm$i/disk.img"
		done
		if [ "$(disk_sha "$tmp/vm1/disk.img")" = "$(disk_sha "$tmp/vm2/disk.img")" ] ||
			[ "$(disk_sha "$tmp/vm1/disk.img")" = "$(disk_sha "$disk")" ]; then
			fail twice/separate "the disk copies are not separate"
		fi
	fi
	for i in 1 2; do
		stop_vm "${vpid[i]}"
		keep "$tmp/t$i.out" "twice-vm$i.console.log"
	done
}

# A flipped byte in the state file, a truncated memory file.
t_corrupt() {
	local size o=$tmp/bad.out
	if [ ! -s "$snap" ] || [ ! -f "$memf" ]; then
		fail corrupt/setup "no snapshot (main failed or did not run)"
		return
	fi
	cp "$snap" "$tmp/bad.snap"
	size=$(stat -c %s "$snap")
	flip_byte "$tmp/bad.snap" $((size / 2))
	rm -f "$tmp/a.vsock"
	timeout -k 5 30 "$ember" --restore "$tmp/bad.snap" --mem-file "$memf" </dev/null >"$o" 2>"$tmp/bad.err"
	rc=$?
	if [ $rc = 0 ] || [ $rc = 124 ] || [ $rc = 137 ]; then
		fail corrupt/state "exit $rc with byte $((size / 2)) of $size flipped, want a refusal" "$o"
	elif ! grep -qiE 'crc|checksum|snapshot' "$tmp/bad.err"; then
		fail corrupt/state "exit $rc but the message names neither the snapshot nor its CRC: $(head -2 "$tmp/bad.err")"
	else
		pass corrupt/state "byte $((size / 2)) of $size flipped: exit $rc, $(grep -iE 'crc|checksum|snapshot' "$tmp/bad.err" | head -1)"
	fi
	cp --sparse=always "$memf" "$tmp/short.mem"
	truncate -s $(((mem << 20) / 2)) "$tmp/short.mem"
	rm -f "$tmp/a.vsock"
	timeout -k 5 30 "$ember" --restore "$snap" --mem-file "$tmp/short.mem" </dev/null >"$o" 2>"$tmp/bad.err"
	rc=$?
	if [ $rc = 0 ] || [ $rc = 124 ] || [ $rc = 137 ]; then
		fail corrupt/mem "exit $rc with the memory file cut to half, want a refusal" "$o"
	elif ! grep -qiE 'mem.*(size|short|small|eof|end of file|past)' "$tmp/bad.err"; then
		fail corrupt/mem "exit $rc but the message is not about the memory file's size: $(head -2 "$tmp/bad.err")"
	else
		pass corrupt/mem "memory file cut to $((mem / 2)) MiB: exit $rc, $(grep -iE 'mem' "$tmp/bad.err" | head -1)"
	fi
}

# A Diff snapshot on top of a Full one, merged with ember-rebase-snap.
t_diff() {
	local o=$tmp/d.out sock=$tmp/d.sock uds=$tmp/d.vsock pid dlast dpaused dsnap_t t
	truncate -s 8M "$tmp/diskd.img"
	cat >"$tmp/d.json" <<EOF
{
  "boot-source": { "kernel_image_path": "$img/bzImage", "initrd_path": "$img/initramfs.cpio",
                   "boot_args": "$cmdline" },
  "drives": [ { "drive_id": "scratch", "path_on_host": "$tmp/diskd.img", "is_root_device": false, "is_read_only": false } ],
  "machine-config": { "vcpu_count": 1, "mem_size_mib": $mem, "track_dirty_pages": true },
  "vsock": { "guest_cid": $cid, "uds_path": "$uds" }
}
EOF
	: >"$o"
	"$ember" --config-file "$tmp/d.json" --api-sock "$sock" </dev/null >"$o" 2>"$tmp/d.err" &
	pid=$!; pids+=("$pid")
	if ! wait_tick "$o" "$pid" 20 "$boot_s"; then
		fail diff/boot "no tick 20 within $boot_s s (config file with track_dirty_pages)" "$o"
		stop_vm "$pid"; keep "$o" diff-boot.console.log
		return
	fi
	if ! expect 204 "$sock" PATCH /vm '{"state": "Paused"}' ||
		! expect 204 "$sock" PUT /snapshot/create \
			"{\"snapshot_type\": \"Full\", \"snapshot_path\": \"$tmp/d.full\", \"mem_file_path\": \"$tmp/d.fullmem\"}"; then
		fail diff/full "$why" "$o"
		stop_vm "$pid"; keep "$o" diff-boot.console.log
		return
	fi
	local ffull=$secs
	local n0
	n0=$(last_tick "$o" | cut -d' ' -f1)
	if ! expect 204 "$sock" PATCH /vm '{"state": "Resumed"}' || ! wait_tick "$o" "$pid" $((n0 + 20)) 60 ||
		! { t=$(now_ms); expect 204 "$sock" PATCH /vm '{"state": "Paused"}'; }; then
		fail diff/resume "${why:-no ticks after the resume}" "$o"
		stop_vm "$pid"; keep "$o" diff-boot.console.log
		return
	fi
	if ! expect 204 "$sock" PUT /snapshot/create \
		"{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"$tmp/d.diff\", \"mem_file_path\": \"$tmp/d.diffmem\"}"; then
		fail diff/create "$why" "$o"
		stop_vm "$pid"; keep "$o" diff-boot.console.log
		return
	fi
	dsnap_t=$(now_ms)
	dpaused=$((dsnap_t - t))
	sleep 0.3
	dlast=$(last_tick "$o")
	pass diff/create "Full at tick $n0 in $ffull s ($(du -B1 "$tmp/d.fullmem" | cut -f1) B allocated), Diff at tick ${dlast%% *} in $secs s (memory: $(sizes "$tmp/d.diffmem"))"
	kill -9 "$pid"; wait "$pid" 2>/dev/null
	keep "$o" diff-boot.console.log
	rm -f "$sock" "$uds"
	[ -x "$rebase" ] || { fail diff/rebase "missing $rebase"; return; }
	cp --sparse=always "$tmp/d.fullmem" "$tmp/d.merged"
	if ! "$rebase" --base-file "$tmp/d.merged" --diff-file "$tmp/d.diffmem" >"$tmp/rebase.out" 2>&1; then
		fail diff/rebase "ember-rebase-snap failed: $(head -3 "$tmp/rebase.out")"
		return
	fi
	pass diff/rebase "merged: $(sizes "$tmp/d.merged")"
	o=$tmp/e.out
	: >"$o"
	stamp "$tmp/e.t0" "$ember" --restore "$tmp/d.diff" --mem-file "$tmp/d.merged" --print-startup \
		</dev/null >"$o" 2>"$tmp/e.err" &
	pid=$!; pids+=("$pid")
	check_restored diff "$tmp/d.out" "$o" "$pid" "$tmp/e.t0" "$dpaused" "$dsnap_t"
	stop_vm "$pid"
	keep "$o" diff-restored.console.log
}

for t in ${SNAP_TESTS:-main twice corrupt diff}; do
	"t_$t"
done
echo "snapshot: $passed passed, $failed failed"
[ $failed = 0 ]
