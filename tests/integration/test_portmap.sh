#!/usr/bin/env bash
# Port mapping against a real router: Debian's miniupnpd (nftables build) on
# a router namespace that masquerades a LAN to a "public" segment.
#
#   c (client)                r (router)                     p (public)
#   eth0 192.168.77.2 ---- lan0 192.168.77.1
#                             wan0 203.0.113.1 ---- pub0 203.0.113.2, .3
#                             miniupnpd                      coturn (STUN)
#
# miniupnpd refuses a documentation WAN address unless it learns by STUN
# (coturn on two addresses) that the router is full-cone, so it runs with
# ext_perform_stun (see natlab-facts.md). The driver is tests/tools/mg_portmap
# (the mg_portmap API); it binds UDP 51820 in c and keeps it mapped.
#
# For each protocol in turn (forced): a mapping is made; the router's own
# list shows it (nft chain prerouting_miniupnpd and UPnP's port mapping
# list); a datagram from the public segment to the external address:port
# reaches the driver's socket; miniupnpd restarts with its rules flushed (a
# router reboot) and the driver re-creates the mapping (the router lists it
# again, traffic flows again); a clean exit removes it. Once (NAT-PMP) the
# driver renews with the shortest lease the router grants (120 s) and the
# router's lease is seen refreshed. Then after SIGKILL the next start deletes
# the stale mapping from the state directory, for each protocol.
#
# The netcheck probe (mg_portmap_probe) runs first without, then with
# miniupnpd.
#
# MG_PORTMAP_PROTOS limits the protocols (default "natpmp pcp upnp");
# MG_PORTMAP_RENEW=0 skips the 60 s renewal wait.

. "$(dirname "$0")/lib.sh"

mg_require_cmds miniupnpd turnserver upnpc
mg_need_tool mg_portmap

PROTOS=${MG_PORTMAP_PROTOS:-natpmp pcp upnp}
LAN_C=192.168.77.2
LAN_R=192.168.77.1
WAN_R=203.0.113.1
STUN_A=203.0.113.2
STUN_B=203.0.113.3
PORT=51820
ROOT_URL="http://$LAN_R:5555/rootDesc.xml"
STATE="$MG_TMP/state"
DRIVER_PID=""
DRIVER_OUT=""
UPNPD_PID=""

topology() {
	mg_ns_new c
	mg_ns_new r
	mg_ns_new p
	mg_veth c eth0 r lan0
	mg_veth r wan0 p pub0
	mg_addr c eth0 "$LAN_C/24"
	mg_addr r lan0 "$LAN_R/24"
	mg_addr r wan0 "$WAN_R/24"
	mg_addr p pub0 "$STUN_A/24"
	mg_addr p pub0 "$STUN_B/24"
	mg_in c ip route add default via "$LAN_R"
	mg_in r sysctl -qw net.ipv4.ip_forward=1
	# A home router: LAN out, replies back, nothing unsolicited except what
	# miniupnpd opens in its chains (its STUN self-test included).
	mg_in r nft -f - <<-EOF || mg_die "router nftables"
		table inet filter {
			chain miniupnpd { }
			chain prerouting_miniupnpd { }
			chain postrouting_miniupnpd { }
			chain input {
				type filter hook input priority 0; policy accept;
				ct state established,related accept
				iifname "wan0" jump miniupnpd
				iifname "wan0" drop
			}
			chain forward {
				type filter hook forward priority 0; policy drop;
				ct state established,related accept
				iifname "lan0" oifname "wan0" accept
				iifname "wan0" jump miniupnpd
			}
			chain prerouting {
				type nat hook prerouting priority -100; policy accept;
				iifname "wan0" jump prerouting_miniupnpd
			}
			chain postrouting {
				type nat hook postrouting priority 100; policy accept;
				oifname "wan0" jump postrouting_miniupnpd
				oifname "wan0" masquerade
			}
		}
	EOF
	mg_wait_for 10 mg_ping_quiet c "$STUN_A" || mg_die "client cannot reach the public segment"
}

start_coturn() {
	mg_bg "$MG_TMP/coturn.log" ip netns exec "$(mg_ns_name p)" turnserver -n -S \
		-L "$STUN_A" -L "$STUN_B" -p 3478 --no-cli --no-tls --no-dtls \
		--pidfile "$MG_TMP/coturn.pid" --log-file stdout --simple-log
	mg_wait_for 10 stun_listening || mg_die "coturn did not listen on $STUN_A:3478"
}

stun_listening() {
	mg_in p ss -Hnul "sport = :3478" | grep -q "$STUN_B"
}

write_upnpd_conf() {
	cat >"$MG_TMP/miniupnpd.conf" <<-EOF
		ext_ifname=wan0
		listening_ip=lan0
		http_port=5555
		ipv6_disable=yes
		enable_natpmp=yes
		enable_upnp=yes
		secure_mode=yes
		system_uptime=no
		min_lifetime=120
		max_lifetime=86400
		uuid=$(cat /proc/sys/kernel/random/uuid)
		ext_perform_stun=yes
		ext_stun_host=$STUN_A
		ext_stun_port=3478
		allow 1024-65535 192.168.77.0/24 1024-65535
		deny 0-65535 0.0.0.0/0 0-65535
	EOF
}

upnpd_ready() {
	mg_alive "$UPNPD_PID" || return 2
	mg_tcp_listening r 5555 && mg_udp_bound r 5351
}

start_upnpd() {
	local n=${1:-1}
	mg_bg "$MG_TMP/miniupnpd-$n.log" ip netns exec "$(mg_ns_name r)" \
		miniupnpd -d -f "$MG_TMP/miniupnpd.conf" -P "$MG_TMP/miniupnpd.pid"
	UPNPD_PID=$MG_BG_PID
	MG_N_LOG[upnpd]="$MG_TMP/miniupnpd-$n.log"
	MG_N_IMPL[upnpd]=miniupnpd
	MG_N_IF[upnpd]=router
	mg_wait_for 20 upnpd_ready ||
		mg_die "miniupnpd did not start (log: $(tail -n 5 "$MG_TMP/miniupnpd-$n.log"))"
}

stop_upnpd() {
	mg_stop_pid "$UPNPD_PID" 5 || true
	UPNPD_PID=""
}

# A router reboot: miniupnpd's rules go with it.
flush_upnpd_rules() {
	local ch
	for ch in miniupnpd prerouting_miniupnpd postrouting_miniupnpd; do
		mg_in r nft flush chain inet filter "$ch"
	done
}

# ---- the router's own view ----

# nft_lists EXT_PORT: miniupnpd's DNAT rule for EXT_PORT -> client:PORT.
nft_lists() {
	mg_in r nft list chain inet filter prerouting_miniupnpd |
		grep -E "dport $1 dnat ip to $LAN_C:$PORT\$"
}

# upnp_lists EXT_PORT: UPnP's port mapping list (what `upnpc -l` shows).
upnp_lists() {
	mg_in c upnpc -u "$ROOT_URL" -l 2>/dev/null | grep -E "UDP +$1->$LAN_C:$PORT"
}

router_lists() {
	nft_lists "$1" >/dev/null && upnp_lists "$1" >/dev/null
}

router_forgot() {
	! nft_lists "$1" >/dev/null && ! upnp_lists "$1" >/dev/null
}

# The lease UPnP reports as remaining for EXT_PORT (last field of upnpc -l).
upnp_lease_left() {
	upnp_lists "$1" | awk '{ print $NF }' | head -n 1
}

# ---- the driver ----

start_driver() {
	local proto=$1 tag=$2
	shift 2
	local force=(--proto "$proto")
	[ "$proto" = all ] && force=()
	DRIVER_OUT="$MG_TMP/driver-$tag.out"
	mg_bg "$DRIVER_OUT" env LOG_LEVEL=verbose ip netns exec "$(mg_ns_name c)" \
		"$MG_BUILD/mg_portmap" "${force[@]}" --port "$PORT" --state "$STATE" \
		--lifetime 120 --check-ms 1000 --timeout-ms 3000 --retry-ms 2000 "$@"
	DRIVER_PID=$MG_BG_PID
	MG_N_LOG[driver]=$DRIVER_OUT
	MG_N_IMPL[driver]=mg_portmap
	MG_N_IF[driver]=$proto
}

# events KIND: how many "event KIND" lines the driver printed.
events() {
	grep -c "^event $1 " "$DRIVER_OUT" 2>/dev/null || true
}

have_events() {
	mg_alive "$DRIVER_PID" || return 2
	[ "$(events "$1")" -ge "$2" ]
}

# The external endpoint of the last mapped/renewed event.
external() {
	grep -E '^event (mapped|renewed) ' "$DRIVER_OUT" | tail -n 1 | awk '{ print $4 }'
}

got_datagram() {
	grep -q "^recv $STUN_B:[0-9]* $1\$" "$DRIVER_OUT"
}

# send_from_public TEXT ADDR:PORT: one datagram from 203.0.113.3.
send_from_public() {
	printf '%s' "$1" | mg_in p socat -u - "UDP4-SENDTO:$2,bind=$STUN_B" 2>/dev/null
}

reaches_driver() {
	local text=$1 ep=$2 i
	for i in 1 2 3 4 5; do
		send_from_public "$text" "$ep"
		if mg_wait_for 1 got_datagram "$text"; then
			return 0
		fi
	done
	return 1
}

stop_driver() {
	local rc=0
	mg_stop_pid "$DRIVER_PID" 10 || rc=$?
	DRIVER_PID=""
	grep -q '^closed$' "$DRIVER_OUT" || rc=1
	if grep -E -m 5 'Sanitizer|runtime error:' "$DRIVER_OUT"; then
		rc=1
	fi
	return "$rc"
}

journal_file() {
	printf '%s/portmap-%s' "$STATE" "$PORT"
}

# ---- the cases ----

map_and_check() {
	local proto=$1 tag=$2 ep port
	mg_wait_for 20 have_events mapped 1 ||
		{ mg_fail "$tag: no mapping"; return 1; }
	ep=$(external)
	port=${ep##*:}
	mg_say "$tag: mapped at $ep"
	mg_check "$tag: external address is the router's WAN address" [ "${ep%:*}" = "$WAN_R" ]
	mg_check "$tag: the router lists the mapping (nft and UPnP list)" \
		mg_wait_for 5 router_lists "$port"
	mg_check "$tag: the mapping is in the state directory" \
		grep -q "^$proto .* $PORT $WAN_R $port " "$(journal_file)"
	mg_check "$tag: a datagram from the public segment to $ep reaches the client" \
		reaches_driver "hello-$proto" "$ep"
	MAPPED_PORT=$port
}

renewal() {
	local proto=$1 tag=$2 before after
	mg_say "$tag: waiting for the renewal at half of the 120 s lease"
	sleep 50
	before=$(upnp_lease_left "$MAPPED_PORT")
	mg_say "$tag: router's lease 50 s after the mapping: ${before}s left"
	mg_check "$tag: no renewal before half the lease" [ "$(events renewed)" -eq 0 ]
	mg_check "$tag: renewed before the lease ran out" mg_wait_for 25 have_events renewed 1
	after=$(upnp_lease_left "$MAPPED_PORT")
	mg_say "$tag: router's lease after the renewal: ${after}s left"
	mg_check "$tag: the router's lease was extended by the renewal" \
		[ "${after:-0}" -gt 90 ]
	mg_check "$tag: still one mapping event (renewals are not re-creations)" \
		[ "$(events mapped)" -eq 1 ]
}

gateway_restart() {
	local proto=$1 tag=$2 ep
	# An epoch shows a restart only once the gateway has been up for more
	# than the 2 s that RFC 6886 3.6 and RFC 6887 8.5 allow for jitter.
	sleep 5
	mg_say "$tag: miniupnpd restarts and loses its rules"
	stop_upnpd
	flush_upnpd_rules
	mg_check "$tag: the router no longer lists the mapping" router_forgot "$MAPPED_PORT"
	start_upnpd 2
	mg_check "$tag: the driver re-creates the mapping after the restart" \
		mg_wait_for 30 have_events mapped 2
	ep=$(external)
	MAPPED_PORT=${ep##*:}
	mg_check "$tag: the router lists the re-created mapping" \
		mg_wait_for 5 router_lists "$MAPPED_PORT"
	mg_check "$tag: traffic reaches the client through the re-created mapping" \
		reaches_driver "again-$proto" "$ep"
}

clean_exit() {
	local tag=$1
	mg_check "$tag: the driver exits cleanly on SIGTERM" stop_driver
	mg_check "$tag: the mapping is removed on exit" mg_wait_for 5 router_forgot "$MAPPED_PORT"
	mg_check "$tag: the state directory holds no mapping" [ ! -e "$(journal_file)" ]
}

run_proto() {
	local proto=$1 tag="$1"
	mg_say "==== $proto"
	start_driver "$proto" "$proto"
	map_and_check "$proto" "$tag" || return
	if [ "$proto" = natpmp ] && [ "${MG_PORTMAP_RENEW:-1}" = 1 ]; then
		renewal "$proto" "$tag"
	fi
	gateway_restart "$proto" "$tag"
	clean_exit "$tag"
}

# After SIGKILL: the mapping stays at the router and in the state directory;
# the next start deletes it first (logged), and --cleanup (start and close at
# once) leaves nothing behind.
after_crash() {
	local proto=$1 tag="$1 after SIGKILL"
	mg_say "==== $tag"
	start_driver "$proto" "$proto-kill1"
	map_and_check "$proto" "$tag" || return
	kill -KILL "$DRIVER_PID"
	wait "$DRIVER_PID" 2>/dev/null
	mg_check "$tag: the stale mapping is still at the router" router_lists "$MAPPED_PORT"
	mg_check "$tag: and in the state directory" [ -e "$(journal_file)" ]

	start_driver "$proto" "$proto-kill2"
	mg_check "$tag: the next start deletes the stale mapping first" \
		mg_wait_for 15 grep -q "deleted the mapping of an earlier run" "$DRIVER_OUT"
	mg_check "$tag: and then maps again" mg_wait_for 20 have_events mapped 1
	kill -KILL "$DRIVER_PID"
	wait "$DRIVER_PID" 2>/dev/null
	MAPPED_PORT=$(external)
	MAPPED_PORT=${MAPPED_PORT##*:}

	start_driver "$proto" "$proto-cleanup" --cleanup
	mg_check "$tag: a start that maps nothing still removes the stale mapping" \
		mg_wait_for 15 grep -q '^closed$' "$DRIVER_OUT"
	mg_check "$tag: the router no longer lists it" mg_wait_for 5 router_forgot "$MAPPED_PORT"
	mg_check "$tag: the state directory is empty" [ ! -e "$(journal_file)" ]
	mg_check "$tag: no new mapping was made" [ "$(events mapped)" -eq 0 ]
	wait "$DRIVER_PID" 2>/dev/null
}

# The netcheck probe: with no port mapping service it says so for each
# protocol and ends on its own; with miniupnpd every protocol answers and
# maps, and the probe leaves no mapping behind.
probe_result() {
	grep -E "^probe $1 answered $2 mapped $2 " "$DRIVER_OUT"
}

probe() {
	local tag=$1 want=$2 proto t0
	t0=$(mg_now)
	start_driver all "probe-$want" --probe
	mg_check "$tag: the probe ends by itself" mg_wait_for 20 grep -q '^closed$' "$DRIVER_OUT"
	wait "$DRIVER_PID" 2>/dev/null
	mg_say "$tag: took $(awk -v a="$t0" -v b="$(mg_now)" 'BEGIN { printf "%.1f", b - a }') s"
	sed -n 's/^probe /    /p' "$DRIVER_OUT"
	for proto in natpmp pcp upnp; do
		mg_check "$tag: $proto answered=$want" probe_result "$proto" "$want"
	done
	if [ "$want" = 1 ]; then
		mg_check "$tag: external endpoints are the router's WAN address" \
			[ "$(grep -c "^probe .* external $WAN_R:[1-9]" "$DRIVER_OUT")" -eq 3 ]
		mg_check "$tag: the probe left no mapping at the router" router_forgot "$PORT"
	fi
}

# The daemon itself: `meshguard up --stun A --stun B` learns its public
# endpoint and NAT kind on its WireGuard port, keeps a port mapping through
# the router, and deletes it when it stops.
daemon_mapped_port() {
	sed -n 's/.*nat: port mapped with [a-z]* at [0-9.]*:\([0-9]*\) .*/\1/p' "$1" | tail -n 1
}

daemon_case() {
	local tag="meshguard up" conf="$MG_TMP/mgd.conf" log="$MG_TMP/mgd.log" port pid
	(umask 077 && printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n' \
		"$("$MESHGUARD" genkey)" "$PORT" >"$conf")
	mg_bg "$log" env LOG_LEVEL=verbose ip netns exec "$(mg_ns_name c)" "$MESHGUARD" up $MG_UP_SANDBOX \
		-c "$conf" -i "${MG_ID}d" --stun "$STUN_A:3478" --stun "$STUN_B:3478" \
		--state "$STATE" --upnp-url "$ROOT_URL"
	pid=$MG_BG_PID
	MG_N_LOG[daemon]=$log
	MG_N_IMPL[daemon]=meshguard
	MG_N_IF[daemon]=${MG_ID}d
	mg_check "$tag: learns its public endpoint and NAT kind by STUN" mg_wait_for 15 \
		grep -q "nat: public endpoint $WAN_R:[0-9]* (endpoint-independent" "$log"
	mg_check "$tag: maps its port through the router" mg_wait_for 20 \
		grep -q "nat: port mapped with" "$log"
	port=$(daemon_mapped_port "$log")
	grep 'nat:' "$log" | sed 's/^/    /'
	mg_check "$tag: the router lists the mapping" mg_wait_for 5 nft_lists "$port"
	mg_check "$tag: stops cleanly" mg_stop_pid "$pid" 15
	mg_check "$tag: the mapping is gone from the router when it stops" \
		mg_wait_for 10 router_forgot "$port"
}

topology
start_coturn
write_upnpd_conf
probe "probe without a port mapping service" 0
start_upnpd 1
mg_say "router up: miniupnpd pid $UPNPD_PID, coturn on $STUN_A and $STUN_B"
probe "probe of miniupnpd" 1

for proto in $PROTOS; do
	run_proto "$proto"
done
for proto in $PROTOS; do
	after_crash "$proto"
done
daemon_case

mg_finish
