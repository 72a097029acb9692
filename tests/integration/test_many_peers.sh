#!/usr/bin/env bash
# One meshguard interface with 256 peers.
#
# Hub node h (meshguard up -c) in namespace h, with a bridge br0
# (198.51.100.1/24) to which 16 peer namespaces n0..nf are attached by one
# veth each (198.51.100.11..26). Each of those runs its own meshguard
# (up -c) with the hub as its only peer. The hub's file has 256 [Peer]s: the
# 16 real ones, and 240 dummies with generated keys, allowed-ips inside
# 10.81.0.0/16 and fd81::/64 and endpoints in 203.0.113.0/24 (no route
# there: unreachable). Daemons start in parallel.
# Through each of the 16 tunnels, in parallel: the hub pings the peer, then
# sends it 256 KiB over TCP whose sha256 must match. Then `wg show` on the
# hub must list 256 peers with every dummy's prefixes, and handshakes and
# transfer with exactly the 16 real peers; each real peer must show its
# handshake with the hub. All daemons must stop cleanly.

. "$(dirname "$0")/lib.sh"
mg_strict

PEERS="0 1 2 3 4 5 6 7 8 9 a b c d e f"
N_DUMMY=240
PORT=51820
HUB_U4=198.51.100.1
XFER_KB=256

idx() { printf '%d' "0x$1"; } # node name -> 0..15

# ---- underlay ----
mg_say "underlay: hub bridge and 16 peer namespaces"
mg_ns_new h
ip -n "$(mg_ns_name h)" link add br0 type bridge
ip -n "$(mg_ns_name h)" link set br0 up
mg_addr h br0 "$HUB_U4/24"
for c in $PEERS; do
	i=$(idx "$c")
	mg_ns_new "n$c"
	mg_veth h "hv$c" "n$c" u0
	ip -n "$(mg_ns_name h)" link set "hv$c" master br0
	mg_addr "n$c" u0 "198.51.100.$((11 + i))/24"
done
for c in $PEERS; do
	mg_wait_for 10 mg_ping_quiet "n$c" "$HUB_U4" || mg_die "underlay n$c -> hub"
done

# ---- nodes and keys ----
mg_node h h meshguard "$PORT" 10.80.0.1 fd80::1
for c in $PEERS; do
	i=$(idx "$c")
	mg_node "$c" "n$c" meshguard "$PORT" "10.80.0.$((11 + i))" "fd80::$((11 + i))"
	mg_node_peer "$c" h "$HUB_U4:$PORT"
	mg_node_peer h "$c" "198.51.100.$((11 + i)):$PORT"
done
mg_say "generating $N_DUMMY dummy peer keys"
DUMMY_PUBS=$MG_TMP/dummy.pubs
for ((d = 0; d < N_DUMMY; d++)); do
	wg genkey | wg pubkey
done >"$DUMMY_PUBS"
[ "$(sort -u "$DUMMY_PUBS" | wc -l)" = "$N_DUMMY" ] || mg_die "dummy keys are not unique"

# The hub's file: the 16 real peers, then the dummies.
hub_conf() {
	local d=0 pub
	mg_node_conf h
	while read -r pub; do
		printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.81.%d.0/24, fd81::%x/128\nEndpoint = 203.0.113.%d:%d\n' \
			"$pub" "$d" "$((d + 1))" "$((d % 250 + 1))" "$((40000 + d))"
		d=$((d + 1))
	done <"$DUMMY_PUBS"
}

# ---- start everything in parallel ----
start_node() {
	local node=$1
	mg_node_name "$node"
	if [ "$node" = h ]; then
		local conf="$MG_TMP/${MG_N_IF[h]}.conf"
		(umask 077 && hub_conf >"$conf")
		mg_bg "${MG_N_LOG[h]}" ip netns exec "$(mg_ns_name h)" "$MESHGUARD" up $MG_UP_SANDBOX -c "$conf"
		MG_N_PID[h]=$MG_BG_PID
	else
		mg_start_meshguard "$node"
	fi
}

T_START=$(mg_now)
for node in h $PEERS; do start_node "$node"; done
for node in h $PEERS; do
	mg_wait_for 15 mg_node_ready "$node" ||
		mg_die "node $node did not come up as ${MG_N_IF[$node]} (log: $(tail -n 3 "${MG_N_LOG[$node]}"))"
done
mg_say "17 daemons up in $(awk -v a="$T_START" -v b="$(mg_now)" 'BEGIN { printf "%.1f", b - a }') s (hub ${MG_N_IF[h]})"
HUB_PEERS_CONF=$(grep -c '^\[Peer\]' "$MG_TMP/${MG_N_IF[h]}.conf")
mg_check "hub configuration file has 256 peers ($HUB_PEERS_CONF)" [ "$HUB_PEERS_CONF" = 256 ]

# ---- traffic: pings, in parallel ----
mg_say "ping each of the 16 peers from the hub (in parallel)"
declare -A JOB
for c in $PEERS; do
	mg_in h ping -n -c 3 -i 0.2 -w 20 "${MG_N_IN4[$c]}" >"$MG_TMP/ping-$c.out" 2>&1 &
	JOB[$c]=$!
done
ok=0
for c in $PEERS; do
	rc=0
	wait "${JOB[$c]}" || rc=$?
	if [ "$rc" = 0 ]; then
		ok=$((ok + 1))
	else
		echo "    ping ${MG_N_IN4[$c]} (peer $c) failed:"
		sed 's/^/      /' "$MG_TMP/ping-$c.out"
	fi
done
mg_check "pings from the hub answered by all 16 peers ($ok of 16)" [ "$ok" = 16 ]

# ---- traffic: TCP with checksum, in parallel ----
mg_say "send $XFER_KB KiB over TCP to each of the 16 peers (in parallel)"
DATA=$MG_TMP/xfer.bin
head -c "$((XFER_KB * 1024))" /dev/urandom >"$DATA"
DATA_SHA=$(sha256sum "$DATA" | cut -d' ' -f1)
declare -A RECV SEND
for c in $PEERS; do
	mg_bg "$MG_TMP/recv-$c.log" ip netns exec "$(mg_ns_name "n$c")" \
		socat -u "TCP4-LISTEN:5001,bind=${MG_N_IN4[$c]},reuseaddr" "OPEN:$MG_TMP/recv-$c.bin,creat,trunc"
	RECV[$c]=$MG_BG_PID
done
for c in $PEERS; do
	mg_wait_for 10 mg_tcp_listening "n$c" 5001 || mg_die "socat in n$c does not listen"
done
for c in $PEERS; do
	mg_bg "$MG_TMP/send-$c.log" ip netns exec "$(mg_ns_name h)" \
		socat -u "OPEN:$DATA" "TCP4:${MG_N_IN4[$c]}:5001,connect-timeout=10"
	SEND[$c]=$MG_BG_PID
done
ok=0
for c in $PEERS; do
	mg_wait_for 30 mg_not_alive "${RECV[$c]}" || true
	mg_stop_pid "${SEND[$c]}" 1 || true
	mg_stop_pid "${RECV[$c]}" 1 || true
	sha=$(sha256sum "$MG_TMP/recv-$c.bin" 2>/dev/null | cut -d' ' -f1 || true)
	if [ "$sha" = "$DATA_SHA" ]; then
		ok=$((ok + 1))
	else
		echo "    peer $c: received $(stat -c %s "$MG_TMP/recv-$c.bin" 2>/dev/null || echo 0) bytes, sha256 ${sha:-none}"
		sed 's/^/      send: /' "$MG_TMP/send-$c.log"
	fi
done
mg_check "$XFER_KB KiB TCP to each of the 16 peers, sha256 matches ($ok of 16)" [ "$ok" = 16 ]

# ---- wg show on the hub ----
hub_wg() { mg_in h wg show "${MG_N_IF[h]}" "$@"; }
REAL_PUBS=$MG_TMP/real.pubs
for c in $PEERS; do echo "${MG_N_PUB[$c]}"; done | sort >"$REAL_PUBS"
hub_wg dump >"$MG_TMP/hub.dump"
n_peers=$(hub_wg peers | wc -l)
mg_check "wg show lists 256 peers ($n_peers)" [ "$n_peers" = 256 ]
mg_check "wg show peers = the 16 real and the 240 dummy keys" eval \
	'[ "$(hub_wg peers | sort)" = "$(sort "$REAL_PUBS" "$DUMMY_PUBS")" ]'
mg_check "wg show dump has the header and 256 peer lines" eval '[ "$(wc -l <"$MG_TMP/hub.dump")" = 257 ]'
n_prefixes=$(hub_wg allowed-ips | awk -F'\t' '{ n += split($2, a, " ") } END { print n }')
mg_check "allowed-ips: 2 per peer, 512 in all ($n_prefixes)" [ "$n_prefixes" = 512 ]
mg_check "dummy 239's prefixes read back (10.81.239.0/24, fd81::f0/128)" eval \
	'hub_wg allowed-ips | grep -qF "$(sed -n 240p "$DUMMY_PUBS")	10.81.239.0/24 fd81::f0/128"'
hs=$(awk -F'\t' 'NR > 1 && $5 != 0 { print $1 }' "$MG_TMP/hub.dump" | sort)
mg_check "handshakes with exactly the 16 real peers ($(wc -w <<<"$hs") peers have one)" \
	[ "$hs" = "$(cat "$REAL_PUBS")" ]
xfer=$(awk -F'\t' 'NR > 1 && ($6 != 0 || $7 != 0) { print $1 }' "$MG_TMP/hub.dump" | sort)
mg_check "transfer counted with exactly the 16 real peers ($(wc -w <<<"$xfer") peers)" \
	[ "$xfer" = "$(cat "$REAL_PUBS")" ]
mg_check "every real peer received at least $XFER_KB KiB on the hub's counters" eval \
	'[ "$(awk -F"\t" -v min=$((XFER_KB * 1024)) "NR > 1 && \$7 >= min" "$MG_TMP/hub.dump" | wc -l)" = 16 ]'
bad=""
for c in $PEERS; do
	t=$(mg_in "n$c" wg show "${MG_N_IF[$c]}" latest-handshakes 2>/dev/null | cut -f2 || true)
	[ "${t:-0}" -gt 0 ] || bad+=" $c"
done
mg_check "each real peer's wg show has a handshake with the hub${bad:+ (not:$bad)}" [ -z "$bad" ]

for node in $PEERS h; do
	mg_check "node $node stops cleanly" mg_node_stop "$node"
done
mg_finish
