#!/usr/bin/env bash
# The mesh, joined by token (issue 11, test 1): P, A and B on one LAN
# segment. `init` on P, two `invite`s, `join` on A and B (B reads its token
# from stdin), `up` everywhere. Then:
#   - A and B ping each other's overlay addresses (IPv4 and IPv6);
#   - `status --json` on each lists the two others with path "direct";
#   - 20 MB from A to B over TCP arrive with the same sha256;
#   - the members list (offline, from state) names all three on each;
#   - a `wg set` on a mesh peer is refused; `wg show` lists it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

lists_three() {
	[ "$(mg_mesh "$1" members | grep -cE '^(p|a|b) ')" = 3 ]
}

has_schema() {
	mg_mesh "$1" status --json | grep -q '^{"schema":1,'
}

has_peer() {
	mg_in "$1" wg show "$MG_ID$1" peers | grep -qF "$2"
}

mg_data 20
mg_mesh_lan p a b

mg_say "init on p"
mg_check "init exits 0" mg_mesh p init --name lab --node p
mg_mesh_up p
tok_a=$(mg_mesh p invite) || mg_die "invite for a failed"
tok_b=$(mg_mesh p invite --name b) || mg_die "invite for b failed"
mg_check "the token is one mg1 line of at most 512 characters" \
	bash -c '[[ $1 =~ ^mg1[A-Za-z0-9_-]+$ ]] && [ ${#1} -le 512 ]' _ "$tok_a"

mg_say "join a and b"
mg_check "join a exits 0" mg_mesh a join "$tok_a" --name a
mg_check "join b (token on stdin, pinned name) exits 0" \
	bash -c 'printf "%s\n" "$1" | "${@:2}"' _ "$tok_b" \
	ip netns exec "$(mg_ns_name b)" "$MESHGUARD" join - --state "$(mg_mesh_state b)"
mg_mesh_up a
mg_mesh_up b

a4=$(mg_mesh_addr4 a)
b4=$(mg_mesh_addr4 b)
b6=$(mg_mesh b status --json | sed -n 's/.*"self":{[^}]*"addresses":\["[^"]*","\([0-9a-f:]*\)\/128".*/\1/p')
mg_say "a is $a4, b is $b4 and $b6"
mg_check "a reaches b's overlay IPv4 address" mg_wait_for 10 mg_ping_quiet a "$b4"
mg_check "b reaches a's overlay IPv4 address" mg_wait_for 10 mg_ping_quiet b "$a4"
mg_check "a reaches b's overlay IPv6 address" mg_wait_for 10 mg_ping_quiet a "$b6"

for h in p a b; do
	for o in p a b; do
		[ "$h" = "$o" ] && continue
		mg_check "status on $h: $o is direct" mg_wait_for 15 mg_mesh_direct "$h" "$o"
	done
	mg_check "members on $h lists p, a and b" mg_wait_for 5 lists_three "$h"
done
mg_check "status --json has schema 1" has_schema a

mg_say "20 MB from a to b"
mg_xfer_start a b "$b4" 5001
mg_check "20 MB from a to b arrive intact" mg_xfer_finish 60

mg_say "a's host gets a new address: a looks for paths again"
# (The host's own early changes, such as IPv6 link-local addresses that
# finish duplicate address detection, may already have been noticed: count.)
net_changes() {
	grep -c "the network changed" "$MG_TMP/up-a.log"
}
net_changed_since() {
	[ "$(net_changes)" -gt "$1" ]
}
before=$(net_changes)
sleep 1.1 # changes are handled at most once a second
mg_addr a eth0 198.51.100.7/32
mg_check "a notices the new address within 5 s" mg_wait_for 5 net_changed_since "$before"
mg_check "a still reaches b directly" mg_wait_for 10 mg_mesh_direct a b
mg_check "... and pings it" mg_ping_quiet a "$b4"

peer_b=$(mg_mesh b status --json | sed -n 's/.*"self":{[^}]*"public_key":"\([^"]*\)".*/\1/p')
mg_check "wg show on a lists b" has_peer a "$peer_b"
if mg_in a wg set "${MG_ID}a" peer "$peer_b" remove 2>"$MG_TMP/wgset.err"; then
	mg_fail "wg set on a mesh peer was accepted"
else
	mg_pass "wg set on a mesh peer is refused"
fi
mg_check "b is still a's peer after the refused set" has_peer a "$peer_b"

mg_say "an invitation with more endpoints than fit names those left out"
long=$(printf 'h%.0s' {1..60})
eps=()
for i in 1 2 3 4 5 6 7 8; do
	eps+=(--endpoint "$long$i.example.net:51820")
done
mg_in p "$MESHGUARD" init --name big --node p9 --state "$MG_TMP/state-big" "${eps[@]}" >/dev/null
tok=$(mg_in p "$MESHGUARD" invite --state "$MG_TMP/state-big" 2>"$MG_TMP/big.err")
mg_check "the token still fits in 512 characters" [ -n "$tok" ] && [ "${#tok}" -le 512 ]
mg_check "invite names an endpoint it left out" grep -q "left out.*${long}3.example.net:51820" \
	"$MG_TMP/big.err"

mg_say "a second mesh on host a: its own directory, port and interface"
second=$MG_TMP/state-a2
mg_check "init of a second mesh on a" \
	mg_in a "$MESHGUARD" init --name other --node a2 --listen-port 51900 --state "$second"
mg_bg "$MG_TMP/up-a2.log" ip netns exec "$(mg_ns_name a)" "$MESHGUARD" up $MG_UP_SANDBOX -i "${MG_ID}x" \
	--state "$second"
mg_check "the second mesh runs beside the first" \
	mg_wait_for 10 mg_in a "$MESHGUARD" status --state "$second"
mg_check "the first mesh still reaches b" mg_ping_quiet a "$b4"
third=$MG_TMP/state-a3
mg_in a "$MESHGUARD" init --name third --node a3 --listen-port 51820 --state "$third" >/dev/null
rc=0
mg_in a timeout 10 "$MESHGUARD" up $MG_UP_SANDBOX -i "${MG_ID}y" --state "$third" >"$MG_TMP/up-a3.log" 2>&1 || rc=$?
mg_check "up on a port that is taken fails with 4 (status $rc)" [ "$rc" = 4 ]
mg_check "... and says which port" grep -q "51820" "$MG_TMP/up-a3.log"
rc=0
mg_in a timeout 10 "$MESHGUARD" up $MG_UP_SANDBOX -i "${MG_ID}a" --state "$second" >"$MG_TMP/up-a4.log" 2>&1 || rc=$?
mg_check "up of a mesh that already runs fails with 4 (status $rc)" [ "$rc" = 4 ]
rc=0
mg_in a "$MESHGUARD" up $MG_UP_SANDBOX -c /dev/null --state "$second" >/dev/null 2>&1 || rc=$?
mg_check "up -c with a directory holding a mesh is a usage error (status $rc)" [ "$rc" = 1 ]

mg_say "b leaves while its node is stopped"
mg_mesh_down b
mg_check "leave on b (no node running) exits 0" mg_mesh b leave
mg_check "b's directory holds no membership" [ ! -e "$(mg_mesh_state b)/mesh.json" ]
mg_check "a drops b within 30 s" mg_wait_for 30 mg_mesh_not_lists a b
mg_check "p drops b within 30 s" mg_wait_for 30 mg_mesh_not_lists p b

mg_finish
