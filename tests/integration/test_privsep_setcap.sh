#!/usr/bin/env bash
# Without root (issue 13: "running with only cap_net_admin (setcap) instead
# of root"). Node p in namespace a runs a copy of meshguard with the file
# capability cap_net_admin alone, as the user meshguard; node q in b runs as
# root. p's daemon must come up, its privileged part holding cap_net_admin
# only and its network side nothing (no_new_privs, seccomp), and traffic
# must flow both ways.
#
# What such a user needs and this machine lacks is given to p in a mount
# namespace of its own (unshare -m), never to the host: a /dev/net/tun it
# may open (Debian's default mode is 0666, this machine's 0600: a device
# node of mode 0666 is bound over it), and /var/run/wireguard and
# /var/lib/meshguard of its own (tmpfs). p's wg-quick file is given to it.
. "$(dirname "$0")/lib.sh"

skip() {
	echo "SKIP: $*"
	exit 77
}
[ -n "${MG_NO_SANDBOX:-}" ] && skip "a sanitizer build runs without the sandbox"
mg_require_cmds setcap setpriv unshare mknod
id -u meshguard >/dev/null 2>&1 || mg_die "no user meshguard (scripts/deps creates it)"

CAPBIN=$MG_TMP/meshguard-cap
cp "$MESHGUARD" "$CAPBIN"
chmod 755 "$CAPBIN"
setcap cap_net_admin+ep "$CAPBIN" 2>/dev/null ||
	skip "cannot set file capabilities under $MG_TMP"

# The wrapper runs in p's own mount namespace; its last argument is the
# configuration file; it drops the binary it was given for the setcap copy.
cat >"$MG_TMP/capwrap.sh" <<EOF
#!/usr/bin/env bash
set -e
conf=\${@: -1}
mknod -m 666 "$MG_TMP/tun" c 10 200
mount --bind "$MG_TMP/tun" /dev/net/tun
mkdir -p /var/run/wireguard /var/lib/meshguard
mount -t tmpfs -o mode=0755 tmpfs /var/run/wireguard
mount -t tmpfs -o mode=0700 tmpfs /var/lib/meshguard
chown meshguard: /var/run/wireguard /var/lib/meshguard "\$conf"
shift
exec setpriv --reuid=meshguard --regid=meshguard --clear-groups "$CAPBIN" "\$@"
EOF
chmod 755 "$MG_TMP/capwrap.sh"

status_field() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

mg_topo_pair
mg_node p a meshguard 51820 "$MG_IN4_A" "$MG_IN6_A"
mg_node q b meshguard 51821 "$MG_IN4_B" "$MG_IN6_B"
mg_node_peer p q "$(mg_endpoint "$MG_U4_B" 51821)"
mg_node_peer q p "$(mg_endpoint "$MG_U4_A" 51820)"
mg_node_name p
mg_start_meshguard p unshare -m "$MG_TMP/capwrap.sh"
mg_node_wait p 10
mg_node_start q

pid=${MG_N_PID[p]}
w=$(awk '{ print $1 }' "/proc/$pid/task/$pid/children" 2>/dev/null)
for x in "$pid" "$w"; do
	mg_say "pid $x: $(grep -E '^(Uid|CapPrm|CapEff|NoNewPrivs|Seccomp):' "/proc/$x/status" 2>/dev/null | tr -s '\t\n' '  ')"
done
uid=$(id -u meshguard)
mg_check "p's daemon runs as meshguard, not root" [ "$(status_field "$pid" Uid)" = "$uid" ]
mg_check "... holding cap_net_admin alone" [ "$(status_field "$pid" CapEff)" = 0000000000001000 ]
mg_check "its network side: the same user" [ -n "$w" ] && [ "$(status_field "$w" Uid)" = "$uid" ]
mg_check "... with no capabilities" [ "$(status_field "$w" CapPrm)" = 0000000000000000 ] &&
	[ "$(status_field "$w" CapEff)" = 0000000000000000 ]
mg_check "... no_new_privs and a seccomp filter" [ "$(status_field "$w" NoNewPrivs)" = 1 ] &&
	[ "$(status_field "$w" Seccomp)" = 2 ]

mg_ping_all "cap_net_admin only" p q
for node in p q; do
	mg_check "node $node stops cleanly on SIGTERM" mg_node_stop "$node"
done
mg_finish
