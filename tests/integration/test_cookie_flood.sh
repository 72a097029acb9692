#!/usr/bin/env bash
# Cookie replies under load. wireguard-go (node w, namespace b) is flooded from
# a third namespace (c) with handshake initiations that carry a correct mac1
# but random contents (tests/tools/mg_flood.c), fast enough that its handshake
# queue passes 128 entries and it goes "under load". While the flood runs,
# meshguard (node m, namespace a) initiates: its first initiation (no mac2)
# must be answered with a cookie reply, which meshguard must accept, and its
# retry, now with a mac2 and sent at once (not after REKEY_TIMEOUT), must
# complete the handshake while the flood still runs; ping then works both
# ways.
#
# wireguard-go 0.0.20220316 on 2 cores here: 10000 initiations/s keep it out
# of load, 15000/s put it under load part of the time, 20000/s and more
# keep it there. FLOOD_RATE (default 40000/s) and FLOOD_SECONDS (20) tune it.
# MG_IMPL_A=wggo runs wireguard-go as the client too (harness check).

. "$(dirname "$0")/lib.sh"

IMPL_A=${MG_IMPL_A:-meshguard}
FLOOD_RATE=${FLOOD_RATE:-40000}
FLOOD_SECONDS=${FLOOD_SECONDS:-20}
FLOOD_SRC=198.51.100.1
FLOOD_DST=198.51.100.2
PORT_W=51821

mg_need_tool mg_flood

counter_positive() {
	[ "$(mg_counter "$1" "$2")" -gt 0 ]
}

cookie_accepted() {
	case $IMPL_A in
	meshguard) grep -q 'cookie reply accepted' "${MG_N_LOG[m]}" ;;
	wggo)
		grep -q 'Receiving cookie response' "${MG_N_LOG[m]}" &&
			! grep -q 'Could not decrypt invalid cookie response' "${MG_N_LOG[m]}"
		;;
	esac
}

mg_topo_pair
mg_ns_new c
mg_veth c vc b uc
mg_addr c vc "$FLOOD_SRC/24"
mg_addr b uc "$FLOOD_DST/24"
mg_wait_for 10 mg_ping_quiet c "$FLOOD_DST" || mg_die "underlay c -> b does not work"
mg_counters_add a
mg_counters_add b
mg_counters_add c

# The server logs only errors: the flood would make a verbose log huge.
mg_node w b wggo "$PORT_W" "$MG_IN4_B" "$MG_IN6_B"
MG_N_WGLOG[w]=error
mg_node m a "$IMPL_A" 51820 "$MG_IN4_A" "$MG_IN6_A"
mg_node_peer w m -
mg_node_peer m w "$(mg_endpoint "$MG_U4_B" "$PORT_W")"
mg_node_start w
mg_node_start m

mg_say "flooding $FLOOD_DST:$PORT_W from $FLOOD_SRC at $FLOOD_RATE/s for ${FLOOD_SECONDS}s"
mg_bg "$MG_TMP/flood.log" ip netns exec "$(mg_ns_name c)" "$MG_BUILD/mg_flood" \
	--target "$FLOOD_DST:$PORT_W" --pubkey "${MG_N_PUB[w]}" --seconds "$FLOOD_SECONDS" \
	--rate "$FLOOD_RATE" --sockets 32
FLOOD_PID=$MG_BG_PID
if mg_wait_for 10 counter_positive b cookie_out; then
	mg_pass "wireguard-go is under load: it sends cookie replies to the flood"
else
	mg_die "wireguard-go is not under load after 10 s of flood at $FLOOD_RATE/s"
fi

mg_say "m pings w through the tunnel while the flood runs"
PING_T0=$(date +%s%N)
mg_check "ping m -> w ${MG_N_IN4[w]} during the flood" mg_ping m "${MG_N_IN4[w]}" 3
PING_MS=$((($(date +%s%N) - PING_T0) / 1000000))
# Information only (speed is bench/'s): that the retry goes out at once is
# test_cookie's, on the fake clock.
echo "    handshake and 3 pings took ${PING_MS} ms"
if mg_alive "$FLOOD_PID"; then
	mg_pass "the handshake completed while the flood was still running"
else
	mg_fail "the flood had ended before the handshake completed"
fi
echo "    a: initiations sent $(mg_counter a init_out), with mac2 $(mg_counter a init_mac2_out), cookie replies received $(mg_counter a cookie_in), responses received $(mg_counter a resp_in)"
mg_check "a cookie reply (type 3, 64 bytes) reached namespace a" counter_positive a cookie_in
mg_check "$IMPL_A accepted the cookie reply" cookie_accepted
mg_check "$IMPL_A sent an initiation with a mac2" counter_positive a init_mac2_out
mg_check "wireguard-go answered with a handshake response" counter_positive a resp_in
if [ "$IMPL_A" = meshguard ]; then
	mg_check "meshguard logged 'handshake completed'" grep -q 'handshake completed' "${MG_N_LOG[m]}"
fi

mg_wait_for $((FLOOD_SECONDS + 10)) mg_not_alive "$FLOOD_PID" || mg_fail "mg_flood did not stop"
sed 's/^/    /' "$MG_TMP/flood.log"
echo "    b: initiations received $(mg_counter b init_in), cookie replies sent $(mg_counter b cookie_out)"
mg_check "the flooder received cookie replies" counter_positive c cookie_in
mg_ping_all "after the flood" m w
mg_check "node m ($IMPL_A) stops cleanly on SIGTERM" mg_node_stop m
mg_check "node w (wggo) stops cleanly on SIGTERM" mg_node_stop w
mg_finish
