#!/usr/bin/env bash
# The STUN responder is no amplifier (issue 13, test 3). meshguard (node m,
# namespace a, port 51820, no peers) is flooded from namespace b, from one
# address and from 200 addresses on b's interface (tests/tools/
# mg_stun_flood.c); nftables counters in b count what comes from its port:
#  - one source gets its burst and then its per-source rate (20/s);
#  - 200 sources at 12,000 requests/s, each within its own budget, get
#    together no more than the global bucket: its burst (1000) and 1000/s;
#  - other STUN messages (indications, responses, TURN Allocate, Binding
#    requests with an unknown comprehension-required attribute, a wrong
#    FINGERPRINT, an attribute overrunning the message) get nothing at all,
#    errors least of all;
#  - with `up --no-stun-responder`, Binding requests get nothing either.
# About 15 s.

. "$(dirname "$0")/lib.sh"

PORT=51820
SRC_BASE=198.18.0.1
SOURCES=200
GLOBAL_RATE=1000 # MG_STUN_SERVER_RATE
GLOBAL_BURST=1000
SOURCE_RATE=20 # MG_RATELIMITER_PER_SECOND
SOURCE_BURST=5

mg_need_tool mg_stun_flood

# Counters in b, where the flood comes from: STUN success and error
# responses, and every datagram, from the node's port. Counted as they
# arrive: a's veth segments UDP GSO batches, so each datagram counts once
# (in a's output hook a batch of answers to one source would count once).
counters_add() {
	mg_in b nft -f - <<-EOF || mg_die "nft counters in b"
		table inet mgstun {
			counter answers { }
			counter errors { }
			counter from_port { }
			chain in {
				type filter hook prerouting priority raw; policy accept;
				udp sport $PORT counter name from_port
				udp sport $PORT @th,64,16 0x0101 @th,96,32 0x2112a442 counter name answers
				udp sport $PORT @th,64,16 0x0111 @th,96,32 0x2112a442 counter name errors
			}
		}
	EOF
}

count() {
	mg_in b nft list counter inet mgstun "$1" |
		awk '$1 == "packets" { print $2; found = 1 } END { if (!found) print 0 }'
}

# flood LOG ARGS...: runs mg_stun_flood in b against m; its summary line is
# in LOG, and FLOOD_* hold its numbers.
flood() {
	local log=$1 line
	shift
	mg_in b "$MG_BUILD/mg_stun_flood" --target "$MG_U4_A:$PORT" "$@" >"$log" 2>&1 ||
		mg_die "mg_stun_flood failed: $(cat "$log")"
	line=$(cat "$log")
	echo "    $line"
	read -r FLOOD_SENT FLOOD_TOOK FLOOD_SUCCESS FLOOD_ERROR FLOOD_OTHER FLOOD_LARGEST < <(
		awk '{ print $2, $4, $11, $13, $15 + 0, $17 }' <<<"$line")
}

le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
ge() { le "$2" "$1"; }

# The tool received answers, none larger than an IPv4 answer with
# FINGERPRINT.
answers_small() {
	[ "$FLOOD_SUCCESS" -ge 1 ] && [ "$FLOOD_LARGEST" -le 40 ]
}

no_errors() {
	[ "$(count errors)" -eq 0 ] && [ "$FLOOD_ERROR" -eq 0 ]
}

# stun_stat LOG NAME: a number from the stopped daemon's "stats: stun
# responder" line ("global limit", "unknown attribute", "off", ...).
stun_stat() {
	grep -o "stats: stun responder.*" "$1" | grep -o "$2 [0-9]*" | awk '{ print $NF }'
}

# stun_stat_positive LOG NAME...: each counter is above zero.
stun_stat_positive() {
	local log=$1 name v
	shift
	for name in "$@"; do
		v=$(stun_stat "$log" "$name")
		echo "    ${log##*/}: $name ${v:-?}"
		[ "${v:-0}" -gt 0 ] || return 1
	done
}

# silent_since N: nothing came from the node's port since the counter was
# N, and the tool received nothing.
silent_since() {
	[ "$(count from_port)" -eq "$1" ] &&
		[ $((FLOOD_SUCCESS + FLOOD_ERROR + FLOOD_OTHER)) -eq 0 ]
}

start_responder_off() {
	local conf
	mg_node_name m
	conf="$MG_TMP/${MG_N_IF[m]}.conf"
	(umask 077 && mg_node_conf m >"$conf")
	mg_bg "${MG_N_LOG[m]}" ip netns exec "$(mg_ns_name a)" "$MESHGUARD" up $MG_UP_SANDBOX -c "$conf" \
		--no-stun-responder
	MG_N_PID[m]=$MG_BG_PID
	mg_node_wait m 10
}

mg_topo_pair
{
	for i in $(seq 0 $((SOURCES - 1))); do
		echo "addr add 198.18.$((i / 250)).$((i % 250 + 1))/32 dev ub"
	done
} | ip -n "$(mg_ns_name b)" -batch - || mg_die "cannot add the source addresses to b"
mg_in a ip route add 198.18.0.0/16 via "$MG_U4_B" || mg_die "route to the sources in a"
mg_udp_gso_off a ua
counters_add

mg_node m a meshguard "$PORT" "$MG_IN4_A" "$MG_IN6_A"
mg_node_start m

mg_say "one source at 2000 requests/s for 2 s"
before=$(count answers)
flood "$MG_TMP/one.log" --from "$MG_U4_B" --rate 2000 --seconds 2
answered=$(($(count answers) - before))
max=$(awk -v t="$FLOOD_TOOK" -v r=$SOURCE_RATE -v b=$SOURCE_BURST \
	'BEGIN { printf "%d", b + r * (t + 0.6) + 1 }')
echo "    answers counted in b: $answered (per-source bound $max)"
mg_check "one source is answered" ge "$answered" 1
mg_check "one source gets no more than its burst and rate ($answered <= $max)" \
	le "$answered" "$max"
mg_check "the answers arrived, none larger than 40 bytes" answers_small

mg_say "$SOURCES sources at 12000 requests/s for 3 s"
before=$(count answers)
flood "$MG_TMP/many.log" --from "$SRC_BASE" --sources "$SOURCES" --rate 12000 --seconds 3
answered=$(($(count answers) - before))
max=$(awk -v t="$FLOOD_TOOK" -v r=$GLOBAL_RATE -v b=$GLOBAL_BURST \
	'BEGIN { printf "%d", b + r * (t + 0.6) }')
per_source=$(awk -v t="$FLOOD_TOOK" -v n=$SOURCES -v r=$SOURCE_RATE -v b=$SOURCE_BURST \
	'BEGIN { printf "%d", n * (b + r * t) }')
echo "    answers counted in b: $answered (global bound $max; per-source budgets" \
	"alone would allow $per_source)"
mg_check "the flood was larger than the global budget" le "$((2 * max))" "$FLOOD_SENT"
mg_check "the global rate holds ($answered <= $max)" le "$answered" "$max"
mg_check "the responder kept answering under the flood ($answered >= $GLOBAL_BURST)" \
	ge "$answered" "$GLOBAL_BURST"
mg_check "no error responses were sent" no_errors

mg_say "other STUN messages from $SOURCES sources, 2000/s for 1 s"
before=$(count from_port)
flood "$MG_TMP/others.log" --from "$SRC_BASE" --sources "$SOURCES" --rate 2000 --seconds 1 \
	--kind others
mg_check "nothing answers indications, responses, Allocate, unknown attributes or malformed requests" \
	silent_since "$before"
mg_check "no error responses were sent" no_errors

mg_check "node m stops cleanly on SIGTERM" mg_node_stop m
mg_check "its stats count drops by the global and source limits, unknown attributes, malformed requests and other messages" \
	stun_stat_positive "${MG_N_LOG[m]}" "global limit" "source limit" "unknown attribute" \
	"malformed" "not a request"
mg_say "restarting m with --no-stun-responder"
start_responder_off
before=$(count from_port)
flood "$MG_TMP/off.log" --from "$SRC_BASE" --sources "$SOURCES" --rate 2000 --seconds 1
mg_check "with the responder off nothing is answered" silent_since "$before"
mg_check "node m (responder off) stops cleanly on SIGTERM" mg_node_stop m
mg_check "its stats count the requests that came while off" \
	stun_stat_positive "${MG_N_LOG[m]}" "off"
mg_finish
