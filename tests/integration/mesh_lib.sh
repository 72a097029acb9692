# shellcheck shell=bash
# Mesh topologies for the integration tests; sourced after lib.sh.
#
# mg_mesh_lan HOST...: one LAN segment, a bridge in namespace "lan", and a
# namespace per host (one character each) with its address 192.0.2.N/24 and
# 2001:db8:1::N/64 (TEST-NET, documentation prefixes: they exist only here).
# Each host's mesh state lives in $MG_TMP/state-HOST, its interface is
# "$MG_ID<host>" (distinct names: /var/run/wireguard is shared by all
# namespaces), its log $MG_TMP/up-HOST.log.

declare -A MG_M_ADDR MG_M_PID

mg_mesh_lan() {
	local n=1 h
	mg_ns_new lan
	ip -n "$(mg_ns_name lan)" link add br0 type bridge || mg_die "cannot create the bridge"
	ip -n "$(mg_ns_name lan)" link set br0 up
	for h in "$@"; do
		mg_ns_new "$h"
		ip -n "$(mg_ns_name "$h")" link add eth0 type veth peer name "l$h" \
			netns "$(mg_ns_name lan)" || mg_die "cannot create the veth of $h"
		ip -n "$(mg_ns_name lan)" link set "l$h" master br0
		ip -n "$(mg_ns_name lan)" link set "l$h" up
		ip -n "$(mg_ns_name "$h")" link set eth0 up
		mg_addr "$h" eth0 "192.0.2.$n/24"
		mg_addr "$h" eth0 "2001:db8:1::$n/64"
		MG_M_ADDR[$h]=192.0.2.$n
		n=$((n + 1))
	done
}

# mg_mesh_host HOST ADDR: registers HOST, a namespace another topology builder
# made (nat_lib.sh), with its own underlay address, as mg_mesh_lan does.
mg_mesh_host() {
	MG_M_ADDR[$1]=$2
}

mg_mesh_state() {
	printf '%s/state-%s' "$MG_TMP" "$1"
}

# mg_mesh HOST ARGS...: runs `meshguard ARGS --state <HOST's state>` in
# HOST's namespace.
mg_mesh() {
	local h=$1
	shift
	mg_in "$h" "$MESHGUARD" "$@" --state "$(mg_mesh_state "$h")"
}

# mg_mesh_up HOST [ARGS...]: starts `meshguard up [ARGS]` for HOST and waits
# until its control socket answers.
mg_mesh_up() {
	local h=$1
	shift
	mg_bg "$MG_TMP/up-$h.log" ip netns exec "$(mg_ns_name "$h")" "$MESHGUARD" up $MG_UP_SANDBOX \
		-i "$MG_ID$h" --state "$(mg_mesh_state "$h")" "$@"
	MG_M_PID[$h]=$MG_BG_PID
	mg_wait_for 10 mg_mesh_running "$h" || mg_die "meshguard up on $h did not start:
$(tail -5 "$MG_TMP/up-$h.log")"
}

mg_mesh_running() {
	mg_alive "${MG_M_PID[$1]}" && mg_mesh "$1" status >/dev/null 2>&1
}

mg_mesh_down() {
	mg_stop_pid "${MG_M_PID[$1]}"
}

# mg_mesh_addr4 HOST: HOST's overlay IPv4 address, from its own status.
mg_mesh_addr4() {
	mg_mesh "$1" status --json | sed -n 's/.*"self":{"name":"[^"]*","addresses":\["\([0-9.]*\)\/32".*/\1/p'
}

# mg_mesh_path HOST NAME: the path HOST's status reports to member NAME
# ("direct", "relay", "none"), or nothing when NAME is not listed.
mg_mesh_path() {
	mg_mesh "$1" status --json | tr '{' '\n' | grep "\"name\":\"$2\"" | grep -v '"endpoints"' |
		sed -n 's/.*"path":"\([a-z]*\)".*/\1/p'
}

mg_mesh_lists() {
	mg_mesh "$1" status --json | grep -q "\"name\":\"$2\""
}

mg_mesh_not_lists() {
	! mg_mesh_lists "$@"
}

mg_mesh_direct() {
	[ "$(mg_mesh_path "$1" "$2")" = direct ]
}
