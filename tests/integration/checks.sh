# Sourced by the integration tests: PASS/FAIL lines and their counts, and
# waiting on files and processes. The test sets $tmp; fail shows the tail
# of $tmp/err, where the tests keep the VMM's stderr.
passed=0 failed=0

pass() { echo "  PASS $1"; passed=$((passed + 1)); }
fail() {
	echo "  FAIL $1: $2"
	[ -s "$tmp/err" ] && sed 's/^/    | /' "$tmp/err" | tail -8
	failed=$((failed + 1))
}

. "$(dirname "${BASH_SOURCE[0]}")/kmsg.sh"

# wait_for PATTERN FILE [TENTHS]: polls until FILE has PATTERN.
wait_for() {
	local i
	for ((i = 0; i < ${3:-100}; i++)); do
		grep -q "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# stop PID: SIGTERM, then its exit status (SIGKILL after 5 s: status 137).
stop() {
	local i
	kill -TERM "$1" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	wait "$1"
}
