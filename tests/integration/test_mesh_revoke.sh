#!/usr/bin/env bash
# Revocation, live and caught up (issue 11, tests 3 and 4). P (the
# authority's host), A, B, D on one LAN, all joined by token and running.
# 1. `revoke b` on P: within 30 s A has dropped B (status, wg show,
#    members), B's packets to A are dropped (ping fails), B's old token is
#    refused, and B restarted with its old certificate stays out.
# 2. A stops; C joins and D is revoked meanwhile; A starts again and within
#    30 s knows C (and reaches it) and has dropped D.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

wg_has_key() {
	mg_in "$1" wg show "$MG_ID$1" peers | grep -qF "$2"
}

wg_lacks_key() {
	! wg_has_key "$@"
}

members_lack() {
	! mg_mesh "$1" members | grep -q "^$2 "
}

# ping's status 2 ("no route yet") would end mg_wait_for at once.
reach() {
	mg_ping_quiet "$@" || return 1
}

revoke_gone() {
	local rc=0
	mg_mesh p revoke "$1" 2>/dev/null || rc=$?
	[ "$rc" = 2 ]
}

pubkey_of() {
	mg_mesh "$1" status --json | sed -n 's/.*"self":{[^}]*"public_key":"\([^"]*\)".*/\1/p'
}

join_host() {
	local h=$1 tok
	tok=$(mg_mesh p invite --name "$h") || mg_die "invite for $h failed"
	mg_mesh "$h" join "$tok" >/dev/null || mg_die "join of $h failed"
	printf '%s' "$tok" >"$MG_TMP/token-$h"
	mg_mesh_up "$h"
}

mg_mesh_lan p a b c d
mg_mesh p init --name lab --node p >/dev/null || mg_die "init failed"
mg_mesh_up p
for h in a b d; do
	join_host "$h"
done
for h in b d; do
	mg_wait_for 20 mg_mesh_direct a "$h" || mg_die "a never reached $h directly"
done
a4=$(mg_mesh_addr4 a)
key_b=$(pubkey_of b)
key_d=$(pubkey_of d)
# (A wait, not one ping: b's side of the path may still be settling.)
mg_check "before: b reaches a" mg_wait_for 10 reach b "$a4"
mg_check "before: a lists b and has it as a peer" wg_has_key a "$key_b"

mg_say "1. revoke b on p"
mg_check "revoke b exits 0" mg_mesh p revoke b
mg_check "a drops b from its status within 30 s" mg_wait_for 30 mg_mesh_not_lists a b
mg_check "a drops b as a WireGuard peer" mg_wait_for 5 wg_lacks_key a "$key_b"
mg_check "a's members no longer list b" mg_wait_for 5 members_lack a b
mg_check "p's members no longer list b" members_lack p b
if mg_in b ping -c 2 -W 1 "$a4" >/dev/null 2>&1; then
	mg_fail "b's packets still reach a after the revocation"
else
	mg_pass "b's packets to a are dropped"
fi
rm -rf "$(mg_mesh_state b)-again"
rc=0
mg_in b "$MESHGUARD" join "$(cat "$MG_TMP/token-b")" --state "$(mg_mesh_state b)-again" \
	>/dev/null 2>"$MG_TMP/rejoin.err" || rc=$?
mg_check "b's old token is refused (exit 2, status $rc)" [ "$rc" = 2 ]
mg_mesh_down b
mg_mesh_up b
sleep 5
mg_check "b restarted with its old certificate stays out of a" mg_mesh_not_lists a b
mg_check "... and out of a's WireGuard peers" wg_lacks_key a "$key_b"
mg_check "revoking b again: no member named b (exit 2)" revoke_gone b

mg_say "2. a stops; c joins and d is revoked meanwhile"
mg_mesh_down a
join_host c
mg_check "revoke d exits 0" mg_mesh p revoke d
mg_wait_for 10 mg_mesh_not_lists p d
mg_mesh_up a
mg_check "a knows c within 30 s" mg_wait_for 30 mg_mesh_lists a c
mg_check "a has dropped d within 30 s" mg_wait_for 30 mg_mesh_not_lists a d
mg_check "a drops d as a WireGuard peer" mg_wait_for 5 wg_lacks_key a "$key_d"
c4=$(mg_mesh_addr4 c)
mg_check "a reaches c" mg_wait_for 15 mg_ping_quiet a "$c4"
mg_check "c reaches a directly" mg_wait_for 15 mg_mesh_direct c a

mg_say "3. c leaves"
mg_check "leave on c exits 0" mg_mesh c leave
mg_check "a drops c within 30 s" mg_wait_for 30 mg_mesh_not_lists a c
mg_check "c's node stops after leaving" mg_wait_for 10 mg_not_alive "${MG_M_PID[c]}"
mg_check "c's directory holds no membership" [ ! -e "$(mg_mesh_state c)/mesh.json" ]
rc=0
mg_mesh c members >/dev/null 2>&1 || rc=$?
mg_check "members on c after leaving: exit 4 (status $rc)" [ "$rc" = 4 ]

mg_finish
