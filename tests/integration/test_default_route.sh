#!/usr/bin/env bash
# A full-tunnel client: meshguard with `AllowedIPs = 0.0.0.0/0, ::/0` must do
# what wg-quick does (default routes in table T = FwMark or 51820, its UDP
# socket marked T, rules `not fwmark T lookup T` and
# `lookup main suppress_prefixlength 0` per family) and undo it on SIGTERM.
#
#   c (client) --uc/us-- s (server) --si/ii-- i ("internet")
#
# The client's underlay is a /32 (and /128) with only a default route in its
# main table, `via <server underlay> onlink`: no more specific route to the
# server's endpoint exists, so without the fwmark the tunnel's own UDP would
# be routed into the tunnel (checked with `ip route get` with and without the
# mark). The internet host 198.51.100.77 / 2001:db8:77::77 exists only behind
# the server, which forwards.
#
# Case 1: server wireguard-go, no FwMark (51820). Case 2: server meshguard,
# `FwMark = 0x1234` (table 4660). Each case proves: the handshake completes;
# pings (IPv4 and IPv6) to the server's tunnel address and to the internet
# host go through the tunnel (server-side `wg show` rx bytes and nft counters:
# echo requests forwarded from the tunnel, none in the clear on the underlay;
# client-side: every UDP datagram to the endpoint carries the mark); 10 MiB
# over TCP to the internet host with sha256; `ip rule` shows exactly the two
# rules per family while running; after SIGTERM the client logged its stats,
# and the rules, the interface and table T (both families) are gone.
#
# MG_IMPL_S=meshguard|wggo forces the server implementation of both cases.

. "$(dirname "$0")/lib.sh"

U4_C=192.0.2.1
U4_S=192.0.2.2
U6_C=2001:db8:1::1
U6_S=2001:db8:1::2
NET4_S=198.51.100.1
NET4_I=198.51.100.77
NET6_S=2001:db8:77::1
NET6_I=2001:db8:77::77
PORT_C=51820
PORT_S=51821
PINGS=5

mg_data 10

# ---- topology ----

topo() {
	mg_ns_new c
	mg_ns_new s
	mg_ns_new i
	mg_veth c uc s us
	mg_veth s si i ii
	mg_addr c uc "$U4_C/32"
	mg_addr c uc "$U6_C/128"
	mg_in c ip route add default via "$U4_S" dev uc onlink || mg_die "client v4 default route"
	mg_in c ip -6 route add default via "$U6_S" dev uc onlink || mg_die "client v6 default route"
	mg_addr s us "$U4_S/24"
	mg_addr s us "$U6_S/64"
	mg_addr s si "$NET4_S/24"
	mg_addr s si "$NET6_S/64"
	mg_addr i ii "$NET4_I/24"
	mg_addr i ii "$NET6_I/64"
	mg_in i ip route add default via "$NET4_S" || mg_die "internet v4 default route"
	mg_in i ip -6 route add default via "$NET6_S" || mg_die "internet v6 default route"
	mg_in s sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 ||
		mg_die "server forwarding"
	mg_wait_for 10 mg_ping_quiet c "$U4_S" || mg_die "underlay IPv4 c -> s does not work"
	mg_wait_for 10 mg_ping_quiet c "$U6_S" || mg_die "underlay IPv6 c -> s does not work"
	mg_wait_for 10 mg_ping_quiet s "$NET4_I" || mg_die "IPv4 s -> internet does not work"
	mg_wait_for 10 mg_ping_quiet s "$NET6_I" || mg_die "IPv6 s -> internet does not work"
}

# Counters, added after the underlay checks so that they start at zero.
# Server: echo requests arriving in the clear on the underlay, encrypted
# datagrams arriving for the server's port, echo requests forwarded to the
# internet from anywhere but the underlay (= from the tunnel). Client:
# datagrams to the server's endpoint with and without the mark.
counters_add() {
	local mark=$1
	mg_in s nft -f - <<-EOF || mg_die "nft counters in s"
		table inet mgdr {
			counter clear_echo4 { }
			counter clear_echo6 { }
			counter wg_in { }
			counter tun_echo4 { }
			counter tun_echo6 { }
			counter tun_echo_srv4 { }
			counter tun_echo_srv6 { }
			chain mg_pre {
				type filter hook prerouting priority -300; policy accept;
				iifname "us" icmp type echo-request counter name clear_echo4
				iifname "us" icmpv6 type echo-request counter name clear_echo6
				iifname "us" udp dport $PORT_S counter name wg_in
			}
			chain mg_fwd {
				type filter hook forward priority 0; policy accept;
				iifname != "us" oifname "si" ip daddr $NET4_I icmp type echo-request counter name tun_echo4
				iifname != "us" oifname "si" ip6 daddr $NET6_I icmpv6 type echo-request counter name tun_echo6
			}
			chain mg_in {
				type filter hook input priority 0; policy accept;
				iifname != { "us", "lo" } meta nfproto ipv4 icmp type echo-request counter name tun_echo_srv4
				iifname != { "us", "lo" } meta nfproto ipv6 icmpv6 type echo-request counter name tun_echo_srv6
			}
		}
	EOF
	mg_in c nft -f - <<-EOF || mg_die "nft counters in c"
		table inet mgdr {
			counter marked { }
			counter unmarked { }
			chain mg_out {
				type filter hook output priority 0; policy accept;
				ip daddr $U4_S udp dport $PORT_S meta mark $mark counter name marked
				ip daddr $U4_S udp dport $PORT_S meta mark != $mark counter name unmarked
			}
		}
	EOF
}

cnt() {
	mg_in "$1" nft list counter inet mgdr "$2" |
		awk '$1 == "packets" { print $2; found = 1 } END { if (!found) print 0 }'
}

# ---- the client ----

client_conf() {
	local fwmark=$1
	printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n' "$(cat "${MG_N_KEY[c]}")" "$PORT_C"
	printf 'Address = %s/24, %s/64\nMTU = 1420\n' "$MG_IN4_A" "$MG_IN6_A"
	[ "$fwmark" = - ] || printf 'FwMark = %s\n' "$fwmark"
	printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = 0.0.0.0/0, ::/0\nEndpoint = %s:%s\n' \
		"${MG_N_PUB[s]}" "$U4_S" "$PORT_S"
}

# Starts node c (declared with mg_node so that the harness's readiness and
# stop functions apply) from our own full-tunnel configuration.
client_start() {
	local fwmark=$1 conf
	MG_GEN=$((MG_GEN + 1))
	MG_N_IF[c]="$MG_ID"c"$MG_GEN"
	MG_N_LOG[c]="$MG_TMP/${MG_N_IF[c]}.log"
	conf="$MG_TMP/${MG_N_IF[c]}.conf"
	(umask 077 && client_conf "$fwmark" >"$conf")
	mg_bg "${MG_N_LOG[c]}" ip netns exec "$(mg_ns_name c)" "$MESHGUARD" up $MG_UP_SANDBOX -c "$conf"
	MG_N_PID[c]=$MG_BG_PID
	mg_wait_for 10 mg_node_ready c ||
		mg_die "client meshguard did not come up as ${MG_N_IF[c]}"
	mg_say "node c: meshguard ${MG_N_IF[c]} (full tunnel, FwMark ${fwmark/-/default}), pid ${MG_N_PID[c]}"
}

# ---- checks ----

# rules FAMILY: the policy rules of the client namespace.
rules() {
	mg_in c ip "-$1" rule show
}

rules_running() {
	local fam=$1 mark=$2 table=$3 out n_not n_sup n_all n_base
	out=$(rules "$fam")
	printf '%s\n' "$out" | sed "s/^/    -$fam: /"
	n_not=$(grep -cE "^[0-9]+:[[:space:]]+not from all fwmark $mark lookup ${table}[[:space:]]*$" <<<"$out")
	n_sup=$(grep -cE "^[0-9]+:[[:space:]]+from all lookup main suppress_prefixlength 0[[:space:]]*$" <<<"$out")
	n_all=$(grep -c . <<<"$out")
	n_base=$(grep -c . <"$MG_TMP/rules$fam.before")
	[ "$n_not" -eq 1 ] && [ "$n_sup" -eq 1 ] && [ "$n_all" -eq $((n_base + 2)) ]
}

rules_restored() {
	diff -u "$MG_TMP/rules$1.before" <(rules "$1")
}

table_has_defaults() {
	local table=$1 r4 r6
	r4=$(mg_in c ip -4 route show table "$table")
	r6=$(mg_in c ip -6 route show table "$table")
	printf '    table %s: %s | %s\n' "$table" "$r4" "$r6"
	grep -qE "^default dev ${MG_N_IF[c]}( |$)" <<<"$r4" &&
		grep -qE "^default dev ${MG_N_IF[c]}( |$)" <<<"$r6"
}

table_empty() {
	local table=$1 r
	r=$(mg_in c ip -4 route show table "$table" 2>/dev/null; mg_in c ip -6 route show table "$table" 2>/dev/null)
	[ -z "$r" ] || { printf '    table %s still has:\n%s\n' "$table" "$r" | sed '2,$s/^/      /'; return 1; }
}

# Without the mark the endpoint is routed into the tunnel; with it, out of
# the underlay: the topology really depends on the fwmark.
mark_matters() {
	local mark=$1 plain marked
	plain=$(mg_in c ip -4 route get "$U4_S")
	marked=$(mg_in c ip -4 route get "$U4_S" mark "$mark")
	echo "    route get $U4_S:            $(head -n1 <<<"$plain")"
	echo "    route get $U4_S mark $mark: $(head -n1 <<<"$marked")"
	grep -q "dev ${MG_N_IF[c]} " <<<"$plain" && grep -q "via $U4_S dev uc " <<<"$marked"
}

socket_marked() {
	local mark=$1 m u
	m=$(cnt c marked)
	u=$(cnt c unmarked)
	echo "    client datagrams to $U4_S:$PORT_S: marked $mark $m, unmarked $u"
	[ "$m" -ge 1 ] && [ "$u" -eq 0 ]
}

server_rx() {
	mg_wg_show s transfer | awk -v k="${MG_N_PUB[c]}" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }'
}

# tunnel_ping TAG DEST COUNTER: PINGS echo requests from the client must
# reach DEST through the tunnel: COUNTER (server side, from the tunnel) grows
# by PINGS, the server's wg rx bytes from the client by at least PINGS*84,
# and no echo request arrives in the clear on the server's underlay.
tunnel_ping() {
	local tag=$1 dst=$2 counter=$3 c0 c1 rx0 rx1 w0 w1 clear
	c0=$(cnt s "$counter")
	rx0=$(server_rx)
	w0=$(cnt s wg_in)
	if ! mg_ping c "$dst" "$PINGS"; then
		mg_fail "$tag: ping c -> $dst"
		return
	fi
	c1=$(cnt s "$counter")
	rx1=$(server_rx)
	w1=$(cnt s wg_in)
	clear=$(($(cnt s clear_echo4) + $(cnt s clear_echo6)))
	echo "    server: echo requests from the tunnel +$((c1 - c0)), wg rx bytes +$((rx1 - rx0)), encrypted datagrams in +$((w1 - w0)), echo requests in the clear on underlay $clear"
	if [ $((c1 - c0)) -ge "$PINGS" ] && [ $((rx1 - rx0)) -ge $((PINGS * 84)) ] &&
		[ $((w1 - w0)) -ge "$PINGS" ] && [ "$clear" -eq 0 ]; then
		mg_pass "$tag: $PINGS pings c -> $dst went through the tunnel"
	else
		mg_fail "$tag: pings c -> $dst did not (all) go through the tunnel"
	fi
}

run_case() {
	local n=$1 impl=$2 fwmark=$3 mark table tag fam rx0 rx1 log
	if [ "$fwmark" = - ]; then table=51820; else table=$((fwmark)); fi
	mark=$(printf '0x%x' "$table")
	tag="case $n (server $impl, FwMark ${fwmark/-/default})"
	mg_say "==== $tag: table $table, mark $mark"
	mg_reset
	topo
	counters_add "$mark"
	for fam in 4 6; do
		rules "$fam" >"$MG_TMP/rules$fam.before"
	done

	mg_node s s "$impl" "$PORT_S" "$MG_IN4_B" "$MG_IN6_B"
	mg_node c c meshguard "$PORT_C" "$MG_IN4_A" "$MG_IN6_A"
	mg_node_peer s c -
	mg_node_start s
	client_start "$fwmark"

	for fam in 4 6; do
		mg_check "$tag: ip -$fam rule has 'not fwmark $mark lookup $table' and 'lookup main suppress_prefixlength 0', nothing else new" \
			rules_running "$fam" "$mark" "$table"
	done
	mg_check "$tag: table $table has the default routes (v4, v6) via ${MG_N_IF[c]}" \
		table_has_defaults "$table"
	mg_check "$tag: the endpoint routes into the tunnel unless marked" mark_matters "$mark"

	tunnel_ping "$tag" "$MG_IN4_B" tun_echo_srv4
	for node in c s; do
		mg_check "$tag: node $node (${MG_N_IMPL[$node]}) completed a handshake" \
			eval "[ \"\$(mg_node_handshakes $node)\" -ge 1 ]"
	done
	tunnel_ping "$tag" "$MG_IN6_B" tun_echo_srv6
	tunnel_ping "$tag" "$NET4_I" tun_echo4
	tunnel_ping "$tag" "$NET6_I" tun_echo6

	mg_say "transfer 10 MiB c -> internet ($NET4_I)"
	rx0=$(server_rx)
	mg_xfer_start c i "$NET4_I" 5001
	mg_check "$tag: 10 MiB TCP c -> $NET4_I (internet), sha256 matches" mg_xfer_finish 120
	rx1=$(server_rx)
	echo "    server wg rx bytes from c: +$((rx1 - rx0))"
	mg_check "$tag: the 10 MiB went through the tunnel (server wg rx +$((rx1 - rx0)) bytes)" \
		test $((rx1 - rx0)) -ge $((10 * 1024 * 1024))
	mg_check "$tag: client UDP to the endpoint all carries mark $mark" socket_marked "$mark"

	log=${MG_N_LOG[c]}
	mg_check "$tag: client meshguard stops cleanly on SIGTERM (interface removed)" mg_node_stop c
	mg_check "$tag: client logged stats: lines on SIGTERM" grep -q 'stats:' "$log"
	for fam in 4 6; do
		mg_check "$tag: ip -$fam rule back to what it was before" rules_restored "$fam"
	done
	mg_check "$tag: table $table is empty (v4 and v6)" table_empty "$table"
	mg_check "$tag: server (${MG_N_IMPL[s]}) stops cleanly" mg_node_stop s
}

run_case 1 "${MG_IMPL_S:-wggo}" -
run_case 2 "${MG_IMPL_S:-meshguard}" 0x1234
mg_finish
