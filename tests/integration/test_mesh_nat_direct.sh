#!/usr/bin/env bash
# The mesh through two endpoint-independent NATs (issue 12, test 1): a public
# member p (203.0.113.1, `init --endpoint 203.0.113.1:51820`); a and b each
# behind its own home router with endpoint-independent mapping (nat_lib.sh:
# `masquerade`, port-dependent filtering), joined by token through their NATs.
# All three `up`. Then:
#   - within 10 s of both being up, `status --json` on a says b is "direct"
#     and on b says a is; the seconds it took are printed ("time to direct",
#     a benchmark figure: goal median < 1 s);
#   - 20 MB from a to b over the overlay arrive with the same sha256.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh_lib.sh"
. "$(dirname "$0")/nat_lib.sh"

both_direct() {
	mg_mesh_direct a b && mg_mesh_direct b a
}

mg_data 20
mg_nat_mesh eim eim

if mg_wait_for 10 both_direct; then
	mg_pass "a and b are direct to each other, $(mg_nat_since_up) s after both were up"
	echo "time to direct: $(mg_nat_since_up) s"
else
	mg_fail "a and b are not direct to each other within 10 s of both being up"
fi
mg_nat_show a b
mg_nat_show b a

a4=$(mg_mesh_addr4 a)
b4=$(mg_mesh_addr4 b)
mg_say "a is $a4, b is $b4"
mg_wait_for 10 mg_ping_quiet a "$b4" || {
	mg_fail "a does not reach b's overlay address: no transfer"
	mg_nat_finish
}
mg_say "20 MB from a to b"
mg_xfer_start a b "$b4" 5001
mg_check "20 MB from a to b arrive intact" mg_xfer_finish 60
mg_check "the path a -> b is still direct after the transfer" mg_mesh_direct a b

mg_nat_finish
