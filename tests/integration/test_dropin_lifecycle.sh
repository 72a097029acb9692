#!/usr/bin/env bash
# The wireguard-go drop-in's life cycle, as tools written for wireguard-go
# rely on it: meshguard-wg exits when its UAPI socket is deleted (removing
# its interface), exits when its interface is deleted (removing its socket),
# and without -f returns only once the interface and socket exist, leaving
# the daemon in the background. wireguard-go does the same.

. "$(dirname "$0")/lib.sh"
mg_strict

mg_ns_new a

if_present() {
	mg_in a ip link show "$1" >/dev/null 2>&1
}

if_absent() {
	! if_present "$1"
}

sock_absent() {
	[ ! -e "$MG_WG_RUN/$1.sock" ]
}

daemon_pid() {
	pgrep -f "meshguard-wg $1\$" | head -n 1
}

# 1. The socket goes: the daemon exits and its interface goes with it.
ifn=${MG_ID}s
mg_wgd_start a "$ifn" meshguard
pid=$MG_BG_PID
mg_check "socket removal: the interface exists first" if_present "$ifn"
rm -f "$MG_WG_RUN/$ifn.sock"
mg_check "socket removal: the daemon exits" mg_wait_for 10 mg_not_alive "$pid"
mg_check "socket removal: the interface is gone" mg_wait_for 5 if_absent "$ifn"

# 2. The interface goes: the daemon exits and removes its socket.
ifn=${MG_ID}i
mg_wgd_start a "$ifn" meshguard
pid=$MG_BG_PID
mg_in a ip link del "$ifn"
mg_check "interface removal: the daemon exits" mg_wait_for 10 mg_not_alive "$pid"
mg_check "interface removal: the socket is gone" mg_wait_for 5 sock_absent "$ifn"

# 3. Without -f: the command returns once both exist; the daemon stays.
ifn=${MG_ID}b
mg_in a env -u WG_PROCESS_FOREGROUND "$MESHGUARD_WG" "$ifn" >"$MG_TMP/bg.log" 2>&1
mg_check "background: the interface exists when the command returns" if_present "$ifn"
mg_check "background: the socket exists when the command returns" [ -S "$MG_WG_RUN/$ifn.sock" ]
bgpid=$(daemon_pid "$ifn")
[ -n "$bgpid" ] && MG_PIDS+=("$bgpid")
mg_check "background: the daemon runs on" [ -n "$bgpid" ]
mg_check "background: wg talks to it" mg_in a wg show "$ifn"
mg_in a ip link del "$ifn"
mg_check "background: it exits when its interface goes" mg_wait_for 10 sock_absent "$ifn"

mg_finish
