# shellcheck shell=bash
# Harness for the network-namespace integration tests; sourced by test_*.sh.
#
# Everything a test creates is named after MG_ID ("mgt<pid>"): namespaces
# "$MG_ID-<name>", interfaces "$MG_ID<node><generation>" (at most 15 bytes:
# node names are one character), and files under $MG_TMP. An EXIT trap (also
# run on SIGINT/SIGTERM and on failure) kills every process the test started
# and deletes every namespace it made. Nothing is configured in the machine's
# own namespace: all addresses, daemons and traffic live in the test's
# namespaces.
#
# Results are lines "PASS: ..." / "FAIL: ..."; mg_finish prints
# "N passed, N failed" and sets the exit code.
#
# Environment: MESHGUARD (the binary), MG_SRC (source dir), MG_BUILD (build dir
# holding the test tools), MG_KEEP=1 keeps $MG_TMP for inspection.

set -uo pipefail

MG_SRC=${MG_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MG_BUILD=${MG_BUILD:-$MG_SRC/build}
MESHGUARD=${MESHGUARD:-$MG_BUILD/meshguard}
MG_ID="mgt$$"
MG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$MG_ID.XXXXXX")
# The daemon's sandboxed side runs as the user meshguard and must reach the
# state directories below (search permission only; nothing is listed).
chmod 711 "$MG_TMP"
# Sanitizer builds: LeakSanitizer needs ptrace, which the sandbox forbids.
MG_UP_SANDBOX=${MG_NO_SANDBOX:+--no-sandbox}
[ -n "${MG_NO_SANDBOX:-}" ] && export MESHGUARD_NO_SANDBOX=1
MG_WG_RUN=/var/run/wireguard

# Underlay (documentation ranges) and inner addresses of a two-node pair.
MG_U4_A=192.0.2.1
MG_U4_B=192.0.2.2
MG_U6_A=2001:db8:1::1
MG_U6_B=2001:db8:1::2
MG_IN4_A=10.77.0.1
MG_IN4_B=10.77.0.2
MG_IN6_A=fd6d:6700::1
MG_IN6_B=fd6d:6700::2

# shellcheck source=results.sh
. "$(dirname "${BASH_SOURCE[0]}")/results.sh"

MG_PIDS=()
MG_NAMESPACES=()
MG_GEN=0
declare -A MG_N_NS MG_N_IMPL MG_N_PORT MG_N_IN4 MG_N_IN6 MG_N_IF MG_N_PID MG_N_LOG \
	MG_N_KEY MG_N_PUB MG_N_PEERS MG_N_MTU MG_N_WGLOG

mg_dump_logs() {
	local node
	for node in "${!MG_N_LOG[@]}"; do
		[ -s "${MG_N_LOG[$node]}" ] || continue
		printf -- '---- last lines of %s (%s, %s) ----\n' "${MG_N_LOG[$node]##*/}" \
			"${MG_N_IMPL[$node]}" "${MG_N_IF[$node]}"
		tail -n 25 "${MG_N_LOG[$node]}" | sed 's/^/    /'
	done
}

mg_require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: needs root (network namespaces)"
		exit 77
	fi
}

# mg_need_tool NAME: the test tool $MG_BUILD/NAME (from tests/tools/NAME.c)
# must exist.
mg_need_tool() {
	[ -x "$MG_BUILD/$1" ] || mg_die "test tool '$MG_BUILD/$1' not found (build first)"
}

mg_require_cmds() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || mg_die "command '$c' not found (run scripts/deps)"
	done
}

# mg_wait_for TIMEOUT_S CMD...: polls CMD every 50 ms until it succeeds;
# gives up at once when CMD returns 2 ("will never succeed").
mg_wait_for() {
	local deadline
	deadline=$(awk -v t="$1" -v n="$(mg_now)" 'BEGIN { printf "%.3f", n + t }')
	shift
	local rc
	while :; do
		rc=0
		"$@" 2>/dev/null || rc=$?
		[ "$rc" -eq 0 ] && return 0
		# 2 means "will never succeed" (e.g. the daemon died).
		[ "$rc" -eq 2 ] && return 2
		if awk -v d="$deadline" -v n="$(mg_now)" 'BEGIN { exit !(n > d) }'; then
			return 1
		fi
		sleep 0.05
	done
}

# True while PID runs (a zombie child counts as exited).
mg_alive() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# mg_net_side PID: the process of a meshguard daemon that reads the network
# (and holds the node's memory): its sandboxed child, or PID itself when
# it runs without a sandbox (or is no meshguard).
mg_net_side() {
	local c
	c=$(awk '{ print $1 }' "/proc/$1/task/$1/children" 2>/dev/null)
	echo "${c:-$1}"
}

mg_not_alive() {
	! mg_alive "$1"
}

# mg_stop_pid PID [TIMEOUT_S]: SIGTERM, then SIGKILL after TIMEOUT_S (3).
# Returns the process's exit status (143 after SIGTERM is normal).
mg_stop_pid() {
	local pid=$1 rc=0
	kill -TERM "$pid" 2>/dev/null
	if ! mg_wait_for "${2:-3}" mg_not_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return "$rc"
}

# mg_bg LOG CMD...: runs CMD in the background with output to LOG, records
# its PID in MG_PIDS and in MG_BG_PID.
mg_bg() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 </dev/null &
	MG_BG_PID=$!
	MG_PIDS+=("$MG_BG_PID")
}

# ---- namespaces and links ----

mg_ns_name() {
	printf '%s-%s' "$MG_ID" "$1"
}

# mg_in NS CMD...: runs CMD inside the test namespace NS.
mg_in() {
	local ns
	ns=$(mg_ns_name "$1")
	shift
	ip netns exec "$ns" "$@"
}

mg_ns_new() {
	local ns
	ns=$(mg_ns_name "$1")
	ip netns add "$ns" || mg_die "cannot create namespace $ns"
	MG_NAMESPACES+=("$ns")
	ip -n "$ns" link set lo up
}

# mg_veth NS1 IF1 NS2 IF2: a veth pair created directly inside the two
# namespaces (never in the machine's own), both ends up.
mg_veth() {
	ip -n "$(mg_ns_name "$1")" link add name "$2" type veth peer name "$4" \
		netns "$(mg_ns_name "$3")" || mg_die "cannot create veth $1/$2 - $3/$4"
	ip -n "$(mg_ns_name "$1")" link set "$2" up
	ip -n "$(mg_ns_name "$3")" link set "$4" up
}

# mg_addr NS IF ADDR/LEN: IPv6 addresses get nodad so they work at once.
mg_addr() {
	case $3 in
	*:*) ip -n "$(mg_ns_name "$1")" -6 addr add "$3" dev "$2" nodad ;;
	*) ip -n "$(mg_ns_name "$1")" addr add "$3" dev "$2" ;;
	esac
}

mg_ping_quiet() {
	mg_in "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1
}

# mg_topo_pair: namespaces a and b joined by veth ua <-> ub, with MG_U4_* /24
# and MG_U6_* /64 underlay addresses; returns when both families pass ping.
mg_topo_pair() {
	mg_ns_new a
	mg_ns_new b
	mg_veth a ua b ub
	mg_addr a ua "$MG_U4_A/24"
	mg_addr b ub "$MG_U4_B/24"
	mg_addr a ua "$MG_U6_A/64"
	mg_addr b ub "$MG_U6_B/64"
	mg_wait_for 10 mg_ping_quiet a "$MG_U4_B" || mg_die "underlay IPv4 a -> b does not work"
	mg_wait_for 10 mg_ping_quiet a "$MG_U6_B" || mg_die "underlay IPv6 a -> b does not work"
}

# ---- packet counters (nftables, inside a namespace) ----
# Counts WireGuard messages by type, per direction, for any UDP port:
# init/resp/cookie _out (sent) and _in (received); init_mac2_out counts sent
# initiations whose mac2 (bytes 132..147) is not zero.

mg_counters_add() {
	mg_in "$1" nft -f - <<-'EOF' || mg_die "nft counters in $1"
		table inet mgtest {
			counter init_out { }
			counter resp_out { }
			counter cookie_out { }
			counter init_in { }
			counter resp_in { }
			counter cookie_in { }
			counter init_mac2_out { }
			chain out {
				type filter hook output priority 0; policy accept;
				meta l4proto udp udp length 156 @th,64,32 0x01000000 counter name init_out
				meta l4proto udp udp length 156 @th,64,32 0x01000000 @th,1120,128 != 0 counter name init_mac2_out
				meta l4proto udp udp length 100 @th,64,32 0x02000000 counter name resp_out
				meta l4proto udp udp length 72 @th,64,32 0x03000000 counter name cookie_out
			}
			chain in {
				type filter hook input priority 0; policy accept;
				meta l4proto udp udp length 156 @th,64,32 0x01000000 counter name init_in
				meta l4proto udp udp length 100 @th,64,32 0x02000000 counter name resp_in
				meta l4proto udp udp length 72 @th,64,32 0x03000000 counter name cookie_in
			}
		}
	EOF
}

# mg_counter NS NAME: packets counted so far.
mg_counter() {
	mg_in "$1" nft list counter inet mgtest "$2" |
		awk '$1 == "packets" { print $2; found = 1 } END { if (!found) print 0 }'
}

# ---- keys ----

# mg_keypair FILE_PREFIX: writes FILE_PREFIX.key and FILE_PREFIX.pub.
mg_keypair() {
	(umask 077 && wg genkey >"$1.key")
	wg pubkey <"$1.key" >"$1.pub"
}

mg_psk() {
	(umask 077 && wg genpsk >"$1")
}

# ---- WireGuard nodes ----
# A node is one interface of one implementation in one namespace:
#   mg_node NODE NS IMPL PORT IN4 IN6   IMPL: meshguard | wggo
#   mg_node_peer NODE PEER_NODE ENDPOINT|- [KEEPALIVE|-] [PSK_FILE|-]
#   mg_node_start NODE; mg_node_stop NODE
# The peer's allowed IPs are its inner /32 and /128. Keys are made once per
# node and kept across restarts; every start gets a fresh interface name.
# MG_N_WGLOG[NODE] sets a wireguard-go node's LOG_LEVEL (default verbose).

mg_node() {
	local node=$1
	[ ${#node} -eq 1 ] || mg_die "node name '$node' must be one character"
	case $3 in
	meshguard | wggo) ;;
	*) mg_die "unknown implementation '$3' (expected meshguard or wggo)" ;;
	esac
	MG_N_NS[$node]=$2
	MG_N_IMPL[$node]=$3
	MG_N_PORT[$node]=$4
	MG_N_IN4[$node]=$5
	MG_N_IN6[$node]=$6
	MG_N_MTU[$node]=1420
	MG_N_PEERS[$node]=""
	MG_N_PID[$node]=""
	if [ ! -e "$MG_TMP/node-$node.key" ]; then
		mg_keypair "$MG_TMP/node-$node"
	fi
	MG_N_KEY[$node]=$MG_TMP/node-$node.key
	MG_N_PUB[$node]=$(cat "$MG_TMP/node-$node.pub")
}

mg_node_peer() {
	MG_N_PEERS[$1]+="$2 ${3:--} ${4:--} ${5:--}"$'\n'
}

# IPv6 endpoints need brackets: mg_endpoint ADDR PORT.
mg_endpoint() {
	case $1 in
	*:*) printf '[%s]:%s' "$1" "$2" ;;
	*) printf '%s:%s' "$1" "$2" ;;
	esac
}

mg_node_conf() {
	local node=$1 peer ep ka psk
	printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n' \
		"$(cat "${MG_N_KEY[$node]}")" "${MG_N_PORT[$node]}"
	printf 'Address = %s/24, %s/64\nMTU = %s\n' "${MG_N_IN4[$node]}" \
		"${MG_N_IN6[$node]}" "${MG_N_MTU[$node]}"
	while read -r peer ep ka psk; do
		[ -n "$peer" ] || continue
		printf '\n[Peer]\nPublicKey = %s\n' "${MG_N_PUB[$peer]}"
		[ "$psk" = - ] || printf 'PresharedKey = %s\n' "$(cat "$psk")"
		printf 'AllowedIPs = %s/32, %s/128\n' "${MG_N_IN4[$peer]}" "${MG_N_IN6[$peer]}"
		[ "$ep" = - ] || printf 'Endpoint = %s\n' "$ep"
		[ "$ka" = - ] || printf 'PersistentKeepalive = %s\n' "$ka"
	done <<<"${MG_N_PEERS[$node]}"
}

mg_udp_bound() {
	[ -n "$(mg_in "$1" ss -Hnul "sport = :$2")" ]
}

mg_tcp_listening() {
	[ -n "$(mg_in "$1" ss -Hntl "sport = :$2")" ]
}

# Ready: the interface is up with its inner IPv4 address, the UDP port is
# bound, and the process still runs.
mg_node_ready() {
	local node=$1
	mg_alive "${MG_N_PID[$node]}" || return 2
	ip -n "$(mg_ns_name "${MG_N_NS[$node]}")" -o addr show dev "${MG_N_IF[$node]}" up \
		2>/dev/null | grep -q " ${MG_N_IN4[$node]}/" || return 1
	mg_udp_bound "${MG_N_NS[$node]}" "${MG_N_PORT[$node]}"
}

# mg_node_name NODE: a fresh interface name and log file for NODE's next
# daemon.
mg_node_name() {
	MG_GEN=$((MG_GEN + 1))
	MG_N_IF[$1]="$MG_ID$1$MG_GEN"
	MG_N_LOG[$1]="$MG_TMP/${MG_N_IF[$1]}.log"
}

# mg_node_wait NODE TIMEOUT_S: waits for NODE's daemon to come up, or dies.
mg_node_wait() {
	local node=$1
	if ! mg_wait_for "$2" mg_node_ready "$node"; then
		mg_die "node $node (${MG_N_IMPL[$node]}) did not come up as ${MG_N_IF[$node]}"
	fi
	mg_say "node $node: ${MG_N_IMPL[$node]} ${MG_N_IF[$node]} in $(mg_ns_name "${MG_N_NS[$node]}"), pid ${MG_N_PID[$node]}, port ${MG_N_PORT[$node]}, pubkey ${MG_N_PUB[$node]}"
}

mg_node_start() {
	local node=$1
	mg_node_name "$node"
	case ${MG_N_IMPL[$node]} in
	meshguard) mg_start_meshguard "$node" ;;
	wggo) mg_start_wggo "$node" ;;
	esac
	mg_node_wait "$node" 10
}

# mg_start_meshguard NODE [CMD...]: starts meshguard for NODE with its
# generated configuration, run by CMD when given (valgrind, say).
mg_start_meshguard() {
	local node=$1 conf
	shift
	[ -x "$MESHGUARD" ] || mg_die "meshguard binary '$MESHGUARD' not found (build first)"
	conf="$MG_TMP/${MG_N_IF[$node]}.conf"
	(umask 077 && mg_node_conf "$node" >"$conf")
	mg_bg "${MG_N_LOG[$node]}" ip netns exec "$(mg_ns_name "${MG_N_NS[$node]}")" \
		"$@" "$MESHGUARD" up $MG_UP_SANDBOX -c "$conf"
	MG_N_PID[$node]=$MG_BG_PID
}

mg_wg_sock_ready() {
	mg_alive "$1" || return 2
	[ -S "$MG_WG_RUN/$2.sock" ]
}

mg_start_wggo() {
	local node=$1 ns ifn peer ep ka psk args
	ns=$(mg_ns_name "${MG_N_NS[$node]}")
	ifn=${MG_N_IF[$node]}
	mg_bg "${MG_N_LOG[$node]}" env WG_PROCESS_FOREGROUND=1 \
		LOG_LEVEL="${MG_N_WGLOG[$node]:-verbose}" ip netns exec "$ns" wireguard-go -f "$ifn"
	MG_N_PID[$node]=$MG_BG_PID
	mg_wait_for 10 mg_wg_sock_ready "${MG_N_PID[$node]}" "$ifn" ||
		mg_die "wireguard-go for node $node made no socket $MG_WG_RUN/$ifn.sock"
	args=(private-key "${MG_N_KEY[$node]}" listen-port "${MG_N_PORT[$node]}")
	while read -r peer ep ka psk; do
		[ -n "$peer" ] || continue
		args+=(peer "${MG_N_PUB[$peer]}" allowed-ips
			"${MG_N_IN4[$peer]}/32,${MG_N_IN6[$peer]}/128")
		[ "$ep" = - ] || args+=(endpoint "$ep")
		[ "$ka" = - ] || args+=(persistent-keepalive "$ka")
		[ "$psk" = - ] || args+=(preshared-key "$psk")
	done <<<"${MG_N_PEERS[$node]}"
	ip netns exec "$ns" wg set "$ifn" "${args[@]}" || mg_die "wg set $ifn ${args[*]}"
	ip -n "$ns" addr add "${MG_N_IN4[$node]}/24" dev "$ifn"
	ip -n "$ns" -6 addr add "${MG_N_IN6[$node]}/64" dev "$ifn" nodad
	ip -n "$ns" link set "$ifn" mtu "${MG_N_MTU[$node]}" up
	while read -r peer ep ka psk; do
		[ -n "$peer" ] || continue
		ip -n "$ns" route replace "${MG_N_IN4[$peer]}/32" dev "$ifn"
		ip -n "$ns" -6 route replace "${MG_N_IN6[$peer]}/128" dev "$ifn"
	done <<<"${MG_N_PEERS[$node]}"
}

mg_if_gone() {
	! ip -n "$(mg_ns_name "$1")" link show dev "$2" >/dev/null 2>&1
}

# mg_node_stop NODE: SIGTERM; returns non-zero if the process had to be
# killed, exited with an error, left its interface behind, or its log has a
# sanitizer report.
mg_node_stop() {
	local node=$1 pid rc=0
	pid=${MG_N_PID[$node]}
	[ -n "$pid" ] || return 0
	MG_N_PID[$node]=""
	if mg_alive "$pid"; then
		mg_stop_pid "$pid" 5 || rc=$?
	else
		wait "$pid" 2>/dev/null || rc=$?
	fi
	case $rc in
	0 | 143) rc=0 ;;
	*) echo "node $node (${MG_N_IMPL[$node]}) exited with status $rc" ;;
	esac
	if ! mg_wait_for 3 mg_if_gone "${MG_N_NS[$node]}" "${MG_N_IF[$node]}"; then
		echo "node $node left interface ${MG_N_IF[$node]} behind"
		rc=1
	fi
	# A sanitizer build reports at exit.
	if grep -E -m 5 'Sanitizer|runtime error:' "${MG_N_LOG[$node]}"; then
		echo "node $node: sanitizer report in ${MG_N_LOG[$node]##*/}"
		rc=1
	fi
	return "$rc"
}

# Implementation-neutral handshake evidence from a node's log:
# meshguard "handshake completed", wireguard-go (verbose) sent/received
# handshake messages.
mg_node_handshakes() {
	local node=$1
	case ${MG_N_IMPL[$node]} in
	meshguard) grep -c 'handshake completed' "${MG_N_LOG[$node]}" ;;
	wggo) grep -c -E 'Received handshake (response|initiation)' "${MG_N_LOG[$node]}" ;;
	esac
}

# mg_wg_show NODE FIELD: `wg show IF FIELD` of a wireguard-go node.
mg_wg_show() {
	mg_in "${MG_N_NS[$1]}" wg show "${MG_N_IF[$1]}" "$2"
}

# ---- traffic ----

# mg_ping NODE DEST COUNT [INTERVAL]: COUNT replies needed within 20 s.
# Prints ping's summary lines.
mg_ping() {
	local out rc=0
	out=$(mg_in "${MG_N_NS[$1]}" ping -n -c "$3" -i "${4:-0.2}" -w 20 "$2" 2>&1) || rc=$?
	printf '%s\n' "$out" | grep -E 'packets transmitted|rtt' | sed 's/^/    /'
	return "$rc"
}

# mg_ping_all TAG X Y: X pings Y's inner IPv4 and IPv6 addresses, then Y
# pings X's; each a PASS or FAIL line.
mg_ping_all() {
	local tag=$1 x=$2 y=$3 dst
	for dst in "${MG_N_IN4[$y]}" "${MG_N_IN6[$y]}"; do
		mg_check "$tag: ping $x -> $y $dst" mg_ping "$x" "$dst" 3
	done
	for dst in "${MG_N_IN4[$x]}" "${MG_N_IN6[$x]}"; do
		mg_check "$tag: ping $y -> $x $dst" mg_ping "$y" "$dst" 3
	done
}

# mg_initiator_is X Y: X's namespace sent handshake initiations, Y's none
# (needs mg_counters_add in both).
mg_initiator_is() {
	local i o
	i=$(mg_counter "${MG_N_NS[$1]}" init_out)
	o=$(mg_counter "${MG_N_NS[$2]}" init_out)
	echo "    initiations sent: $1=$i $2=$o"
	[ "$i" -ge 1 ] && [ "$o" -eq 0 ]
}

# The payload: MG_DATA_MB of random bytes, made once per test run.
mg_data() {
	local mb=${1:-50}
	MG_DATA="$MG_TMP/data-$mb.bin"
	if [ ! -e "$MG_DATA" ]; then
		head -c "$((mb * 1024 * 1024))" /dev/urandom >"$MG_DATA"
		MG_DATA_SHA=$(sha256sum "$MG_DATA" | cut -d' ' -f1)
	fi
}

# mg_xfer_start FROM_NS TO_NS DEST_ADDR PORT: starts a TCP receiver in TO_NS
# (socat, into a file) and a sender of $MG_DATA in FROM_NS.
mg_xfer_start() {
	local from=$1 to=$2 dst=$3 port=$4 listen connect
	case $dst in
	*:*)
		listen="TCP6-LISTEN:$port,bind=[$dst],reuseaddr"
		connect="TCP6:[$dst]:$port,connect-timeout=10"
		;;
	*)
		listen="TCP4-LISTEN:$port,bind=$dst,reuseaddr"
		connect="TCP4:$dst:$port,connect-timeout=10"
		;;
	esac
	MG_XFER_OUT="$MG_TMP/recv.bin"
	rm -f "$MG_XFER_OUT"
	mg_bg "$MG_TMP/xfer-recv.log" ip netns exec "$(mg_ns_name "$to")" \
		socat -u "$listen" "OPEN:$MG_XFER_OUT,creat,trunc"
	MG_XFER_RPID=$MG_BG_PID
	mg_wait_for 10 mg_tcp_listening "$to" "$port" || mg_die "socat did not listen on $port"
	MG_XFER_T0=$(mg_now)
	mg_bg "$MG_TMP/xfer-send.log" ip netns exec "$(mg_ns_name "$from")" \
		socat -u "OPEN:$MG_DATA" "$connect"
	MG_XFER_SPID=$MG_BG_PID
}

mg_xfer_received() {
	stat -c %s "$MG_XFER_OUT" 2>/dev/null || echo 0
}

# mg_xfer_finish TIMEOUT_S: waits for both ends, checks size and sha256,
# prints time and throughput. Non-zero on any mismatch.
mg_xfer_finish() {
	local timeout=${1:-120} rc=0 secs got sha
	if ! mg_wait_for "$timeout" mg_not_alive "$MG_XFER_RPID"; then
		echo "    transfer did not finish within ${timeout}s ($(mg_xfer_received) bytes received)"
		rc=1
	fi
	secs=$(awk -v a="$MG_XFER_T0" -v b="$(mg_now)" 'BEGIN { printf "%.2f", b - a }')
	mg_stop_pid "$MG_XFER_SPID" 1 || true
	mg_stop_pid "$MG_XFER_RPID" 1 || true
	got=$(mg_xfer_received)
	sha=$(sha256sum "$MG_XFER_OUT" 2>/dev/null | cut -d' ' -f1)
	awk -v b="$got" -v s="$secs" 'BEGIN {
		printf "    %d bytes in %.2f s = %.1f Mbit/s\n", b, s, b * 8 / s / 1e6 }'
	echo "    sha256 sent     $MG_DATA_SHA"
	echo "    sha256 received $sha"
	[ "$rc" -eq 0 ] && [ "$sha" = "$MG_DATA_SHA" ]
}

# ---- cleanup ----

# Stops everything started and deletes every namespace made so far; the test
# can then build a fresh topology.
mg_reset() {
	local pid ns p
	for pid in "${MG_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${MG_PIDS[@]}"; do
		mg_wait_for 3 mg_not_alive "$pid" || kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	MG_PIDS=()
	for ns in "${MG_NAMESPACES[@]}"; do
		# Anything still inside is ours (started by this test).
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	MG_NAMESPACES=()
	rm -f "$MG_WG_RUN/$MG_ID"*.sock
	for p in "${!MG_N_PID[@]}"; do
		MG_N_PID[$p]=""
	done
}

mg_cleanup() {
	trap - EXIT INT TERM
	mg_reset
	if [ "${MG_KEEP:-0}" = 1 ]; then
		echo "kept $MG_TMP"
	else
		rm -rf "$MG_TMP"
	fi
}

# Namespaces of earlier runs whose process is gone (killed by a timeout).
mg_reap_stale() {
	local ns pid p
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		case $ns in
		mgt[0-9]*-*) ;;
		*) continue ;;
		esac
		pid=${ns#mgt}
		pid=${pid%%-*}
		[ -d "/proc/$pid" ] && continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
		rm -f "$MG_WG_RUN/mgt$pid"*.sock
	done
}

trap mg_cleanup EXIT
trap 'echo "interrupted"; exit 130' INT
trap 'echo "terminated"; exit 143' TERM

mg_require_root
mg_require_cmds ip nft ss ping socat wg wireguard-go sha256sum awk
mkdir -p "$MG_WG_RUN"
mg_reap_stale

# ---- wg(8) / UAPI helpers (wireguard-go style daemons) ----

# The wireguard-go drop-in: meshguard called as meshguard-wg.
MESHGUARD_WG=${MESHGUARD_WG:-$(dirname "$MESHGUARD")/meshguard-wg}

# mg_strict: `set -euo pipefail` for the rest of the test. A command that
# fails outside a condition ends the test with a FAIL line naming it; the
# cleanup trap turns both off first, so nothing can cut it short. Call
# library functions that may fail only in conditions (if, ||, mg_check).
mg_strict() {
	set -Eeuo pipefail
	trap 'mg_unexpected $? "${BASH_SOURCE[0]##*/}:$LINENO" "$BASH_COMMAND"' ERR
	trap 'trap - ERR; set +eE; mg_cleanup' EXIT
}

mg_unexpected() {
	trap - ERR
	mg_fail "unexpected status $1 at $2: $3"
}

# mg_wgd_start NS IFNAME IMPL [LOG]: starts a wireguard-go style daemon for an
# empty interface IFNAME in the test namespace NS, in the foreground as a
# child of the test (IMPL: wggo = wireguard-go, meshguard = $MESHGUARD_WG),
# and waits for its UAPI socket. Its PID is in MG_BG_PID; configure it with
# `mg_in NS wg set IFNAME ...`.
mg_wgd_start() {
	local ns=$1 ifn=$2 impl=$3 log=${4:-$MG_TMP/$2.log} bin
	case $impl in
	wggo) bin=wireguard-go ;;
	meshguard)
		bin=$MESHGUARD_WG
		[ -x "$bin" ] || mg_die "meshguard drop-in '$bin' not found (build first)"
		;;
	*) mg_die "mg_wgd_start: unknown implementation '$impl'" ;;
	esac
	mg_bg "$log" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL="${MG_WGD_LOG_LEVEL:-verbose}" \
		ip netns exec "$(mg_ns_name "$ns")" "$bin" -f "$ifn"
	mg_wait_for 10 mg_wg_sock_ready "$MG_BG_PID" "$ifn" ||
		mg_die "$impl for $ifn in $ns made no socket $MG_WG_RUN/$ifn.sock (log: $(tail -n 3 "$log"))"
}

# ---- underlay audit: every datagram a WireGuard message, counted after
# segmentation (nftables in the receiving namespace) ----

# mg_udp_gso_off NS IF: IF (a veth end in NS) segments UDP GSO batches itself.
# Without this a batch crosses the veth whole, and the far side's hooks see
# one datagram of up to 64 KB instead of the datagrams a real wire carries.
mg_udp_gso_off() {
	mg_in "$1" ethtool -K "$2" tx-udp-segmentation off >/dev/null ||
		mg_die "cannot turn tx-udp-segmentation off on $2 in $1"
}

# mg_wire_audit NS PORT MTU [MARKER]: (re)starts counting, in NS, the UDP
# datagrams arriving for PORT, sent by peers whose TUN MTU is MTU, by kind:
#   init, resp, cookie: types 1, 2, 3 with exactly 148, 92, 64 bytes;
#   full: type 4 with MTU + 32 bytes (a packet of the whole MTU, or one whose
#     padding stopped at the MTU, which need not be a multiple of 16);
#   data: other type 4, 32 + a multiple of 16 bytes (keepalives: 32);
#   over: type 4 longer than MTU + 32 (padding past the MTU, or the MTU of
#     before a change);
#   other: anything else (an unencrypted packet, garbage).
# The type is the first byte, the next three must be zero. MARKER (16 hex
# digits, 8 bytes) also counts as "marker" every datagram holding them where
# a leaked IPv4/UDP packet carries its payload (28 bytes in). The sender's
# veth needs mg_udp_gso_off. Calling it again resets every counter.
mg_wire_audit() {
	local ns=$1 port=$2 full=$(($3 + 40)) marker=""
	[ -z "${4:-}" ] || marker="@th,288,64 0x$4 counter name marker"
	mg_in "$ns" nft -f - <<-EOF || mg_die "nft wire audit in $ns"
		table inet mgwire
		delete table inet mgwire
		table inet mgwire {
			counter init { }
			counter resp { }
			counter cookie { }
			counter full { }
			counter data { }
			counter over { }
			counter other { }
			counter marker { }
			chain pre {
				type filter hook prerouting priority raw; policy accept;
				udp dport $port jump wire
			}
			chain wire {
				$marker
				udp length 156 @th,64,32 0x01000000 counter name init return
				udp length 100 @th,64,32 0x02000000 counter name resp return
				udp length 72 @th,64,32 0x03000000 counter name cookie return
				udp length $full @th,64,32 0x04000000 counter name full return
				udp length > $full @th,64,32 0x04000000 counter name over return
				udp length >= 40 udp length & 15 == 8 @th,64,32 0x04000000 counter name data return
				counter name other
			}
		}
	EOF
}

# mg_wire_count NS NAME: datagrams of kind NAME since mg_wire_audit.
mg_wire_count() {
	mg_in "$1" nft list counter inet mgwire "$2" |
		awk '$1 == "packets" { print $2; found = 1 } END { if (!found) print 0 }'
}

# mg_wire_clean NS [KIND]: prints the counts; true when nothing but
# well-formed WireGuard messages of at most MTU + 32 bytes came, and some of
# KIND (default full: full-size data; data for a direction carrying only
# ACKs), so that the check did not pass on an idle wire.
mg_wire_clean() {
	local k line="" seen=${2:-full}
	local -A n
	for k in init resp cookie full data over other marker; do
		n[$k]=$(mg_wire_count "$1" "$k")
		line+=" $k=${n[$k]}"
	done
	echo "    datagrams into $1:$line"
	[ "${n[over]}" -eq 0 ] && [ "${n[other]}" -eq 0 ] && [ "${n[marker]}" -eq 0 ] &&
		[ "${n[$seen]}" -gt 0 ]
}

# mg_log_stat LOG NAME: the counter NAME ("replayed", "tx no route"…) of
# the last exit stats line a stopped meshguard daemon wrote to LOG; empty
# when there is none.
mg_log_stat() {
	grep 'stats: rx invalid' "$1" | tail -n 1 | grep -o "$2 [0-9]*" | awk '{ print $NF }'
}

# mg_rx_clean LOG: a stopped meshguard daemon's exit stats (LOG) count no
# data that failed to decrypt, named no keypair of ours, or was replayed.
mg_rx_clean() {
	local k n bad=0
	grep -q 'stats: rx invalid' "$1" || {
		echo "    no stats line in ${1##*/}"
		return 1
	}
	for k in 'unknown index' 'decrypt failed' replayed; do
		n=$(mg_log_stat "$1" "$k")
		echo "    ${1##*/}: $k ${n:-?}"
		[ "${n:-1}" -eq 0 ] || bad=1
	done
	return "$bad"
}
