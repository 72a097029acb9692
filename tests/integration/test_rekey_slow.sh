#!/usr/bin/env bash
# Rekeying under traffic. meshguard (node m, namespace a) initiates to
# wireguard-go (node w, namespace b; it has no endpoint for m, so only m can
# initiate). A ping every 0.2 s and a 20 Mbit/s TCP stream (iperf3) run for
# REKEY_TEST_SECONDS (150 s), past REKEY_AFTER_TIME (120 s). Passes when at
# most one ping is lost, no 1-second interval of the stream is empty,
# meshguard logged a second 'handshake completed' with a different keypair
# index, and wireguard-go's latest-handshakes advanced.
#
# MG_IMPL_A=wggo runs wireguard-go as the initiator too (harness check).

. "$(dirname "$0")/lib.sh"

IMPL_A=${MG_IMPL_A:-meshguard}
DURATION=${REKEY_TEST_SECONDS:-150}

mg_require_cmds iperf3

latest_handshake() {
	mg_wg_show w latest-handshakes | cut -f2
}

handshake_seen() {
	[ "$(latest_handshake)" -gt 0 ]
}

# Distinct keypair indices in meshguard's 'handshake completed' lines, or
# handshake responses received by a wireguard-go initiator.
initiator_handshakes() {
	case $IMPL_A in
	meshguard)
		grep 'handshake completed' "${MG_N_LOG[m]}" | grep -o 'keypair 0x[0-9a-fA-F]*' |
			sort -u | wc -l
		;;
	wggo) grep -c 'Received handshake response' "${MG_N_LOG[m]}" ;;
	esac
}

# At most one lost ping: "N packets transmitted, M received".
ping_loss_ok() {
	local sent got
	sent=$(awk '/packets transmitted/ { print $1 }' "$1")
	got=$(awk '/packets transmitted/ { print $4 }' "$1")
	echo "    pings: $sent sent, $got received"
	[ -n "$sent" ] && [ "$sent" -ge $((DURATION * 4)) ] && [ $((sent - got)) -le 1 ]
}

# Every 1-second interval of iperf3's report moved data.
stream_ok() {
	local n empty
	n=$(grep -cE '^\[ *[0-9]+\] +[0-9.]+-[0-9.]+ +sec .*bits/sec' "$1")
	empty=$(grep -E '^\[ *[0-9]+\] +[0-9.]+-[0-9.]+ +sec +0\.00 Bytes' "$1" | wc -l)
	echo "    stream: $n interval lines, $empty empty"
	grep -E 'sender|receiver' "$1" | sed 's/^/    /'
	[ "$n" -ge "$DURATION" ] && [ "$empty" -eq 0 ] && grep -q 'iperf Done' "$1"
}

mg_topo_pair
mg_node m a "$IMPL_A" 51820 "$MG_IN4_A" "$MG_IN6_A"
mg_node w b wggo 51821 "$MG_IN4_B" "$MG_IN6_B"
mg_node_peer m w "$(mg_endpoint "$MG_U4_B" 51821)"
mg_node_peer w m -
mg_node_start w
mg_node_start m

mg_check "first handshake (ping m -> w)" mg_ping m "${MG_N_IN4[w]}" 3
mg_wait_for 5 handshake_seen || mg_die "wireguard-go shows no handshake"
T1=$(latest_handshake)
mg_say "first handshake at $T1; running ping and TCP stream for ${DURATION}s"

mg_bg "$MG_TMP/iperf-server.log" ip netns exec "$(mg_ns_name b)" \
	iperf3 -s -1 -B "${MG_N_IN4[w]}" -p 5201
mg_wait_for 10 mg_tcp_listening b 5201 || mg_die "iperf3 server did not start"
mg_bg "$MG_TMP/ping.log" ip netns exec "$(mg_ns_name a)" \
	ping -n -i 0.2 -w "$DURATION" "${MG_N_IN4[w]}"
PING_PID=$MG_BG_PID
# 16 KiB writes: with iperf3's default 128 KiB, -b sends a 90-packet burst
# every 50 ms, which overflows wireguard-go 0.0.20220316's default socket
# buffer and drops pings along with it whoever the sender is (wireguard-go to
# wireguard-go loses as much: measured with MG_IMPL_A=wggo).
mg_bg "$MG_TMP/iperf.log" ip netns exec "$(mg_ns_name a)" \
	iperf3 -c "${MG_N_IN4[w]}" -p 5201 -t "$DURATION" -b 20M -l 16K -i 1 --forceflush
IPERF_PID=$MG_BG_PID

mg_wait_for $((DURATION + 20)) mg_not_alive "$PING_PID" || mg_fail "ping did not end"
mg_wait_for 20 mg_not_alive "$IPERF_PID" || mg_fail "iperf3 did not end"
T2=$(latest_handshake)
mg_say "latest handshake now at $T2 ($((T2 - T1)) s after the first)"

mg_check "at most one ping lost over ${DURATION}s" ping_loss_ok "$MG_TMP/ping.log"
mg_check "the TCP stream never stalled for a second" stream_ok "$MG_TMP/iperf.log"
mg_check "wireguard-go's latest-handshakes advanced" [ "$T2" -gt "$T1" ]
N=$(initiator_handshakes)
echo "    $IMPL_A: $N distinct handshakes"
if [ "$IMPL_A" = meshguard ]; then
	grep 'handshake completed' "${MG_N_LOG[m]}" | sed 's/^/    /'
fi
mg_check "$IMPL_A completed a second handshake with a new keypair" [ "$N" -ge 2 ]
mg_check "node m ($IMPL_A) stops cleanly on SIGTERM" mg_node_stop m
mg_check "node w (wggo) stops cleanly on SIGTERM" mg_node_stop w
mg_finish
