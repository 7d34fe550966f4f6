#!/usr/bin/env bash
# The Firecracker-compatible control plane, driving real boots of Debian's
# cloud kernel (bzImage, the test agent in build/debian/initramfs.cpio):
#   api-boot      only over the API socket with curl, in the order of
#                 Firecracker's getting-started guide (logger, metrics,
#                 machine-config, boot-source, drives, entropy, InstanceStart);
#                 GET / and GET /vm/config before and after; a pre-boot call
#                 after boot gets Firecracker's fault_message; PATCH /vm
#                 pauses (the guest's 100 ms ticks stop) and resumes (they go
#                 on); FlushMetrics writes a JSON line with vCPU exits and
#                 block bytes; SendCtrlAltDel reboots the guest and ember
#                 exits 0; the log file has level and origin
#   api-errors    bad JSON, unknown path, GET with a body, an oversized body,
#                 a bad value (key path in the message), InstanceStart with
#                 no boot source, an existing socket path
#   config-file   --config-file --no-api: 2 vCPUs, a root drive (the agent
#                 switch_roots into it: root=/dev/vda was added), an entropy
#                 device; the guest powers off, exit 0
#   config+api    --config-file with --api-sock: boots at once, GET / says
#                 Running, SendCtrlAltDel ends it
#   bad-config    unknown key, missing drive file, bad JSON: exit 78 and a
#                 message naming the key path; nothing boots
# Prints "api: N passed, N failed".
#
# usage: test_api.sh BUILD     (needs real KVM: run it through the runner)
set -u
build=${1:-build}
img=$build/debian
ember=$build/ember
PATH=$PATH:/usr/sbin:/sbin
tmp=$(mktemp -d /tmp/ember-api.XXXXXX) || exit 1
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
passed=0 failed=0
. "$(dirname "$0")/kmsg.sh"
base="console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.dumbkbd"

for f in "$img/bzImage" "$img/initramfs.cpio" "$ember"; do
	if [ ! -f "$f" ]; then
		echo "api: missing $f"; echo "api: 0 passed, 1 failed"; exit 1
	fi
done
command -v curl >/dev/null || { echo "api: curl missing"; echo "api: 0 passed, 1 failed"; exit 1; }

fail() {
	echo "  FAIL $1: $2"
	for f in "$tmp/out" "$tmp/err"; do
		[ -s "$f" ] && grep -vE '^\s*$' "$f" | tail -12 | sed 's/^/    | /'
	done
	failed=$((failed + 1))
}
pass() {
	echo "  PASS $1${2:+ ($2)}"
	passed=$((passed + 1))
}

# api METHOD PATH [BODY]: sets code and body (the response).
api() {
	local args=(-s -o "$tmp/resp" -w '%{http_code}' --unix-socket "$sock" -X "$1"
		-H 'Accept: application/json' "http://localhost$2")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	[ $# -ge 4 ] && args+=("${@:4}")
	code=$(curl "${args[@]}" 2>>"$tmp/curl.err") || code=000
	body=$(cat "$tmp/resp" 2>/dev/null)
}
# expect CODE METHOD PATH [BODY]: an API call that must answer CODE.
expect() {
	local want=$1
	shift
	api "$@"
	if [ "$code" != "$want" ]; then
		why="$1 $2 answered $code, not $want: $body"
		return 1
	fi
}
wait_for() { # wait_for SECONDS PATTERN FILE
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		grep -q -- "$2" "$3" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
wait_sock() { local i; for ((i = 0; i < 50; i++)); do [ -S "$sock" ] && return 0; sleep 0.1; done; return 1; }
ticks() { grep -c 'EMBER-AGENT [0-9.]* tick ' "$tmp/out"; }
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

mke2fs -q -F -t ext4 "$tmp/data.img" 16M >/dev/null 2>&1 || truncate -s 16M "$tmp/data.img"

# ---- api-boot ----
t=api-boot why=
sock=$tmp/api.sock
: >"$tmp/out"
"$ember" --api-sock "$sock" --id api_test </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!; pids+=($pid)
wait_sock
ok=1
{
	expect 200 GET / && echo "$body" | grep -q '"state": *"Not started"' &&
		echo "$body" | grep -q '"id": *"api_test"' || { why=${why:-"GET / before boot: $body"}; false; }
} &&
	expect 204 PUT /logger "{\"log_path\": \"$tmp/ember.log\", \"level\": \"Info\", \"show_level\": true, \"show_log_origin\": true}" &&
	expect 204 PUT /metrics "{\"metrics_path\": \"$tmp/metrics.json\"}" &&
	expect 204 PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256}' &&
	expect 204 PATCH /machine-config '{"mem_size_mib": 192}' &&
	expect 204 PUT /boot-source "{\"kernel_image_path\": \"$img/bzImage\", \"initrd_path\": \"$img/initramfs.cpio\", \"boot_args\": \"$base ember.scenario=ticker\"}" &&
	expect 204 PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$tmp/data.img\", \"is_root_device\": false, \"is_read_only\": false}" &&
	expect 204 PUT /entropy '{}' &&
	expect 200 GET /machine-config && { echo "$body" | grep -q '"mem_size_mib": *192' || { why="GET /machine-config: $body"; false; }; } &&
	expect 200 GET /vm/config && { echo "$body" | grep -q '"drive_id": *"data"' || { why="GET /vm/config: $body"; false; }; } &&
	expect 204 PUT /actions '{"action_type": "InstanceStart"}' || ok=0
if [ $ok = 1 ] && ! wait_for 60 'tick 3\b' "$tmp/out"; then ok=0 why="the guest never ticked"; fi
if [ $ok = 1 ]; then
	expect 200 GET / && echo "$body" | grep -q '"state": *"Running"' || { ok=0; why=${why:-"GET / after boot: $body"}; }
fi
if [ $ok = 1 ]; then
	expect 400 PUT /boot-source "{\"kernel_image_path\": \"$img/bzImage\"}" &&
		echo "$body" | grep -q 'The requested operation is not supported after starting the microVM.' ||
		{ ok=0; why=${why:-"PUT /boot-source after boot: $code $body"}; }
fi
if [ $ok = 1 ]; then
	expect 204 PATCH /vm '{"state": "Paused"}' || ok=0
	sleep 0.3; before=$(ticks); sleep 1.5; after=$(ticks)
	[ $ok = 1 ] && [ "$before" != "$after" ] && { ok=0; why="ticks went on while paused ($before -> $after)"; }
	[ $ok = 1 ] && { expect 200 GET / && echo "$body" | grep -q '"state": *"Paused"' || { ok=0; why=${why:-"GET / paused: $body"}; }; }
	[ $ok = 1 ] && { expect 204 PATCH /vm '{"state": "Resumed"}' || ok=0; }
	sleep 1.5; resumed=$(ticks)
	[ $ok = 1 ] && [ "$resumed" -le "$after" ] && { ok=0; why="no ticks after resume ($after -> $resumed)"; }
fi
if [ $ok = 1 ]; then
	expect 204 PUT /actions '{"action_type": "FlushMetrics"}' || ok=0
	[ $ok = 1 ] && { last=$(tail -1 "$tmp/metrics.json" 2>/dev/null)
		echo "$last" | python3 -c 'import json,sys; m=json.loads(sys.stdin.read()); assert m["vcpu"]["exit_io_out"] > 0 or m["vcpu"]["exit_mmio_write"] > 0; assert any(k.startswith("block") for k in m)' 2>"$tmp/py.err" ||
		{ ok=0; why="metrics line: $(head -c 300 <<<"$last") $(tail -1 "$tmp/py.err")"; }; }
fi
if [ $ok = 1 ]; then
	expect 204 PUT /actions '{"action_type": "SendCtrlAltDel"}' || ok=0
	if [ $ok = 1 ]; then
		if ! wait_exit $pid 30; then ok=0 why="ember still running 30 s after SendCtrlAltDel"
		elif [ "$rc" != 0 ]; then ok=0 why="exit $rc after SendCtrlAltDel"; fi
	fi
fi
if [ $ok = 1 ]; then
	grep -q 'INFO' "$tmp/ember.log" && grep -q '\[api_test:' "$tmp/ember.log" || { ok=0; why="log file lacks level/id: $(head -3 "$tmp/ember.log")"; }
	[ -e "$sock" ] && { ok=0; why="socket left behind"; }
fi
[ $ok = 1 ] && pass $t "paused $before->$after ticks, resumed ->$resumed" || fail $t "$why"
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null

# ---- api-errors ----
t=api-errors why=
sock=$tmp/api2.sock
"$ember" --api-sock "$sock" </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!; pids+=($pid)
wait_sock
big=$(head -c 70000 /dev/zero | tr '\0' 'a')
ok=1
expect 400 PUT /machine-config '{"vcpu_count": 2, ' && echo "$body" | grep -q fault_message &&
	expect 400 GET /nope && echo "$body" | grep -q 'Invalid request method and/or path' &&
	expect 400 PUT /machine-config '{"vcpu_count": 33, "mem_size_mib": 256}' && echo "$body" | grep -q 'vcpu_count' &&
	expect 400 PUT /drives/d0 '{"drive_id": "d1", "path_on_host": "/x", "is_root_device": false}' &&
	expect 400 PUT /actions '{"action_type": "InstanceStart"}' && echo "$body" | grep -qi 'boot' &&
	expect 400 PATCH /vm '{"state": "Paused"}' && echo "$body" | grep -q 'not supported before starting the microVM' &&
	expect 413 PUT /boot-source "{\"kernel_image_path\": \"$big\"}" -H 'Expect: 100-continue' &&
	expect 400 PUT /snapshot/create '{"snapshot_path": "/tmp/s", "mem_file_path": "/tmp/m"}' &&
	expect 200 GET /version && echo "$body" | grep -q firecracker_version || ok=0
if [ $ok = 1 ]; then
	"$ember" --api-sock "$sock" </dev/null >"$tmp/out2" 2>&1
	rc=$?
	[ $rc = 0 ] && { ok=0; why="a second ember took the same socket path"; }
	grep -qi 'exists' "$tmp/out2" || { ok=0; why="no clear message for a busy socket: $(cat "$tmp/out2")"; }
fi
kill -TERM $pid 2>/dev/null
wait_exit $pid 10 || { ok=0; why="ember ignored SIGTERM while waiting for InstanceStart"; }
[ $ok = 1 ] && pass $t || fail $t "$why"

# ---- config-file ----
t=config-file why=
rootfs=$tmp/root.img
if ! tests/guest/debian/mkrootfs.sh "$rootfs" >"$tmp/mkrootfs.log" 2>&1; then
	fail $t "mkrootfs failed: $(tail -3 "$tmp/mkrootfs.log")"
else
	cat >"$tmp/vm.json" <<EOF
{
  "boot-source": { "kernel_image_path": "$img/bzImage", "initrd_path": "$img/initramfs.cpio",
                   "boot_args": "$base ember.scenario=info" },
  "drives": [
    { "drive_id": "data", "path_on_host": "$tmp/data.img", "is_root_device": false, "is_read_only": true },
    { "drive_id": "rootfs", "path_on_host": "$rootfs", "is_root_device": true, "is_read_only": false }
  ],
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 256 },
  "entropy": {}
}
EOF
	timeout -k 5 120 "$ember" --config-file "$tmp/vm.json" --no-api </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc != 0 ]; then fail $t "exit $rc"
	elif ! without_kmsg "$tmp/out" | grep -q 'switch-root /dev/vda'; then fail $t "the root drive was not vda / root= missing"
	elif ! grep -q 'root=/dev/vda rw' "$tmp/out"; then fail $t "root=/dev/vda rw not on the command line"
	else pass $t; fi
fi

# ---- config+api ----
t=config+api why=
sock=$tmp/api3.sock
sed 's/ember.scenario=info/ember.scenario=ticker/; s/"is_root_device": true/"is_root_device": false/' "$tmp/vm.json" >"$tmp/vm2.json"
"$ember" --config-file "$tmp/vm2.json" --api-sock "$sock" </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!; pids+=($pid)
ok=1
if ! wait_for 60 'tick 2\b' "$tmp/out"; then ok=0 why="no ticks"; fi
[ $ok = 1 ] && { expect 200 GET / && echo "$body" | grep -q '"state": *"Running"' || { ok=0; why=${why:-"GET /: $body"}; }; }
[ $ok = 1 ] && { expect 400 PUT /actions '{"action_type": "InstanceStart"}' || ok=0; }
[ $ok = 1 ] && { expect 204 PUT /actions '{"action_type": "SendCtrlAltDel"}' || ok=0; }
[ $ok = 1 ] && { wait_exit $pid 30 && [ "$rc" = 0 ] || { ok=0; why="no clean exit after SendCtrlAltDel (rc=${rc:-timeout})"; }; }
[ $ok = 1 ] && pass $t || fail $t "$why"
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null

# ---- bad-config ----
t=bad-config why=
ok=1
check_bad() { # check_bad JSON PATTERN
	printf '%s' "$1" >"$tmp/bad.json"
	timeout -k 5 20 "$ember" --config-file "$tmp/bad.json" --no-api </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc != 78 ] || ! grep -q -- "$2" "$tmp/err"; then
		ok=0; why="config $1: exit $rc, message: $(head -2 "$tmp/err")"
	fi
}
check_bad "{\"boot-source\": {\"kernel_image_path\": \"$img/bzImage\"}, \"bogus\": 1}" 'bogus'
[ $ok = 1 ] && check_bad "{\"boot-source\": {\"kernel_image_path\": \"$img/bzImage\"}, \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"$tmp/none.img\", \"is_root_device\": false}]}" 'drives\[0\].path_on_host'
[ $ok = 1 ] && check_bad '{"boot-source": ' 'invalid JSON at line 1'
[ $ok = 1 ] && pass $t || fail $t "$why"

echo "api: $passed passed, $failed failed"
[ $failed = 0 ]
