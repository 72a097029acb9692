#!/usr/bin/env bash
# The mesh through one endpoint-independent and one endpoint-dependent NAT
# (issue 12, test 3, the "hard NAT"): a public member p (203.0.113.1); a
# behind a home router with endpoint-independent mapping (`masquerade`), b
# behind one with endpoint-dependent mapping (`masquerade fully-random`: a
# new random public port per local port and destination), both filtering by
# address and port (nat_lib.sh). Plain probes cannot meet; birthday rounds
# (mesh/path.h) must find a path. Then:
#   - within 60 s of both being up, `status --json` on a says b is "direct"
#     and on b says a is (not "relay"); the seconds it took and the round
#     that won are printed (the per-round success rate is bench/hardnat.md's
#     figure);
#   - a and b ping each other's overlay addresses, and the path is still
#     direct afterwards (b's data leaves from the extra socket that won).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh_lib.sh"
. "$(dirname "$0")/nat_lib.sh"

both_direct() {
	mg_mesh_direct a b && mg_mesh_direct b a
}

mg_nat_mesh eim edm

if mg_wait_for 60 both_direct; then
	mg_pass "a and b are direct to each other, $(mg_nat_since_up) s after both were up"
	echo "time to direct: $(mg_nat_since_up) s"
else
	mg_fail "a and b are not direct to each other within 60 s of both being up"
fi
mg_nat_show a b
mg_nat_show b a
won=$(grep -ho 'birthday round [0-9]* with [ab] won' "$MG_TMP"/up-a.log "$MG_TMP"/up-b.log | head -1)
echo "rounds: ${won:-no birthday round won (a plain probe did)}"

a4=$(mg_mesh_addr4 a)
b4=$(mg_mesh_addr4 b)
mg_say "a is $a4, b is $b4"
mg_check "5 pings a -> b" mg_nat_ping a "$b4" 5
mg_check "5 pings b -> a" mg_nat_ping b "$a4" 5
mg_check "a -> b is still direct after the pings" mg_mesh_direct a b
mg_check "b -> a is still direct after the pings" mg_mesh_direct b a

mg_nat_finish
