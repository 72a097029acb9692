#!/usr/bin/env bash
# Bad input on the UAPI socket, compared with wireguard-go.
#
# meshguard-wg -f runs in namespace m and wireguard-go -f in namespace g, both
# configured by `wg setconf` with the same baseline (keys, port, two peers
# with endpoints and allowed-ips). Raw requests go to each socket with
# mg_uapi_send (tests/tools): unknown device and peer keys, bad hex (short,
# long, non-hex), bad CIDRs, bad endpoints, ports, fwmarks, keepalives and
# booleans, a device key after a peer, a line without '=', sets that fail
# half-way after valid lines (with replace_peers, a private key change, a new
# peer, a removal), an overlong line, a trailing byte after get=1, an
# unknown operation, and clients that hang up mid-request or mid-line.
# Clients that send a complete set (or get) and hang up without reading the
# reply: the set must apply as on wireguard-go and the daemon must survive
# (if meshguard dies, the case FAILs with its exit status and a fresh
# meshguard takes the remaining cases).
#
# For every request meshguard's reply (the errno= value, and whether the
# connection stays open) must equal wireguard-go's, meshguard must still
# run, and its `wg show dump` must be exactly what it was before: meshguard's
# sets are atomic. wireguard-go is not (it applies lines until the bad one),
# so for it only the reply is compared, and it is reset to the baseline after
# every request. A half-close after an unterminated request (wireguard-go
# applies it and answers errno=0) is reported as INFO only.

. "$(dirname "$0")/lib.sh"
mg_strict
mg_need_tool mg_uapi_send

PORT=51820
declare -A IMPL=([m]=meshguard [g]=wggo) NAME=([m]=meshguard [g]=wireguard-go) IFX PID LOG
IFX[m]="${MG_ID}m" IFX[g]="${MG_ID}g"
SEND=$MG_BUILD/mg_uapi_send

K=$MG_TMP/keys
mkdir -p "$K"
for k in self other a b new; do mg_keypair "$K/$k"; done
mg_psk "$K/psk"
pub() { cat "$K/$1.pub"; }
key() { cat "$K/$1.key"; }
hex() { base64 -d <<<"$1" | od -An -tx1 -v | tr -d ' \n'; }
H_SELF=$(hex "$(key self)")
H_OTHER=$(hex "$(key other)")
H_A=$(hex "$(pub a)")
H_B=$(hex "$(pub b)")
H_NEW=$(hex "$(pub new)")
H_PSK=$(hex "$(cat "$K/psk")")

(umask 077 && cat >"$K/baseline.conf") <<EOF
[Interface]
PrivateKey = $(key self)
ListenPort = $PORT
FwMark = 0

[Peer]
PublicKey = $(pub a)
PresharedKey = $(cat "$K/psk")
AllowedIPs = 10.1.0.0/16, fd00:a::/48
Endpoint = 203.0.113.10:51010

[Peer]
PublicKey = $(pub b)
AllowedIPs = 10.2.0.0/16
Endpoint = [2001:db8:ff::b]:51011
EOF

baseline() {
	mg_in "$1" wg setconf "${IFX[$1]}" "$K/baseline.conf"
}

dump() {
	mg_in "$1" wg show "${IFX[$1]}" dump
}

# state SIDE: the dump without the port when random, peers and their
# allowed-ips sorted (wireguard-go's order is random).
state() {
	dump "$1" | awk -F'\t' -v OFS='\t' '
		NR == 1 { print; next }
		{ n = split($4, a, ","); s = ""
		  for (i = 1; i <= n; i++) { for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }; s = s (i > 1 ? "," : "") a[i] }
		  $4 = s; print }' | sort
}

start() {
	STARTS=$((STARTS + 1))
	LOG[$1]=$MG_TMP/${IFX[$1]}.$STARTS.log
	mg_wgd_start "$1" "${IFX[$1]}" "${IMPL[$1]}" "${LOG[$1]}"
	PID[$1]=$MG_BG_PID
	ip -n "$(mg_ns_name "$1")" link set "${IFX[$1]}" up
	baseline "$1" || mg_die "wg setconf of the baseline on ${NAME[$1]}"
}

# died NAME: after meshguard died, a FAIL with its exit status and log, and a
# fresh meshguard with the baseline so that the other cases still run.
died() {
	local rc=0
	wait "${PID[m]}" 2>/dev/null || rc=$?
	mg_fail "$1: meshguard died, exit status $rc$([ "$rc" = 141 ] && echo ' (SIGPIPE)'); wireguard-go still runs: $(mg_alive "${PID[g]}" && echo yes || echo no)"
	tail -n 5 "${LOG[m]}" | sed 's/^/    log: /' || true
	rm -f "$MG_WG_RUN/${IFX[m]}.sock" # left by the dead daemon
	mg_wait_for 5 mg_if_gone m "${IFX[m]}" || true
	start m
}

STARTS=0
for s in m g; do
	mg_ns_new "$s"
	start "$s"
done
BASE_M=$(dump m)
[ "$(printf '%s\n' "$BASE_M" | wc -l)" = 3 ] || mg_die "baseline not applied on meshguard: $BASE_M"
mg_say "meshguard ${IFX[m]} (pid ${PID[m]}), wireguard-go ${IFX[g]} (pid ${PID[g]})"

REQ=$MG_TMP/req

# send SIDE MODE: the request in $REQ to SIDE's socket; prints the reply.
send() {
	mg_in "$1" "$SEND" -m "$2" "$MG_WG_RUN/${IFX[$1]}.sock" <"$REQ"
}

# summary FILE: the errno lines and the final connection state, one line.
summary() {
	grep -a -E '^(errno=-?[0-9]+|\[(open|closed|hangup|timeout)\])$' "$1" | paste -sd' ' || true
}

# case NAME MODE [applied]: sends $REQ to both; compares. With "applied" the
# request is a valid one both must apply alike (no reply to compare).
CASE_N=0
case_() {
	local name=$1 mode=$2 applied=${3:-} before after rm rg bad="" f
	CASE_N=$((CASE_N + 1))
	f=$MG_TMP/case$CASE_N
	before=$(dump m)
	send m "$mode" >"$f.m" 2>&1 &
	send g "$mode" >"$f.g" 2>&1 || true
	wait $! || true
	rm=$(summary "$f.m")
	rg=$(summary "$f.g")
	# Give a hung-up connection's server side time to act on it.
	[ "$mode" = hangup ] && sleep 0.2
	if ! mg_alive "${PID[m]}"; then
		died "$name (request: $(head -c 200 "$REQ" | cat -A | paste -sd' '), reply '$rm', wireguard-go's '$rg')"
		baseline g || mg_die "$name: cannot reset wireguard-go"
		return 0
	fi
	mg_alive "${PID[g]}" || mg_die "$name: wireguard-go died"
	after=$(dump m 2>&1) || true
	[ "$rm" = "$rg" ] || bad+=" reply: meshguard '$rm', wireguard-go '$rg';"
	if [ -z "$bad" ] && { [ "${rg%% *}" = errno=0 ] || [ -n "$applied" ]; }; then
		# Not bad after all: wireguard-go takes it too. Both must end the same.
		if [ "$(state m)" = "$(state g)" ]; then
			mg_pass "$name: accepted by both ('$rm'), same resulting state"
		else
			mg_fail "$name: accepted by both ('$rm'), but the resulting states differ:"
			diff <(state m) <(state g) | sed 's/^/    (< meshguard, > wireguard-go) /' || true
		fi
		baseline m || mg_die "$name: cannot reset meshguard"
		baseline g || mg_die "$name: cannot reset wireguard-go"
		return 0
	fi
	[ "$after" = "$before" ] || bad+=" meshguard's wg show dump changed;"
	if [ -z "$bad" ]; then
		mg_pass "$name: reply '$rm' as wireguard-go's, meshguard unchanged"
	else
		mg_fail "$name:$bad"
		echo "    request (first 300 bytes): $(head -c 300 "$REQ" | cat -A | paste -sd' ')"
		if [ "$after" != "$before" ]; then
			diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed 's/^/    dump (< before, > after): /' || true
			baseline m || true
		fi
	fi
	baseline g || mg_die "$name: cannot reset wireguard-go"
}

# req FORMAT [ARGS...]: printf into $REQ.
req() {
	# shellcheck disable=SC2059
	printf "$@" >"$REQ"
}

mg_say "bad requests"

req 'set=1\n\n'
case_ "control: empty set" reply
req 'get=1\n\n'
send m reply >"$MG_TMP/get.m"
mg_check "control: get answers with the baseline and errno=0" eval \
	'grep -qx "private_key=$H_SELF" "$MG_TMP/get.m" && grep -qx "errno=0" "$MG_TMP/get.m"'

req 'set=1\nfoo=bar\n\n'
case_ "unknown device key" reply
req 'set=1\npublic_key=%s\nfoo=bar\n\n' "$H_A"
case_ "unknown peer key" reply
req 'set=1\npublic_key=%s\nfoo=bar\n\n' "$H_NEW"
case_ "unknown peer key on a new peer" reply
req 'set=1\n=1\n\n'
case_ "empty key" reply
req 'set=1\nlisten_port = 1\n\n'
case_ "spaces around '='" reply
req 'set=1\nprivate_key\n\n'
case_ "line without '='" reply
req 'set=1\npublic_key=%s\nlisten_port=51821\n\n' "$H_A"
case_ "device key (listen_port) after a peer" reply
req 'set=1\npublic_key=%s\nprivate_key=%s\n\n' "$H_A" "$H_OTHER"
case_ "device key (private_key) after a peer" reply
req 'set=1\npublic_key=%s\nfwmark=1\n\n' "$H_B"
case_ "device key (fwmark) after a peer" reply
req 'set=1\npublic_key=%s\nreplace_peers=true\n\n' "$H_B"
case_ "device key (replace_peers) after a peer" reply

req 'set=1\nprivate_key=%s\n\n' "${H_OTHER:0:62}zz"
case_ "bad hex: non-hex private_key" reply
req 'set=1\nprivate_key=%s\n\n' "${H_OTHER:0:62}"
case_ "bad hex: short private_key" reply
req 'set=1\nprivate_key=%s00\n\n' "$H_OTHER"
case_ "bad hex: long private_key" reply
req 'set=1\nprivate_key=\n\n'
case_ "bad hex: empty private_key" reply
req 'set=1\npublic_key=%s\n\n' "${H_NEW:0:63}"
case_ "bad hex: odd-length public_key" reply
req 'set=1\npublic_key=%sg\n\n' "${H_NEW:0:63}"
case_ "bad hex: public_key ending in g" reply
req 'set=1\npublic_key=\n\n'
case_ "bad hex: empty public_key" reply
req 'set=1\npublic_key=%s\npreshared_key=%s\n\n' "$H_A" "${H_PSK:0:60}"
case_ "bad hex: short preshared_key" reply
req 'set=1\npublic_key=%s\npreshared_key= %s\n\n' "$H_A" "${H_PSK:0:63}"
case_ "bad hex: preshared_key with a space" reply

for cidr in 10.0.0.0/33 fd00::/129 10.0.0.0 10.0.0.256/24 10.0.0.0/-1 "" / 10.0.0.0/ /8 \
	"10.0.0.0/8 " 10.0.0.0/8/8 1.2.3/8 fd00:::/64 10.0.0.0/0x8 010.0.0.0/8 10.0.0.0/08 \
	10.0.0.0/+8; do
	req 'set=1\npublic_key=%s\nallowed_ip=%s\n\n' "$H_A" "$cidr"
	case_ "bad CIDR '$cidr'" reply
done

for ep in 1.2.3.4 1.2.3.4: 1.2.3.4:65536 1.2.3.4:-1 example.com:51820 2001:db8::1:51820 \
	"[2001:db8::1]" "[2001:db8::1]:" "[2001:db8::1:51820" "" 1.2.3.4:0x10; do
	req 'set=1\npublic_key=%s\nendpoint=%s\n\n' "$H_B" "$ep"
	case_ "bad endpoint '$ep'" reply
done

for v in 65536 -1 abc "" " 1" 0x10 +1; do
	req 'set=1\nlisten_port=%s\n\n' "$v"
	case_ "bad listen_port '$v'" reply
done
for v in 4294967296 -1 0x10 abc ""; do
	req 'set=1\nfwmark=%s\n\n' "$v"
	case_ "bad fwmark '$v'" reply
done
for v in 65536 -1 abc "" 0x1; do
	req 'set=1\npublic_key=%s\npersistent_keepalive_interval=%s\n\n' "$H_A" "$v"
	case_ "bad persistent_keepalive_interval '$v'" reply
done
req 'set=1\nreplace_peers=1\n\n'
case_ "bad boolean replace_peers=1" reply
req 'set=1\nreplace_peers=True\n\n'
case_ "bad boolean replace_peers=True" reply
req 'set=1\npublic_key=%s\nremove=yes\n\n' "$H_A"
case_ "bad boolean remove=yes" reply
req 'set=1\npublic_key=%s\nupdate_only=false\n\n' "$H_NEW"
case_ "bad boolean update_only=false" reply
req 'set=1\npublic_key=%s\nreplace_allowed_ips=TRUE\n\n' "$H_A"
case_ "bad boolean replace_allowed_ips=TRUE" reply
req 'set=1\npublic_key=%s\nprotocol_version=2\n\n' "$H_A"
case_ "protocol_version=2" reply
req 'set=1\nlisten_port=5\0000\n\n'
case_ "a NUL byte inside a value" reply

# Valid lines, then a bad one: nothing of it may stay on meshguard.
req 'set=1\nlisten_port=51830\nfwmark=7\npublic_key=%s\nallowed_ip=10.5.0.0/16\nendpoint=203.0.113.5:5\npublic_key=%s\nremove=true\npublic_key=%s\nallowed_ip=10.0.0.0/33\n\n' \
	"$H_NEW" "$H_B" "$H_A"
case_ "half-way: port, fwmark, new peer, removal, then a bad CIDR" reply
req 'set=1\nreplace_peers=true\npublic_key=%s\nallowed_ip=10.6.0.0/16\npublic_key=%s\nendpoint=nowhere\n\n' \
	"$H_NEW" "$H_A"
case_ "half-way: replace_peers, a new peer, then a bad endpoint" reply
req 'set=1\nprivate_key=%s\nlisten_port=99999\n\n' "$H_OTHER"
case_ "half-way: private_key change, then a bad port" reply
req 'set=1\nprivate_key=%s\npublic_key=%s\nreplace_allowed_ips=true\nallowed_ip=10.9.0.0/16\npersistent_keepalive_interval=25\npublic_key=%s\npreshared_key=%s\nallowed_ip=10.0.0.0/8\nfoo=1\n\n' \
	"$H_SELF" "$H_A" "$H_B" "$H_PSK"
case_ "half-way: replace_allowed_ips, keepalive on, psk, then an unknown key" reply

# An overlong line (wireguard-go's bufio.Scanner takes at most 64 KiB).
{
	printf 'set=1\nprivate_key='
	head -c 70000 /dev/zero | tr '\0' a
	printf '\n\n'
} >"$REQ"
case_ "overlong line (70000 bytes)" reply
{
	printf 'set=1\nlisten_port=51831\npublic_key=%s\nallowed_ip=10.7.0.0/16\nallowed_ip=' "$H_NEW"
	head -c 70000 /dev/zero | tr '\0' 1
	printf '\n'
} >"$REQ"
case_ "overlong line after valid lines, request unfinished" reply

req 'get=1\nx'
case_ "a byte other than '\\n' after get=1" reply
req 'foo=1\n\n'
case_ "unknown operation" reply
req 'set=1\r\nlisten_port=51832\r\n\r\n'
case_ "operation line ending in CRLF" reply
req 'set=2\n\n'
case_ "set=2" reply

# Clients that go away mid-request: nothing may be applied.
req 'set=1\nlisten_port=51833\nfwmark=9\npublic_key=%s\nallowed_ip=10.8.0.0/16\n' "$H_NEW"
case_ "hang-up after complete lines, before the empty line" hangup
req 'set=1\nreplace_peers=true\npublic_key=%s\nallowed_ip=10.8.0.0/16\n' "$H_NEW"
case_ "hang-up after replace_peers and a new peer" hangup
req 'set=1\nprivate_key=%s' "${H_OTHER:0:40}"
case_ "hang-up in the middle of a line" hangup
# A complete request whose client does not wait for the reply (as
# `printf 'set=1\n...\n\n' | socat -u - UNIX-CONNECT:SOCKET` does): applied,
# and the daemon must survive writing the reply to a closed socket.
for i in 1 2 3; do
	req 'set=1\nlisten_port=5184%s\npublic_key=%s\nremove=true\n\n' "$i" "$H_B"
	case_ "complete set, then hang-up without reading the reply (#$i)" hangup applied
done
req 'set=1\nlisten_port=51834\npublic_key=%s\nremove=true\n\nset=1\nlisten_port=51835\n' "$H_B"
case_ "one complete set and half of another, then hang-up: the first applies" hangup applied
req 'get=1\n\n'
case_ "get, then hang-up without reading the reply" hangup

# A half-close after an unterminated set: wireguard-go treats the end of the
# stream as the end of the request and applies it; meshguard does not.
req 'set=1\nlisten_port=51836\n'
before=$(dump m)
send m shutwr >"$MG_TMP/shutwr.m"
send g shutwr >"$MG_TMP/shutwr.g"
mg_check "half-close after an unterminated set: meshguard unchanged" eval '[ "$(dump m)" = "$before" ]'
echo "INFO: half-close after 'set=1\\nlisten_port=51836\\n': meshguard replies '$(summary "$MG_TMP/shutwr.m")', wireguard-go '$(summary "$MG_TMP/shutwr.g")' (port now $(mg_in g wg show "${IFX[g]}" listen-port))"
baseline g

# Still fully working afterwards.
mg_check "meshguard still runs and its dump is the baseline" eval '[ "$(dump m)" = "$BASE_M" ]'
mg_check "meshguard still takes a valid wg set" eval \
	'mg_in m wg set "${IFX[m]}" listen-port 51840 peer "$(pub new)" allowed-ips 10.9.9.0/24 && [ "$(mg_in m wg show "${IFX[m]}" listen-port)" = 51840 ] && mg_in m wg show "${IFX[m]}" allowed-ips | grep -q 10.9.9.0/24'
rc=0
mg_stop_pid "${PID[m]}" 5 || rc=$?
mg_check "meshguard-wg stops on SIGTERM (status $rc) and removes its socket" eval \
	'{ [ '"$rc"' = 0 ] || [ '"$rc"' = 143 ]; } && [ ! -e "$MG_WG_RUN/${IFX[m]}.sock" ]'
if [ "$MG_FAILED" -gt 0 ]; then
	echo "---- last lines of the meshguard log ----"
	tail -n 30 "${LOG[m]}" | sed 's/^/    /' || true
fi
mg_finish
