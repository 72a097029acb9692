#!/usr/bin/env bash
# meshguard genkey, genpsk and pubkey against wg(8): the same public key for
# the same private key, byte for byte, and the same accept/reject decisions.
# Needs no root and no namespaces.
set -euo pipefail

: "${MESHGUARD:?set MESHGUARD to the meshguard binary}"
WG=${WG:-/usr/bin/wg}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
umask 077

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Clamped as X25519 wants: low 3 bits of byte 0 clear, byte 31 is 01xxxxxx.
check_clamped() {
	local bytes
	read -r -a bytes < <(printf '%s' "$1" | base64 -d | od -An -tu1 -v -w32)
	((${#bytes[@]} == 32)) || fail "genkey gave ${#bytes[@]} bytes"
	((bytes[0] % 8 == 0)) || fail "genkey key $1 is not clamped (byte 0)"
	((bytes[31] / 64 == 1)) || fail "genkey key $1 is not clamped (byte 31)"
}

for _ in $(seq 20); do
	"$MESHGUARD" genkey >"$tmp/key"
	key=$(cat "$tmp/key")
	[[ $key =~ ^[A-Za-z0-9+/]{43}=$ ]] || fail "genkey printed '$key'"
	check_clamped "$key"
	ours=$("$MESHGUARD" pubkey <"$tmp/key" | od -An -tx1)
	theirs=$("$WG" pubkey <"$tmp/key" | od -An -tx1)
	[[ $ours == "$theirs" ]] || fail "pubkey of $key: meshguard '$ours', wg '$theirs'"
	# Without the trailing newline, and via a pipe as in the docs.
	ours=$(printf '%s' "$key" | "$MESHGUARD" pubkey)
	[[ $ours == "$(printf '%s' "$key" | "$WG" pubkey)" ]] ||
		fail "pubkey without newline differs for $key"
done

# Keys from wg, and unclamped keys (genpsk output), must agree too.
for _ in $(seq 5); do
	for key in "$("$WG" genkey)" "$("$MESHGUARD" genpsk)"; do
		[[ $(echo "$key" | "$MESHGUARD" pubkey) == "$(echo "$key" | "$WG" pubkey)" ]] ||
			fail "pubkey of $key differs from wg"
	done
done

psk=$("$MESHGUARD" genpsk)
[[ ${#psk} -eq 44 && $psk =~ ^[A-Za-z0-9+/]{43}=$ ]] || fail "genpsk printed '$psk'"
[[ $("$MESHGUARD" genpsk) != "$psk" ]] || fail "genpsk repeated itself"
printf '%s' "$psk" | base64 -d >/dev/null || fail "genpsk is not base64"

# Each bad input: both tools reject it, and meshguard says why.
good=$("$WG" genkey)
bad_inputs=(
	""
	"short"
	"$good$good"
	"$good x"
	" $good"
	"${good:0:42}9="
	"${good:0:43}"
	"${good:0:43}A"
	"${good:0:20}*${good:21}"
)
for input in "${bad_inputs[@]}"; do
	if printf '%s' "$input" | "$WG" pubkey >/dev/null 2>&1; then
		wg_rc=0
	else
		wg_rc=$?
	fi
	if printf '%s' "$input" | "$MESHGUARD" pubkey >"$tmp/out" 2>"$tmp/err"; then
		rc=0
	else
		rc=$?
	fi
	((rc == wg_rc)) || fail "pubkey of '$input': exit $rc, wg exits $wg_rc"
	((rc != 0)) || fail "pubkey accepted '$input'"
	[[ ! -s $tmp/out ]] || fail "pubkey printed a key for '$input'"
	grep -q 'private key' "$tmp/err" || fail "pubkey gave no reason for '$input'"
done
# Trailing whitespace of any kind is fine, as in wg.
[[ $(printf '%s \t\r\n\n' "$good" | "$MESHGUARD" pubkey) == "$(echo "$good" | "$WG" pubkey)" ]] ||
	fail "pubkey rejected trailing whitespace"

# Arguments and unknown commands.
if "$MESHGUARD" genkey extra >/dev/null 2>"$tmp/err"; then fail "genkey took an argument"; fi
grep -q 'Usage: meshguard genkey' "$tmp/err" || fail "genkey gave no usage"
set +e
"$MESHGUARD" badcmd >/dev/null 2>"$tmp/err"
rc=$?
set -e
((rc == 1)) || fail "meshguard badcmd exited $rc, expected 1 (usage)"
grep -q 'unknown command "badcmd"' "$tmp/err" || fail "badcmd not named"
grep -q '^Usage: meshguard' "$tmp/err" || fail "badcmd gave no usage"
"$MESHGUARD" --help | grep -q 'genkey' || fail "--help does not list genkey"
"$MESHGUARD" help >/dev/null || fail "help failed"
"$MESHGUARD" --version | grep -q '^meshguard v' || fail "--version"
set +e
"$MESHGUARD" >/dev/null 2>&1
rc=$?
set -e
((rc == 1)) || fail "meshguard without a command exited $rc, expected 1 (usage)"

# Every command answers --help on stdout with status 0.
for c in genkey genpsk pubkey up netcheck wireguard-go init invite join status members revoke \
	leave export-wg; do
	"$MESHGUARD" "$c" --help >"$tmp/out" 2>/dev/null </dev/null || fail "$c --help did not exit 0"
	grep -q 'Usage: meshguard' "$tmp/out" || grep -q 'Usage:' "$tmp/out" || fail "$c --help printed no usage"
done

# Like wg, genkey warns when its output file is readable by others.
(umask 022 && "$MESHGUARD" genkey >"$tmp/open.key" 2>"$tmp/err")
grep -q 'world accessible' "$tmp/err" || fail "no warning for a world-readable key file"
"$MESHGUARD" genkey >"$tmp/closed.key" 2>"$tmp/err"
[[ ! -s $tmp/err ]] || fail "warning for a private key file"

echo "test_cli_keys: ok"
