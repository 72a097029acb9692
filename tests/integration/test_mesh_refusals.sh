#!/usr/bin/env bash
# Join refusals (issue 11, test 2): each with its exit status (mesh.c: 1
# usage, 2 token or membership refused, 3 unreachable, 4 state) and a line on
# stderr naming the reason, and the joiner's DIR left without a membership:
# no mesh.json, `members` fails with 4, `up --state DIR` finds no mesh.
# P (192.0.2.1) made mesh "lab" and runs it; A, B, C join it; Q made mesh
# "other" (never up); D tries tokens that cannot work. The cases:
#   - malformed: "mg1!!!" and "hello" (2: "malformed", "not a meshguard
#     token"), an empty line on stdin for `join -` (1: "no token on stdin");
#   - used: a --uses 1 token, used by A, then by B (2, "used up");
#   - expired: `invite --expires 1s`, joined 3 s later. The joiner accepts
#     the token within MG_MESH_SKEW (600 s), so the refusal is the
#     inviter's, on its own clock without skew: its signed challenge says
#     "invite expired" (2);
#   - tampered: one character in the middle of P's token flipped. P runs, so
#     its token is signed by its issuer key and the joiner checks that
#     signature when the challenge brings the issuer certificate: it sends
#     no request and, after the joiner's timeout (10 s), gives 2 "bad
#     signature". P's use is not consumed: the token as made still admits C.
#     A token made while P is down is signed by the authority and refused
#     at once, before anything is sent;
#   - name taken: a token pinned to "a" after A joined, and `join --name p`
#     with an unpinned token (2, "name taken"); the same unpinned token then
#     admits B under its own name (a refused name uses nothing up);
#   - another mesh: what the code can show without forging tokens:
#     A, holding "lab", refuses Q's token for "other" (4, "already holds a
#     mesh") and still holds "lab"; and D, holding Q's token, is answered by
#     P, not Q (D's namespace rewrites Q's address to P's with nftables):
#     P's challenge is not signed by the inviter key Q's token names, so D
#     refuses it (2, "bad signature") and joins nothing;
#   - inviter down: P stopped, a token of P's (3, naming 192.0.2.1:51820).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

# refused HOST STATUS PATTERN DESC JOIN_ARGS...: `join JOIN_ARGS` on HOST
# exits with STATUS, says PATTERN (grep -E) on stderr, and leaves no
# membership.
refused() {
	local h=$1 want=$2 pat=$3 desc=$4 rc=0
	shift 4
	mg_mesh "$h" join "$@" >"$MG_TMP/join.out" 2>"$MG_TMP/join.err" || rc=$?
	check_refusal "$h" "$want" "$rc" "$pat" "$desc"
}

# The same with the token on stdin: refused_stdin HOST STATUS PATTERN DESC
# INPUT.
refused_stdin() {
	local h=$1 want=$2 pat=$3 desc=$4 rc=0
	printf '%s\n' "$5" | ip netns exec "$(mg_ns_name "$h")" "$MESHGUARD" join - \
		--state "$(mg_mesh_state "$h")" >"$MG_TMP/join.out" 2>"$MG_TMP/join.err" || rc=$?
	check_refusal "$h" "$want" "$rc" "$pat" "$desc"
}

check_refusal() {
	local h=$1 want=$2 rc=$3 pat=$4 desc=$5
	echo "    exit $rc: $(head -n 1 "$MG_TMP/join.err")"
	if [ "$rc" -eq "$want" ]; then
		mg_pass "$desc: exit $want"
	else
		mg_fail "$desc: exit $rc, expected $want"
	fi
	if grep -m 1 '^meshguard join: ' "$MG_TMP/join.err" | grep -qE "$pat"; then
		mg_pass "$desc: stderr says \"$pat\""
	else
		mg_fail "$desc: stderr does not say \"$pat\": $(cat "$MG_TMP/join.err")"
	fi
	mg_check "$desc: $h holds no membership" no_membership "$h"
}

# No mesh.json, `members` exits 4, `up` finds no mesh to run.
no_membership() {
	local d rc=0
	d=$(mg_mesh_state "$1")
	if [ -e "$d/mesh.json" ]; then
		echo "    $d/mesh.json exists"
		return 1
	fi
	mg_mesh "$1" members >/dev/null 2>&1 || rc=$?
	if [ "$rc" -ne 4 ]; then
		echo "    members on $1 exited $rc, expected 4"
		return 1
	fi
	rc=0
	mg_in "$1" timeout 5 "$MESHGUARD" up $MG_UP_SANDBOX --state "$d" >/dev/null 2>"$MG_TMP/up.err" || rc=$?
	if [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || ! grep -q 'holding a mesh is needed' "$MG_TMP/up.err"; then
		echo "    up on $1 exited $rc: $(cat "$MG_TMP/up.err")"
		return 1
	fi
}

# member_names HOST: the members HOST's DIR lists, sorted, on one line.
member_names() {
	mg_mesh "$1" members | awk 'NR > 1 { print $1 }' | sort | tr '\n' ' '
}

# lists_all HOST: HOST's DIR lists p, a, b and c, and no one else.
lists_all() {
	local got
	got=$(member_names "$1")
	echo "    members on $1: $got"
	[ "$got" = "a b c p " ]
}

# tamper TOKEN: the token with its middle character replaced. With P's two
# endpoints that character encodes bytes of the secret (token.h: offsets
# 115-146), so the token still decodes and only its signature is wrong.
tamper() {
	local t=$1 i c
	i=$((${#t} / 2))
	c=${t:i:1}
	[ "$c" = A ] && c=B || c=A
	printf '%s%s%s' "${t:0:i}" "$c" "${t:i+1}"
}

mg_mesh_lan p a b c q d

mg_say "init on p, up"
mg_mesh p init --name lab --node p >/dev/null || mg_die "init on p failed"
mg_mesh_up p
tok_exp=$(mg_mesh p invite --expires 1s) || mg_die "invite --expires 1s failed"
t_exp=$(date +%s)

mg_say "malformed tokens"
refused c 2 'malformed' 'token "mg1!!!"' 'mg1!!!'
refused c 2 'not a meshguard token' 'token "hello"' hello
refused_stdin c 1 'no token on stdin' 'empty line on stdin' ''

mg_say "a token used up"
tok_once=$(mg_mesh p invite --uses 1) || mg_die "invite --uses 1 failed"
mg_check "a joins with the single-use token" mg_mesh a join "$tok_once" --name a
refused b 2 'used up' 'single-use token used again' "$tok_once" --name b

mg_say "an expired token"
while [ $(($(date +%s) - t_exp)) -lt 3 ]; do
	sleep 0.2
done
refused b 2 'expired' 'token past its 1 s expiry' "$tok_exp" --name b

mg_say "names taken"
tok_pin=$(mg_mesh p invite --name a) || mg_die "invite --name a failed"
refused b 2 'name taken' 'token pinned to the name of member a' "$tok_pin"
tok_free=$(mg_mesh p invite) || mg_die "invite failed"
refused b 2 'name taken' 'join --name p, the inviter'"'"'s name' "$tok_free" --name p
mg_check "the same token then admits b as b" mg_mesh b join "$tok_free" --name b

mg_say "a tampered token"
tok_c=$(mg_mesh p invite) || mg_die "invite for c failed"
refused c 2 'bad signature' 'token with one character changed' "$(tamper "$tok_c")" --name c
mg_check "the token as made still admits c" mg_mesh c join "$tok_c" --name c
mg_check "c holds lab" grep -q '^mesh lab: ' <(mg_mesh c members)
mg_say "another mesh"
mg_mesh q init --name other --node q >/dev/null || mg_die "init on q failed"
tok_q=$(mg_mesh q invite) || mg_die "invite on q failed"
rc=0
mg_mesh a join "$tok_q" --name a2 2>"$MG_TMP/join.err" || rc=$?
echo "    exit $rc: $(cat "$MG_TMP/join.err")"
mg_check "a, holding lab, refuses other's token: exit 4" [ "$rc" -eq 4 ]
mg_check "a says it already holds a mesh" grep -q 'already holds a mesh' "$MG_TMP/join.err"
mg_check "a still holds lab" grep -q '^mesh lab: ' <(mg_mesh a members)

mg_in d nft -f - <<EOF || mg_die "nft nat in d"
table ip mgnat {
	chain out {
		type nat hook output priority -100; policy accept;
		ip daddr ${MG_M_ADDR[q]} udp dport 51820 dnat to ${MG_M_ADDR[p]}
	}
}
EOF
refused d 2 'bad signature' 'other'"'"'s token answered by lab'"'"'s inviter' "$tok_q" --name d
mg_in d nft delete table ip mgnat

mg_say "the inviter down"
tok_down=$(mg_mesh p invite) || mg_die "invite for d failed"
mg_mesh_down p
t0=$(date +%s)
refused d 3 '192\.0\.2\.1:51820' 'inviter down' "$tok_down" --name d
echo "    gave up after $(($(date +%s) - t0)) s"
tok_off=$(mg_mesh p invite) || mg_die "invite on p, down, failed"
t0=$(date +%s)
refused d 2 'bad signature' 'authority-signed token with one character changed' \
	"$(tamper "$tok_off")" --name d
mg_check "refused at once (within 2 s)" [ $(($(date +%s) - t0)) -le 2 ]

mg_check "p's members are p, a, b and c: no refusal made a member" lists_all p

mg_finish
