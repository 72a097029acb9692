#!/usr/bin/env bash
# Failover from a direct path to the relay and back (issue 12, test 4): a
# public member p (203.0.113.1, `init --endpoint 203.0.113.1:51820`, a
# relay by default); a and b each behind its own endpoint-independent NAT
# (nat_lib.sh), joined by token, all `up`. Then:
#   - a and b go direct (within 10 s);
#   - a pings b once a second for 20 s; after 3 s every UDP datagram between
#     a's and b's routers is dropped (mg_nat_block): the pings keep flowing
#     through p, at most 10 of the 20 lost (10 s of loss allowed);
#   - while blocked, status on a says b is relayed via p;
#   - the block is lifted: the path to b is direct again within 60 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh_lib.sh"
. "$(dirname "$0")/nat_lib.sh"

both_direct() {
	mg_mesh_direct a b && mg_mesh_direct b a
}

mg_nat_mesh eim eim

b4=$(mg_mesh_addr4 b)
if ! mg_wait_for 10 both_direct; then
	mg_nat_show a b
	mg_fail "a and b are not direct to each other within 10 s: nothing to fail over from"
	mg_nat_finish
fi
mg_pass "a and b are direct ($(mg_nat_since_up) s after both were up)"
mg_check "a reaches b's overlay address directly" mg_wait_for 5 mg_ping_quiet a "$b4"

mg_say "20 pings a -> b, 1/s; UDP between a's and b's routers dropped after 3 s"
mg_bg "$MG_TMP/ping.log" ip netns exec "$(mg_ns_name a)" ping -n -c 20 -i 1 -W 1 "$b4"
ping_pid=$MG_BG_PID
sleep 3
mg_nat_block a b
t_block=$(mg_now)
mg_check "status on a: b is relayed via p while blocked" mg_wait_for 15 mg_mesh_relayed a b p
mg_nat_show a b
mg_wait_for 30 mg_not_alive "$ping_pid"
wait "$ping_pid" 2>/dev/null
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$MG_TMP/ping.log")
lost=$((20 - ${got:-0}))
grep -E 'transmitted' "$MG_TMP/ping.log" | sed 's/^/    /'
mg_check "at most 10 of 20 pings lost across the cut ($lost lost)" [ "$lost" -le 10 ]

mg_say "the block is lifted"
mg_nat_unblock a b
t_unblock=$(mg_now)
back_direct() {
	[ "$(mg_mesh_path a b)" = direct ] && [ -z "$(mg_mesh_via a b)" ]
}
if mg_wait_for 60 back_direct; then
	mg_pass "a -> b is direct again, $(awk -v a="$t_unblock" -v b="$(mg_now)" \
		'BEGIN { printf "%.1f", b - a }') s after the block was lifted"
else
	mg_fail "a -> b is not direct within 60 s of the block being lifted"
fi
mg_nat_show a b
mg_check "a still reaches b" mg_wait_for 5 mg_ping_quiet a "$b4"
echo "    blocked for $(awk -v a="$t_block" -v b="$t_unblock" 'BEGIN { printf "%.1f", b - a }') s"

mg_nat_finish
