#!/usr/bin/env bash
# wg-quick with meshguard as its userspace implementation:
#   WG_QUICK_USERSPACE_IMPLEMENTATION=$MESHGUARD_WG wg-quick up ./IF.conf
# in namespace q, with Address (IPv4 and IPv6), MTU, ListenPort, PostUp and
# PostDown hooks (writing marker files under this run's $MG_TMP) and two
# peers: wireguard-go in namespace w (veth 192.0.2.0/24) and meshguard
# (`meshguard up -c`) in namespace s (veth 198.51.100.0/24); no DNS line.
# wg-quick must succeed with the drop-in daemonized (still running after
# wg-quick returned, not a child of it); the interface must have the MTU and
# both addresses and be up; PostUp must have run with %i replaced; both
# peers must answer pings over IPv4 and IPv6 with a handshake each.
# `wg-quick down` must then succeed, run PostDown, and the interface, the
# UAPI socket and the daemon process must all go (polled).

. "$(dirname "$0")/lib.sh"
mg_strict
mg_require_cmds wg-quick

Q_PORT=51820
W_PORT=51821
S_PORT=51822
MTU=1380
IFQ="${MG_ID}q"
CONF="$MG_TMP/$IFQ.conf"
MARK_UP="$MG_TMP/postup.marker"
MARK_DOWN="$MG_TMP/postdown.marker"
[ -x "$MESHGUARD_WG" ] || mg_die "meshguard drop-in '$MESHGUARD_WG' not found (build first)"

# Underlay: q in the middle, one veth to each peer.
mg_ns_new q
mg_ns_new w
mg_ns_new s
mg_veth q uw w uq
mg_veth q us s uq
mg_addr q uw 192.0.2.1/24
mg_addr w uq 192.0.2.2/24
mg_addr q us 198.51.100.1/24
mg_addr s uq 198.51.100.2/24
mg_wait_for 10 mg_ping_quiet q 192.0.2.2 || mg_die "underlay q -> w"
mg_wait_for 10 mg_ping_quiet q 198.51.100.2 || mg_die "underlay q -> s"

# Node q exists only for its keys and addresses: wg-quick brings it up.
mg_node q q meshguard "$Q_PORT" 10.78.0.1 fd78::1
mg_node w w wggo "$W_PORT" 10.78.0.2 fd78::2
mg_node s s meshguard "$S_PORT" 10.78.0.3 fd78::3
mg_node_peer w q 192.0.2.1:"$Q_PORT"
mg_node_peer s q 198.51.100.1:"$Q_PORT"
mg_node_start w
mg_node_start s

(umask 077 && cat >"$CONF") <<EOF
[Interface]
PrivateKey = $(cat "${MG_N_KEY[q]}")
ListenPort = $Q_PORT
Address = 10.78.0.1/24, fd78::1/64
MTU = $MTU
PostUp = echo "%i up" > $MARK_UP
PostDown = echo "%i down" > $MARK_DOWN

[Peer]
PublicKey = ${MG_N_PUB[w]}
AllowedIPs = 10.78.0.2/32, fd78::2/128
Endpoint = 192.0.2.2:$W_PORT

[Peer]
PublicKey = ${MG_N_PUB[s]}
AllowedIPs = 10.78.0.3/32, fd78::3/128
Endpoint = 198.51.100.2:$S_PORT
EOF

wg_quick() {
	(cd "$MG_TMP" && ip netns exec "$(mg_ns_name q)" \
		env WG_QUICK_USERSPACE_IMPLEMENTATION="$MESHGUARD_WG" LOG_LEVEL=verbose \
		wg-quick "$1" "./$IFQ.conf")
}

# The daemon: the process in namespace q whose executable is meshguard.
# The daemon's pid: its sandboxed network side (a child running the same
# binary) is part of the same daemon, not a second one.
daemon_pids() {
	local p exe want parent
	want=$(readlink -f "$MESHGUARD")
	for p in $(ip netns pids "$(mg_ns_name q)" 2>/dev/null); do
		exe=$(readlink -f "/proc/$p/exe" 2>/dev/null) || continue
		[ "$exe" = "$want" ] || continue
		parent=$(awk '$1 == "PPid:" { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ "$(readlink -f "/proc/$parent/exe" 2>/dev/null)" = "$want" ] && continue
		echo "$p"
	done
	return 0
}

mg_say "wg-quick up ./$IFQ.conf in $(mg_ns_name q)"
rc=0
wg_quick up >"$MG_TMP/up.out" 2>&1 || rc=$?
sed 's/^/    /' "$MG_TMP/up.out"
mg_check "wg-quick up exits 0 (status $rc)" [ "$rc" = 0 ]
[ "$rc" = 0 ] || mg_die "wg-quick up failed; nothing more to check"
mg_check "wg-quick fell back to the userspace implementation" \
	grep -q "$MESHGUARD_WG" "$MG_TMP/up.out"

DPID=$(daemon_pids)
mg_say "daemon pid(s): ${DPID:-none}"
mg_check "one meshguard daemon runs in q after wg-quick returned" eval '[ -n "$DPID" ] && [ "$(wc -w <<<"$DPID")" = 1 ] && mg_alive "$DPID"'
mg_check "it daemonized: its parent is not this test" eval \
	'[ -n "$DPID" ] && [ "$(awk "{ print \$4 }" /proc/$DPID/stat)" != $$ ]'
mg_check "UAPI socket $MG_WG_RUN/$IFQ.sock exists" [ -S "$MG_WG_RUN/$IFQ.sock" ]

link=$(ip -n "$(mg_ns_name q)" link show dev "$IFQ" 2>&1 || true)
echo "    $link" | head -n 1
mg_check "interface $IFQ has MTU $MTU" grep -q " mtu $MTU " <<<"$link"
mg_check "interface $IFQ is up" grep -q '<[^>]*\bUP\b' <<<"$link"
addrs=$(ip -n "$(mg_ns_name q)" -o addr show dev "$IFQ" 2>&1 || true)
mg_check "interface has 10.78.0.1/24" grep -q ' 10.78.0.1/24 ' <<<"$addrs"
mg_check "interface has fd78::1/64" grep -q ' fd78::1/64 ' <<<"$addrs"
mg_check "PostUp ran with %i replaced" grep -qx "$IFQ up" "$MARK_UP"
mg_check "wg show: private key, port and both peers from the file" eval \
	'[ "$(mg_in q wg show "$IFQ" private-key)" = "$(cat "${MG_N_KEY[q]}")" ] &&
	 [ "$(mg_in q wg show "$IFQ" listen-port)" = '"$Q_PORT"' ] &&
	 [ "$(mg_in q wg show "$IFQ" peers | sort)" = "$(printf "%s\n" "${MG_N_PUB[w]}" "${MG_N_PUB[s]}" | sort)" ]'
mg_check "routes to both peers' inner addresses via $IFQ" eval \
	'ip -n "$(mg_ns_name q)" route get 10.78.0.2 | grep -q "dev $IFQ" &&
	 ip -n "$(mg_ns_name q)" -6 route get fd78::3 | grep -q "dev $IFQ"'

for dst in 10.78.0.2 fd78::2 10.78.0.3 fd78::3; do
	mg_check "ping $dst through $IFQ" mg_ping q "$dst" 3
done
for n in w s; do
	mg_check "handshake with peer $n (${MG_N_IMPL[$n]})" eval \
		'[ "$(mg_in q wg show "$IFQ" latest-handshakes | awk -v k="${MG_N_PUB[$n]}" "\$1 == k { print \$2 }")" -gt 0 ]'
done
mg_check "pings from the peers back to q" eval 'mg_ping w 10.78.0.1 2 && mg_ping s fd78::1 2'

mg_say "wg-quick down ./$IFQ.conf"
rc=0
wg_quick down >"$MG_TMP/down.out" 2>&1 || rc=$?
sed 's/^/    /' "$MG_TMP/down.out"
mg_check "wg-quick down exits 0 (status $rc)" [ "$rc" = 0 ]
mg_check "PostDown ran" grep -qx "$IFQ down" "$MARK_DOWN"
mg_check "interface $IFQ is gone" mg_wait_for 10 mg_if_gone q "$IFQ"
mg_check "UAPI socket is gone" mg_wait_for 10 eval '[ ! -e "$MG_WG_RUN/$IFQ.sock" ]'
if [ -n "$DPID" ]; then
	mg_check "daemon process $DPID exits" mg_wait_for 10 mg_not_alive "$DPID"
fi
mg_check "no meshguard process left in q" eval '[ -z "$(daemon_pids)" ]'

for n in w s; do
	mg_check "peer $n (${MG_N_IMPL[$n]}) stops cleanly" mg_node_stop "$n"
done
mg_finish
