# Sourced by tests that drive a program through a real pseudo-terminal, as a
# user's interactive shell starts it: script(1) makes the pty, the program
# runs in its session as the terminal's foreground process group, and keys
# are typed into it. The test sets $tmp; what the terminal shows is in
# $tmp/pty.out (with the terminal's \r and escape sequences).
pty_pid= pty_fd=

# pty_start COMMAND: COMMAND (one shell word list) runs on a fresh pty.
pty_start() {
	rm -f "$tmp/pty.in" "$tmp/pty.out"
	mkfifo "$tmp/pty.in"
	script -qefc "$1" /dev/null <"$tmp/pty.in" >"$tmp/pty.out" 2>&1 &
	pty_pid=$!
	# Held open until pty_wait, so script never sees the end of its input.
	exec {pty_fd}>"$tmp/pty.in"
}

# pty_expect PATTERN SECONDS: waits until the screen shows PATTERN (ERE);
# fails early if the program ended.
pty_expect() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		grep -aqE "$1" "$tmp/pty.out" 2>/dev/null && return 0
		kill -0 "$pty_pid" 2>/dev/null || { grep -aqE "$1" "$tmp/pty.out" 2>/dev/null; return; }
		sleep 0.1
	done
	return 1
}

# pty_type TEXT: types TEXT (printf escapes: \r is Enter, \001 is Ctrl-A).
pty_type() {
	# shellcheck disable=SC2059 # the escapes are the point
	printf "$1" >&"$pty_fd"
}

# pty_wait SECONDS: the program's exit status; killed (status 124) when it
# is still running after SECONDS.
pty_wait() {
	local i rc
	for ((i = 0; i < $1 * 10; i++)); do
		kill -0 "$pty_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pty_pid" 2>/dev/null; then
		pkill -TERM -P "$pty_pid" 2>/dev/null
		kill -TERM "$pty_pid" 2>/dev/null
		wait "$pty_pid" 2>/dev/null
		rc=124
	else
		wait "$pty_pid"
		rc=$?
	fi
	exec {pty_fd}>&-
	return $rc
}

# pty_screen: the last lines the terminal showed, \r and colours removed.
pty_screen() {
	tr -d '\r' <"$tmp/pty.out" | sed -E 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | tail -n "${1:-12}"
}

# pty_type_line TEXT: types TEXT as is, then Enter.
pty_type_line() {
	printf '%s\r' "$1" >&"$pty_fd"
}

# readme_block MARKER: the first ```sh block in README.md after the line
# that contains MARKER, so a test types exactly what the README shows.
readme_block() {
	awk -v m="$1" 'index($0, m) { found = 1 } found && /^```sh$/ { inb = 1; next }
		inb && /^```$/ { exit } inb { print }' README.md
}
