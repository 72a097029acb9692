#!/usr/bin/env bash
# A stock WireGuard client from export-wg (issue 11, test 5): P runs the
# mesh; `export-wg phone` on P (through its control socket) prints a
# wg-quick file, and a stock wireguard-go in W, configured by hand from it
# (wg-quick would touch the machine's own namespace), reaches P. Checks:
#   - the file: [Interface] with PrivateKey and Address, one [Peer] with
#     P's public key, the mesh's two prefixes as AllowedIPs, P's LAN
#     address and port as Endpoint;
#   - the private key is in neither P's state directory nor its log;
#   - W pings P's overlay IPv4 and IPv6 addresses; P's status lists phone
#     with path "direct", its members list names phone;
#   - exit statuses: a taken name 2, a bad name 1, no running node 3;
#   - after a restart of P, W reaches it again (the static member is kept).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

PREFIX4=10.123.0.0/16
PREFIX6=fd12:3456:789a::/48
CLIENT=${MG_ID}w
CONF=$MG_TMP/$CLIENT.conf

# conf_value KEY: the value of "KEY = ..." lines of the exported file.
conf_value() {
	sed -n "s/^$1 *= *//p" "$CONF"
}

# The key (base64) as hex, to look for it in binary files too.
key_hex() {
	printf '%s' "$1" | base64 -d | od -An -tx1 -v | tr -d ' \n'
}

# no_secret_in DIR_OR_FILE...: neither the base64 private key nor its raw
# bytes appear in any file.
no_secret_in() {
	local f hex
	hex=$(key_hex "$priv")
	[ ${#hex} -eq 64 ] || return 1
	if grep -rqF -- "$priv" "$@"; then
		echo "    the private key (base64) is in $(grep -rlF -- "$priv" "$@")"
		return 1
	fi
	while IFS= read -r -d '' f; do
		if od -An -tx1 -v "$f" | tr -d ' \n' | grep -qF "$hex"; then
			echo "    the private key (raw) is in $f"
			return 1
		fi
	done < <(find "$@" -type f -print0)
}

# finds_secret FILE...: no_secret_in fails on each FILE (the search works).
finds_secret() {
	local f
	for f in "$@"; do
		! no_secret_in "$f" >/dev/null || return 1
	done
}

# stripped_conf: the file without wg-quick's own keys (Address), for wg
# setconf; wg-quick strip when it works here, else sed.
stripped_conf() {
	wg-quick strip "$CONF" 2>/dev/null || sed '/^ *Address *=/d' "$CONF"
}

# lists NAME [KEY]: the members list on p (offline, from its state) has a
# row NAME, ending in KEY when given.
lists() {
	mg_mesh p members | grep "^$1 " | grep -qF -- " ${2:-}"
}

not_lists() {
	! lists "$@"
}

# addrs_in_prefixes: the Address line is one IPv4 /32 in PREFIX4, one IPv6
# /128 in PREFIX6.
addrs_in_prefixes() {
	[[ $addrs =~ ^10\.123\.[0-9]+\.[0-9]+/32,\ fd12:3456:789a:[0-9a-f:]*/128$ ]]
}

# sections NAME: how many [NAME] lines the exported file has.
sections() {
	grep -c "^\\[$1\\]\$" "$CONF"
}

# handshaked: wireguard-go in w made a handshake with its one peer.
handshaked() {
	[ "$(mg_in w wg show "$CLIENT" latest-handshakes | awk '{ print $2 }')" -gt 0 ]
}

mg_mesh_lan p w b

mg_say "init and up on p"
mg_check "init exits 0" mg_mesh p init --name lab --node p --prefix4 "$PREFIX4" \
	--prefix6 "$PREFIX6"
mg_mesh_up p
tok=$(mg_mesh p invite --name b) || mg_die "invite for b failed"
mg_mesh b join "$tok" >/dev/null || mg_die "join of b failed"
mg_mesh_up b
b4=$(mg_mesh_addr4 b)
MG_N_LOG[p]=$MG_TMP/up-p.log
MG_N_IMPL[p]=meshguard
MG_N_IF[p]=${MG_ID}p
p4=$(mg_mesh_addr4 p)
p6=$(mg_mesh p status --json | sed -n 's/.*"self":{[^}]*"addresses":\["[^"]*","\([0-9a-f:]*\)\/128".*/\1/p')
p_pub=$(mg_mesh p status --json | sed -n 's/.*"self":{[^}]*"public_key":"\([^"]*\)".*/\1/p')
mg_say "p is $p4 and $p6, key $p_pub"
if [ -z "$p4" ] || [ -z "$p6" ] || [ -z "$p_pub" ]; then
	mg_die "p's status names no addresses or key"
fi

mg_say "export-wg phone on p"
rc=0
(umask 077 && mg_mesh p export-wg phone >"$CONF" 2>"$MG_TMP/export.err") || rc=$?
if [ "$rc" -ne 0 ]; then
	mg_die "export-wg phone exits $rc: $(cat "$MG_TMP/export.err")"
fi
mg_pass "export-wg phone exits 0"
sed 's/^\(PrivateKey = \).*/\1(hidden)/; s/^/    /' "$CONF"

priv=$(conf_value PrivateKey)
addrs=$(conf_value Address)
phone_pub=$(printf '%s\n' "$priv" | wg pubkey 2>/dev/null)
mg_check "the file has one [Interface]" [ "$(sections Interface)" = 1 ]
mg_check "... with a PrivateKey" [ -n "$priv" ]
mg_check "the private key is a WireGuard key" [ -n "$phone_pub" ]
mg_check "the Address is an IPv4 in $PREFIX4 and an IPv6 in $PREFIX6" \
	addrs_in_prefixes
mg_check "the file has one [Peer]" [ "$(sections Peer)" = 1 ]
mg_check "the peer is p's public key" [ "$(conf_value PublicKey)" = "$p_pub" ]
mg_check "AllowedIPs are the mesh's two prefixes" \
	[ "$(conf_value AllowedIPs)" = "$PREFIX4, $PREFIX6" ]
mg_check "Endpoint is p's LAN address and port" \
	[ "$(conf_value Endpoint)" = "${MG_M_ADDR[p]}:51820" ]
printf '%s' "$priv" | base64 -d >"$MG_TMP/raw.key"
mg_check "(the search finds the key in the file, and its raw bytes)" \
	finds_secret "$CONF" "$MG_TMP/raw.key"
rm -f "$MG_TMP/raw.key"
mg_check "the private key is not in p's state directory nor its log" \
	no_secret_in "$(mg_mesh_state p)" "$MG_TMP/up-p.log"
mg_check "members on p lists phone with the exported key's public half" \
	mg_wait_for 5 lists phone "$phone_pub"

mg_say "stock wireguard-go in w"
mg_wgd_start w "$CLIENT" wggo "$MG_TMP/wggo-w.log"
MG_N_LOG[w]=$MG_TMP/wggo-w.log
MG_N_IMPL[w]=wireguard-go
MG_N_IF[w]=$CLIENT
stripped_conf >"$MG_TMP/stripped.conf" || mg_die "cannot strip $CONF"
mg_check "wg setconf takes the stripped file" \
	mg_in w wg setconf "$CLIENT" "$MG_TMP/stripped.conf"
for a in ${addrs//,/ }; do
	mg_addr w "$CLIENT" "$a"
done
ip -n "$(mg_ns_name w)" link set "$CLIENT" mtu 1420 up
for r in $(conf_value AllowedIPs | tr -d ','); do
	ip -n "$(mg_ns_name w)" route replace "$r" dev "$CLIENT"
done

mg_check "w reaches p's overlay IPv4 address" mg_wait_for 15 mg_ping_quiet w "$p4"
mg_check "w reaches p's overlay IPv6 address" mg_wait_for 10 mg_ping_quiet w "$p6"
mg_check "status on p: phone is direct" mg_wait_for 10 mg_mesh_direct p phone
# Through p, the exporter: the others route the static member to it.
phone4=$(conf_value Address | tr -d ',' | awk '{ print $1 }')
phone4=${phone4%/*}
mg_check "w (the stock client) reaches member b through p" mg_wait_for 15 mg_ping_quiet w "$b4"
mg_check "b reaches the static member through p" mg_wait_for 10 mg_ping_quiet b "$phone4"
mg_check "wg show on w: a handshake with p" handshaked

mg_say "refusals"
rc=0
mg_mesh p export-wg phone >"$MG_TMP/again.out" 2>"$MG_TMP/again.err" || rc=$?
mg_check "export-wg with a taken name (phone) exits 2" [ "$rc" -eq 2 ]
rc=0
mg_mesh p export-wg p >/dev/null 2>&1 || rc=$?
mg_check "export-wg with this node's name exits 2" [ "$rc" -eq 2 ]
mg_check "a refused export prints no file" [ ! -s "$MG_TMP/again.out" ]
rc=0
mg_mesh p export-wg 'bad name!' >/dev/null 2>&1 || rc=$?
mg_check "export-wg with a bad name exits 1" [ "$rc" -eq 1 ]
rc=0
mg_mesh p export-wg "$(printf 'x%.0s' {1..64})" >/dev/null 2>&1 || rc=$?
mg_check "export-wg with a 64-character name exits 1" [ "$rc" -eq 1 ]

mg_say "no node running"
mg_mesh_down p
rc=0
mg_mesh p export-wg tablet >"$MG_TMP/down.out" 2>"$MG_TMP/down.err" || rc=$?
sed 's/^/    /' "$MG_TMP/down.err"
mg_check "export-wg with no running node exits 3" [ "$rc" -eq 3 ]
mg_check "... says no node runs" grep -q 'no node runs' "$MG_TMP/down.err"
mg_check "... and prints no file" [ ! -s "$MG_TMP/down.out" ]
mg_check "... and makes no member" not_lists tablet
mg_check "the private key is still not in p's state directory" \
	no_secret_in "$(mg_mesh_state p)"

mg_say "p up again: phone is still its peer"
mg_mesh_up p
mg_check "w reaches p again (a new handshake, from w)" mg_wait_for 40 mg_ping_quiet w "$p4"
mg_check "status on p: phone is direct again" mg_wait_for 10 mg_mesh_direct p phone

mg_finish
