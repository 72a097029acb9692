#!/usr/bin/env bash
# Sticky source address: meshguard (node m, namespace a) is multi-homed, with
# a primary and a secondary underlay address on one veth; wireguard-go (node
# w, namespace b) has the secondary one as m's endpoint. One case per
# underlay family, each with freshly started daemons:
#   1. w pings m: m's handshake response and data replies must come from the
#      secondary address (routing alone would pick the primary one, which
#      is checked first), so wireguard-go, which roams to the source of every
#      authenticated packet, still shows the secondary address.
#   2. The secondary address is removed; m pings w at once. m's cached source
#      no longer exists: its sends must not fail (they go out from the
#      primary address), so the pings are answered without m sending a new
#      handshake initiation (counted by nft: without the retry, only the
#      15 s new-handshake timer, clearing the source and initiating again,
#      would get replies out), and w roams to the primary address. w's
#      pings then work too.
# Throughout, `wg show` on m prints w's endpoint as before (remote address
# only).

. "$(dirname "$0")/lib.sh"

PORT_M=51820
PORT_W=51821
# Primary and secondary of m, and w's address.
U4_PRI=192.0.2.1
U4_SEC=192.0.2.11
U4_W=192.0.2.2
U6_PRI=2001:db8:1::2
U6_SEC=2001:db8:1::100
U6_W=2001:db8:1::3

# route_src NS DEST: the source address the kernel picks for DEST.
route_src() {
	mg_in "$1" ip route get "$2" | awk '{ for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1) }'
}

endpoint_is() {
	[ "$(mg_wg_show "$1" endpoints | awk '{ print $2 }')" = "$2" ]
}

# ping_ok NODE DEST: 3 replies (a readiness wait of up to 20 s, not a
# measure of speed).
ping_ok() {
	mg_in "${MG_N_NS[$1]}" ping -n -c 3 -i 0.2 -w 20 "$2" >/dev/null 2>&1
}

# no_new_initiation COUNT: m (namespace a) has sent COUNT handshake
# initiations, no more.
no_new_initiation() {
	[ "$(mg_counter a init_out)" = "$1" ]
}

# topology PRIMARY SECONDARY PREFIXLEN W_ADDR. The address routing picks
# among equals: IPv4's first one, IPv6's newest one (rule 8 counts matching
# bits only up to the prefix length).
topology() {
	mg_ns_new a
	mg_ns_new b
	mg_veth a ua b ub
	case $1 in
	*:*) mg_addr a ua "$2/$3" && mg_addr a ua "$1/$3" ;;
	*) mg_addr a ua "$1/$3" && mg_addr a ua "$2/$3" ;;
	esac
	mg_addr b ub "$4/$3"
	mg_wait_for 10 mg_ping_quiet b "$1" || mg_die "underlay b -> $1 does not work"
	mg_wait_for 10 mg_ping_quiet b "$2" || mg_die "underlay b -> $2 does not work"
}

run_case() {
	local fam=$1 pri=$2 sec=$3 wa=$4 len=$5 tag inner_m inner_w inits
	tag="IPv$fam underlay"
	mg_say "==== $tag: m at $pri and $sec, w at $wa"
	mg_reset
	topology "$pri" "$sec" "$len" "$wa"
	mg_check "$tag: routing alone picks $pri to reach $wa" \
		eval "[ \"\$(route_src a $wa)\" = $pri ]"

	mg_node m a meshguard "$PORT_M" "$MG_IN4_A" "$MG_IN6_A"
	mg_node w b wggo "$PORT_W" "$MG_IN4_B" "$MG_IN6_B"
	mg_node_peer m w -
	mg_node_peer w m "$(mg_endpoint "$sec" "$PORT_M")"
	mg_node_start m
	mg_node_start w
	mg_counters_add a
	if [ "$fam" = 4 ]; then
		inner_m=${MG_N_IN4[m]} inner_w=${MG_N_IN4[w]}
	else
		inner_m=${MG_N_IN6[m]} inner_w=${MG_N_IN6[w]}
	fi

	mg_check "$tag: w pings m over the secondary address" ping_ok w "$inner_m"
	mg_check "$tag: replies come from the secondary address (w's endpoint stays $(mg_endpoint "$sec" "$PORT_M"))" \
		endpoint_is w "$(mg_endpoint "$sec" "$PORT_M")"
	mg_check "$tag: wg show on m prints w's endpoint $(mg_endpoint "$wa" "$PORT_W")" \
		endpoint_is m "$(mg_endpoint "$wa" "$PORT_W")"

	inits=$(mg_counter a init_out)
	ip -n "$(mg_ns_name a)" addr del "$sec/$len" dev ua || mg_die "cannot remove $sec"
	mg_say "removed $sec from a/ua"
	mg_check "$tag: m pings w after its cached source was removed" ping_ok m "$inner_w"
	# Without the retry, m's sends fail until the new-handshake timer
	# clears the source and m initiates again.
	mg_check "$tag: m's replies got out by the retry without a source, not a new handshake" \
		no_new_initiation "$inits"
	mg_check "$tag: w roamed to the primary address $(mg_endpoint "$pri" "$PORT_M")" \
		endpoint_is w "$(mg_endpoint "$pri" "$PORT_M")"
	mg_check "$tag: w pings m at the primary address" ping_ok w "$inner_m"
	mg_check "$tag: wg show on m still prints $(mg_endpoint "$wa" "$PORT_W")" \
		endpoint_is m "$(mg_endpoint "$wa" "$PORT_W")"
	mg_check "$tag: node m stops cleanly on SIGTERM" mg_node_stop m
}

run_case 4 "$U4_PRI" "$U4_SEC" "$U4_W" 24
run_case 6 "$U6_PRI" "$U6_SEC" "$U6_W" 64
mg_finish
