#!/usr/bin/env bash
# The data path allocates nothing per packet. Two meshguard daemons (node p
# in namespace a, node q in namespace b, one veth) run under valgrind
# memcheck; after a ping (handshake) p sends SMALL_MB over TCP to q through
# the tunnel, with sha256, and both are stopped with SIGTERM. The same again
# with fresh daemons and BIG_MB (10x). memcheck's exit summary gives each
# daemon's "total heap usage: N allocs": the big run may not allocate more
# than the small run plus SLACK, although it moved about 10x the packets
# (counted from the daemons' own `stats:` lines; checked to be at least 5x).
# Every daemon must also end with "ERROR SUMMARY: 0 errors" and nothing
# definitely lost.
#
# MG_ALLOC_SMALL_MB / MG_ALLOC_BIG_MB / MG_ALLOC_SLACK change the sizes and
# the tolerance; MG_ALLOC_VG_OPTS adds valgrind options (e.g.
# --track-origins=yes to see where an uninitialised value comes from).
#
# Cost: under memcheck each daemon spends about 2 s of CPU per 10 MiB here;
# the wall time depends mostly on how busy the machine is (about a minute
# when idle).

. "$(dirname "$0")/lib.sh"
# valgrind cannot follow the sandbox (seccomp, no ptrace): one process.
MG_UP_SANDBOX=--no-sandbox

mg_require_cmds valgrind

SMALL_MB=${MG_ALLOC_SMALL_MB:-10}
BIG_MB=${MG_ALLOC_BIG_MB:-100}
SLACK=${MG_ALLOC_SLACK:-200}
VG_START_S=60

declare -A ALLOCS PKTS

# vg_start NODE: like mg_node_start, with meshguard under valgrind.
vg_start() {
	local node=$1
	mg_node_name "$node"
	# shellcheck disable=SC2086 # MG_ALLOC_VG_OPTS is a list of options
	mg_start_meshguard "$node" valgrind --tool=memcheck --trace-children=no --leak-check=full \
		${MG_ALLOC_VG_OPTS:-} --log-file="$(vg_log "$node")"
	mg_node_wait "$node" "$VG_START_S"
}

# vg_stop NODE: SIGTERM, up to 60 s for valgrind's exit report; the exit
# status must be 0 or 143 and the interface must be gone.
vg_stop() {
	local node=$1 pid rc=0
	pid=${MG_N_PID[$node]}
	MG_N_PID[$node]=""
	mg_stop_pid "$pid" 60 || rc=$?
	case $rc in
	0 | 143) ;;
	*)
		echo "    node $node exited with status $rc"
		return 1
		;;
	esac
	mg_wait_for 3 mg_if_gone "${MG_N_NS[$node]}" "${MG_N_IF[$node]}" || {
		echo "    node $node left interface ${MG_N_IF[$node]} behind"
		return 1
	}
}

vg_log() {
	printf '%s/%s.vg' "$MG_TMP" "${MG_N_IF[$1]}"
}

# "total heap usage: 1,234 allocs, ..." -> 1234
vg_allocs() {
	sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' "$(vg_log "$1")" | tr -d , | tail -n1
}

vg_summary() {
	grep -E 'ERROR SUMMARY|definitely lost|All heap blocks were freed|total heap usage' \
		"$(vg_log "$1")" | sed 's/^==[0-9]*== */    /'
}

vg_no_errors() {
	local log
	log=$(vg_log "$1")
	grep -qE 'ERROR SUMMARY: 0 errors' "$log" && return 0
	# The reports before the heap summary, with their stacks.
	sed -n '/^==[0-9]*== Parent PID:/,/HEAP SUMMARY/p' "$log" | sed '1d;$d' |
		grep -v '^==[0-9]*== *$' | head -n 60 | sed 's/^==[0-9]*== */    vg: /'
	return 1
}

vg_no_leak() {
	grep -qE 'All heap blocks were freed|definitely lost: 0 bytes in 0 blocks' "$(vg_log "$1")"
}

# CPU seconds a running process has used.
cpu_s() {
	awk '{ printf "%.1f", ($14 + $15) / 100 }' "/proc/$1/stat" 2>/dev/null
}

# Packets the daemon handled, from its `stats:` line at exit: datagrams read
# from the UDP socket plus packets from the TUN (segments after TSO, or reads
# when there were more reads than segments).
mg_packets() {
	awk '/stats: tun read/ {
		t = $0; sub(/.*tun read /, "", t); sub(/ .*/, "", t)
		g = $0; sub(/.*\(segments /, "", g); sub(/\).*/, "", g)
		u = $0; sub(/.*udp read /, "", u); sub(/,.*/, "", u)
		print u + (g + 0 > t + 0 ? g : t); found = 1
	} END { if (!found) print 0 }' "${MG_N_LOG[$1]}"
}

since() {
	awk -v a="$1" -v b="$(mg_now)" 'BEGIN { printf "%.1f", b - a }'
}

run() {
	local mb=$1 tag node t0 cpu
	tag="$mb MiB run"
	mg_say "==== $tag"
	mg_reset
	mg_topo_pair
	mg_node p a meshguard 51820 "$MG_IN4_A" "$MG_IN6_A"
	mg_node q b meshguard 51821 "$MG_IN4_B" "$MG_IN6_B"
	mg_node_peer p q "$(mg_endpoint "$MG_U4_B" 51821)"
	mg_node_peer q p "$(mg_endpoint "$MG_U4_A" 51820)"
	vg_start p
	vg_start q
	mg_check "$tag: ping p -> q (handshake)" mg_ping p "$MG_IN4_B" 3
	mg_data "$mb"
	mg_say "transfer $mb MiB p -> q"
	mg_xfer_start a b "$MG_IN4_B" 5001
	# memcheck moves a few MB/s when the machine is busy.
	mg_check "$tag: $mb MiB TCP p -> q through the tunnel, sha256 matches" \
		mg_xfer_finish $((60 + mb * 3))
	for node in p q; do
		cpu=$(cpu_s "${MG_N_PID[$node]}")
		t0=$(mg_now)
		mg_check "$tag: node $node stops on SIGTERM, interface removed" vg_stop "$node"
		mg_say "node $node: ${cpu:-?} s CPU under valgrind; stopping and its report took $(since "$t0") s"
		grep -h 'stats:' "${MG_N_LOG[$node]}" | sed 's/^/    /'
		vg_summary "$node"
		mg_check "$tag: node $node: valgrind memcheck reports no errors" vg_no_errors "$node"
		mg_check "$tag: node $node: valgrind memcheck: nothing definitely lost" vg_no_leak "$node"
		ALLOCS[$mb$node]=$(vg_allocs "$node")
		PKTS[$mb$node]=$(mg_packets "$node")
		mg_say "node $node: ${ALLOCS[$mb$node]:-?} allocations, ${PKTS[$mb$node]} packets (udp read + tun)"
	done
}

compare() {
	local node=$1 s b ps pb
	s=${ALLOCS[$SMALL_MB$node]} b=${ALLOCS[$BIG_MB$node]}
	ps=${PKTS[$SMALL_MB$node]} pb=${PKTS[$BIG_MB$node]}
	echo "    node $node: $SMALL_MB MiB: ${s:-?} allocs, $ps packets; $BIG_MB MiB: ${b:-?} allocs, $pb packets"
	if [ -z "$s" ] || [ -z "$b" ]; then
		echo "    no 'total heap usage' line from valgrind"
		return 1
	fi
	# The big run must really have moved more packets, else it proves nothing.
	if [ "$pb" -lt $((ps * BIG_MB / SMALL_MB / 2)) ]; then
		echo "    the $BIG_MB MiB run did not handle enough packets"
		return 1
	fi
	[ "$b" -le $((s + SLACK)) ]
}

run "$SMALL_MB"
run "$BIG_MB"
for node in p q; do
	mg_check "node $node: allocations of the $BIG_MB MiB run <= those of the $SMALL_MB MiB run + $SLACK" \
		compare "$node"
done
mg_finish
