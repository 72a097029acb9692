#!/usr/bin/env bash
# The NAT lab (nat_lib.sh) behaves as it claims, so that the mesh NAT tests
# test meshguard and not the lab. Public host p (203.0.113.1) answers on UDP
# 7001 and 7002 with the source it sees (mg_udp_probe echo, what a STUN
# server would say). Sites: a and c behind endpoint-independent NATs, b
# behind an endpoint-dependent one. Checks:
#   - every host reaches p, and p sees it at its router's public address;
#   - eim: ONE socket of a, sending to p:7001 and p:7002, is seen at the same
#     public port by both (and its own port is kept);
#   - edm: one socket of b is seen at two different public ports;
#   - filtering: p's datagram from another port (7003) to a's mapped port is
#     dropped by a's router, counted; so is one to a port never mapped;
#   - hole punching between two eim sites works: a sends first (dropped by
#     c's router), c sends (passes a's hole), then a's second datagram reaches
#     c;
#   - no way around the NATs: p has no route to a LAN, a none to b's LAN.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh_lib.sh"
. "$(dirname "$0")/nat_lib.sh"

mg_need_tool mg_udp_probe
PROBE=$MG_BUILD/mg_udp_probe
P=$MG_NAT_NET.1

# probe HOST OUT PORT WAIT_MS DEST...: mg_udp_probe send in the background.
probe() {
	local h=$1 out=$2 port=$3 wait=$4
	shift 4
	mg_bg "$out" ip netns exec "$(mg_ns_name "$h")" "$PROBE" send -b "$port" -w "$wait" "$@"
}

# not CMD...: CMD fails (its output discarded).
not() {
	! "$@" >/dev/null 2>&1
}

lines() {
	[ "$(grep -c . "$1" 2>/dev/null)" -ge "$2" ]
}

# seen FILE FROM: the public endpoint p's port FROM reported.
seen() {
	awk -v f="$P:$2" '$1 == f { print $2; exit }' "$1"
}

# send_from_p SRCPORT DEST TEXT: one datagram from p.
send_from_p() {
	printf '%s\n' "$3" | mg_in p socat -u - "UDP4-SENDTO:$2,sourceport=$1"
}

mg_nat_lab
mg_nat_site a eim 1
mg_nat_site b edm 2
mg_nat_site c eim 3
for h in a b c; do
	mg_nat_ready "$h"
done
mg_say "lab up: p $P, a ${MG_NAT_WAN[a]} (eim), b ${MG_NAT_WAN[b]} (edm), c ${MG_NAT_WAN[c]} (eim)"

mg_bg "$MG_TMP/echo.log" ip netns exec "$(mg_ns_name p)" "$PROBE" echo 7001 7002
mg_wait_for 5 mg_udp_bound p 7002 || mg_die "the echo on p did not start"

mg_say "mapping: one socket to two ports of p"
probe a "$MG_TMP/a.out" 40000 3000 "$P:7001" "$P:7002"
pid_a=$MG_BG_PID
probe b "$MG_TMP/b.out" 40000 1000 "$P:7001" "$P:7002"
pid_b=$MG_BG_PID
mg_wait_for 3 lines "$MG_TMP/a.out" 2 || mg_die "a got no answers from p: $(cat "$MG_TMP/a.out")"
a1=$(seen "$MG_TMP/a.out" 7001)
a2=$(seen "$MG_TMP/a.out" 7002)
drops0=$(mg_nat_drops a)
send_from_p 7003 "$a1" unsolicited
send_from_p 7004 "${MG_NAT_WAN[a]}:9" unsolicited
mg_wait_for 3 mg_not_alive "$pid_b"
mg_wait_for 4 mg_not_alive "$pid_a"
b1=$(seen "$MG_TMP/b.out" 7001)
b2=$(seen "$MG_TMP/b.out" 7002)
echo "    a (eim) from port 40000 seen as $a1 and $a2"
echo "    b (edm) from port 40000 seen as $b1 and $b2"
mg_check "eim: p sees a at its router's public address" [ "${a1%:*}" = "${MG_NAT_WAN[a]}" ]
mg_check "eim: one socket, two destinations, one public port" [ -n "$a1" ] && [ "$a1" = "$a2" ]
mg_check "eim: the local port is kept" [ "$a1" = "${MG_NAT_WAN[a]}:40000" ]
mg_check "edm: p sees b at its router's public address" \
	[ "${b1%:*}" = "${MG_NAT_WAN[b]}" ] && [ "${b2%:*}" = "${MG_NAT_WAN[b]}" ]
mg_check "edm: one socket, two destinations, two public ports" \
	[ -n "$b1" ] && [ -n "$b2" ] && [ "$b1" != "$b2" ]
mg_check "filtering: a got nothing p sent from another port or to an unmapped port" \
	not grep -q unsolicited "$MG_TMP/a.out"
drops1=$(mg_nat_drops a)
echo "    a's router dropped $((drops1 - drops0)) unsolicited datagrams"
mg_check "filtering: a's router counted both drops" [ $((drops1 - drops0)) -ge 2 ]

mg_say "hole punching between a and c (both eim)"
cw=${MG_NAT_WAN[c]}
aw=${MG_NAT_WAN[a]}
drops0=$(mg_nat_drops c)
mg_in a "$PROBE" send -b 41000 -w 0 "$cw:41000"
probe c "$MG_TMP/c.out" 41000 2000 "$aw:41000"
pid_c=$MG_BG_PID
mg_wait_for 2 mg_udp_bound c 41000
sleep 0.2
mg_in a "$PROBE" send -b 41000 -w 1000 "$cw:41000" >"$MG_TMP/a2.out"
mg_wait_for 4 mg_not_alive "$pid_c"
echo "    a heard: $(tr '\n' ' ' <"$MG_TMP/a2.out")  c heard: $(tr '\n' ' ' <"$MG_TMP/c.out")"
mg_check "c's router dropped a's first datagram" [ $(($(mg_nat_drops c) - drops0)) -ge 1 ]
mg_check "c's datagram passed a's hole, a's second reached c" \
	grep -q "^$aw:41000 probe" "$MG_TMP/c.out"

mg_say "no way around the NATs"
mg_check "p has no route to a's LAN" not ip -n "$(mg_ns_name p)" route get 10.1.0.2
mg_check "a does not reach b's LAN address" not mg_in a ping -c 1 -W 1 10.2.0.2
mg_check "a does not reach b's router unsolicited" \
	not mg_in a ping -c 1 -W 1 "${MG_NAT_WAN[b]}"

mg_finish
