#!/usr/bin/env bash
# A hostile UPnP gateway cannot exhaust our memory or hold us: the port
# mapper's HTTP answers are bounded in size (64 KiB) and in time (the op's
# timeout), for the root description and for the SOAP calls alike.
#
#   c (client)                    r ("gateway")
#   eth0 192.168.78.2 ---------- lan0 192.168.78.1
#   mg_portmap --proto upnp       mg_bad_gateway MODE (one port per mode)
#
# For each way of answering (tests/tools/mg_bad_gateway.c: a 2 GB
# Content-Length, an endless body, endless chunks, endless headers, a byte
# every 300 ms; then the same after a valid description, to the SOAP POST)
# the driver keeps trying to map for a while. Every connection of it ends
# within the op's timeout (2 s) and a little, the driver says why it gave
# up, its peak memory (VmHWM) stays under MAX_HWM_KB, and SIGTERM closes it
# at once (no threadpool work left hanging on the gateway).
#
# Then a gateway whose answer holds a terminal escape and a line break: the
# driver's log line shows them escaped (\x1b, \x0a), never raw.
#
# With miniupnpc's own reader (Debian 12's 2.2.4) the 2 GB answer is read
# as fast as it comes into a buffer that grows with it, and the drip holds
# a thread, and the driver's close, for ever.

. "$(dirname "$0")/lib.sh"

mg_need_tool mg_portmap
mg_need_tool mg_bad_gateway

LAN_C=192.168.78.2
LAN_R=192.168.78.1
TIMEOUT_MS=2000
SLACK_MS=1500
RUN_S=7
MAX_HWM_KB=${MG_UPNP_MAX_HWM_KB:-20000}
MODES="huge endless chunked headers drip soap-huge soap-endless soap-chunked soap-drip"

topology() {
	mg_ns_new c
	mg_ns_new r
	mg_veth c eth0 r lan0
	mg_addr c eth0 "$LAN_C/24"
	mg_addr r lan0 "$LAN_R/24"
	mg_wait_for 10 mg_ping_quiet c "$LAN_R" || mg_die "client cannot reach the gateway"
}

hwm_kb() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

conns() {
	grep -c '^conn ' "$1" 2>/dev/null || true
}

have_conns() {
	[ "$(conns "$1")" -ge "$2" ]
}

no_mapping() {
	! grep -q '^event mapped' "$1"
}

# The longest connection the gateway saw, in ms.
longest_ms() {
	awk '/^conn / { if ($NF > m) m = $NF } END { print m + 0 }' "$1"
}

run_mode() {
	local mode=$1 port=$2 gw="$MG_TMP/gw-$mode.out" out="$MG_TMP/driver-$mode.out"
	local gw_pid pid hwm rc longest why
	mg_bg "$gw" ip netns exec "$(mg_ns_name r)" "$MG_BUILD/mg_bad_gateway" "$mode" "$LAN_R" "$port"
	gw_pid=$MG_BG_PID
	mg_wait_for 5 mg_tcp_listening r "$port" || { mg_fail "$mode: gateway did not listen"; return; }

	mg_bg "$out" env LOG_LEVEL=verbose ip netns exec "$(mg_ns_name c)" \
		"$MG_BUILD/mg_portmap" --proto upnp --port 51820 --state "$MG_TMP/state-$mode" \
		--gateway "$LAN_R" --upnp-url "http://$LAN_R:$port/rootDesc.xml" \
		--lifetime 120 --check-ms 1000 --timeout-ms "$TIMEOUT_MS" --retry-ms 500
	pid=$MG_BG_PID
	MG_N_LOG[driver]=$out
	MG_N_IMPL[driver]=mg_portmap
	MG_N_IF[driver]=$mode
	hwm=0
	for _ in $(seq $((RUN_S * 10))); do
		local h
		h=$(hwm_kb "$pid")
		[ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
		sleep 0.1
	done
	mg_say "$mode: $(conns "$gw") connection(s) in ${RUN_S} s, longest $(longest_ms "$gw") ms," \
		"driver VmHWM ${hwm} kB"
	why=$(grep -m 1 -o 'portmap: upnp: .* failed: .*' "$out")
	mg_say "$mode: $why"
	mg_check "$mode: the driver is still running" mg_alive "$pid"
	mg_check "$mode: it tried again and again (at least 2 connections ended)" \
		have_conns "$gw" 2
	longest=$(longest_ms "$gw")
	mg_check "$mode: every connection ended within the timeout and ${SLACK_MS} ms" \
		[ "$longest" -le $((TIMEOUT_MS + SLACK_MS)) ]
	mg_check "$mode: the driver says why it gave up" [ -n "$why" ]
	mg_check "$mode: peak memory ${hwm} kB < ${MAX_HWM_KB} kB" [ "$hwm" -lt "$MAX_HWM_KB" ]
	mg_check "$mode: no mapping was reported" no_mapping "$out"
	rc=0
	mg_stop_pid "$pid" 3 || rc=$?
	mg_check "$mode: SIGTERM closes the driver at once" [ "$rc" -eq 0 ]
	mg_check "$mode: and it closed cleanly" grep -q '^closed$' "$out"
	mg_stop_pid "$gw_pid" 3 || true
	if grep -E -m 5 'Sanitizer|runtime error:' "$out"; then
		mg_fail "$mode: sanitizer report"
	fi
}

# The gateway's text reaches the log escaped.
evil() {
	local port=$1 gw="$MG_TMP/gw-evil.out" out="$MG_TMP/driver-evil.out" pid
	mg_bg "$gw" ip netns exec "$(mg_ns_name r)" "$MG_BUILD/mg_bad_gateway" soap-evil "$LAN_R" \
		"$port"
	mg_wait_for 5 mg_tcp_listening r "$port" || { mg_fail "evil: gateway did not listen"; return; }
	mg_bg "$out" env LOG_LEVEL=verbose ip netns exec "$(mg_ns_name c)" \
		"$MG_BUILD/mg_portmap" --proto upnp --port 51820 --state "$MG_TMP/state-evil" \
		--gateway "$LAN_R" --upnp-url "http://$LAN_R:$port/rootDesc.xml" \
		--timeout-ms "$TIMEOUT_MS" --retry-ms 500
	pid=$MG_BG_PID
	mg_check "evil: the driver refuses the external address" \
		mg_wait_for 5 grep -q 'external address' "$out"
	grep -m 1 'external address' "$out" | sed 's/^/    /'
	mg_check "evil: the log shows the escape and the line break escaped" \
		grep -qF "external address '\\x1b[2J\\x0aFAKE 1" "$out"
	mg_check "evil: no raw escape byte in the log" no_raw_escape "$out"
	mg_stop_pid "$pid" 3 || true
}

no_raw_escape() {
	! grep -q $'\x1b' "$1"
}

topology
port=5600
for mode in $MODES; do
	run_mode "$mode" "$port"
	port=$((port + 1))
done
evil "$port"

mg_finish
