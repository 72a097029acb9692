#!/usr/bin/env bash
# The inviter killed while members join (issue 13, test 6). P runs the mesh;
# each round makes a single-use invite through P's node, starts one or two
# joiners with it at once (on a and b, racing for the one use), SIGKILLs P's
# daemon 0..25 ms (two rounds in three: a join takes 6-20 ms) or 0..300 ms
# later, checks P's state directory, restarts P and has a
# third joiner (on r) retry the same token. Checked every round:
#   - every file in P's directory parses, read as the daemon reads it
#     (mg_state_check: mesh.json, keys, certificates, the directory, every
#     invite record; `members` too). Stale .NAME.tmp files are counted, not
#     failed: state.h never reads them and the next write of NAME removes
#     them;
#   - P's `up` restarts (control socket answers within 10 s);
#   - the token's record says used 0 or 1 of 1; when it said 1 at the kill,
#     the retry is refused (exit 2, "used up"); never two joins succeed with
#     one token (joiners that exit 0, retries included), and never more than
#     the uses the record holds;
#   - every joiner that exited 0 so far is a member in P's directory: the
#     use and the certificate are on disk before the RESULT leaves P.
# Joiners cut off mid-exchange wait out their 10 s timeout in the background
# while the next rounds run; the end waits for them all and checks again
# with P stopped cleanly.
#
# MG_CRASH_ROUNDS (default 20) rounds; MG_CRASH_JSON=FILE writes the raw
# results (one object per round) there; bench/mesh-crash runs 100.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh_lib.sh"

ROUNDS=${MG_CRASH_ROUNDS:-20}
JSON=${MG_CRASH_JSON:-}
mg_need_tool mg_state_check
PSTATE=$(mg_mesh_state p)

declare -A TOK_ID J_RC J_DIR J_NAME J_TOKEN_ROUND
JOINERS=()  # "round:host" of every joiner started
N_KILLS=0 N_RESTARTS=0 N_VIOL=0 N_STALE=0 N_MID=0
ROUND_JSON=()

# violation ROUND WHAT: a FAIL line, once per WHAT (later rounds see the
# same token again).
declare -A REPORTED
violation() {
	[ -z "${REPORTED[$2]:-}" ] || return 0
	REPORTED[$2]=1
	N_VIOL=$((N_VIOL + 1))
	mg_fail "round $1: $2"
}

# state_check: P's directory parses; prints mg_state_check's lines.
state_check() {
	"$MG_BUILD/mg_state_check" "$PSTATE" 2>&1
}

# used ID: the uses made of invite ID, from the state check output on stdin.
used_of() {
	awk -v id="$1" '$1 == "invite" && $2 == id { print $4; f = 1 } END { if (!f) print "none" }'
}

invite_ids() {
	state_check | awk '$1 == "invite" { print $2 }' | sort
}

# start_joiner ROUND HOST TOKEN: `join` on HOST into a fresh DIR, in the
# background; its exit status and how long it took (ms) land in DIR.rc.
start_joiner() {
	local r=$1 h=$2 tok=$3 d
	d=$MG_TMP/j$r$h
	J_DIR[$r:$h]=$d
	J_NAME[$r:$h]=j$r$h
	J_TOKEN_ROUND[$r:$h]=$r
	JOINERS+=("$r:$h")
	# shellcheck disable=SC2016 # expanded by the inner bash
	mg_bg "$d.log" bash -c 't=$(date +%s%N); "$@"; echo $? $((($(date +%s%N) - t) / 1000000)) \
		>"$0.rc"' "$d" ip netns exec "$(mg_ns_name "$h")" \
		"$MESHGUARD" join "$tok" --name "j$r$h" --state "$d"
}

# joiner_rc KEY: the exit status, or "" while it runs (cached once known).
joiner_rc() {
	[ -n "${J_RC[$1]:-}" ] || J_RC[$1]=$(cut -d' ' -f1 "${J_DIR[$1]}.rc" 2>/dev/null)
	echo "${J_RC[$1]}"
}

# p_lists NAME...: P's directory (read from disk) lists every NAME.
p_lists() {
	local out n missing=0
	out=$(mg_mesh p members) || return 1
	for n in "$@"; do
		if ! awk 'NR > 1 { print $1 }' <<<"$out" | grep -qx "$n"; then
			echo "    P does not list $n"
			missing=1
		fi
	done
	return "$missing"
}

# count_successes: SUCC[ROUND], how many joiners of ROUND's token exited 0
# so far, for every round started.
declare -A SUCC
count_successes() {
	local k
	SUCC=()
	for k in "${JOINERS[@]}"; do
		[ -n "${J_RC[$k]:-}" ] || J_RC[$k]=$(cut -d' ' -f1 "${J_DIR[$k]}.rc" 2>/dev/null)
		[ "${J_RC[$k]}" = 0 ] || continue
		SUCC[${J_TOKEN_ROUND[$k]}]=$((${SUCC[${J_TOKEN_ROUND[$k]}]:-0} + 1))
	done
}

# check_joined ROUND: every finished joiner with exit 0 is listed by P, and
# no token admitted more than one, nor more than its record says it used.
check_joined() {
	local r=$1 k ok=() t s u checks
	count_successes
	for k in "${JOINERS[@]}"; do
		[ "${J_RC[$k]}" = 0 ] && ok+=("${J_NAME[$k]}")
	done
	if [ ${#ok[@]} -gt 0 ] && ! p_lists "${ok[@]}"; then
		violation "$r" "a joiner that exited 0 is not in P's directory"
	fi
	checks=$(state_check)
	for ((t = 1; t <= r; t++)); do
		s=${SUCC[$t]:-0}
		u=$(used_of "${TOK_ID[$t]}" <<<"$checks")
		if [ "$s" -gt 1 ]; then
			violation "$r" "the single-use token of round $t admitted $s joiners"
		elif [ "$s" -gt "${u/none/0}" ]; then
			violation "$r" "round $t's token admitted $s joiner(s), its record says used $u"
		fi
	done
}

# jnum VALUE: VALUE as a JSON number, or null.
jnum() {
	if [[ $1 =~ ^[0-9]+$ ]]; then echo "$1"; else echo null; fi
}

# kill_p: SIGKILL to P's daemon, at once (kill is a builtin: nothing is
# forked before the signal leaves).
kill_p() {
	local pid=${MG_M_PID[p]}
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	N_KILLS=$((N_KILLS + 1))
}

# pause US: waits US microseconds without forking (sleep(1) costs ~1 ms).
exec {PAUSE_FD}<> <(:)
pause() {
	read -r -t "$(printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)))" -u "$PAUSE_FD" || true
}

# One round: its figures go into ROUND_JSON.
round() {
	local r=$1 tok before after hosts=(a) us out used_kill rc_retry stale used_final h rcs=""
	before=$(invite_ids)
	tok=$(mg_mesh p invite --uses 1) || {
		violation "$r" "invite through the running node failed"
		return
	}
	after=$(invite_ids)
	TOK_ID[$r]=$(comm -13 <(echo "$before") <(echo "$after"))
	[ $((RANDOM % 2)) = 1 ] && hosts=(a b)
	# A join takes 6-20 ms here, process starts included: two rounds in
	# three aim at it (0-25 ms), the third anywhere in 0-300 ms.
	if [ $((RANDOM % 3)) = 0 ]; then
		us=$((RANDOM * 300000 / 32768))
	else
		us=$((RANDOM * 25000 / 32768))
	fi
	for h in "${hosts[@]}"; do
		start_joiner "$r" "$h" "$tok"
	done
	pause "$us"
	kill_p
	mv "$MG_TMP/up-p.log" "$MG_TMP/up-p.$r.log"

	out=$(state_check) || violation "$r" "P's state does not parse after the kill: $out"
	mg_mesh p members >/dev/null 2>"$MG_TMP/members.err" ||
		violation "$r" "members on P fails after the kill: $(cat "$MG_TMP/members.err")"
	used_kill=$(used_of "${TOK_ID[$r]}" <<<"$out")
	case $used_kill in
	0 | 1) ;;
	*) violation "$r" "the record of the round's invite says used '$used_kill'" ;;
	esac
	stale=$(find "$PSTATE" -name '.*.tmp' | wc -l)
	N_STALE=$((N_STALE + stale))
	for h in "${hosts[@]}"; do
		[ -z "$(joiner_rc "$r:$h")" ] && N_MID=$((N_MID + 1))
	done

	if ! mg_mesh_up p; then
		violation "$r" "P's up did not restart"
		return
	fi
	N_RESTARTS=$((N_RESTARTS + 1))

	# The same token from a fresh joiner.
	start_joiner "$r" r "$tok"
	mg_wait_for 12 test -e "${J_DIR[$r:r]}.rc"
	rc_retry=$(joiner_rc "$r:r")
	if [ "$used_kill" = 1 ] && [ "$rc_retry" != 2 ]; then
		violation "$r" "a use was recorded before the kill, yet the retry exited $rc_retry"
	fi
	if [ "$rc_retry" = 2 ] && ! grep -q 'used up' "${J_DIR[$r:r]}.log"; then
		violation "$r" "the retry was refused for another reason: $(cat "${J_DIR[$r:r]}.log")"
	fi
	case $rc_retry in
	0 | 2) ;;
	*) violation "$r" "the retry exited $rc_retry: $(cat "${J_DIR[$r:r]}.log")" ;;
	esac
	check_joined "$r"
	used_final=$(state_check | used_of "${TOK_ID[$r]}")
	for h in "${hosts[@]}"; do
		rcs+="${rcs:+,}\"$(joiner_rc "$r:$h")\""
	done
	mg_say "round $r: ${#hosts[@]} joiner(s), kill at $((us / 1000)).$(printf '%03d' $((us % 1000))) ms, used at kill $used_kill," \
		"joiners [$rcs] (\"\" = still running), retry $rc_retry, used now $used_final," \
		"stale temps $stale"
	ROUND_JSON+=("{\"round\":$r,\"joiners\":${#hosts[@]},\"kill_us\":$us,\"used_at_kill\":$(jnum "$used_kill"),\"joiner_rc_at_restart\":[$rcs],\"retry_rc\":$(jnum "$rc_retry"),\"used_after_retry\":$(jnum "$used_final"),\"stale_tmp\":$stale}")
}

mg_mesh_lan p a b r
mg_say "init on p, up"
mg_mesh p init --name lab --node p >/dev/null || mg_die "init on p failed"
mg_mesh_up p

for ((i = 1; i <= ROUNDS; i++)); do
	round "$i"
done

mg_say "waiting for the joiners cut off mid-exchange (10 s timeout)"
for k in "${JOINERS[@]}"; do
	mg_wait_for 15 test -e "${J_DIR[$k]}.rc" || violation end "joiner $k never ended"
done
check_joined "$ROUNDS"
mg_check "P stops cleanly after the last restart" mg_mesh_down p
mg_check "P's state parses after a clean stop" eval 'state_check >/dev/null'
STALE_END=$(find "$PSTATE" -name '.*.tmp' | wc -l)

# The totals, per token.
declare -A by
join_ms=()
for k in "${JOINERS[@]}"; do
	rc=$(joiner_rc "$k")
	by[$rc]=$((${by[$rc]:-0} + 1))
	[ "$rc" = 0 ] && join_ms+=("$(cut -d' ' -f2 "${J_DIR[$k]}.rc")")
done
tokens_joined=0 tokens_lost=0
count_successes
checks=$(state_check)
for ((t = 1; t <= ROUNDS; t++)); do
	s=${SUCC[$t]:-0}
	u=$(used_of "${TOK_ID[$t]}" <<<"$checks")
	[ "$s" -gt 1 ] && violation end "token $t admitted $s joiners"
	[ "$s" = 1 ] && tokens_joined=$((tokens_joined + 1))
	[ "$s" = 0 ] && [ "$u" = 1 ] && tokens_lost=$((tokens_lost + 1))
done
for k in "${JOINERS[@]}"; do
	if [ "$(joiner_rc "$k")" = 0 ] && ! mg_in a "$MESHGUARD" members --state "${J_DIR[$k]}" \
		>/dev/null 2>&1; then
		violation end "joiner $k exited 0 but its own directory holds no mesh"
	fi
done

summary="kills $N_KILLS, restarts $N_RESTARTS, joiners ${#JOINERS[@]} (exit 0: ${by[0]:-0}, refused 2: ${by[2]:-0}, timed out 3: ${by[3]:-0}, other: $((${#JOINERS[@]} - ${by[0]:-0} - ${by[2]:-0} - ${by[3]:-0}))), tokens joined $tokens_joined, tokens whose use was spent without a joiner $tokens_lost, joiners still in the exchange at the kill $N_MID, stale temp files seen after kills $N_STALE (left at the end $STALE_END), violations $N_VIOL"
mg_say "$summary"
mg_check "$ROUNDS kills, $ROUNDS restarts" [ "$N_KILLS" = "$ROUNDS" ] && [ "$N_RESTARTS" = "$ROUNDS" ]
mg_check "no violation in $ROUNDS rounds" [ "$N_VIOL" = 0 ]

if [ -n "$JSON" ]; then
	{
		printf '{"rounds":%d,"kills":%d,"restarts":%d,"joiners":%d,"joined":%d,"refused":%d,' \
			"$ROUNDS" "$N_KILLS" "$N_RESTARTS" "${#JOINERS[@]}" "${by[0]:-0}" "${by[2]:-0}"
		printf '"timed_out":%d,"tokens_joined":%d,"tokens_spent_without_joiner":%d,' \
			"${by[3]:-0}" "$tokens_joined" "$tokens_lost"
		printf '"mid_exchange_at_kill":%d,"stale_tmp":%d,"stale_tmp_at_end":%d,' \
			"$N_MID" "$N_STALE" "$STALE_END"
		printf '"violations":%d,' "$N_VIOL"
		printf '"join_ms":[%s],"per_round":[\n' "$(
			IFS=,
			echo "${join_ms[*]}"
		)"
		for ((i = 0; i < ${#ROUND_JSON[@]}; i++)); do
			printf '%s%s\n' "${ROUND_JSON[i]}" "$([ $((i + 1)) -lt ${#ROUND_JSON[@]} ] && echo ,)"
		done
		printf ']}\n'
	} >"$JSON"
fi

mg_finish
