#!/usr/bin/env bash
# meshguard (node m, namespace a) against wireguard-go (node w, namespace b),
# joined by one veth. Four cases, each with freshly started daemons:
#   underlay IPv4 / IPv6  x  meshguard initiates / wireguard-go initiates.
# The side that sends first is the initiator (checked by counting type-1
# messages each namespace sends). Each case pings both ways over the inner
# IPv4 and IPv6 addresses and moves 50 MiB over TCP from the initiator to the
# responder (inner family = underlay family), comparing sha256. The IPv6 cases
# use a preshared key. In case 1 meshguard roams mid-transfer to a new
# underlay address; wg show on the wireguard-go side must show it within 20 s
# (wireguard-go 0.0.20220316 itself, as the roaming side with MG_IMPL_A=wggo,
# keeps sending from the deleted address until its 15 s handshake retry).
#
# MG_IMPL_A=wggo runs wireguard-go in place of meshguard (harness check).

. "$(dirname "$0")/lib.sh"

IMPL_A=${MG_IMPL_A:-meshguard}
PORT_M=51820
PORT_W=51821
ROAM_U4=192.0.2.11

mg_data 50

check_keys() {
	local k
	k=$("$MESHGUARD" genkey) || return 1
	[ "$("$MESHGUARD" pubkey <<<"$k")" = "$(wg pubkey <<<"$k")" ] || return 1
	[ "$("$MESHGUARD" pubkey <"$MG_TMP/node-m.key")" = "${MG_N_PUB[m]}" ]
}

endpoint_is() {
	mg_wg_show w endpoints | grep -qF "$1"
}

xfer_passed() {
	[ "$(mg_xfer_received)" -ge "$1" ]
}

# Move node m's IPv4 underlay address while the transfer runs; a's egress is
# shaped so that 50 MiB take several seconds.
roam_during_transfer() {
	local tag=$1 new t0
	new=$(mg_endpoint "$ROAM_U4" "$PORT_M")
	mg_wait_for 60 xfer_passed $((10 * 1024 * 1024)) || {
		mg_fail "$tag: transfer did not reach 10 MiB before roaming"
		return
	}
	mg_say "roaming: $MG_U4_A -> $ROAM_U4 on a/ua at $(mg_xfer_received) bytes"
	mg_in a sysctl -qw net.ipv4.conf.ua.promote_secondaries=1
	mg_addr a ua "$ROAM_U4/24"
	ip -n "$(mg_ns_name a)" addr del "$MG_U4_A/24" dev ua
	t0=$(mg_now)
	if mg_wait_for 20 endpoint_is "$new"; then
		mg_pass "$tag: wg show on wireguard-go side shows new endpoint $new after $(awk -v a="$t0" -v b="$(mg_now)" 'BEGIN { printf "%.1f", b - a }') s"
	else
		mg_fail "$tag: wireguard-go endpoint is '$(mg_wg_show w endpoints)', expected $new"
	fi
}

run_case() {
	local n=$1 fam=$2 first=$3 roam=$4 tag ua ub dst psk=- second
	tag="case $n (underlay IPv$fam, $first initiates)"
	mg_say "==== $tag${roam:+, meshguard roams}"
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
	mg_node m a "$IMPL_A" "$PORT_M" "$MG_IN4_A" "$MG_IN6_A"
	mg_node w b wggo "$PORT_W" "$MG_IN4_B" "$MG_IN6_B"
	mg_node_peer m w "$(mg_endpoint "$ub" "$PORT_W")" - "$psk"
	mg_node_peer w m "$(mg_endpoint "$ua" "$PORT_M")" - "$psk"
	mg_node_start m
	mg_node_start w
	if [ "$first" = m ]; then second=w; else second=m; fi

	mg_ping_all "$tag" "$first" "$second"
	mg_check "$tag: $first is the only initiator" mg_initiator_is "$first" "$second"
	mg_check "$tag: wg show on wireguard-go side has a handshake" \
		mg_wait_for 5 eval '[ "$(mg_wg_show w latest-handshakes | cut -f2)" -gt 0 ]'
	if [ "$IMPL_A" = meshguard ]; then
		mg_check "$tag: meshguard logged 'handshake completed'" \
			grep -q 'handshake completed' "${MG_N_LOG[m]}"
	fi

	if [ "$fam" = 4 ]; then dst=${MG_N_IN4[$second]}; else dst=${MG_N_IN6[$second]}; fi
	[ -n "$roam" ] && mg_in a tc qdisc add dev ua root tbf rate 80mbit burst 64kb latency 400ms
	mg_say "transfer 50 MiB $first -> $second ($dst)"
	mg_xfer_start "${MG_N_NS[$first]}" "${MG_N_NS[$second]}" "$dst" 5001
	[ -n "$roam" ] && roam_during_transfer "$tag"
	mg_check "$tag: 50 MiB TCP $first -> $second, sha256 matches" mg_xfer_finish 120
	if [ -n "$roam" ]; then
		mg_in a tc qdisc del dev ua root
		mg_ping_all "$tag after roaming" "$first" "$second"
	fi

	mg_check "$tag: node m ($IMPL_A) stops cleanly on SIGTERM" mg_node_stop m
	mg_check "$tag: node w (wggo) stops cleanly on SIGTERM" mg_node_stop w
}

if [ "$IMPL_A" = meshguard ]; then
	mg_node m a meshguard "$PORT_M" "$MG_IN4_A" "$MG_IN6_A"
	mg_check "meshguard genkey/pubkey agree with wg pubkey" check_keys
fi
run_case 1 4 m roam
run_case 2 4 w ""
run_case 3 6 m ""
run_case 4 6 w ""
mg_finish
