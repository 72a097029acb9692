#!/usr/bin/env bash
# meshguard against meshguard: node p in namespace a, node q in namespace b,
# joined by one veth. Four cases, each with freshly started daemons:
#   underlay IPv4 / IPv6  x  p initiates / q initiates.
# The side that sends first is the initiator (checked by counting type-1
# messages each namespace sends). Each case pings both ways over the inner
# IPv4 and IPv6 addresses and moves 50 MiB over TCP from the initiator to the
# responder (inner family = underlay family), comparing sha256. The IPv6 cases
# use a preshared key. Both daemons must log 'handshake completed' and stop
# cleanly (interface removed) on SIGTERM.
#
# MG_IMPL_A / MG_IMPL_B=wggo replace either side by wireguard-go (harness check).

. "$(dirname "$0")/lib.sh"

IMPL_A=${MG_IMPL_A:-meshguard}
IMPL_B=${MG_IMPL_B:-meshguard}

mg_data 50

run_case() {
	local n=$1 fam=$2 first=$3 tag ua ub dst psk=- second node
	tag="case $n (underlay IPv$fam, $first initiates)"
	mg_say "==== $tag"
	mg_reset
	mg_topo_pair
	mg_counters_add a
	mg_counters_add b
	if [ "$fam" = 4 ]; then
		ua=$MG_U4_A ub=$MG_U4_B
	else
		ua=$MG_U6_A ub=$MG_U6_B
		psk="$MG_TMP/psk"
		mg_psk "$psk"
	fi
	mg_node p a "$IMPL_A" 51820 "$MG_IN4_A" "$MG_IN6_A"
	mg_node q b "$IMPL_B" 51821 "$MG_IN4_B" "$MG_IN6_B"
	mg_node_peer p q "$(mg_endpoint "$ub" 51821)" - "$psk"
	mg_node_peer q p "$(mg_endpoint "$ua" 51820)" - "$psk"
	mg_node_start p
	mg_node_start q
	if [ "$first" = p ]; then second=q; else second=p; fi

	mg_ping_all "$tag" "$first" "$second"
	mg_check "$tag: $first is the only initiator" mg_initiator_is "$first" "$second"
	for node in p q; do
		mg_check "$tag: node $node logged a completed handshake" \
			eval "[ \"\$(mg_node_handshakes $node)\" -ge 1 ]"
	done

	if [ "$fam" = 4 ]; then dst=${MG_N_IN4[$second]}; else dst=${MG_N_IN6[$second]}; fi
	mg_say "transfer 50 MiB $first -> $second ($dst)"
	mg_xfer_start "${MG_N_NS[$first]}" "${MG_N_NS[$second]}" "$dst" 5001
	mg_check "$tag: 50 MiB TCP $first -> $second, sha256 matches" mg_xfer_finish 120

	for node in p q; do
		mg_check "$tag: node $node (${MG_N_IMPL[$node]}) stops cleanly on SIGTERM" \
			mg_node_stop "$node"
	done
}

run_case 1 4 p
run_case 2 4 q
run_case 3 6 p
run_case 4 6 q
mg_finish
