#!/usr/bin/env bash
# Privilege separation (issue 13, test 2). P, A and G on one LAN
# (mesh_lib.sh), G also on a site LAN 10.9.0.0/24 with a host H that runs no
# meshguard; G is invited with `--routes 10.9.0.0/24`.
#   - the process of A's daemon that reads the network (the child of the pid
#     the shell started) runs as a non-root user with every capability set
#     empty, NoNewPrivs 1 and Seccomp 2 (filter); the privileged parent
#     parses nothing from the network;
#   - traffic flows between members;
#   - G starts advertising later (`up --advertise`): A's kernel route to
#     10.9.0.0/24 is added through A's privileged part (A's sandboxed side
#     has no CAP_NET_ADMIN), and A reaches H;
#   - a non-root client is refused by the UAPI socket (`wg show`) and by the
#     mesh's control socket (`meshguard mesh status`);
#   - SIGTERM to the daemon's pid stops both processes, and the UAPI socket
#     file goes.
# Route requests outside the mesh's prefixes are refused by the privileged
# side's policy: tests/unit/test_privsep.c sends them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

skip() {
	echo "SKIP: $*"
	exit 77
}
[ -n "${MG_NO_SANDBOX:-}" ] && skip "a sanitizer build runs without the sandbox"
id -u meshguard >/dev/null 2>&1 || mg_die "no user meshguard (scripts/deps creates it)"
mg_require_cmds setpriv

H=10.9.0.100

reach() {
	mg_ping_quiet "$@" || return 1
}

site_lan() {
	mg_ns_new h
	ip -n "$(mg_ns_name g)" link add eth1 type veth peer name eth0 netns "$(mg_ns_name h)"
	ip -n "$(mg_ns_name g)" link set eth1 up
	ip -n "$(mg_ns_name h)" link set eth0 up
	mg_addr g eth1 10.9.0.1/24
	mg_addr h eth0 "$H/24"
}

# worker PID: the sandboxed child of the daemon's pid.
worker() {
	cat "/proc/$1/task/$1/children" 2>/dev/null | awk '{ print $1 }'
}

status_field() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

sandboxed() {
	local w=$1 f
	[ "$(status_field "$w" Uid)" != 0 ] || return 1
	for f in CapInh CapPrm CapEff CapBnd CapAmb; do
		[ "$(status_field "$w" "$f")" = 0000000000000000 ] || return 1
	done
	[ "$(status_field "$w" NoNewPrivs)" = 1 ] && [ "$(status_field "$w" Seccomp)" = 2 ]
}

site_route() {
	ip -n "$(mg_ns_name a)" route show 10.9.0.0/24 | grep -q "dev ${MG_ID}a"
}

no_site_route() {
	! site_route
}

mg_mesh_lan p a g
site_lan
mg_mesh p init --name lab --node p >/dev/null || mg_die "init failed"
mg_mesh_up p
tok=$(mg_mesh p invite --name a) || mg_die "invite a"
mg_mesh a join "$tok" >/dev/null || mg_die "join a"
tok=$(mg_mesh p invite --name g --routes 10.9.0.0/24) || mg_die "invite g"
mg_mesh g join "$tok" >/dev/null || mg_die "join g"
mg_mesh_up a

pid=${MG_M_PID[a]}
w=$(worker "$pid")
mg_say "a's daemon: pid $pid, network side pid ${w:-none}"
grep -E '^(Uid|Gid|Cap[A-Za-z]+|NoNewPrivs|Seccomp):' "/proc/$w/status" | sed 's/^/    /'
mg_check "the network side runs apart from the daemon's pid" [ -n "$w" ]
mg_check "... as a non-root user, no capabilities, no_new_privs, seccomp filter" sandboxed "$w"
mg_check "... as the user meshguard" [ "$(status_field "$w" Uid)" = "$(id -u meshguard)" ]
mg_check "the privileged part keeps its privileges" [ "$(status_field "$pid" Uid)" = 0 ]
mg_check "a's state directory belongs to meshguard" \
	[ "$(stat -c %U "$(mg_mesh_state a)")" = meshguard ]

p4=$(mg_mesh_addr4 p)
mg_check "a reaches p through the mesh" mg_wait_for 20 reach a "$p4"

mg_check "no route to the site before g advertises it" no_site_route
mg_mesh_up g --advertise 10.9.0.0/24
mg_check "a gets the kernel route to 10.9.0.0/24 through its privileged part" \
	mg_wait_for 20 site_route
mg_check "a reaches h (10.9.0.100) behind g" mg_wait_for 20 reach a "$H"

rc=0
mg_in a setpriv --reuid=65534 --regid=65534 --clear-groups wg show "${MG_ID}a" \
	>"$MG_TMP/wg-nobody.log" 2>&1 || rc=$?
mg_check "a non-root client is refused by the UAPI socket (wg status $rc)" [ "$rc" != 0 ]
mg_check "root is served by it" mg_in a wg show "${MG_ID}a" listen-port
rc=0
mg_in a setpriv --reuid=65534 --regid=65534 --clear-groups "$MESHGUARD" mesh status \
	--state "$(mg_mesh_state a)" >"$MG_TMP/status-nobody.log" 2>&1 || rc=$?
mg_check "a non-root client is refused by the mesh control socket (status $rc)" [ "$rc" != 0 ]
mg_say "$(head -2 "$MG_TMP/wg-nobody.log" "$MG_TMP/status-nobody.log")"

sock=/var/run/wireguard/${MG_ID}a.sock
mg_check "the UAPI socket exists while a runs" [ -S "$sock" ]
mg_mesh_down a
mg_check "SIGTERM to the daemon's pid ends its network side too" mg_not_alive "$w"
mg_check "the UAPI socket file is removed" [ ! -e "$sock" ]
mg_finish
