#!/usr/bin/env bash
# meshguard configured only through Debian's wg(8) over its UAPI socket,
# compared command by command with wireguard-go.
#
# Two identical sides, each a pair of namespaces joined by one veth
# (192.0.2.1 <-> 192.0.2.2):
#   side "m": meshguard-wg -f (the drop-in) in namespace m, and its real peer,
#             wireguard-go, in namespace mp;
#   side "g": wireguard-go -f in namespace g, and its real peer, wireguard-go,
#             in namespace gp.
# Both devices get the same keys, so their outputs must be equal. The same
# sequence of wg commands runs on each side: wg set (peers, allowed-ips moved
# between peers, 0/0 and ::/0, preshared-key from a file and /dev/null,
# persistent-keepalive, endpoints, listen-port incl. 0, fwmark, own public key
# as a peer, remove, private-key = a peer's key, a key starting with '/',
# private-key /dev/null, low-order peer keys), wg setconf and wg addconf.
# After every step `wg show IF dump` and `wg showconf IF` of the two sides are
# compared field by field: handshake times only as zero / non-zero, transfer
# counters within one keepalive (32 bytes), the port when it was set to 0 not
# at all, peers and allowed-ips as sets (wireguard-go's order is random).
# Checks of their own on each side: the '+' clamping, (none) after /dev/null,
# own key ignored, peer removed by the private-key change, the bound UDP
# port and SO_MARK as ss(8) shows them, no packet at all to low-order peers.
# Then a real tunnel: after `ping -c 10 -f` from the device, `wg show
# transfer` must be rx 1372, tx 1428 or 1460 (the kernel's netns.sh), with a
# recent handshake; `wg show IF` and every `wg show IF <field>` are compared.
# Finally `wg setconf` on meshguard with wireguard-go's `wg showconf` must
# reproduce it, `meshguard up -i NAME` must serve an empty interface the same
# way, and the drop-in must stop cleanly on SIGTERM.
#
# MG_IMPL_M=wggo runs wireguard-go on side m too (harness check: all pass).

. "$(dirname "$0")/lib.sh"
mg_strict

PORT=51820      # the devices under test
PEER_PORT=51821 # their real peers
U_SELF=192.0.2.1
U_PEER=192.0.2.2
IN_SELF=10.77.0.1
IN_PEER=10.77.0.2
SIDES="m g"
declare -A IMPL=([m]=${MG_IMPL_M:-meshguard} [g]=wggo) NAME=([m]=meshguard [g]=wireguard-go)
[ "${IMPL[m]}" = wggo ] && NAME[m]="wireguard-go(m)"
declare -A IFX IFP PID
IFX[m]="${MG_ID}m" IFX[g]="${MG_ID}g" IFP[m]="${MG_ID}n" IFP[g]="${MG_ID}h"
LOW_ORDER="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=
X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc=
7P///////////////////////////////////////38=
7f///////////////////////////////////////38=
7v///////////////////////////////////////38="

# ---- keys and files ----

K=$MG_TMP/keys
mkdir -p "$K"
for k in self a b c d e p; do mg_keypair "$K/$k"; done
mg_psk "$K/psk"
pub() { cat "$K/$1.pub"; }
key() { cat "$K/$1.key"; }
SLASH_KEY="/$(key self | cut -c2-)" # clamping turns the leading '/' into '+'
(umask 077 && printf '%s\n' "$SLASH_KEY" >"$K/slash.key")
(umask 077 && cat >"$K/setconf.conf") <<EOF
[Interface]
PrivateKey = $(key self)
ListenPort = $PORT
FwMark = 0x99

[Peer]
PublicKey = $(pub c)
PresharedKey = $(cat "$K/psk")
AllowedIPs = 10.2.0.0/16, fd00:c::/64
Endpoint = 203.0.113.60:51060
PersistentKeepalive = 13

[Peer]
PublicKey = $(pub d)
AllowedIPs = 10.3.0.0/16
EOF
(umask 077 && cat >"$K/addconf.conf") <<EOF
[Peer]
PublicKey = $(pub e)
AllowedIPs = 10.4.0.0/16, fd00:e::/64
Endpoint = [2001:db8:ff::e]:51005

[Peer]
PublicKey = $(pub d)
AllowedIPs = 10.3.1.0/24, 10.3.2.0/24
EOF

# ---- the two sides ----

setup_side() {
	local s=$1
	mg_ns_new "$s"
	mg_ns_new "${s}p"
	mg_veth "$s" u0 "${s}p" u0
	mg_addr "$s" u0 "$U_SELF/24"
	mg_addr "${s}p" u0 "$U_PEER/24"
	# The real peer: wireguard-go with the device as its only peer.
	mg_wgd_start "${s}p" "${IFP[$s]}" wggo
	mg_in "${s}p" wg set "${IFP[$s]}" private-key "$K/p.key" listen-port "$PEER_PORT" \
		peer "$(pub self)" allowed-ips "$IN_SELF/32"
	ip -n "$(mg_ns_name "${s}p")" addr add "$IN_PEER/24" dev "${IFP[$s]}"
	ip -n "$(mg_ns_name "${s}p")" link set "${IFP[$s]}" up
	# Packets from the device to the peer's port, whatever they are.
	mg_in "${s}p" nft -f - <<-EOF
		table inet uapitest {
			counter from_dev { }
			chain in {
				type filter hook input priority 0; policy accept;
				ip saddr $U_SELF udp dport $PEER_PORT counter name from_dev
			}
		}
	EOF
	# The device under test: an empty interface, configured only by wg.
	mg_wgd_start "$s" "${IFX[$s]}" "${IMPL[$s]}"
	PID[$s]=$MG_BG_PID
	ip -n "$(mg_ns_name "$s")" addr add "$IN_SELF/24" dev "${IFX[$s]}"
	ip -n "$(mg_ns_name "$s")" link set "${IFX[$s]}" up
	mg_wait_for 10 mg_ping_quiet "$s" "$U_PEER" || mg_die "underlay $s -> ${s}p does not work"
	mg_say "side $s: ${NAME[$s]} ${IFX[$s]} (pid ${PID[$s]}), peer wireguard-go ${IFP[$s]} in ${s}p"
}

from_dev_packets() {
	mg_in "$1p" nft list counter inet uapitest from_dev |
		awk '$1 == "packets" { print $2; found = 1 } END { if (!found) print -1 }'
}

# ---- steps ----
# step NAME [WG-ARGS...]: runs `wg WG-ARGS` on side $SIDE (if given), then
# saves its status, output, `wg show dump` and `wg showconf`. Names must
# sort in the order the steps run.

STEPS=()
RANDOM_PORT_STEPS=" "

step() {
	local name=$1 d rc=0
	shift
	d=$MG_TMP/$SIDE/$name
	if [ $# -gt 0 ]; then
		mg_in "$SIDE" wg "$@" >"$d.out" 2>"$d.err" || rc=$?
	else
		: >"$d.out"
		: >"$d.err"
	fi
	echo "$rc" >"$d.rc"
	mg_in "$SIDE" wg show "${IFX[$SIDE]}" dump >"$d.dump" 2>>"$d.err" || echo "wg show dump failed" >>"$d.rc"
	mg_in "$SIDE" wg showconf "${IFX[$SIDE]}" >"$d.conf" 2>>"$d.err" || echo "wg showconf failed" >>"$d.rc"
	[ "$SIDE" = m ] && STEPS+=("$name")
	return 0
}

random_port_step() {
	RANDOM_PORT_STEPS+="$1 "
}

run_sequence() {
	SIDE=$1
	local i ifx=${IFX[$1]}
	mkdir -p "$MG_TMP/$SIDE"
	mg_say "side $SIDE: wg command sequence on ${NAME[$SIDE]}"
	step 00-empty
	random_port_step 00-empty
	step 01-key-port set "$ifx" private-key "$K/self.key" listen-port "$PORT"
	step 02-peer-a set "$ifx" peer "$(pub a)" allowed-ips 10.1.0.0/16,fd00:a::/48 \
		endpoint 203.0.113.50:51000 persistent-keepalive 25 preshared-key "$K/psk"
	step 03-peer-b-host-bits set "$ifx" peer "$(pub b)" allowed-ips 10.1.2.3/24,10.9.0.0/16 \
		endpoint "[2001:db8:ff::2]:51002"
	step 04-move-to-b set "$ifx" peer "$(pub b)" allowed-ips 10.1.0.0/16,10.9.0.0/16,10.1.2.0/24
	step 05-move-back-to-a set "$ifx" peer "$(pub a)" allowed-ips 10.1.0.0/16,10.1.2.0/24,fd00:a::/48
	step 06-two-peers-one-set set "$ifx" peer "$(pub c)" allowed-ips 0.0.0.0/0,::/0 \
		endpoint 203.0.113.51:51003 peer "$(pub d)" allowed-ips 10.9.1.0/24,fd00:d::1/128
	step 07-default-route-moves set "$ifx" peer "$(pub d)" allowed-ips 0.0.0.0/0,10.9.1.0/24,fd00:d::1/128
	step 08-psk-devnull set "$ifx" peer "$(pub a)" preshared-key /dev/null
	step 09-psk-file-keepalive set "$ifx" peer "$(pub b)" preshared-key "$K/psk" persistent-keepalive 1
	step 10-keepalive-off set "$ifx" peer "$(pub a)" persistent-keepalive off \
		peer "$(pub b)" persistent-keepalive 0
	step 11-allowed-none set "$ifx" peer "$(pub c)" allowed-ips ""
	step 12-endpoint-change set "$ifx" peer "$(pub c)" endpoint 198.51.100.77:1
	step 13-listen-port set "$ifx" listen-port 51999
	ss_ports >"$MG_TMP/$SIDE/13-listen-port.ss"
	step 14-listen-port-0 set "$ifx" listen-port 0
	random_port_step 14-listen-port-0
	step 15-listen-port-back set "$ifx" listen-port "$PORT"
	ss_ports >"$MG_TMP/$SIDE/15-listen-port-back.ss"
	step 16-fwmark set "$ifx" fwmark 0x1234
	ss_ports >"$MG_TMP/$SIDE/16-fwmark.ss"
	step 17-fwmark-off set "$ifx" fwmark off
	ss_ports >"$MG_TMP/$SIDE/17-fwmark-off.ss"
	step 18-own-key-as-peer set "$ifx" peer "$(pub self)" allowed-ips 10.50.0.0/16 \
		endpoint 203.0.113.9:9
	step 19-remove set "$ifx" peer "$(pub a)" remove
	step 20-remove-missing set "$ifx" peer "$(pub e)" remove
	step 21-key-of-peer-b set "$ifx" private-key "$K/b.key"
	step 22-key-back set "$ifx" private-key "$K/self.key"
	step 23-key-slash set "$ifx" private-key "$K/slash.key"
	step 24-key-devnull set "$ifx" private-key /dev/null
	step 25-key-back set "$ifx" private-key "$K/self.key"
	step 26-setconf setconf "$ifx" "$K/setconf.conf"
	step 27-addconf addconf "$ifx" "$K/addconf.conf"
	# Low-order public keys with a reachable endpoint and keepalive 1: the DH
	# result is zero, so no packet may leave at all.
	local lo_before lo_args=()
	lo_before=$(from_dev_packets "$SIDE")
	while read -r i; do
		lo_args+=(peer "$i" endpoint "$U_PEER:$PEER_PORT" persistent-keepalive 1)
	done <<<"$LOW_ORDER"
	step 28-low-order-peers set "$ifx" "${lo_args[@]}"
	sleep 3
	step 29-low-order-after-3s
	echo "$lo_before $(from_dev_packets "$SIDE")" >"$MG_TMP/$SIDE/low-order.packets"
	lo_args=()
	while read -r i; do
		lo_args+=(peer "$i" remove)
	done <<<"$LOW_ORDER"
	step 30-low-order-removed set "$ifx" "${lo_args[@]}"
	# The real tunnel: a fresh peer, and the device initiates.
	step 31-peer-p set "$ifx" peer "$(pub p)" allowed-ips "$IN_PEER/32" endpoint "$U_PEER:$PEER_PORT"
	mg_in "$SIDE" ping -n -c 10 -f -W 1 "$IN_PEER" >"$MG_TMP/$SIDE/ping.out" 2>&1 || true
	step 32-after-ping
	mg_in "$SIDE" wg show "$ifx" >"$MG_TMP/$SIDE/show.pretty"
	for i in public-key private-key listen-port fwmark peers preshared-keys endpoints \
		allowed-ips latest-handshakes persistent-keepalive transfer; do
		mg_in "$SIDE" wg show "$ifx" "$i" >"$MG_TMP/$SIDE/show.$i"
	done
	date +%s >"$MG_TMP/$SIDE/show.time"
}

ss_ports() {
	mg_in "$SIDE" ss -Hnuael 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /:[0-9]+$/ || $i ~ /^fwmark:/) printf "%s ", $i; print "" }'
}

# ---- normalising ----

SORTLIST_AWK='function sortlist(s, sep,   n, a, i, j, t, out) {
	n = split(s, a, sep)
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
	out = a[1]
	for (i = 2; i <= n; i++)
		out = out sep a[i]
	return out
}'

# norm_dump FILE RANDOM_PORT: `wg show dump` without counters, handshake as
# yes/no, allowed-ips sorted, peers sorted.
norm_dump() {
	awk -F'\t' -v OFS='\t' -v rp="$2" "$SORTLIST_AWK"'
		NR == 1 { if (rp) $3 = "(random)"; print "interface", $1, $2, $3, $4; next }
		{ print "peer", $1, $2, $3, sortlist($4, ","), ($5 == 0 ? "no-handshake" : "handshake"), $8 }' "$1" | sort
}

# counters FILE: "pubkey rx tx" per peer.
counters() {
	awk -F'\t' 'NR > 1 { print $1, $6, $7 }' "$1" | sort
}

# norm_blocks FILE RANDOM_PORT IFNAME: showconf or pretty `wg show`, blocks
# sorted after the first, list values sorted, times and transfer dropped.
norm_blocks() {
	awk -v rp="$2" -v ifn="$3" "$SORTLIST_AWK"'
		BEGIN { RS = ""; FS = "\n" }
		{
			out = ""
			for (i = 1; i <= NF; i++) {
				l = $i
				if (rp && l ~ /^(ListenPort = |  listening port: )/)
					sub(/[0-9]+$/, "(random)", l)
				if (ifn != "" && l == "interface: " ifn)
					l = "interface: IF"
				if (l ~ /^AllowedIPs = /)
					l = "AllowedIPs = " sortlist(substr(l, 14), ", ")
				if (l ~ /^  allowed ips: /)
					l = "  allowed ips: " sortlist(substr(l, 16), ", ")
				if (l ~ /^  latest handshake: /)
					l = "  latest handshake: (some time ago)"
				if (l ~ /^  transfer: /)
					continue
				out = out (out == "" ? "" : "\001") l
			}
			print (NR == 1 ? "0" : "1") "\001" out
		}' "$1" | sort | cut -d$'\001' -f2- | tr '\001' '\n'
}

# norm_field FIELD FILE: one `wg show IF FIELD` output, lines sorted,
# handshake times as yes/no, counters dropped (compared from the dumps).
norm_field() {
	case $1 in
	latest-handshakes) awk -F'\t' '{ print $1, ($2 == 0 ? "no" : "yes") }' "$2" | sort ;;
	transfer) cut -f1 "$2" | sort ;;
	allowed-ips) awk -F'\t' "$SORTLIST_AWK"'{ print $1, sortlist($2, " ") }' "$2" | sort ;;
	*) sort "$2" ;;
	esac
}

# ---- comparing ----

compare_steps() {
	local name rp m g bad=""
	for name in "${STEPS[@]}"; do
		m=$MG_TMP/m/$name g=$MG_TMP/g/$name rp=0
		case $RANDOM_PORT_STEPS in *" $name "*) rp=1 ;; esac
		bad=""
		cmp -s "$m.rc" "$g.rc" || bad+=" exit-status(meshguard $(paste -sd' ' "$m.rc"), wireguard-go $(paste -sd' ' "$g.rc"))"
		cmp -s "$m.err" "$g.err" || bad+=" stderr"
		diff <(norm_dump "$m.dump" "$rp") <(norm_dump "$g.dump" "$rp") >"$m.dump.diff" || bad+=" dump"
		diff <(norm_blocks "$m.conf" "$rp" "") <(norm_blocks "$g.conf" "$rp" "") >"$m.conf.diff" || bad+=" showconf"
		if [ -z "$bad" ]; then
			mg_pass "step $name: wg exit status, stderr, dump and showconf equal to wireguard-go's"
		else
			mg_fail "step $name: differs from wireguard-go in:$bad"
			[ -s "$m.err" ] && sed 's/^/    meshguard stderr: /' "$m.err"
			[ -s "$g.err" ] && sed 's/^/    wireguard-go stderr: /' "$g.err"
			sed 's/^/    dump (< meshguard, > wireguard-go): /' "$m.dump.diff"
			sed 's/^/    showconf (< meshguard, > wireguard-go): /' "$m.conf.diff"
		fi
	done
}

# Transfer counters at every step: equal within one keepalive (32 bytes).
compare_counters() {
	local name out="" line
	for name in "${STEPS[@]}"; do
		line=$(join <(counters "$MG_TMP/m/$name.dump") <(counters "$MG_TMP/g/$name.dump") |
			awk -v s="$name" '{
				drx = $2 - $4; dtx = $3 - $5
				if (drx < -32 || drx > 32 || dtx < -32 || dtx > 32)
					printf "    step %s peer %s: meshguard rx %s tx %s, wireguard-go rx %s tx %s\n", s, $1, $2, $3, $4, $5
			}')
		out+=$line${line:+$'\n'}
	done
	if [ -z "$out" ]; then
		mg_pass "transfer counters equal to wireguard-go's (within one keepalive) at every step"
	else
		mg_fail "transfer counters differ from wireguard-go's in $(printf '%s' "$out" | wc -l) step/peer pairs, e.g.:"
		printf '%s' "$out" | awk '!seen[$4]++' | head -n 5
	fi
}

compare_show() {
	local f bad=""
	diff <(norm_blocks "$MG_TMP/m/show.pretty" 0 "${IFX[m]}") \
		<(norm_blocks "$MG_TMP/g/show.pretty" 0 "${IFX[g]}") >"$MG_TMP/show.pretty.diff" || bad+=" (wg show IF)"
	for f in public-key private-key listen-port fwmark peers preshared-keys endpoints \
		allowed-ips latest-handshakes persistent-keepalive transfer; do
		diff <(norm_field "$f" "$MG_TMP/m/show.$f") <(norm_field "$f" "$MG_TMP/g/show.$f") \
			>"$MG_TMP/show.$f.diff" || bad+=" $f"
	done
	if [ -z "$bad" ]; then
		mg_pass "after traffic: wg show IF and every wg show IF <field> equal to wireguard-go's"
	else
		mg_fail "after traffic: wg show differs from wireguard-go in:$bad"
		cat "$MG_TMP"/show.*.diff | sed 's/^/    /'
	fi
}

# ---- checks on each side on its own ----

dump_of() { cat "$MG_TMP/$1/$2.dump"; }
peer_line() { dump_of "$1" "$2" | awk -F'\t' -v k="$3" 'NR > 1 && $1 == k'; }
has_peer() { [ -n "$(peer_line "$@")" ]; }
hdr_field() { dump_of "$1" "$2" | awk -F'\t' -v f="$3" 'NR == 1 { print $f }'; }

check_side() {
	local s=$1 n=${NAME[$1]} t x rx tx hs now lo
	t="$n:"
	mg_check "$t empty interface: no keys, a random port, no fwmark, no peers" eval \
		'[ "$(dump_of '"$s"' 00-empty | wc -l)" = 1 ] && dump_of '"$s"' 00-empty | grep -qE "^\(none\)	\(none\)	[1-9][0-9]*	off$"'
	mg_check "$t private key and port read back" eval \
		'[ "$(hdr_field '"$s"' 01-key-port 1)" = "$(key self)" ] && [ "$(hdr_field '"$s"' 01-key-port 2)" = "$(pub self)" ] && [ "$(hdr_field '"$s"' 01-key-port 3)" = '"$PORT"' ]'
	mg_check "$t peer a: psk from a file, endpoint, keepalive 25, two prefixes" eval \
		'peer_line '"$s"' 02-peer-a "$(pub a)" | grep -qF "$(pub a)	$(cat "$K/psk")	203.0.113.50:51000	10.1.0.0/16,fd00:a::/48	0	0	"'
	mg_check "$t peer a's endpoint has no route: its failed handshake sends count no tx bytes" eval \
		'[ "$(peer_line '"$s"' 02-peer-a "$(pub a)" | cut -f7)" = 0 ]'
	mg_check "$t host bits of 10.1.2.3/24 are masked" eval \
		'peer_line '"$s"' 03-peer-b-host-bits "$(pub b)" | grep -q "	10.1.2.0/24"'
	mg_check "$t a prefix given to another peer moves (a keeps only fd00:a::/48)" eval \
		'peer_line '"$s"' 04-move-to-b "$(pub a)" | grep -q "	fd00:a::/48	"'
	mg_check "$t 0.0.0.0/0 given to d leaves c with ::/0 only" eval \
		'peer_line '"$s"' 07-default-route-moves "$(pub c)" | grep -q "	::/0	"'
	mg_check "$t preshared-key /dev/null reads back (none)" eval \
		'peer_line '"$s"' 08-psk-devnull "$(pub a)" | cut -f2 | grep -qx "(none)"'
	mg_check "$t persistent-keepalive 1 then off/0" eval \
		'[ "$(peer_line '"$s"' 09-psk-file-keepalive "$(pub b)" | cut -f8)" = 1 ] && [ "$(peer_line '"$s"' 10-keepalive-off "$(pub b)" | cut -f8)" = off ]'
	mg_check "$t allowed-ips \"\" leaves the peer with (none)" eval \
		'peer_line '"$s"' 11-allowed-none "$(pub c)" | cut -f4 | grep -qx "(none)"'
	mg_check "$t listen-port 51999 rebinds: ss shows 51999, not $PORT" eval \
		'grep -q ":51999 " "$MG_TMP/'"$s"'/13-listen-port.ss" && ! grep -q ":'"$PORT"' " "$MG_TMP/'"$s"'/13-listen-port.ss"'
	mg_check "$t listen-port 0 picks a port other than 51999" eval \
		'x=$(hdr_field '"$s"' 14-listen-port-0 3); [ "$x" -gt 0 ] && [ "$x" != 51999 ]'
	mg_check "$t listen-port back to $PORT: ss shows it" \
		grep -q ":$PORT " "$MG_TMP/$s/15-listen-port-back.ss"
	mg_check "$t fwmark 0x1234 reads back and is on the sockets (ss)" eval \
		'[ "$(hdr_field '"$s"' 16-fwmark 4)" = 0x1234 ] && grep -q "fwmark:0x1234" "$MG_TMP/'"$s"'/16-fwmark.ss"'
	mg_check "$t fwmark off clears it, also on the sockets" eval \
		'[ "$(hdr_field '"$s"' 17-fwmark-off 4)" = off ] && ! grep -q "fwmark:0x1234" "$MG_TMP/'"$s"'/17-fwmark-off.ss"'
	mg_check "$t own public key as a peer is ignored" eval \
		'! has_peer '"$s"' 18-own-key-as-peer "$(pub self)" && ! grep -q 10.50.0.0 "$MG_TMP/'"$s"'/18-own-key-as-peer.dump"'
	mg_check "$t peer remove" eval '! has_peer '"$s"' 19-remove "$(pub a)"'
	mg_check "$t private key = peer b's key removes peer b" eval \
		'has_peer '"$s"' 20-remove-missing "$(pub b)" && ! has_peer '"$s"' 21-key-of-peer-b "$(pub b)" && [ "$(hdr_field '"$s"' 21-key-of-peer-b 2)" = "$(pub b)" ]'
	mg_check "$t a private key starting with '/' reads back clamped, starting with '+'" eval \
		'[ "$(hdr_field '"$s"' 23-key-slash 1)" = "+${SLASH_KEY:1}" ] && [ "$(hdr_field '"$s"' 23-key-slash 2)" = "$(wg pubkey <<<"$SLASH_KEY")" ]'
	mg_check "$t private-key /dev/null: private and public key (none)" eval \
		'[ "$(hdr_field '"$s"' 24-key-devnull 1)" = "(none)" ] && [ "$(hdr_field '"$s"' 24-key-devnull 2)" = "(none)" ]'
	mg_check "$t setconf replaces the peers (exactly c and d) and sets FwMark" eval \
		'[ "$(dump_of '"$s"' 26-setconf | awk "NR > 1 { print \$1 }" | sort | paste -sd,)" = "$(printf "%s\n" "$(pub c)" "$(pub d)" | sort | paste -sd,)" ] && [ "$(hdr_field '"$s"' 26-setconf 4)" = 0x99 ]'
	mg_check "$t addconf adds peer e, keeps c, replaces d's prefixes by the file's" eval \
		'has_peer '"$s"' 27-addconf "$(pub e)" && has_peer '"$s"' 27-addconf "$(pub c)" && [ "$(peer_line '"$s"' 27-addconf "$(pub d)" | cut -f4 | tr , "\n" | sort | paste -sd,)" = "10.3.1.0/24,10.3.2.0/24" ]'
	lo=$(cat "$MG_TMP/$s/low-order.packets")
	mg_check "$t 7 low-order peers with keepalive 1: listed, no packet sent in 3 s (peer saw $lo)" eval \
		'[ "$(dump_of '"$s"' 29-low-order-after-3s | wc -l)" = 11 ] && [ "$(echo $lo | cut -d" " -f1)" = "$(echo $lo | cut -d" " -f2)" ]'

	# The real tunnel.
	sed 's/^/    /' "$MG_TMP/$s/ping.out" | grep -E 'transmitted|rtt' || true
	mg_check "$t ping -c 10 through the tunnel: 10 replies" grep -q ' 10 received' "$MG_TMP/$s/ping.out"
	rx=$(peer_line "$s" 32-after-ping "$(pub p)" | cut -f6)
	tx=$(peer_line "$s" 32-after-ping "$(pub p)" | cut -f7)
	mg_check "$t after ping -c 10 as initiator: rx $rx = 1372, tx $tx = 1428 or 1460" eval \
		'[ "$rx" = 1372 ] && { [ "$tx" = 1428 ] || [ "$tx" = 1460 ]; }'
	hs=$(awk -F'\t' -v k="$(pub p)" '$1 == k { print $2 }' "$MG_TMP/$s/show.latest-handshakes")
	now=$(cat "$MG_TMP/$s/show.time")
	mg_check "$t latest handshake of the real peer within the last 30 s ($hs, now $now)" eval \
		'[ "${hs:-0}" -gt 0 ] && [ $((now - hs)) -ge 0 ] && [ $((now - hs)) -le 30 ]'
	mg_check "$t only the real peer has a handshake" eval \
		'[ "$(awk -F"\t" "\$2 != 0" "$MG_TMP/'"$s"'/show.latest-handshakes" | wc -l)" = 1 ]'
}

# ---- meshguard extras ----

# wg setconf with wireguard-go's showconf must reproduce it on meshguard.
check_cross_setconf() {
	local conf=$MG_TMP/g-showconf.conf
	(umask 077 && mg_in g wg showconf "${IFX[g]}" >"$conf")
	if ! mg_in m wg setconf "${IFX[m]}" "$conf" 2>"$MG_TMP/cross.err"; then
		mg_fail "wg setconf of wireguard-go's showconf on meshguard failed: $(cat "$MG_TMP/cross.err")"
		return
	fi
	mg_in m wg showconf "${IFX[m]}" >"$MG_TMP/m-after-cross.conf"
	if diff <(norm_blocks "$MG_TMP/m-after-cross.conf" 0 "") <(norm_blocks "$conf" 0 "") >"$MG_TMP/cross.diff"; then
		mg_pass "wg setconf of wireguard-go's wg showconf reproduces it on meshguard ($(grep -c '^\[Peer\]' "$conf") peers)"
	else
		mg_fail "wg setconf of wireguard-go's wg showconf does not reproduce it on meshguard:"
		sed 's/^/    (< meshguard, > wireguard-go) /' "$MG_TMP/cross.diff"
	fi
}

# `meshguard up -i NAME` (no -c): an empty interface, configured only by wg.
check_up_i() {
	local ifn="${MG_ID}u" log pid rc
	log=$MG_TMP/$ifn.log
	mg_bg "$log" ip netns exec "$(mg_ns_name m)" "$MESHGUARD" up $MG_UP_SANDBOX -i "$ifn"
	pid=$MG_BG_PID
	if ! mg_wait_for 10 mg_wg_sock_ready "$pid" "$ifn"; then
		mg_fail "meshguard up -i $ifn did not serve $MG_WG_RUN/$ifn.sock (alive: $(mg_alive "$pid" && echo yes || echo no)); its output:"
		sed 's/^/    /' "$log"
		return
	fi
	mg_in m wg set "$ifn" private-key "$K/self.key" listen-port 51830 \
		peer "$(pub a)" allowed-ips 10.1.0.0/16 || true
	mg_check "meshguard up -i $ifn: wg set and wg show dump work on it" eval \
		'mg_in m wg show '"$ifn"' dump | head -n 1 | grep -qx "$(key self)	$(pub self)	51830	off" && [ "$(mg_in m wg show '"$ifn"' peers)" = "$(pub a)" ]'
	rc=0
	mg_stop_pid "$pid" 5 || rc=$?
	mg_check "meshguard up -i $ifn stops cleanly on SIGTERM (status $rc)" eval \
		'{ [ '"$rc"' = 0 ] || [ '"$rc"' = 143 ]; } && [ ! -e "$MG_WG_RUN/'"$ifn"'.sock" ]'
}

check_stop() {
	local rc=0
	mg_stop_pid "${PID[m]}" 5 || rc=$?
	mg_check "${NAME[m]} daemon stops on SIGTERM (status $rc) and removes its socket and interface" eval \
		'{ [ '"$rc"' = 0 ] || [ '"$rc"' = 143 ]; } && [ ! -e "$MG_WG_RUN/${IFX[m]}.sock" ] && mg_wait_for 3 mg_if_gone m "${IFX[m]}"'
}

# ---- main ----

for s in $SIDES; do setup_side "$s"; done
for s in $SIDES; do run_sequence "$s"; done
mg_say "comparing ${#STEPS[@]} steps"
compare_steps
compare_counters
compare_show
for s in $SIDES; do check_side "$s"; done
check_cross_setconf
[ "${IMPL[m]}" = meshguard ] && check_up_i
mg_check "${NAME[m]} daemon still runs after the sequence" mg_alive "${PID[m]}"
check_stop
if [ "$MG_FAILED" -gt 0 ]; then
	echo "---- last lines of the meshguard log ----"
	tail -n 30 "$MG_TMP/${IFX[m]}.log" | sed 's/^/    /'
fi
mg_finish
