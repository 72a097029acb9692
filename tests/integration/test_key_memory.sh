#!/usr/bin/env bash
# Key material is not left about: `meshguard up -c FILE` (in namespace a,
# with a private key and a peer with a preshared key), after it is up,
# after a handshake with a second meshguard (namespace b) and after a
# `wg showconf` (which writes every key back as text), holds
#   - no copy of either key as text (base64 as in the file, hex as UAPI
#     speaks): the file's text, the UAPI request and the get's reply were
#     wiped;
#   - at most one raw copy of each key: the device's own; the parsed file
#     (which used to stay for the daemon's life) was wiped once applied;
# and its log, at LOG_LEVEL=debug, never shows a key in any form. Then a
# mesh member (`meshguard up --state`, namespace m) holds its WireGuard
# private key once, in the device: the agent's copy from the state
# directory is wiped once applied.
# tests/tools/mg_memscan counts the copies in the process's writable
# memory (/proc/PID/mem).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh_lib.sh"
mg_need_tool mg_memscan
mg_require_cmds wg

IFA="${MG_ID}a"
IFB="${MG_ID}b"
PORT=51820

hex_of_text() {
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
}

hex_of_key() {
	printf '%s' "$1" | base64 -d | od -An -tx1 | tr -d ' \n'
}

# The process that holds the keys: the daemon's sandboxed network side (its
# child), or the daemon itself without a sandbox.
network_side() {
	local c
	c=$(awk '{ print $1 }' "/proc/$1/task/$1/children" 2>/dev/null)
	echo "${c:-$1}"
}

# The privileged part keeps no copy of a key (meshguard.h: forget).
privileged_clean() {
	[ "$1" = "$2" ] && return 0
	"$MG_BUILD/mg_memscan" "$1" raw="$3" >"$MG_TMP/scan-priv.out" || return 1
	[ "$(awk '$1 == "raw" { print $2 }' "$MG_TMP/scan-priv.out")" = 0 ]
}

count() {
	awk -v n="$1" '$1 == n { print $2 }' "$MG_TMP/scan.out"
}

scan() {
	local tag=$1
	"$MG_BUILD/mg_memscan" "$PID" \
		priv_b64="$(hex_of_text "$PRIV")" psk_b64="$(hex_of_text "$PSK")" \
		priv_hex="$(hex_of_text "$(hex_of_key "$PRIV")")" \
		psk_hex="$(hex_of_text "$(hex_of_key "$PSK")")" \
		priv_raw="$(hex_of_key "$PRIV")" psk_raw="$(hex_of_key "$PSK")" \
		>"$MG_TMP/scan.out" || { mg_fail "$tag: cannot scan"; return; }
	mg_say "$tag: $(tr '\n' ' ' <"$MG_TMP/scan.out")"
	mg_check "$tag: no private key as text" [ "$(count priv_b64)" = 0 ] && \
		[ "$(count priv_hex)" = 0 ]
	mg_check "$tag: no preshared key as text" [ "$(count psk_b64)" = 0 ] && \
		[ "$(count psk_hex)" = 0 ]
	mg_check "$tag: at most the device's raw copy of the private key" \
		[ "$(count priv_raw)" -le 1 ]
	mg_check "$tag: at most the device's raw copy of the preshared key" \
		[ "$(count psk_raw)" -le 1 ]
}

key_in_log() {
	grep -qF -e "$PRIV" -e "$PSK" -e "$(hex_of_key "$PRIV")" -e "$(hex_of_key "$PSK")" "$1"
}

mg_ns_new a
mg_ns_new b
mg_veth a ua b ub
mg_addr a ua 192.0.2.1/24
mg_addr b ub 192.0.2.2/24
mg_wait_for 10 mg_ping_quiet a 192.0.2.2 || mg_die "underlay a -> b"

PRIV=$("$MESHGUARD" genkey)
PSK=$("$MESHGUARD" genpsk)
PRIV_B=$("$MESHGUARD" genkey)
PUB=$(printf '%s' "$PRIV" | "$MESHGUARD" pubkey)
PUB_B=$(printf '%s' "$PRIV_B" | "$MESHGUARD" pubkey)
(
	umask 077
	printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.9.0.2/32\nEndpoint = 192.0.2.2:%s\n' \
		"$PRIV" "$PORT" "$PUB_B" "$PSK" "$PORT" >"$MG_TMP/a.conf"
	printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.9.0.1/32\n' \
		"$PRIV_B" "$PORT" "$PUB" "$PSK" >"$MG_TMP/b.conf"
)

mg_bg "$MG_TMP/a.log" env LOG_LEVEL=debug ip netns exec "$(mg_ns_name a)" \
	"$MESHGUARD" up $MG_UP_SANDBOX -c "$MG_TMP/a.conf" -i "$IFA" --portmap off
PID=$MG_BG_PID
MG_N_LOG[a]="$MG_TMP/a.log"
MG_N_IMPL[a]=meshguard
MG_N_IF[a]=$IFA
mg_bg "$MG_TMP/b.log" env LOG_LEVEL=debug ip netns exec "$(mg_ns_name b)" \
	"$MESHGUARD" up $MG_UP_SANDBOX -c "$MG_TMP/b.conf" -i "$IFB" --portmap off
MG_N_LOG[b]="$MG_TMP/b.log"
MG_N_IMPL[b]=meshguard
MG_N_IF[b]=$IFB
mg_wait_for 10 grep -q "interface $IFA up" "$MG_TMP/a.log" || mg_die "a did not come up"
mg_wait_for 10 grep -q "interface $IFB up" "$MG_TMP/b.log" || mg_die "b did not come up"
mg_in a ip addr add 10.9.0.1/24 dev "$IFA"
mg_in b ip addr add 10.9.0.2/24 dev "$IFB"
MON=$PID
PID=$(network_side "$MON")
mg_say "a: daemon pid $MON, network side pid $PID"

scan "up"

mg_check "a handshake with b (ping through the tunnel)" \
	mg_wait_for 10 mg_ping_quiet a 10.9.0.2
scan "after a handshake"

mg_in a wg showconf "$IFA" >"$MG_TMP/showconf.out" 2>&1
mg_check "wg showconf shows the private key (the get really held it)" \
	grep -qF "$PRIV" "$MG_TMP/showconf.out"
rm -f "$MG_TMP/showconf.out"
scan "after wg showconf"
mg_check "a's privileged part holds no copy of the private key" \
	privileged_clean "$MON" "$PID" "$(hex_of_key "$PRIV")"

mg_check "a's log (debug) shows no key" eval '! key_in_log "$MG_TMP/a.log"'
mg_check "b's log (debug) shows no key" eval '! key_in_log "$MG_TMP/b.log"'

# A mesh member: its WireGuard key comes from the state directory.
mg_mesh_lan m
mg_check "mesh init" mg_mesh m init --name keys --node m
MKEY=$(tr -d '\n' <"$(mg_mesh_state m)/wireguard.key")
mg_mesh_up m
"$MG_BUILD/mg_memscan" "$(network_side "${MG_M_PID[m]}")" b64="$(hex_of_text "$MKEY")" \
	raw="$(hex_of_key "$MKEY")" >"$MG_TMP/scan.out" || mg_fail "mesh: cannot scan"
mg_say "mesh member: $(tr '\n' ' ' <"$MG_TMP/scan.out")"
mg_check "mesh member: no WireGuard key as text" [ "$(count b64)" = 0 ]
mg_check "mesh member: one raw copy of it (the device's)" [ "$(count raw)" -le 1 ]
mg_check "mesh member: the log shows no key" eval '! grep -qF "$MKEY" "$MG_TMP/up-m.log"'
mg_mesh_down m

mg_finish
