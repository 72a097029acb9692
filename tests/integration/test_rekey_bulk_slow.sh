#!/usr/bin/env bash
# A real rekey under a bulk TCP stream through the TUN's TSO (issue 9). Node p
# (namespace a) is the only initiator: q (namespace b) has no endpoint for it.
# p sends one iperf3 TCP stream to q for REKEY_TEST_SECONDS (150 s), past
# REKEY_AFTER_TIME (120 s), so p starts a handshake in the middle of cutting
# a TSO super-packet into datagrams; beside it, UDP datagrams full of a marker
# go to an overlay address in p's subnet that no peer's allowed IPs cover
# (the device drops them unsent).
#
# On the underlay, counted after segmentation (UDP GSO off on both veth ends,
# nft counters in both namespaces, mg_wire_audit), every datagram for the
# WireGuard ports must be a WireGuard message of exact shape, and the
# marker must never appear where a leaked plaintext IPv4/UDP packet carries
# its payload. At exit both daemons' stats must count no decrypt failure,
# unknown index or replayed datagram; p must have completed a second
# handshake with a new keypair during the stream and counted the marker
# datagrams as unroutable.
#
# Environment: REKEY_TEST_SECONDS (150), REKEY_BULK_RATE (iperf3 -b; 0, the
# default, is as fast as it goes).

. "$(dirname "$0")/lib.sh"

mg_require_cmds iperf3 ethtool

DURATION=${REKEY_TEST_SECONDS:-150}
RATE=${REKEY_BULK_RATE:-0}
MARKER=4d474d41524b4552 # "MGMARKER"
UNROUTED=10.77.0.99

# markers NS DEST SECONDS: about 500 UDP datagrams a second to DEST:9,
# each "MGMARKER" eight times, in bursts of ten (bash's /dev/udp: one
# datagram per write; nothing beyond the base system is needed); at the end
# it logs "sent N".
markers() {
	mg_bg "$MG_TMP/markers.log" ip netns exec "$(mg_ns_name "$1")" bash -c '
exec 3>"/dev/udp/$1/9"
end=$((SECONDS + $2)) sent=0
while [ "$SECONDS" -lt "$end" ]; do
	for i in 0 1 2 3 4 5 6 7 8 9; do
		printf MGMARKERMGMARKERMGMARKERMGMARKERMGMARKERMGMARKERMGMARKERMGMARKER >&3 &&
			sent=$((sent + 1))
	done
	sleep 0.02
done
echo "sent $sent"' markers "$2" "$3"
	MARKERS_PID=$MG_BG_PID
}

# Distinct keypairs of handshakes p completed.
keypairs() {
	grep 'handshake completed' "$1" | grep -o 'keypair 0x[0-9a-f]*' | sort -u | wc -l
}

mg_topo_pair
mg_udp_gso_off a ua
mg_udp_gso_off b ub
mg_counters_add a
mg_counters_add b
mg_node p a meshguard 51820 "$MG_IN4_A" "$MG_IN6_A"
mg_node q b meshguard 51821 "$MG_IN4_B" "$MG_IN6_B"
mg_node_peer p q "$(mg_endpoint "$MG_U4_B" 51821)"
mg_node_peer q p -
mg_node_start q
mg_node_start p
mg_wire_audit b 51821 1420 "$MARKER"
mg_wire_audit a 51820 1420 "$MARKER"

mg_check "first handshake (ping p -> q)" mg_ping p "$MG_IN4_B" 3
mg_check "p is the only initiator" mg_initiator_is p q

mg_bg "$MG_TMP/iperf-server.log" ip netns exec "$(mg_ns_name b)" \
	iperf3 -s -1 -B "$MG_IN4_B" -p 5201
mg_wait_for 10 mg_tcp_listening b 5201 || mg_die "iperf3 server did not start"
mg_say "TCP stream p -> q and marker datagrams to $UNROUTED for ${DURATION}s"
mg_bg "$MG_TMP/iperf.log" ip netns exec "$(mg_ns_name a)" \
	iperf3 -c "$MG_IN4_B" -p 5201 -t "$DURATION" -b "$RATE" -i 10 --forceflush
IPERF_PID=$MG_BG_PID
markers a "$UNROUTED" "$DURATION"

mg_wait_for $((DURATION + 30)) mg_not_alive "$IPERF_PID" || mg_fail "iperf3 did not end"
mg_wait_for 10 mg_not_alive "$MARKERS_PID" || mg_fail "the marker sender did not end"
grep -E 'sender|receiver' "$MG_TMP/iperf.log" | sed 's/^/    /'
mg_check "the TCP stream ran to its end" grep -q 'iperf Done' "$MG_TMP/iperf.log"
grep 'handshake completed' "${MG_N_LOG[p]}" | sed 's/^/    /'
mg_check "p completed a second handshake with a new keypair" \
	[ "$(keypairs "${MG_N_LOG[p]}")" -ge 2 ]
mg_check "q received only WireGuard messages, no marker in clear" mg_wire_clean b
mg_check "p received only WireGuard messages, no marker in clear" mg_wire_clean a data

mg_check "node p stops cleanly" mg_node_stop p
mg_check "node q stops cleanly" mg_node_stop q
mg_check "q received nothing undecryptable, unknown or replayed" mg_rx_clean "${MG_N_LOG[q]}"
mg_check "p received nothing undecryptable, unknown or replayed" mg_rx_clean "${MG_N_LOG[p]}"
SENT=$(awk '/^sent / { print $2 }' "$MG_TMP/markers.log")
echo "    markers sent ${SENT:-?}, p: tx no route $(mg_log_stat "${MG_N_LOG[p]}" 'no route')"
# Each marker reached p's device (a full TUN queue may drop some under the
# stream, so at least half), where nothing routes it.
markers_unroutable() {
	[ "${SENT:-0}" -gt 0 ] && [ "$(mg_log_stat "${MG_N_LOG[p]}" 'no route')" -ge $((SENT / 2)) ]
}
mg_check "p dropped the marker datagrams as unroutable" markers_unroutable
mg_finish
