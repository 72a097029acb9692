#!/usr/bin/env bash
# A meshguard responder under a handshake flood (issue 13, "What it must
# show" 1). Node m (meshguard, namespace a) is flooded from namespace c with
# handshake initiations that carry a correct mac1 but random contents
# (tests/tools/mg_flood.c), at FLOOD_RATE (default 30000/s, at least the
# issue's 20,000) for FLOOD_SECONDS (20). While the flood runs:
#   - node p (meshguard, namespace b) sends MG_FLOOD_MB (30) MiB of random
#     data over TCP to m through their tunnel, established before the flood:
#     it must arrive whole (sha256);
#   - node q (meshguard, namespace d), a peer m has never talked to, pings
#     m: its handshake must complete (m answers its first initiation with a
#     cookie reply, q retries at once with a mac2) while the flood still
#     runs;
#   - m must answer the flood with cookie replies rather than Diffie-Hellman:
#     the flooder receives cookie replies, and of the flood's initiations m
#     handled (its exit stats: "cookies sent" and "handshake failed", a
#     Diffie-Hellman done on a forged initiation) at most MAX_DH_SHARE (5)
#     percent cost a Diffie-Hellman. Load is decided by the share of time
#     handshakes take (device.h), so the first ~100 ms of the flood are
#     consumed (about 0.5% of it here); after that, turned-away messages
#     keep the load on;
#   - m's resident memory stays bounded: VmRSS after the flood at most
#     RSS_GROWTH_MIB (16) MiB above before it, and VmHWM no more than that
#     above the RSS before it. meshguard allocates nothing per handshake
#     message; the margin covers the transfer's buffers and allocator noise.
# The whole test takes about 25 s. It needs an optimised build (CI's
# RelWithDebInfo): at -O0 meshguard answers about 15,000 initiations a second
# here, its socket's receive queue overflows, and q's initiations are lost
# with the flood's.

. "$(dirname "$0")/lib.sh"

FLOOD_RATE=${FLOOD_RATE:-30000}
FLOOD_SECONDS=${FLOOD_SECONDS:-20}
DATA_MB=${MG_FLOOD_MB:-30}
MAX_DH_SHARE=5
RSS_GROWTH_MIB=16
FLOOD_SRC=198.51.100.1
FLOOD_DST=198.51.100.2
U4_Q=203.0.113.1
U4_M_Q=203.0.113.2
IN4_Q=10.77.0.3
IN6_Q=fd6d:6700::3
PORT_M=51820
XFER_PORT=5001

mg_need_tool mg_flood

counter_positive() {
	[ "$(mg_counter "$1" "$2")" -gt 0 ]
}

# rss_kib PID FIELD: VmRSS or VmHWM of PID, in KiB.
rss_kib() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# The underlay: a <-> b (the transfer), c -> a (the flood), d -> a (the new
# peer), each its own link.
mg_topo_pair
mg_ns_new c
mg_ns_new d
mg_veth c vc a uc
mg_addr c vc "$FLOOD_SRC/24"
mg_addr a uc "$FLOOD_DST/24"
mg_veth d vd a ud
mg_addr d vd "$U4_Q/24"
mg_addr a ud "$U4_M_Q/24"
mg_wait_for 10 mg_ping_quiet c "$FLOOD_DST" || mg_die "underlay c -> a does not work"
mg_wait_for 10 mg_ping_quiet d "$U4_M_Q" || mg_die "underlay d -> a does not work"
for ns in a b c d; do
	mg_counters_add "$ns"
done

mg_node m a meshguard "$PORT_M" "$MG_IN4_A" "$MG_IN6_A"
mg_node p b meshguard 51821 "$MG_IN4_B" "$MG_IN6_B"
mg_node q d meshguard 51822 "$IN4_Q" "$IN6_Q"
mg_node_peer m p -
mg_node_peer m q -
mg_node_peer p m "$(mg_endpoint "$MG_U4_A" "$PORT_M")"
mg_node_peer q m "$(mg_endpoint "$U4_M_Q" "$PORT_M")"
mg_node_start m
mg_node_start p
mg_node_start q
# The process that reads the network is the one the flood reaches.
M_PID=$(mg_net_side "${MG_N_PID[m]}")

mg_check "the tunnel p -> m works before the flood" mg_ping p "${MG_N_IN4[m]}" 3
mg_data "$DATA_MB"
RSS0=$(rss_kib "$M_PID" VmRSS)
echo "    m: VmRSS before the flood ${RSS0} KiB"

mg_say "flooding $FLOOD_DST:$PORT_M from $FLOOD_SRC at $FLOOD_RATE/s for ${FLOOD_SECONDS}s"
mg_bg "$MG_TMP/flood.log" ip netns exec "$(mg_ns_name c)" "$MG_BUILD/mg_flood" \
	--target "$FLOOD_DST:$PORT_M" --pubkey "${MG_N_PUB[m]}" --seconds "$FLOOD_SECONDS" \
	--rate "$FLOOD_RATE" --sockets 32
FLOOD_PID=$MG_BG_PID
# Counted where they arrive: m sends its cookie replies in UDP GSO batches,
# which its own namespace's output hook sees as one datagram each.
if mg_wait_for 10 counter_positive c cookie_in; then
	mg_pass "m is under load: it answers the flood with cookie replies"
else
	mg_die "m sent no cookie reply after 10 s of flood at $FLOOD_RATE/s"
fi

mg_say "p sends $DATA_MB MiB over TCP to m through the tunnel; q makes a new handshake with m"
mg_xfer_start b a "${MG_N_IN4[m]}" "$XFER_PORT"
sleep 1
T0=$(mg_now)
mg_check "q (new peer) pings m through the tunnel during the flood" mg_ping q "${MG_N_IN4[m]}" 1
echo "    q's handshake and first ping took $(awk -v a="$T0" -v b="$(mg_now)" 'BEGIN { printf "%.2f", b - a }') s"
mg_check "q logged 'handshake completed'" grep -q 'handshake completed' "${MG_N_LOG[q]}"
mg_check "q received a cookie reply from m and accepted it" \
	grep -q 'cookie reply accepted' "${MG_N_LOG[q]}"
if mg_alive "$FLOOD_PID"; then
	mg_pass "q's handshake completed while the flood was still running"
else
	mg_fail "the flood had ended before q's handshake completed"
fi

mg_check "the $DATA_MB MiB TCP transfer p -> m completes and matches (sha256)" mg_xfer_finish 60
if mg_alive "$FLOOD_PID"; then
	mg_pass "the transfer completed while the flood was still running"
else
	mg_fail "the flood had ended before the transfer completed"
fi

RSS_FLOOD=$(rss_kib "$M_PID" VmRSS)
mg_wait_for $((FLOOD_SECONDS + 10)) mg_not_alive "$FLOOD_PID" || mg_fail "mg_flood did not stop"
sed 's/^/    /' "$MG_TMP/flood.log"
RSS1=$(rss_kib "$M_PID" VmRSS)
HWM=$(rss_kib "$M_PID" VmHWM)
echo "    m: VmRSS before ${RSS0} KiB, during ${RSS_FLOOD} KiB, after ${RSS1} KiB; VmHWM ${HWM} KiB"
mg_check "m's VmRSS after the flood is within ${RSS_GROWTH_MIB} MiB of before" \
	test "$RSS1" -le $((RSS0 + RSS_GROWTH_MIB * 1024))
mg_check "m's VmHWM is within ${RSS_GROWTH_MIB} MiB of its VmRSS before the flood" \
	test "$HWM" -le $((RSS0 + RSS_GROWTH_MIB * 1024))
mg_check "the flooder received cookie replies" counter_positive c cookie_in

mg_ping_all "after the flood" p m
mg_ping_all "after the flood" q m

FLOOD_IN=$(mg_counter a init_in)
mg_check "node m stops cleanly on SIGTERM" mg_node_stop m
COOKIES=$(mg_log_stat "${MG_N_LOG[m]}" 'cookies sent')
DH_FAILED=$(mg_log_stat "${MG_N_LOG[m]}" 'handshake failed')
echo "    a: initiations received $FLOOD_IN (nft); m: $(grep 'stats: tun' "${MG_N_LOG[m]}" | tail -n 1 | grep -o 'udp receive queue [0-9]*') dropped"
echo "    m: cookies sent ${COOKIES:-?}, handshake failed (Diffie-Hellman on a forged initiation) ${DH_FAILED:-?}"
dh_share_ok() {
	[ -n "$COOKIES" ] && [ -n "$DH_FAILED" ] && [ "$COOKIES" -gt 0 ] &&
		[ $((100 * DH_FAILED)) -le $((MAX_DH_SHARE * (COOKIES + DH_FAILED))) ]
}
mg_check "m answered the flood with cookies: at most $MAX_DH_SHARE% of it cost a Diffie-Hellman" \
	dh_share_ok
mg_check "node p stops cleanly on SIGTERM" mg_node_stop p
mg_check "node q stops cleanly on SIGTERM" mg_node_stop q
mg_finish
