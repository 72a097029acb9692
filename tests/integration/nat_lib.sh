# shellcheck shell=bash
# A NAT lab for the mesh tests; sourced after lib.sh and mesh_lib.sh. IPv4
# only.
#
#   namespace "inet": the public internet, one bridge (br0) on 203.0.113.0/24
#   (TEST-NET-3: it exists only here). Bridge ports are named after the
#   namespace at their other end.
#
#   mg_nat_lab [HOST]             the public segment and a public host (p by
#                                 default) at 203.0.113.1
#   mg_nat_public HOST N          another public host at 203.0.113.N (N < 10)
#   mg_nat_site HOST KIND N       a home router r<HOST> (wan0 203.0.113.(10+N),
#                                 lan0 10.N.0.1/24) and HOST behind it
#                                 (eth0 10.N.0.2/24, default via the router)
#   mg_nat_block X Y, mg_nat_unblock X Y
#                                 drop / let through every UDP datagram between
#                                 the routers of sites X and Y
#   mg_nat_ready HOST             HOST reaches the public host(s) (waits)
#
# Hosts have one-character names so that mesh_lib.sh's per-host functions
# (mg_mesh, mg_mesh_up, mg_mesh_state...) work on them; every host is
# registered with mg_mesh_host. MG_NAT_WAN[HOST] is the public address HOST's
# traffic leaves from (its own for a public host), MG_NAT_KIND[HOST] its NAT
# ("none", "eim", "edm").
#
# KIND is the router's mapping:
#   eim  `masquerade`: endpoint-independent mapping; it keeps the source port
#        when it can, so one socket is seen at one public port by everyone.
#   edm  `masquerade fully-random`: a new random public port for every
#        destination (endpoint-dependent mapping, the "hard" NAT).
# Both filter like a home router: nothing unsolicited from the WAN reaches the
# router or the LAN; only replies to what went out (conntrack established or
# related) pass, which is address-and-port-dependent filtering. The drops are
# counted in table ip mgnat, counters wan_in_drop and wan_fwd_drop
# (mg_nat_drops ROUTER_OF_HOST). A host behind a router has no other way out:
# the public hosts have no route to any 10.N.0.0/24, the routers none to each
# other's LANs. IPv6 is off on every lab link (only the overlay has it), so
# link-local addresses cannot bypass the NATs.

# shellcheck disable=SC2034 # MG_NAT_KIND is for the tests
declare -A MG_NAT_WAN MG_NAT_KIND
MG_NAT_NET=203.0.113

# mg_nat_v6off NS IF: no IPv6 on the lab link IF.
mg_nat_v6off() {
	mg_in "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" ||
		mg_die "cannot turn IPv6 off on $2 in $1"
}

# mg_nat_plug NS IF: a veth from NS (named IF there) into the public bridge
# (named NS there).
mg_nat_plug() {
	mg_veth "$1" "$2" inet "$1"
	ip -n "$(mg_ns_name inet)" link set "$1" master br0 ||
		mg_die "cannot put $1 on the public bridge"
	mg_nat_v6off "$1" "$2"
	mg_nat_v6off inet "$1"
}

mg_nat_lab() {
	mg_ns_new inet
	ip -n "$(mg_ns_name inet)" link add br0 type bridge || mg_die "cannot create the bridge"
	ip -n "$(mg_ns_name inet)" link set br0 up
	mg_nat_v6off inet br0
	mg_nat_public "${1:-p}" 1
}

mg_nat_public() {
	local h=$1 n=$2
	[ ${#h} -eq 1 ] || mg_die "host name '$h' must be one character"
	case $n in
	[1-9]) ;;
	*) mg_die "public host number '$n': expected 1..9" ;;
	esac
	mg_ns_new "$h"
	mg_nat_plug "$h" eth0
	mg_addr "$h" eth0 "$MG_NAT_NET.$n/24"
	MG_NAT_WAN[$h]=$MG_NAT_NET.$n
	MG_NAT_KIND[$h]=none
	mg_mesh_host "$h" "$MG_NAT_NET.$n"
}

mg_nat_site() {
	local h=$1 kind=$2 n=$3 r=r$1 masq
	[ ${#h} -eq 1 ] || mg_die "host name '$h' must be one character"
	if ! [[ $n =~ ^[0-9]+$ ]] || [ "$n" -lt 1 ] || [ "$n" -gt 200 ]; then
		mg_die "site number '$n': expected 1..200"
	fi
	case $kind in
	eim) masq=masquerade ;;
	edm) masq="masquerade fully-random" ;;
	*) mg_die "NAT kind '$kind': expected eim or edm" ;;
	esac
	mg_ns_new "$r"
	mg_ns_new "$h"
	mg_nat_plug "$r" wan0
	mg_addr "$r" wan0 "$MG_NAT_NET.$((10 + n))/24"
	mg_veth "$r" lan0 "$h" eth0
	mg_nat_v6off "$r" lan0
	mg_nat_v6off "$h" eth0
	mg_addr "$r" lan0 "10.$n.0.1/24"
	mg_addr "$h" eth0 "10.$n.0.2/24"
	mg_in "$h" ip route add default via "10.$n.0.1" || mg_die "no default route on $h"
	mg_in "$r" sysctl -qw net.ipv4.ip_forward=1 || mg_die "no forwarding on $r"
	mg_in "$r" nft -f - <<-EOF || mg_die "nft NAT on $r"
		table ip mgnat {
			counter wan_in_drop { }
			counter wan_fwd_drop { }
			chain nat_out {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "wan0" $masq
			}
			chain wan_in {
				type filter hook input priority filter; policy accept;
				iifname "wan0" ct state established,related accept
				iifname "wan0" counter name wan_in_drop drop
			}
			chain forward {
				type filter hook forward priority filter; policy accept;
				iifname "wan0" ct state established,related accept
				iifname "wan0" counter name wan_fwd_drop drop
			}
		}
	EOF
	MG_NAT_WAN[$h]=$MG_NAT_NET.$((10 + n))
	MG_NAT_KIND[$h]=$kind
	mg_mesh_host "$h" "10.$n.0.2"
}

# mg_nat_drops HOST: unsolicited datagrams HOST's router dropped so far.
mg_nat_drops() {
	local c total=0
	for c in wan_in_drop wan_fwd_drop; do
		total=$((total + $(mg_in "r$1" nft list counter ip mgnat "$c" |
			awk '$1 == "packets" { print $2 }')))
	done
	echo "$total"
}

mg_nat_ready() {
	mg_wait_for 10 mg_ping_quiet "$1" "$MG_NAT_NET.1" ||
		mg_die "$1 does not reach the public host $MG_NAT_NET.1"
}

# mg_nat_block X Y: X's router drops every UDP datagram from or to Y's
# public address, and Y's router likewise for X's: the direct path between
# the two sites dies while both still reach everyone else.
mg_nat_block() {
	mg_nat_block_one "$1" "$2"
	mg_nat_block_one "$2" "$1"
}

mg_nat_unblock() {
	mg_in "r$1" nft delete table ip "mgblock_$2" || mg_die "cannot unblock $1 - $2"
	mg_in "r$2" nft delete table ip "mgblock_$1" || mg_die "cannot unblock $2 - $1"
}

# Incoming from the other router: dropped before conntrack (prerouting, raw),
# so neither forwarded nor delivered. Outgoing: dropped in forward and output.
mg_nat_block_one() {
	local peer=${MG_NAT_WAN[$2]}
	mg_in "r$1" nft -f - <<-EOF || mg_die "nft block on r$1"
		table ip mgblock_$2 {
			chain from_peer {
				type filter hook prerouting priority raw; policy accept;
				ip saddr $peer meta l4proto udp counter drop
			}
			chain forward {
				type filter hook forward priority filter - 10; policy accept;
				ip daddr $peer meta l4proto udp counter drop
			}
			chain to_peer_out {
				type filter hook output priority filter; policy accept;
				ip daddr $peer meta l4proto udp counter drop
			}
		}
	EOF
}

# ---- the mesh over the lab ----

# mg_nat_mesh KIND_A KIND_B: the topology of the mesh NAT tests (issue 12):
# the public member p (`init --endpoint 203.0.113.1:51820`, so that tokens
# carry its public address; `up`), a behind a KIND_A router and b behind a
# KIND_B one, each joined by its own token through its NAT, then `up`.
# MG_NAT_T_UP is the time both a and b were up (their control sockets
# answered), from which "time to direct" counts.
mg_nat_mesh() {
	local h tok
	mg_nat_lab
	mg_nat_site a "$1" 1
	mg_nat_site b "$2" 2
	mg_nat_ready a
	mg_nat_ready b
	mg_say "lab: p $MG_NAT_NET.1, a behind ${MG_NAT_WAN[a]} ($1), b behind ${MG_NAT_WAN[b]} ($2)"
	mg_mesh p init --name lab --node p --endpoint "$MG_NAT_NET.1:51820" >/dev/null ||
		mg_die "init on p failed"
	mg_mesh_up p
	for h in a b; do
		tok=$(mg_mesh p invite --name "$h") || mg_die "invite for $h failed"
		mg_mesh "$h" join "$tok" >"$MG_TMP/join-$h.log" 2>&1 ||
			mg_die "join on $h (through its NAT to p) failed: $(tail -3 "$MG_TMP/join-$h.log")"
	done
	mg_mesh_up a
	mg_mesh_up b
	MG_NAT_T_UP=$(mg_now)
	mg_say "p, a and b are up"
}

# mg_nat_since_up: seconds since MG_NAT_T_UP, two decimals.
mg_nat_since_up() {
	awk -v a="$MG_NAT_T_UP" -v b="$(mg_now)" 'BEGIN { printf "%.2f", b - a }'
}

# mg_nat_member HOST NAME: the text of member NAME's object in HOST's
# `status --json` (empty when NAME is not listed).
mg_nat_member() {
	mg_mesh "$1" status --json | tr '{' '\n' | grep "\"name\":\"$2\"" | grep -v '"endpoints"'
}

# mg_mesh_via HOST NAME: the member HOST's traffic to NAME goes through
# ("via"), or nothing when none (a direct path, no path).
mg_mesh_via() {
	mg_nat_member "$1" "$2" | sed -n 's/.*"via":"\([^"]*\)".*/\1/p'
}

# mg_mesh_relayed HOST NAME VIA: HOST's path to NAME is "relay" through VIA.
mg_mesh_relayed() {
	local m
	m=$(mg_nat_member "$1" "$2")
	[[ $m == *'"path":"relay"'* && $m == *"\"via\":\"$3\""* ]]
}

# mg_nat_show HOST NAME: one line of what HOST's status says about NAME.
mg_nat_show() {
	local m
	m=$(mg_nat_member "$1" "$2")
	printf '    %s -> %s: path %s, via %s, endpoint %s\n' "$1" "$2" \
		"$(sed -n 's/.*"path":"\([a-z]*\)".*/\1/p' <<<"$m")" \
		"$(sed -n 's/.*"via":\("[^"]*"\|null\).*/\1/p' <<<"$m")" \
		"$(sed -n 's/.*"endpoint":\("[^"]*"\|null\).*/\1/p' <<<"$m")"
}

# mg_nat_finish: mg_finish, after the last lines of every node's log when a
# check failed.
mg_nat_finish() {
	local log
	if [ "$MG_FAILED" -gt 0 ]; then
		for log in "$MG_TMP"/up-*.log; do
			[ -s "$log" ] || continue
			printf -- '---- last lines of %s ----\n' "${log##*/}"
			tail -n 15 "$log" | sed 's/^/    /'
		done
	fi
	mg_finish
}

# mg_nat_ping HOST DEST COUNT: COUNT replies needed within 20 s (0.2 s
# apart), as lib.sh's mg_ping but for a host rather than a node. Prints
# ping's summary lines.
mg_nat_ping() {
	local out rc=0
	out=$(mg_in "$1" ping -n -c "$3" -i 0.2 -w 20 "$2" 2>&1) || rc=$?
	printf '%s\n' "$out" | grep -E 'packets transmitted|rtt' | sed 's/^/    /'
	return "$rc"
}
