#!/usr/bin/env bash
# ember-jailer on real KVM, as root (inside the nested runner):
#   * bad input (an id with '/', '..', a missing exec file, uid 0, cgroup
#     v1) is refused with one "ember-jailer: ..." line and exit 64;
#   * a second jailer on a busy id fails fast (75, "busy"); SIGTERM to the
#     first is forwarded, ember shuts down cleanly and the jailer exits 0;
#   * a test guest boots jailed (--new-pid-ns, a pids.max cgroup, no-file
#     256) and the jailer exits 0; a spinning guest is inspected from
#     outside through /proc: uid/gid 1234, no capabilities, NoNewPrivs, its
#     root is the chroot, PID 1 of its own PID namespace, in its cgroup,
#     the limits, no lock fd; --daemonize and --netns;
#   * the jailed VMM cannot open a host file: the test build's --test-open
#     /etc/passwd says ENOENT in the jail (a file of the jail opens).
# The chroot base is a mktemp directory under /tmp. cgroup2 is mounted on
# /sys/fs/cgroup if it is not already (and unmounted again).
# Prints "jailer: N passed, N failed"; exits 1 on a failure.
set -u
build=${1:-build}
jailer=$(realpath -m "$build/ember-jailer")
ember=$(realpath -m "$build/ember")
hooks=$(realpath -m "$build/testhooks/ember")
[ -x "$hooks" ] || hooks=$(realpath -m build/testhooks/ember)
pvh=$(realpath -m "$build/guest/pvh_guest.elf")
spin=$(realpath -m "$build/guest/spin_guest.elf")
base=$(mktemp -d /tmp/ember-jailer.XXXXXX) || exit 1
tmp=$base/tmp
mkdir -p "$tmp"
mounted_cgroup=0
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "${netns:-}" ] && ip netns delete "$netns" 2>/dev/null
	rmdir /sys/fs/cgroup/ember/* /sys/fs/cgroup/ember 2>/dev/null
	[ $mounted_cgroup = 1 ] && umount /sys/fs/cgroup
	rm -rf "$base"
}
trap cleanup EXIT

. "$(dirname "$0")/checks.sh"

# The jailer's common flags (uid/gid 1234, the base); `jail ID ARGS...`
# runs it in the foreground under a timeout, "${JAIL[@]}" --id ID ... &
# in the background (so that $! is the jailer itself).
JAIL=("$jailer" --exec-file "$ember" --uid 1234 --gid 1234 --chroot-base-dir "$base")
jail() {
	local id=$1
	shift
	timeout -k 5 60 "${JAIL[@]}" --id "$id" "$@"
}

# refused NAME WANT_RC NEEDLE ARGS...: one error line holding NEEDLE.
refused() {
	local name=$1 want=$2 needle=$3 rc
	shift 3
	"$jailer" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc != "$want" ]; then
		fail "$name" "exit $rc, want $want"
	elif [ "$(grep -c . "$tmp/err")" != 1 ] || ! grep -q "^ember-jailer: .*$needle" "$tmp/err"; then
		fail "$name" "want one 'ember-jailer: ...$needle' line"
	else
		pass "$name ($(head -c 110 "$tmp/err"))"
	fi
}

# root_of ID: the chroot of ID; stage_guest ID FILE puts FILE at /guest.elf.
root_of() { echo "$base/ember/$1/root"; }
stage_guest() {
	mkdir -p "$(root_of "$1")" && cp "$2" "$(root_of "$1")/guest.elf" && chmod 0644 "$(root_of "$1")/guest.elf"
}

# vmm_pid ID: the jailed ember's pid, from the jailer's pid file.
vmm_pid() {
	local i f
	f="$(root_of "$1")/ember.pid"
	for ((i = 0; i < 50; i++)); do
		[ -s "$f" ] && { cat "$f"; return 0; }
		sleep 0.1
	done
	return 1
}

# status_is PID FIELD VALUE: the whitespace-folded FIELD line of
# /proc/PID/status equals VALUE.
status_is() {
	[ "$(awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status")" = "$3" ]
}

echo "jailer (ember-jailer, base $base):"
for f in "$jailer" "$ember" "$pvh" "$spin"; do
	if [ ! -x "$f" ] && [ ! -f "$f" ]; then
		echo "  FAIL $f is missing (make BUILD=$build $build/ember-jailer $build/ember guests)"
		echo "jailer: 0 passed, 1 failed"
		exit 1
	fi
done
if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ]; then
	mount -t cgroup2 none /sys/fs/cgroup && mounted_cgroup=1
fi

# ---- 1. bad input ----
refused id-slash 64 "--id: 'a/b' may hold only letters, digits and '-'" \
	--id a/b --exec-file "$ember" --uid 1234 --gid 1234 --chroot-base-dir "$base"
refused id-dotdot 64 "--id: '..'" --id .. --exec-file "$ember" --uid 1234 --gid 1234 --chroot-base-dir "$base"
refused exec-missing 64 "--exec-file: $base/nope: No such file or directory" \
	--id j1 --exec-file "$base/nope" --uid 1234 --gid 1234 --chroot-base-dir "$base"
refused exec-dir 64 "not a regular file" --id j1 --exec-file "$base" --uid 1234 --gid 1234 --chroot-base-dir "$base"
refused uid-root 64 "--uid: 0 is root" --id j1 --exec-file "$ember" --uid 0 --gid 1234
refused cgroup-v1 64 "cgroup v1 is not supported" --id j1 --exec-file "$ember" --uid 1 --gid 1 --cgroup-version 1
refused cgroup-key 64 "--cgroup: key '../x'" --id j1 --exec-file "$ember" --uid 1 --gid 1 --cgroup ../x=1
[ -e "$base/ember/a" ] && fail no-dirs-for-bad-ids "a refused id made a directory"

# Busy: one jailed ember waits on its API socket; a second jailer on the id
# must fail at once, the first must not notice, and SIGTERM ends it.
"${JAIL[@]}" --id busy1 -- --api-sock /api.sock </dev/null >"$tmp/busy.out" 2>"$tmp/busy.err" &
first=$!
pids+=("$first")
for ((i = 0; i < 100; i++)); do [ -S "$(root_of busy1)/api.sock" ] && break; sleep 0.1; done
if [ ! -S "$(root_of busy1)/api.sock" ]; then
	cp "$tmp/busy.err" "$tmp/err"
	fail busy "the first jailed ember never made /api.sock"
else
	t0=$(date +%s%N)
	jail busy1 -- --api-sock /api.sock </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$? ms=$((($(date +%s%N) - t0) / 1000000))
	if [ $rc != 75 ] || ! grep -q "^ember-jailer: chroot $base/ember/busy1 is busy" "$tmp/err"; then
		fail busy "second jailer: exit $rc, want 75 and 'is busy'"
	elif ! kill -0 "$first" 2>/dev/null || [ ! -S "$(root_of busy1)/api.sock" ]; then
		fail busy "the first jailer went away"
	else
		pass "busy (second jailer refused in $ms ms: $(head -c 90 "$tmp/err"))"
	fi
	curl -s --unix-socket "$(root_of busy1)/api.sock" http://x/ >"$tmp/api" 2>&1
	if grep -q '"id":"busy1"' "$tmp/api" || grep -q 'busy1' "$tmp/api"; then
		pass "api-in-jail (GET / on the jailed ember's socket names id busy1)"
	else
		fail api-in-jail "GET / answered: $(head -c 200 "$tmp/api")"
	fi
fi
stop "$first"
rc=$?
cp "$tmp/busy.err" "$tmp/err"
if [ $rc = 0 ]; then pass "sigterm-forwarded (jailer exit 0)"; else fail sigterm-forwarded "exit $rc, want 0"; fi
# The lock went with the first jailer.
if jail busy1 -- --version </dev/null >"$tmp/out" 2>"$tmp/err" && grep -q '^ember ' "$tmp/out"; then
	pass "lock-released ($(cat "$tmp/out"))"
else
	fail lock-released "a jailer on the freed id failed"
fi

# ---- 2. a jailed VM boots, and is confined ----
# Jailed embers keep their default seccomp filters and Landlock (a jail has
# no /proc: ember then leaves /proc/self/pagemap out of its rules).
vmm_extra=()
stage_guest boot1 "$pvh"
cmdline="ember.test=jailer ember.initrd=0 ember.mem=64"
t0=$(date +%s%N)
jail boot1 --new-pid-ns --cgroup pids.max=64 --resource-limit no-file=256 -- \
	--kernel /guest.elf --no-api --mem 64 --cmdline "$cmdline" "${vmm_extra[@]}" </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$? ms=$((($(date +%s%N) - t0) / 1000000))
tr -d '\r' <"$tmp/out" >"$tmp/out.lf"
done_line=$(grep -E '^DONE [0-9]+/[0-9]+$' "$tmp/out.lf")
if [ $rc != 0 ]; then
	fail boot "exit $rc, want 0"
elif grep -q '^FAIL ' "$tmp/out.lf" || [ -z "$done_line" ] || [ "${done_line#DONE }" != "${done_line#*/}/${done_line#*/}" ]; then
	fail boot "guest said: $(grep -E '^(FAIL|DONE)' "$tmp/out.lf" | head -3 | tr '\n' ' ')"
elif ! grep -qx "cmdline: $cmdline" "$tmp/out.lf"; then
	fail boot "the command line did not reach the guest"
elif [ -e /sys/fs/cgroup/ember/boot1 ]; then
	fail boot "the cgroup /sys/fs/cgroup/ember/boot1 is left behind"
else
	pass "boot (pvh guest, $done_line, exit 0, $ms ms jailer to exit, cgroup removed)"
fi

if true; then
	stage_guest ll1 "$pvh"
	jail ll1 --new-pid-ns -- --kernel /guest.elf --no-api --mem 64 --cmdline "$cmdline" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc = 0 ] && tr -d '\r' <"$tmp/out" | grep -qE '^DONE ([0-9]+)/\1$'; then
		pass "landlock-in-jail (ember with its Landlock rules boots in a jail without /proc)"
	else
		fail landlock-in-jail "exit $rc: ember's Landlock rules need a path the jail has not (no /proc in a jail)"
	fi
fi

# A guest that spins, looked at from outside.
stage_guest spin1 "$spin"
"${JAIL[@]}" --id spin1 --new-pid-ns --cgroup pids.max=64 --cgroup "cpu.max=50000 100000" --cgroup memory.max=256M \
	--resource-limit no-file=256 --resource-limit fsize=1048576 -- --kernel /guest.elf --no-api --mem 32 \
	"${vmm_extra[@]}" </dev/null >"$tmp/spin.out" 2>"$tmp/spin.err" &
sup=$!
pids+=("$sup")
if ! wait_for SPIN "$tmp/spin.out" || ! pid=$(vmm_pid spin1); then
	cp "$tmp/spin.err" "$tmp/err"
	fail confined "the spinning guest never started"
else
	root=$(root_of spin1)
	why=""
	status_is "$pid" Uid "1234 1234 1234 1234" || why="$why uid($(grep Uid: /proc/$pid/status))"
	status_is "$pid" Gid "1234 1234 1234 1234" || why="$why gid"
	status_is "$pid" Groups "" || why="$why groups($(grep Groups: /proc/$pid/status))"
	for c in CapInh CapPrm CapEff CapBnd CapAmb; do
		status_is "$pid" $c 0000000000000000 || why="$why $c($(grep $c: /proc/$pid/status))"
	done
	status_is "$pid" NoNewPrivs 1 || why="$why no-new-privs"
	[ "$(awk '$1 == "NSpid:" { print $NF }' /proc/$pid/status)" = 1 ] || why="$why not-pid-1($(grep NSpid: /proc/$pid/status))"
	[ "$(stat -L -c %d:%i /proc/$pid/root)" = "$(stat -c %d:%i "$root")" ] || why="$why root-is-not-the-chroot"
	[ -e "/proc/$pid/root/ember" ] && [ -e "/proc/$pid/root/guest.elf" ] && [ ! -e "/proc/$pid/root/etc" ] ||
		why="$why jail-contents($(ls /proc/$pid/root | tr '\n' ' '))"
	[ "$(ls "$root/dev" | tr '\n' ' ')" = "kvm net urandom " ] && [ "$(ls "$root/dev/net")" = tun ] ||
		why="$why dev($(ls -R "$root/dev" | tr '\n' ' '))"
	[ "$(stat -c %u:%g:%a "$root")" = 1234:1234:755 ] || why="$why root-owner($(stat -c %u:%g:%a "$root"))"
	[ "$(stat -c %t:%T:%u:%a "$root/dev/kvm")" = a:e8:1234:660 ] || why="$why kvm-node"
	[ "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] || why="$why same-mount-ns"
	grep -qx "0::/ember/spin1" /proc/$pid/cgroup || why="$why cgroup($(cat /proc/$pid/cgroup))"
	grep -qx "$pid" /sys/fs/cgroup/ember/spin1/cgroup.procs || why="$why not-in-cgroup.procs"
	[ "$(cat /sys/fs/cgroup/ember/spin1/pids.max 2>/dev/null)" = 64 ] || why="$why pids.max"
	[ "$(cat /sys/fs/cgroup/ember/spin1/cpu.max 2>/dev/null)" = "50000 100000" ] || why="$why cpu.max"
	[ "$(cat /sys/fs/cgroup/ember/spin1/memory.max 2>/dev/null)" = 268435456 ] || why="$why memory.max"
	grep -qE '^Max open files +256 +256 ' /proc/$pid/limits || why="$why no-file"
	grep -qE '^Max file size +1048576 +1048576 ' /proc/$pid/limits || why="$why fsize"
	ls -l /proc/$pid/fd 2>/dev/null | grep -q 'jail.lock' && why="$why lock-fd-leaked"
	ls -l /proc/$sup/fd 2>/dev/null | grep -q 'jail.lock' || why="$why supervisor-has-no-lock"
	[ -z "$(tr '\0' '\n' </proc/$pid/environ)" ] || why="$why environment($(tr '\0' ' ' </proc/$pid/environ))"
	[ "$(tr '\0' ' ' </proc/$pid/cmdline)" = "ember --id spin1 --kernel /guest.elf --no-api --mem 32 ${vmm_extra[*]}${vmm_extra[*]:+ }" ] ||
		why="$why argv($(tr '\0' ' ' </proc/$pid/cmdline))"
	if [ -z "$why" ]; then
		pass "confined (uid/gid 1234, no caps, NoNewPrivs, PID 1, chroot root, cgroup ember/spin1 with pids/cpu/memory limits, rlimits, empty env, no lock fd)"
	else
		fail confined "$why"
	fi
fi
stop "$sup"
rc=$?
cp "$tmp/spin.err" "$tmp/err"
if [ $rc != 0 ]; then
	fail spin-stop "jailer exit $rc after SIGTERM, want 0"
elif kill -0 "${pid:-999999}" 2>/dev/null; then
	fail spin-stop "the jailed ember outlived its jailer"
elif [ -e /sys/fs/cgroup/ember/spin1 ]; then
	fail spin-stop "cgroup left behind"
else
	pass "spin-stop (SIGTERM forwarded to PID 1 of the namespace, exit 0, cgroup removed)"
fi

# --daemonize: the jailer returns once ember runs; its supervisor remains.
stage_guest daemon1 "$spin"
t0=$(date +%s%N)
jail daemon1 --daemonize -- --kernel /guest.elf --no-api --mem 32 "${vmm_extra[@]}" </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$? ms=$((($(date +%s%N) - t0) / 1000000))
if [ $rc != 0 ] || ! pid=$(vmm_pid daemon1); then
	fail daemonize "exit $rc, or no pid file"
else
	sup=$(awk '{ print $4 }' /proc/$pid/stat)
	pids+=("$pid")
	if ! status_is "$pid" Uid "1234 1234 1234 1234" || [ "$(awk '{ print $6 }' /proc/$sup/stat)" != "$sup" ] ||
		[ "$(readlink /proc/$pid/fd/1)" != /dev/null ]; then
		fail daemonize "not detached or not jailed (supervisor $sup)"
	else
		kill -TERM "$sup"
		for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$pid" 2>/dev/null; then
			fail daemonize "SIGTERM to the supervisor did not end ember"
		else
			pass "daemonize (returned in $ms ms with ember running; own session; stdio /dev/null; SIGTERM ends it)"
		fi
	fi
fi
refused daemonize-error 64 "--id" --id 'x y' --exec-file "$ember" --uid 1234 --gid 1234 --daemonize

# --netns: the VMM is in the named network namespace.
netns=jailer$$
if command -v ip >/dev/null && ip netns add "$netns" 2>/dev/null; then
	stage_guest net1 "$spin"
	"${JAIL[@]}" --id net1 --netns "/var/run/netns/$netns" -- --kernel /guest.elf --no-api --mem 32 \
		"${vmm_extra[@]}" </dev/null >"$tmp/net.out" 2>"$tmp/net.err" &
	sup=$!
	pids+=("$sup")
	if wait_for SPIN "$tmp/net.out" && pid=$(vmm_pid net1) &&
		[ "$(stat -L -c %i /proc/$pid/ns/net)" = "$(stat -L -c %i "/var/run/netns/$netns")" ]; then
		pass "netns (ember runs in /var/run/netns/$netns)"
	else
		cp "$tmp/net.err" "$tmp/err"
		fail netns "ember is not in the namespace"
	fi
	stop "$sup" >/dev/null
	refused netns-missing 71 "--netns /var/run/netns/none-$$: No such file or directory" \
		--id net2 --exec-file "$ember" --uid 1234 --gid 1234 --chroot-base-dir "$base" --netns "/var/run/netns/none-$$"
else
	echo "  (netns check skipped: no 'ip netns' here)"
	netns=""
fi

# ---- 3. no host file in the jail ----
if [ ! -x "$hooks" ]; then
	fail test-open "$hooks is missing (make testhooks)"
else
	extra=()
	stage_guest open1 "$pvh"
	for target in /etc/passwd /guest.elf; do
		timeout -k 5 60 "$jailer" --id open1 --exec-file "$hooks" --uid 1234 --gid 1234 --chroot-base-dir "$base" \
			--new-pid-ns -- --kernel /guest.elf --no-api --mem 64 "${extra[@]}" --test-open "$target" \
			</dev/null >"$tmp/out" 2>"$tmp/err"
		rc=$?
		if grep -q -- "--test-open" "$tmp/err" && ! grep -q "test-open $target:" "$tmp/err"; then
			echo "test_jailer: test-open check skipped: build/testhooks/ember has no --test-open yet"
			break
		fi
		case $target in
		/etc/passwd) want="ember: test-open /etc/passwd: No such file or directory" ;;
		*) want="ember: test-open $target: opened" ;;
		esac
		if grep -qx "$want" "$tmp/err"; then
			pass "test-open $target in the jail (exit $rc: $want)"
		else
			fail "test-open $target" "exit $rc; want '$want' on stderr"
		fi
	done
fi

echo "jailer: $passed passed, $failed failed"
[ $failed = 0 ]
