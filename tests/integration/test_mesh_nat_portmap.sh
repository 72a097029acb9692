#!/usr/bin/env bash
# Port-mapped candidates (issue 12, "Candidates"): a member behind a NAT
# whose router maps a port for it (NAT-PMP, PCP or UPnP: Debian's miniupnpd)
# announces the mapped endpoint, and that makes a direct path where there
# would only be a relay.
#
#   p  public member 203.0.113.1 (init --endpoint; relays: not behind a NAT)
#   s  public host 203.0.113.2 and .3: coturn, for miniupnpd's STUN self-test
#   a  10.1.0.2 behind ra (wan0 203.0.113.11): `masquerade fully-random`
#      (endpoint-dependent mapping, address-and-port-dependent filtering) for
#      the LAN, and miniupnpd (NAT-PMP, PCP, UPnP IGD) on lan0
#   b  10.2.0.2 behind rb (203.0.113.12): endpoint-dependent, no port
#      mapping (nat_lib.sh's edm site)
# Both NATs endpoint-dependent: without a mapping a and b can only meet
# through p (test_mesh_nat_relay.sh). Here:
#   1. a runs with `--portmap off`: a and b reach each other relayed via p
#      (this lab, unchanged but for the mapping, has no direct path);
#   2. a restarts with port mapping on (the default): the router maps a's
#      port; a's status says so (self.mapped_endpoint, first in
#      self.endpoints), b's `members --json` lists it among a's endpoints
#      (the signed announcement spread by gossip), and within 20 s a and b
#      are direct to each other, b sending to the mapped endpoint; pings
#      pass both ways;
#   3. a holds a second tunnel (a TUN device, as an OpenVPN or another
#      mesh would) with 198.51.100.7, and an underlay address inside the
#      mesh's IPv4 prefix on an Ethernet-like link (a veth): neither is
#      announced; a's LAN address is;
#   4. a stops: the router's mapping is deleted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh_lib.sh"
. "$(dirname "$0")/nat_lib.sh"

mg_require_cmds miniupnpd turnserver

WAN_A=$MG_NAT_NET.11
LAN_A=10.1.0
STUN_A=$MG_NAT_NET.2
STUN_B=$MG_NAT_NET.3
TUN_ADDR=198.51.100.7
UPNPD_PID=""

# The site of a: as nat_lib.sh's edm site, but the router's rules live in
# miniupnpd's table (its DNAT and accept rules go into the chains it finds
# there), the masquerade covers the LAN only (so that miniupnpd's own STUN
# self-test from the router keeps its ports), and what miniupnpd maps passes.
site_upnp() {
	mg_ns_new ra
	mg_ns_new a
	mg_nat_plug ra wan0
	mg_addr ra wan0 "$WAN_A/24"
	mg_veth ra lan0 a eth0
	mg_nat_v6off ra lan0
	mg_nat_v6off a eth0
	mg_addr ra lan0 "$LAN_A.1/24"
	mg_addr a eth0 "$LAN_A.2/24"
	mg_in a ip route add default via "$LAN_A.1" || mg_die "no default route on a"
	mg_in ra sysctl -qw net.ipv4.ip_forward=1 || mg_die "no forwarding on ra"
	mg_in ra nft -f - <<-EOF || mg_die "nft on ra"
		table inet filter {
			chain miniupnpd { }
			chain prerouting_miniupnpd { }
			chain postrouting_miniupnpd { }
			chain input {
				type filter hook input priority filter; policy accept;
				ct state established,related accept
				iifname "wan0" jump miniupnpd
				iifname "wan0" drop
			}
			chain forward {
				type filter hook forward priority filter; policy accept;
				ct state established,related accept
				iifname "wan0" jump miniupnpd
				iifname "wan0" drop
			}
			chain prerouting {
				type nat hook prerouting priority dstnat; policy accept;
				iifname "wan0" jump prerouting_miniupnpd
			}
			chain postrouting {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "wan0" jump postrouting_miniupnpd
				oifname "wan0" ip saddr $LAN_A.0/24 masquerade fully-random
			}
		}
	EOF
	MG_NAT_WAN[a]=$WAN_A
	MG_NAT_KIND[a]=edm
	mg_mesh_host a "$LAN_A.2"
}

stun_listening() {
	mg_in s ss -Hnul "sport = :3478" | grep -q "$STUN_B"
}

start_coturn() {
	mg_nat_public s 2
	mg_addr s eth0 "$STUN_B/24"
	mg_bg "$MG_TMP/coturn.log" ip netns exec "$(mg_ns_name s)" turnserver -n -S \
		-L "$STUN_A" -L "$STUN_B" -p 3478 --no-cli --no-tls --no-dtls \
		--pidfile "$MG_TMP/coturn.pid" --log-file stdout --simple-log
	mg_wait_for 10 stun_listening || mg_die "coturn did not listen on $STUN_B:3478"
}

upnpd_ready() {
	mg_alive "$UPNPD_PID" || return 2
	mg_tcp_listening ra 5555 && mg_udp_bound ra 5351
}

# miniupnpd as in test_portmap.sh (natlab-facts.md: it needs its STUN
# self-test to accept the documentation WAN address).
start_upnpd() {
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
		allow 1024-65535 $LAN_A.0/24 1024-65535
		deny 0-65535 0.0.0.0/0 0-65535
	EOF
	mg_bg "$MG_TMP/miniupnpd.log" ip netns exec "$(mg_ns_name ra)" \
		miniupnpd -d -f "$MG_TMP/miniupnpd.conf" -P "$MG_TMP/miniupnpd.pid"
	UPNPD_PID=$MG_BG_PID
	mg_wait_for 20 upnpd_ready ||
		mg_die "miniupnpd did not start (log: $(tail -n 5 "$MG_TMP/miniupnpd.log"))"
}

# A second tunnel on a, and an underlay address inside the mesh's IPv4
# prefix (prefix4 of p's overlay address: the default /16) on a veth.
other_addresses_on_a() {
	local p4
	mg_in a ip tuntap add dev vpn0 mode tun || mg_die "cannot add a TUN on a"
	mg_addr a vpn0 "$TUN_ADDR/24"
	mg_in a ip link set vpn0 up
	p4=$(mg_mesh_addr4 p)
	INSIDE=${p4%.*.*}.250.250
	mg_veth a lanx a lany
	mg_addr a lanx "$INSIDE/32"
}

# mg_nat_mesh's sequence, with a's router and a's extra addresses ours.
mesh_up() {
	local h tok
	mg_nat_lab
	start_coturn
	site_upnp
	mg_nat_site b edm 2
	mg_nat_ready a
	mg_nat_ready b
	start_upnpd
	mg_say "lab: p $MG_NAT_NET.1, a behind $WAN_A (edm, miniupnpd), b behind ${MG_NAT_WAN[b]} (edm)"
	mg_mesh p init --name lab --node p --endpoint "$MG_NAT_NET.1:51820" >/dev/null ||
		mg_die "init on p failed"
	mg_mesh_up p
	for h in a b; do
		tok=$(mg_mesh p invite --name "$h") || mg_die "invite for $h failed"
		mg_mesh "$h" join "$tok" >"$MG_TMP/join-$h.log" 2>&1 ||
			mg_die "join on $h failed: $(tail -3 "$MG_TMP/join-$h.log")"
	done
	other_addresses_on_a
}

# The mapping miniupnpd made for a's port: "PORT" (empty: none).
mapped_port() {
	mg_in ra nft list chain inet filter prerouting_miniupnpd 2>/dev/null |
		sed -n "s/.* dport \([0-9]*\) dnat ip to $LAN_A.2:51820\$/\1/p" | head -n 1
}

has_mapping() {
	[ -n "$(mapped_port)" ]
}

# self_json HOST KEY: the value of KEY in HOST's status self object.
self_value() {
	mg_mesh "$1" status --json | sed -n "s/.*\"self\":{.*\"$2\":\(\"[^\"]*\"\|null\).*\"members\".*/\1/p"
}

self_endpoints() {
	mg_mesh "$1" status --json | sed -n 's/.*"self":{.*"endpoints":\[\([^]]*\)\].*"members".*/\1/p'
}

# a's endpoints as b's directory holds them (members reads DIR).
a_endpoints_at_b() {
	mg_mesh b members --json | tr '{' '\n' | grep '"name":"a"' |
		sed -n 's/.*"endpoints":\[\([^]]*\)\].*/\1/p'
}

b_knows_mapping() {
	[[ $(a_endpoints_at_b) == *"\"$MAPPED\""* ]]
}

mapped_is() {
	[ "$(self_value a mapped_endpoint)" = "\"$MAPPED\"" ]
}

mapped_first() {
	[[ $(self_endpoints a) == "\"$MAPPED\""* ]]
}

# a_announces ADDR, b_sees ADDR: an endpoint with address ADDR is in a's
# announcement, as a's status says / as b's directory holds it.
a_announces() {
	[[ $(self_endpoints a) == *"\"$1:"* ]]
}

b_sees() {
	[[ $(a_endpoints_at_b) == *"\"$1:"* ]]
}

not() {
	! "$@"
}

both_direct() {
	mg_mesh_direct a b && mg_mesh_direct b a
}

b_sends_to_mapping() {
	[[ $(mg_nat_member b a) == *"\"endpoint\":\"$MAPPED\""* ]]
}

mesh_up
mg_mesh_up a --portmap off
mg_mesh_up b
b4=$(mg_mesh_addr4 b)
a4=$(mg_mesh_addr4 a)
mg_say "1. a without port mapping: a is $a4, b is $b4"
mg_check "a reaches b's overlay address (through p)" mg_wait_for 20 mg_ping_quiet a "$b4"
mg_check "status on a: b is relayed via p" mg_wait_for 10 mg_mesh_relayed a b p
mg_check "status on b: a is relayed via p" mg_wait_for 10 mg_mesh_relayed b a p
mg_nat_show a b
mg_check "ra holds no mapping" not has_mapping

mg_say "2. a restarts with port mapping on"
mg_mesh_down a
# Verbose: a's log says which addresses it leaves out, and why.
LOG_LEVEL=verbose mg_mesh_up a
MG_NAT_T_UP=$(mg_now)
if mg_wait_for 20 both_direct; then
	mg_pass "a and b are direct to each other, $(mg_nat_since_up) s after a was up again"
else
	mg_fail "a and b are not direct to each other within 20 s"
fi
mg_check "the router maps a port to a" mg_wait_for 15 has_mapping
MAPPED=$WAN_A:$(mapped_port)
grep -E 'nat: port mapped|gateway maps' "$MG_TMP/up-a.log" | sed 's/^/    /'
mg_in ra nft list table inet filter | grep -E ' (dnat|snat) ' | sed 's/^[[:space:]]*/    ra: /'
mg_check "a's status: mapped_endpoint is $MAPPED" mg_wait_for 5 mapped_is
echo "    a announces: $(self_endpoints a)"
mg_check "a announces the mapping first" mapped_first
mg_check "b's directory holds a's mapped endpoint (members --json)" \
	mg_wait_for 10 b_knows_mapping
mg_nat_show a b
mg_nat_show b a
mg_check "b sends to a's mapped endpoint" b_sends_to_mapping
mg_check "5 pings a -> b" mg_nat_ping a "$b4" 5
mg_check "5 pings b -> a" mg_nat_ping b "$a4" 5
mg_check "the path a -> b is still direct" mg_mesh_direct a b

mg_say "3. what a does not announce"
mg_check "not the other tunnel's $TUN_ADDR" not a_announces "$TUN_ADDR"
mg_check "nor does b's directory hold it for a" not b_sees "$TUN_ADDR"
mg_check "not $INSIDE (inside the mesh prefix)" not a_announces "$INSIDE"
mg_check "a says why not $TUN_ADDR (verbose log)" \
	grep -q "not announcing $TUN_ADDR:0 of vpn0: a tunnel's" "$MG_TMP/up-a.log"
mg_check "a's LAN address is announced" a_announces "$LAN_A.2"
mg_check "a says why not $INSIDE (verbose log)" \
	grep -q "not announcing $INSIDE:0 of lanx: inside a mesh prefix" "$MG_TMP/up-a.log"

mg_say "4. a stops"
mg_check "a stops cleanly" mg_mesh_down a
mg_check "the router's mapping is deleted" mg_wait_for 10 not has_mapping

mg_nat_finish
