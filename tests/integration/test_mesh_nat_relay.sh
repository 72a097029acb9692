#!/usr/bin/env bash
# The mesh through two endpoint-dependent NATs (issue 12, test 2): a public
# member p (203.0.113.1, `init --endpoint 203.0.113.1:51820`; not behind a
# NAT, so it relays by default); a and b each behind its own home router
# with endpoint-dependent mapping (nat_lib.sh: `masquerade fully-random`, a
# new public port per destination, port-dependent filtering), joined by
# token through their NATs. All three `up`. No direct path exists, so:
#   - a and b ping each other's overlay IPv4 addresses (through p);
#   - `status --json` on a says b's path is "relay" via "p", and on b the
#     same of a;
#   - p's status says a and b are direct (p is public).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh_lib.sh"
. "$(dirname "$0")/nat_lib.sh"

mg_nat_mesh edm edm

a4=$(mg_mesh_addr4 a)
b4=$(mg_mesh_addr4 b)
mg_say "a is $a4, b is $b4"
mg_check "p is direct to a and to b" mg_wait_for 10 eval 'mg_mesh_direct p a && mg_mesh_direct p b'
mg_check "a reaches b's overlay address" mg_wait_for 15 mg_ping_quiet a "$b4"
mg_check "b reaches a's overlay address" mg_wait_for 15 mg_ping_quiet b "$a4"
mg_check "status on a: b is relayed via p" mg_wait_for 10 mg_mesh_relayed a b p
mg_check "status on b: a is relayed via p" mg_wait_for 10 mg_mesh_relayed b a p
mg_nat_show a b
mg_nat_show b a
mg_check "5 pings a -> b through the relay" mg_nat_ping a "$b4" 5

mg_nat_finish
