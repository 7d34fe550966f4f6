#!/usr/bin/env bash
# What a user gets in a real terminal: `make run` and `make shell` started
# on a pseudo-terminal with job control (script(1)), as an interactive shell
# starts them, with keys typed at their prompts. Runs on the host, never
# inside the runner: each case starts its own runner when the host has no
# hardware KVM, which is the path a user takes.
#   - make run: a command typed at the guest prompt runs, `exit` returns 0;
#   - make run: Ctrl-A x ends a guest busy in a loop, make returns 0;
#   - make shell: a root shell with real KVM, where the README's API and
#     snapshot journeys, typed line by line from README.md, boot, snapshot
#     and restore a guest, and `exit` returns 0.
# Usage: test_terminal.sh [BUILD]
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
tmp=$(mktemp -d /tmp/ember-terminal.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=checks.sh
source tests/integration/checks.sh
# shellcheck source=pty.sh
source tests/integration/pty.sh
PROMPT_SECS=${EMBER_TERMINAL_PROMPT_SECS:-300}

# fail with what the terminal last showed.
fail_screen() {
	pty_screen 12 >"$tmp/err"
	fail "$1" "$2"
}

# start_make_run NAME: make run on a fresh pty, up to the guest prompt.
start_make_run() {
	pty_start "make --no-print-directory BUILD=$build run"
	pty_expect 'ember:/# ' "$PROMPT_SECS" && return 0
	pty_wait 1
	fail_screen "$1" "no guest prompt within ${PROMPT_SECS} s"
	return 1
}

make_run_exit() {
	local name=make-run-exit rc
	start_make_run $name || return
	if ! grep -aq 'Ctrl-A x' "$tmp/pty.out"; then
		pty_wait 1; fail_screen $name "make run did not name its escape (Ctrl-A x)"; return
	fi
	# shellcheck disable=SC2016 # the guest shell expands it
	pty_type 'echo typed-$((6 * 7)); tty\r'
	if ! pty_expect 'typed-42' 60; then
		pty_wait 1; fail_screen $name "the typed command did not run"; return
	fi
	if ! pty_expect '/dev/ttyS0' 30; then
		pty_wait 1; fail_screen $name "the guest shell is not on ttyS0"; return
	fi
	# A newcomer's first step: a mount point.
	# shellcheck disable=SC2016 # the guest shell expands it
	pty_type '[ -d /mnt ] && echo mnt-$((1 + 1))\r'
	if ! pty_expect 'mnt-2' 30; then pty_wait 1; fail_screen $name "no /mnt in the guest"; return; fi
	pty_type 'exit\r'
	pty_wait 120
	rc=$?
	if [ $rc != 0 ]; then fail_screen $name "exit gave status $rc, not 0"; return; fi
	if ! grep -aq 'shell-exited' "$tmp/pty.out"; then fail_screen $name "no shell-exited marker"; return; fi
	pass "$name (a command typed at the guest prompt ran; exit returned 0)"
}

make_run_escape() {
	local name=make-run-escape rc
	start_make_run $name || return
	# A guest that takes no more commands: the shell spins.
	pty_type 'echo spinning; while :; do :; done\r'
	pty_expect '^spinning' 30 || pty_expect 'spinning.*spinning' 30
	sleep 1
	pty_type '\001x'
	pty_wait 60
	rc=$?
	if [ $rc != 0 ]; then fail_screen $name "Ctrl-A x gave status $rc, not 0"; return; fi
	if ! grep -aq 'ember: Ctrl-A x: stopping the VM' "$tmp/pty.out"; then
		fail_screen $name "ember did not say it stopped for Ctrl-A x"; return
	fi
	if grep -aq 'shell-exited' "$tmp/pty.out"; then fail_screen $name "the shell exited by itself"; return; fi
	pass "$name (Ctrl-A x ended a spinning guest; make returned 0)"
}

# Types the README's block after MARKER into the shell, a line at a time.
type_readme_block() {
	local line n=0
	while IFS= read -r line; do
		pty_type_line "$line"
		n=$((n + 1))
		sleep 0.3
	done < <(readme_block "$1")
	[ $n -gt 0 ]
}

make_shell_api() {
	local name=make-shell-api rc
	pty_start "make --no-print-directory BUILD=$build shell"
	if ! pty_expect 'ember-shell:.*# ' "$PROMPT_SECS"; then
		pty_wait 1; fail_screen $name "no shell prompt within ${PROMPT_SECS} s"; return
	fi
	# The README's API journey, as a newcomer would type it.
	if ! type_readme_block 'Start ember, configure it, then `InstanceStart`'; then
		pty_wait 1; fail_screen $name "no API journey block in README.md"; return
	fi
	# shellcheck disable=SC2016 # the runner's shell expands them
	pty_type_line 'for i in $(seq 120); do grep -q "EMBER-ROOTFS shell" console.log && break; sleep 1; done; grep -q "EMBER-ROOTFS shell" console.log && echo booted-$((1 + 1))'
	if ! pty_expect 'booted-2' 180; then
		pty_wait 1; fail_screen $name "the API-configured guest did not reach the rootfs shell"; return
	fi
	if ! type_readme_block 'Continuing the API journey above'; then
		pty_wait 1; fail_screen $name "no snapshot block in README.md"; return
	fi
	if ! pty_expect '"state": ?"Running"' 120; then
		pty_wait 1; fail_screen $name "the restored VM's API did not say Running"; return
	fi
	# shellcheck disable=SC2016
	pty_type_line '[ -s vm.snap ] && [ -s vm.mem ] && echo snap-files-$((2 + 2))'
	if ! pty_expect 'snap-files-4' 30; then pty_wait 1; fail_screen $name "no snapshot files"; return; fi
	pty_type_line 'kill %1; wait; exit'
	pty_wait 60
	rc=$?
	if [ $rc != 0 ]; then fail_screen $name "exit gave status $rc, not 0"; return; fi
	pass "$name (the README's API and snapshot journeys typed into make shell: boot from rootfs.ext4, pause, snapshot, restore in a new ember; exit returned 0)"
}

if ! command -v script >/dev/null; then
	echo "terminal: script(1) missing (bsdutils); cannot make a pseudo-terminal"
	echo "terminal: 0 passed, 1 failed"
	exit 1
fi
make_run_exit
make_run_escape
make_shell_api
echo "terminal: $passed passed, $failed failed"
[ "$failed" = 0 ]
