#!/usr/bin/env bash
# meshguard netcheck behind a real NAT. Namespaces:
#   c  client   lan0 10.0.1.2/24, default via 10.0.1.1
#   r  router   lan0 10.0.1.1/24, wan0 203.0.113.1/24, nft masquerade on wan0
#   p  the "public" segment: a bridge joining r, s and t
#   s  STUN server 1: 203.0.113.10, meshguard (`meshguard up`, STUN on its
#      WireGuard port 51820)
#   t  STUN server 2: 203.0.113.20, Debian's coturn (turnserver -S, no auth)
#   x  an isolated host: no route anywhere
# Cases:
#   1. plain masquerade: both servers see 203.0.113.1:51820, netcheck says
#      endpoint-independent, port preserved, from the listen port;
#   2. the listen port taken: netcheck probes from an ephemeral port and
#      says so;
#   3. masquerade random: endpoint-dependent, port not preserved;
#   4. no STUN answer and no port mapping: netcheck says so plainly and exits
#      by its own --timeout;
#   5. no route at all: it says so at once.
# netcheck only ever runs inside these namespaces.

. "$(dirname "$0")/lib.sh"

mg_require_cmds turnserver jq
PUB=203.0.113
S1=$PUB.10
S2=$PUB.20
ROUTER_WAN=$PUB.1
NETCHECK_TIMEOUT=3000

# ---- topology ----

mg_ns_new c
mg_ns_new r
mg_ns_new p
mg_ns_new s
mg_ns_new t
mg_ns_new x

mg_veth c lan0 r lan0
mg_veth r wan0 p pr
mg_veth s eth0 p ps
mg_veth t eth0 p pt
mg_in p ip link add br0 type bridge || mg_die "cannot create a bridge in namespace p"
for port in pr ps pt; do
	mg_in p ip link set "$port" master br0
done
mg_in p ip link set br0 up

mg_addr c lan0 10.0.1.2/24
mg_addr r lan0 10.0.1.1/24
mg_addr r wan0 "$ROUTER_WAN/24"
mg_addr s eth0 "$S1/24"
mg_addr t eth0 "$S2/24"
mg_in c ip route add default via 10.0.1.1
mg_in r sysctl -qw net.ipv4.ip_forward=1

# nat_rule "masquerade" | "masquerade random": the router's only NAT rule.
nat_rule() {
	mg_in r nft -f - <<-EOF
		table ip mgnat
		delete table ip mgnat
		table ip mgnat {
			chain post {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "wan0" $1
			}
		}
	EOF
}
nat_rule masquerade || mg_die "nft masquerade on the router"
mg_wait_for 10 mg_ping_quiet c "$S1" || mg_die "client cannot reach $S1 through the router"
mg_wait_for 10 mg_ping_quiet c "$S2" || mg_die "client cannot reach $S2 through the router"

# ---- STUN servers ----

stun_server_meshguard() {
	mg_node S s meshguard 51820 10.77.0.1 fd6d:6700::1
	mg_node_start S
	S1_KIND="meshguard up"
	mg_say "STUN server 1: $S1:51820, $S1_KIND"
}

stun_server_coturn() {
	MG_N_LOG[T]=$MG_TMP/turnserver.log
	MG_N_IMPL[T]=coturn
	MG_N_IF[T]=-
	mg_bg "${MG_N_LOG[T]}" ip netns exec "$(mg_ns_name t)" turnserver -n -S -z \
		-L "$S2" -p 3478 --no-tcp --no-tls --no-dtls --no-cli \
		--pidfile "$MG_TMP/turnserver.pid" -l stdout --simple-log
	mg_wait_for 10 mg_udp_bound t 3478 || mg_die "coturn did not listen on $S2:3478"
	mg_say "STUN server 2: $S2:3478, coturn $(turnserver --version 2>/dev/null || true)"
}

stun_server_meshguard
stun_server_coturn

# ---- netcheck ----

# netcheck NS OUT ARGS...: runs netcheck in NS (never longer than 30 s);
# stdout in OUT, the elapsed seconds in NC_SECS, the status in NC_RC.
netcheck() {
	local ns=$1 out=$2 t0
	shift 2
	t0=$(mg_now)
	NC_RC=0
	mg_in "$ns" timeout 30 "$MESHGUARD" netcheck "$@" >"$out" 2>"$out.err" || NC_RC=$?
	NC_SECS=$(awk -v a="$t0" -v b="$(mg_now)" 'BEGIN { printf "%.2f", b - a }')
	sed 's/^/    /' "$out" "$out.err"
	echo "    (exit $NC_RC after ${NC_SECS}s)"
	if grep -qE 'Sanitizer|runtime error:' "$out.err"; then
		mg_fail "netcheck $*: sanitizer report"
	fi
}

# jq_ok FILE FILTER: FILTER is true of the JSON in FILE.
jq_ok() {
	jq -e "$2" "$1" >/dev/null
}

# jq_is FILE FILTER VALUE: the JSON in FILE gives VALUE for FILTER.
jq_is() {
	local got
	got=$(jq -r "$2" "$1" 2>/dev/null)
	[ "$got" = "$3" ] || {
		echo "    $2 is '$got', expected '$3'"
		return 1
	}
}

servers=(--stun "$S1:51820" --stun "$S2:3478")

mg_say "==== case 1: plain masquerade"
J=$MG_TMP/nc1.json
netcheck c "$J" "${servers[@]}" --port 51820 --timeout "$NETCHECK_TIMEOUT" --json
mg_check "case 1: exit status 0" [ "$NC_RC" -eq 0 ]
mg_check "case 1: JSON parses" jq_ok "$J" .
mg_check "case 1: probed from the listen port 51820" \
	jq_is "$J" '"\(.port) \(.port_is_listen_port)"' "51820 true"
mg_check "case 1: meshguard server ($S1_KIND) saw $ROUTER_WAN:51820" \
	jq_is "$J" ".stun[] | select(.address == \"$S1:51820\") | .mapped" "$ROUTER_WAN:51820"
mg_check "case 1: coturn saw $ROUTER_WAN:51820" \
	jq_is "$J" ".stun[] | select(.address == \"$S2:3478\") | .mapped" "$ROUTER_WAN:51820"
mg_check "case 1: RTT reported for both servers" \
	jq_is "$J" '[.stun[] | select(.rtt_ms > 0)] | length' 2
mg_check "case 1: endpoint-independent mapping" \
	jq_is "$J" .nat.ipv4.mapping endpoint-independent
mg_check "case 1: port preserved" jq_is "$J" .nat.ipv4.port_preserved true
mg_check "case 1: public endpoint $ROUTER_WAN:51820" \
	jq_is "$J" .nat.ipv4.public "$ROUTER_WAN:51820"
mg_check "case 1: local address 10.0.1.2 on lan0" \
	jq_is "$J" '.local_addresses[] | select(.address == "10.0.1.2") | .interface' lan0
mg_check "case 1: finished before the timeout" jq_is "$J" .timed_out false

T=$MG_TMP/nc1.txt
netcheck c "$T" "${servers[@]}" --port 51830 --timeout "$NETCHECK_TIMEOUT"
mg_check "case 1 (text): says endpoint-independent, port preserved" \
	grep -q 'NAT (IPv4): *endpoint-independent mapping, port preserved' "$T"
mg_check "case 1 (text): names the public endpoint" \
	grep -q "public IPv4: *$ROUTER_WAN:51830" "$T"
mg_check "case 1 (text): says it used the listen port" grep -q '51830 (the listen port)' "$T"

mg_say "==== case 2: the listen port is taken"
mg_bg "$MG_TMP/holder.log" ip netns exec "$(mg_ns_name c)" socat -u UDP4-RECV:51840 -
HOLDER=$MG_BG_PID
mg_wait_for 10 mg_udp_bound c 51840 || mg_die "socat did not hold port 51840"
J=$MG_TMP/nc2.json
netcheck c "$J" "${servers[@]}" --port 51840 --timeout "$NETCHECK_TIMEOUT" --json
mg_check "case 2: probed from an ephemeral port, not 51840" \
	jq_ok "$J" '.port != 51840 and .port > 0 and .port_is_listen_port == false'
mg_check "case 2: still endpoint-independent" \
	jq_is "$J" .nat.ipv4.mapping endpoint-independent
T=$MG_TMP/nc2.txt
netcheck c "$T" "${servers[@]}" --port 51840 --timeout "$NETCHECK_TIMEOUT"
mg_check "case 2 (text): says the listen port is in use" \
	grep -q 'ephemeral: listen port 51840 is in use' "$T"
mg_stop_pid "$HOLDER" 1 || true

mg_say "==== case 3: masquerade random (a new port per destination)"
nat_rule "masquerade random" || mg_die "nft masquerade random on the router"
J=$MG_TMP/nc3.json
# A port of its own, so no conntrack entry of case 1 is reused.
netcheck c "$J" "${servers[@]}" --port 51850 --timeout "$NETCHECK_TIMEOUT" --json
mg_check "case 3: both servers answered" jq_is "$J" '[.stun[] | select(.ok)] | length' 2
mg_check "case 3: endpoint-dependent mapping" \
	jq_is "$J" .nat.ipv4.mapping endpoint-dependent
mg_check "case 3: port not preserved" jq_is "$J" .nat.ipv4.port_preserved false
mg_check "case 3: mapped address is still $ROUTER_WAN" \
	jq_ok "$J" "[.stun[].mapped | startswith(\"$ROUTER_WAN:\")] | all"
T=$MG_TMP/nc3.txt
netcheck c "$T" "${servers[@]}" --port 51851 --timeout "$NETCHECK_TIMEOUT"
mg_check "case 3 (text): says endpoint-dependent (hard NAT)" \
	grep -q 'NAT (IPv4): *endpoint-dependent mapping (hard NAT), port not preserved' "$T"
nat_rule masquerade

mg_say "==== case 4: no STUN answer, no port mapping"
T=$MG_TMP/nc4.txt
netcheck c "$T" --stun "$PUB.99:3478" --timeout 1500
mg_check "case 4: exit status 0" [ "$NC_RC" -eq 0 ]
mg_check "case 4: ends by its own timeout (1.5 s, < 4 s)" \
	awk -v s="$NC_SECS" 'BEGIN { exit !(s >= 1.4 && s < 4) }'
mg_check "case 4: says the server did not answer" \
	grep -q "STUN $PUB.99:3478: no answer within 1500 ms" "$T"
mg_check "case 4: says no public endpoint was found" grep -q '^No public endpoint found' "$T"
mg_check "case 4: reports no port mapping from the gateway" \
	grep -qE '^  (NAT-PMP|PCP|UPnP IGD) .*(no answer|mapped nothing)' "$T"
J=$MG_TMP/nc4.json
netcheck c "$J" --stun "$PUB.99:3478" --timeout 1500 --json
mg_check "case 4 (JSON): nothing found, timed out" \
	jq_ok "$J" '.public_endpoint_found == false and .timed_out and (.stun[0].ok | not)'
mg_check "case 4 (JSON): no protocol mapped a port" \
	jq_ok "$J" '[.portmap | .natpmp, .pcp, .upnp | .mapped] | any | not'

mg_say "==== case 5: no route at all"
T=$MG_TMP/nc5.txt
# With no route there is nothing to wait for: it must not sit out its
# timeout (10 s; the bound leaves a loaded machine 5 s of slack).
netcheck x "$T" --stun "$S1:51820" --timeout 10000
mg_check "case 5: exit status 0, without waiting for the timeout" \
	awk -v s="$NC_SECS" -v rc="$NC_RC" 'BEGIN { exit !(rc == 0 && s < 5) }'
mg_check "case 5: says it cannot send" grep -q 'cannot send: Network is unreachable' "$T"
mg_check "case 5: says there is no gateway" grep -q 'no IPv4 default gateway' "$T"
# A server name with a quote, a backslash, a tab and a byte that is no UTF-8:
# it cannot resolve here, and the JSON that says so is still valid.
J=$MG_TMP/nc5.json
odd=$(printf 'no"such\\\thost\377.invalid:3478')
netcheck x "$J" --stun "$odd" --stun "$S1:51820" --timeout 2000 --json
mg_check "case 5 (JSON): valid, the odd name escaped, nothing found" \
	jq_ok "$J" '(.stun | length) == 2 and (.stun[0].server | test("^no\"such\\\\\thost\ufffd")) and (.public_endpoint_found | not)'
mg_check "case 5 (JSON): ends within the timeout" awk -v s="$NC_SECS" 'BEGIN { exit !(s < 4) }'

if [ -n "${MG_N_PID[S]:-}" ]; then
	mg_check "meshguard server stops cleanly" mg_node_stop S
fi
mg_finish
