# shellcheck shell=bash
# Results of a test script: "PASS: ..." / "FAIL: ..." lines, and mg_finish's
# "N passed, N failed" with the exit code. Sourced by lib.sh, and alone by
# tests that need no namespaces (lib.sh insists on root and on the network
# tools). A script that sources only this may define mg_dump_logs to print
# what a failure should show; by default a failure shows nothing more.

MG_PASSED=0
MG_FAILED=0

mg_dump_logs() {
	:
}

mg_now() {
	date +%s.%N
}

MG_T0=$(mg_now)

# Seconds since the test started, one decimal.
mg_elapsed() {
	awk -v a="$MG_T0" -v b="$(mg_now)" 'BEGIN { printf "%.1f", b - a }'
}

mg_say() {
	printf '[%6ss] %s\n' "$(mg_elapsed)" "$*"
}

mg_pass() {
	MG_PASSED=$((MG_PASSED + 1))
	printf 'PASS: %s\n' "$*"
}

# A failed check: recorded, reported with the logs, and the test goes on.
mg_fail() {
	MG_FAILED=$((MG_FAILED + 1))
	printf 'FAIL: %s\n' "$*"
	mg_dump_logs
}

# A failure after which the test cannot go on.
mg_die() {
	mg_fail "$*"
	exit 1
}

# mg_check DESCRIPTION CMD...: PASS or FAIL on CMD's exit status.
mg_check() {
	local desc=$1
	shift
	if "$@"; then
		mg_pass "$desc"
	else
		mg_fail "$desc"
	fi
}

mg_finish() {
	mg_say "done"
	printf '%d passed, %d failed\n' "$MG_PASSED" "$MG_FAILED"
	[ "$MG_FAILED" -eq 0 ] && [ "$MG_PASSED" -gt 0 ]
	exit $?
}

