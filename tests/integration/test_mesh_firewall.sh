#!/usr/bin/env bash
# The firewall by group (issue 13, test 5): P, A (invited into group admins)
# and B (group laptops) on one LAN. With no rules everything passes. Then on
# P, through the running node, `firewall add --group admins --proto tcp
# --port 22`, with a TCP listener on P's overlay address, port 22:
#   - A connects; B cannot; B can still ping P;
#   - P's own connection to B (and its ping) still gets its replies
#     (stateful);
#   - `firewall list` shows the rule's hits and the drops; the rule is in
#     P's state, survives a restart, and `firewall del` lifts it;
#   - bad rules and numbers exit 1; a corrupt rules file stops `up` (4).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

mg_require_cmds socat

# tcp_says HOST ADDR PORT: connects and reads the listener's "hello".
tcp_says() {
	[ "$(mg_in "$1" timeout 5 socat -T 3 - "TCP4:$2:$3,connect-timeout=2" </dev/null 2>/dev/null)" \
		= hello ]
}

tcp_refused() {
	! tcp_says "$@"
}

# listen HOST ADDR PORT: a listener that says hello to each connection.
listen() {
	mg_bg "$MG_TMP/listen-$1-$3.log" ip netns exec "$(mg_ns_name "$1")" \
		socat "TCP4-LISTEN:$3,bind=$2,reuseaddr,fork" SYSTEM:"echo hello"
	mg_wait_for 10 mg_tcp_listening "$1" "$3" || mg_die "socat did not listen on $1:$3"
}

# rules_are N: P's `firewall list` shows N rules (offline too).
rules_are() {
	[ "$(mg_mesh p firewall list | grep -c '^[0-9]*: ')" = "$1" ]
}

# hits N: rule 1's hit count on P is at least N.
hits_at_least() {
	local h
	h=$(mg_mesh p firewall list | sed -n 's/^1: .* hits=\([0-9]*\)$/\1/p')
	[ -n "$h" ] && [ "$h" -ge "$1" ]
}

mg_mesh_lan p a b
mg_check "init exits 0" mg_mesh p init --name lab --node p
mg_mesh_up p
tok_a=$(mg_mesh p invite --name a --groups admins) || mg_die "invite for a failed"
tok_b=$(mg_mesh p invite --name b --groups laptops) || mg_die "invite for b failed"
mg_check "join a exits 0" mg_mesh a join "$tok_a"
mg_check "join b exits 0" mg_mesh b join "$tok_b"
mg_mesh_up a
mg_mesh_up b
p4=$(mg_mesh_addr4 p)
b4=$(mg_mesh_addr4 b)
mg_say "p is $p4, b is $b4"
mg_check "a reaches p" mg_wait_for 15 mg_ping_quiet a "$p4"
mg_check "b reaches p" mg_wait_for 15 mg_ping_quiet b "$p4"

listen p "$p4" 22
mg_check "no rules: b connects to p's port 22" tcp_says b "$p4" 22
mg_check "firewall list on p (no rules) shows none" rules_are 0

mg_say "on p: allow TCP 22 to admins only"
mg_check "firewall add (through the running node) exits 0" \
	mg_mesh p firewall add --group admins --proto tcp --port 22
mg_check "the rule is in p's state" grep -qx "group=admins proto=tcp port=22" \
	"$(mg_mesh_state p)/firewall"
mg_check "a (admins) connects to p's port 22" tcp_says a "$p4" 22
mg_check "b (laptops) cannot connect to p's port 22" tcp_refused b "$p4" 22
mg_check "b can still ping p" mg_ping_quiet b "$p4"

mg_say "p's own flows get their replies"
listen b "$b4" 5000
mg_check "p connects to b's port 5000 and reads its answer" tcp_says p "$b4" 5000
mg_check "p pings b" mg_ping_quiet p "$b4"

mg_mesh p firewall list >"$MG_TMP/list.txt"
mg_mesh p firewall list --json >"$MG_TMP/list.json"
sed 's/^/    /' "$MG_TMP/list.txt"
mg_check "firewall list counts a's connection as hits of rule 1" hits_at_least 1
mg_check "firewall list counts drops" grep -q "^dropped=[1-9]" "$MG_TMP/list.txt"
mg_check "firewall list counts replies to p's flows" grep -q "replies=[1-9]" "$MG_TMP/list.txt"
mg_check "firewall list --json names the rule" grep -q \
	'"rules":\[{"n":1,"group":"admins","proto":"tcp","port":"22","hits":[1-9]' \
	"$MG_TMP/list.json"

mg_say "exit statuses"
rc=0
mg_mesh p firewall add --proto icmp --port 22 2>/dev/null || rc=$?
mg_check "a port with proto icmp is a usage error (status $rc)" [ "$rc" = 1 ]
rc=0
mg_mesh p firewall add --group admins --proto tcp --port 22 2>/dev/null || rc=$?
mg_check "the same rule twice is a usage error (status $rc)" [ "$rc" = 1 ]
rc=0
mg_mesh p firewall del 9 2>/dev/null || rc=$?
mg_check "deleting a rule that is not there is a usage error (status $rc)" [ "$rc" = 1 ]

mg_say "the rules survive a restart"
mg_mesh_down p
mg_check "firewall list offline shows the rule" rules_are 1
rc=0
mg_mesh p firewall add --group laptops --proto udp --port 1000-2000 || rc=$?
mg_check "firewall add offline (under the lock) exits 0 (status $rc)" [ "$rc" = 0 ]
mg_check "firewall del 2 offline exits 0" mg_mesh p firewall del 2
mg_check "firewall list offline shows one rule again" rules_are 1
mg_mesh_up p
mg_check "after the restart a still connects" mg_wait_for 15 tcp_says a "$p4" 22
mg_check "after the restart b still cannot" tcp_refused b "$p4" 22

mg_say "firewall del lifts the rule"
mg_check "firewall del 1 exits 0" mg_mesh p firewall del 1
mg_check "b connects again" tcp_says b "$p4" 22
mg_check "firewall list shows no rules" rules_are 0

mg_say "a corrupt rules file stops the node from starting (fail closed)"
mg_mesh_down p
printf 'meshguard-firewall 1\ngroup=admins proto=tcp port=0\n' >"$(mg_mesh_state p)/firewall"
rc=0
mg_in p timeout 10 "$MESHGUARD" up $MG_UP_SANDBOX -i "${MG_ID}p" --state "$(mg_mesh_state p)" \
	>"$MG_TMP/up-p-corrupt.log" 2>&1 || rc=$?
mg_check "up with a corrupt firewall file fails with 4 (status $rc)" [ "$rc" = 4 ]
mg_check "... naming the file and line" grep -q "firewall: line 2: port \"0\"" \
	"$MG_TMP/up-p-corrupt.log"
rc=0
mg_mesh p firewall list >/dev/null 2>&1 || rc=$?
mg_check "firewall list on it fails with 4 (status $rc)" [ "$rc" = 4 ]

mg_finish
