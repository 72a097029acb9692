#!/usr/bin/env bash
# Subnet routes with two gateways (issue 12, test 5). P, A, G and K on one
# LAN (mesh_lib.sh); G and K are also on a site LAN 10.9.0.0/24 with a host
# H (10.9.0.100) that runs no meshguard. G and K are invited with
# `--routes 10.9.0.0/24` and run `up --advertise 10.9.0.0/24`.
#   - A reaches H through the mesh (H sees the gateway's address: masquerade);
#   - an --advertise outside the certificate's routes is refused;
#   - the gateway carrying the prefix is stopped: A's pings to H resume
#     through the other one within 10 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

H=10.9.0.100

# ping's status 2 ("no route yet") would end mg_wait_for at once.
reach() {
	mg_ping_quiet "$@" || return 1
}

site_lan() {
	mg_ns_new site
	ip -n "$(mg_ns_name site)" link add br0 type bridge || mg_die "no site bridge"
	ip -n "$(mg_ns_name site)" link set br0 up
	mg_ns_new h
	ip -n "$(mg_ns_name h)" link add eth0 type veth peer name lh netns "$(mg_ns_name site)"
	ip -n "$(mg_ns_name site)" link set lh master br0
	ip -n "$(mg_ns_name site)" link set lh up
	ip -n "$(mg_ns_name h)" link set eth0 up
	mg_addr h eth0 "$H/24"
	local n=1 gw
	for gw in g k; do
		ip -n "$(mg_ns_name "$gw")" link add eth1 type veth peer name "s$gw" \
			netns "$(mg_ns_name site)"
		ip -n "$(mg_ns_name site)" link set "s$gw" master br0
		ip -n "$(mg_ns_name site)" link set "s$gw" up
		ip -n "$(mg_ns_name "$gw")" link set eth1 up
		mg_addr "$gw" eth1 "10.9.0.$n/24"
		n=$((n + 1))
	done
}

both_direct() {
	mg_mesh_direct a g && mg_mesh_direct a k
}

# Which gateway carries the site: the member whose peer holds 10.9.0.0/24.
carrier() {
	local key
	key=$(mg_in a wg show "${MG_ID}a" allowed-ips | awk '/10\.9\.0\.0\/24/ { print $1 }')
	for gw in g k; do
		[ "$key" = "$(mg_mesh "$gw" status --json | sed -n 's/.*"self":{[^}]*"public_key":"\([^"]*\)".*/\1/p')" ] &&
			echo "$gw"
	done
}

mg_mesh_lan p a g k
site_lan
mg_mesh p init --name lab --node p >/dev/null || mg_die "init failed"
mg_mesh_up p
tok=$(mg_mesh p invite --name a) || mg_die "invite a"
mg_mesh a join "$tok" >/dev/null || mg_die "join a"
for gw in g k; do
	tok=$(mg_mesh p invite --name "$gw" --routes 10.9.0.0/24) || mg_die "invite $gw"
	mg_mesh "$gw" join "$tok" >/dev/null || mg_die "join $gw"
done
rc=0
mg_in g "$MESHGUARD" up $MG_UP_SANDBOX -i "${MG_ID}x" --state "$(mg_mesh_state g)" --advertise 10.8.0.0/24 \
	>"$MG_TMP/bad-advertise.log" 2>&1 || rc=$?
mg_check "--advertise outside the certificate's routes is refused (status $rc)" [ "$rc" = 4 ]
mg_check "... with a message naming it" grep -q "10.8.0.0/24.*not among" "$MG_TMP/bad-advertise.log"
mg_mesh_up a
mg_mesh_up g --advertise 10.9.0.0/24
mg_mesh_up k --advertise 10.9.0.0/24

mg_check "a reaches h (10.9.0.100) behind the gateways" mg_wait_for 20 reach a "$H"
# Both gateways live (a direct path to each) before one is taken away.
mg_check "a has direct paths to both gateways" mg_wait_for 20 both_direct
first=$(carrier)
mg_say "the site is carried by ${first:-nobody}"
mg_check "one gateway carries the site" [ -n "$first" ]
other=g
[ "$first" = g ] && other=k

mg_say "stopping $first while a pings h"
mg_bg "$MG_TMP/ping.log" ip netns exec "$(mg_ns_name a)" ping -n -i 0.2 -W 1 "$H"
ping_pid=$MG_BG_PID
sleep 1
mg_mesh_down "$first"
t0=$(mg_now)
mg_check "traffic to h moves to $other within 10 s" mg_wait_for 10 bash -c \
	'[ "$(ip netns exec "$1" wg show "$2" allowed-ips | awk "/10\\.9\\.0\\.0\\/24/ { print \$1 }")" = "$3" ]' \
	_ "$(mg_ns_name a)" "${MG_ID}a" \
	"$(mg_mesh "$other" status --json | sed -n 's/.*"self":{[^}]*"public_key":"\([^"]*\)".*/\1/p')"
mg_check "a reaches h again" mg_wait_for 10 reach a "$H"
secs=$(awk -v a="$t0" -v b="$(mg_now)" 'BEGIN { printf "%.1f", b - a }')
mg_say "h answered again $secs s after $first stopped"
kill "$ping_pid" 2>/dev/null
mg_finish
