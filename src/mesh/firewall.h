/* A node's inbound firewall by group (issue 13), applied to decrypted
 * traffic from members before it reaches the TUN, as Nebula's is.
 *
 * Rules. Each allows inbound packets from a member in GROUP (or any
 * member), of PROTO (tcp, udp, icmp, any), to PORT (one, a range LO-HI,
 * or any; tcp and udp only: icmp and any take "any"). Rules only allow; the
 * first that matches counts a hit. Policy:
 *   - no rules at all: everything from members passes (the filter is not
 *     even installed on the device, so it costs nothing);
 *   - a reply to one of our own outbound flows passes (stateful, below);
 *   - an ICMP error (unreachable, too big, time exceeded, parameter
 *     problem) passes when the packet it quotes is one of our flows;
 *   - an ICMP echo request passes, unless some rule names proto icmp: then
 *     ICMP goes by the rules alone ("unless a rule says otherwise");
 *   - a packet matched by a rule passes;
 *   - everything else is dropped and counted.
 * The sender is the member whose WireGuard peer the packet came from; its
 * groups are those of its current certificate. A non-first IPv4 fragment,
 * or an IPv6 packet whose next header is an extension header, has no ports:
 * only rules with port "any" match it. ICMP means ICMPv4 for IPv4 and
 * ICMPv6 for IPv6.
 *
 * Rule text (the command line joins its options into it, the state file
 * holds one per line), tokens separated by exactly one space:
 *   rule   "group=" (GROUP | "any") " proto=" PROTO " port=" PORT
 *   GROUP  a group name as mesh.h's (1..MG_MESH_GROUP_MAX of [A-Za-z0-9._-]); a
 *          group named "any" cannot be named (the word means any member)
 *   PROTO  "tcp" | "udp" | "icmp" | "any"
 *   PORT   "any" | N | N "-" M, 1 <= N < M <= 65535, decimal, no leading 0
 * Every key exactly once, in this order; nothing else on the line; icmp
 * and any take port=any. So each rule has one text (mg_fw_rule_format).
 *
 * State file DIR/firewall (state.h: 0600, written atomically under the
 * lock), at most MG_FW_FILE_MAX bytes:
 *   "meshguard-firewall 1\n" (rule "\n"){0,MG_FW_RULES_MAX}
 * No blank lines, no comments, no CR; the last line ends with "\n". An
 * absent file means no rules. Hit counts are not kept in it: they count
 * from the node's start, a rule added through the running node from 0.
 * mg_fw_format writes the one form the parser reads back to the same rules.
 *
 * Flow table (stateful). Every packet we send into the mesh while rules
 * exist records its flow: TCP and UDP by (proto, src, dst, sport, dport);
 * ICMP echo requests by (proto, src, dst, id, id). An inbound packet is a
 * reply when the reversed tuple is present and not expired (an echo reply
 * by its id). Entries live MG_FW_TCP_TIMEOUT / MG_FW_UDP_TIMEOUT /
 * MG_FW_ICMP_TIMEOUT seconds after the last outbound packet. The table is
 * a fixed open-addressed array of MG_FW_FLOWS_MAX entries with a keyed hash
 * (random key, so a peer cannot aim its lookups) probed over
 * MG_FW_FLOW_PROBE slots; when every probed slot is live, the one that
 * expires first is replaced. Nothing is allocated per packet.
 *
 * The filter sees every packet from the mesh, also those this node
 * forwards into a subnet it advertises: the rules apply to them too (their
 * destination port), and packets from that subnet into the mesh record
 * flows like our own.
 *
 * The sender's groups: a static member behind its exporter (export-wg)
 * shares the exporter's peer, so its packets are judged by the exporter's
 * groups. A peer that is no member (made by hand with `wg set`) has none:
 * only group=any rules match it.
 *
 * Listing (`firewall list`): text, one line a rule,
 *   N ": " rule " hits=" H "\n"
 * then "dropped=D replies=R echo=E\n"; or JSON (schema 1)
 *   {"rules":[{"n":1,"group":"admins","proto":"tcp","port":"22",
 *    "hits":3},...],"dropped":D,"replies":R,"echo":E,"running":true}
 * Counters come from the running node; offline they are all 0 and
 * "running" is false.
 *
 * Ownership: struct mg_firewall is the caller's (the agent embeds it);
 * mg_fw_flows_init allocates the flow array once, mg_fw_free frees it. */
#ifndef MG_MESH_FIREWALL_H
#define MG_MESH_FIREWALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mesh/mesh.h"
#include "mesh/state.h"

#define MG_FW_RULES_MAX	   64
#define MG_FW_RULE_TEXT	   80 /* longest rule line, without the newline, + NUL */
#define MG_FW_FILE_MAX	   (22 + MG_FW_RULES_MAX * MG_FW_RULE_TEXT)
#define MG_FW_FILE_HEADER  "meshguard-firewall 1\n"
#define MG_STATE_FIREWALL  "firewall"
#define MG_FW_FLOWS_MAX	   4096 /* a power of two */
#define MG_FW_FLOW_PROBE   8
#define MG_FW_TCP_TIMEOUT  900 /* seconds after our last packet */
#define MG_FW_UDP_TIMEOUT  180
#define MG_FW_ICMP_TIMEOUT 30
#define MG_FW_LIST_MAX	   (256 + MG_FW_RULES_MAX * 160) /* mg_fw_list's output */

enum mg_fw_proto {
	MG_FW_ANY = 0,
	MG_FW_ICMP = 1, /* ICMPv4 (1) or ICMPv6 (58) */
	MG_FW_TCP = 6,
	MG_FW_UDP = 17,
};

struct mg_fw_rule {
	char group[MG_MESH_GROUP_MAX + 1]; /* "": any member */
	uint8_t proto;			   /* enum mg_fw_proto */
	uint16_t port_lo, port_hi;	   /* 0, 65535: any */
	uint64_t hits;
};

struct mg_fw_rules {
	struct mg_fw_rule rule[MG_FW_RULES_MAX];
	size_t n;
};

struct mg_fw_flow {
	uint8_t proto, family;
	uint16_t sport, dport; /* ours, theirs (ICMP: the echo id, twice) */
	uint8_t src[16], dst[16];
	uint64_t expires; /* seconds on the caller's clock; 0: free slot */
};

struct mg_fw_flows {
	struct mg_fw_flow *slot; /* MG_FW_FLOWS_MAX */
	uint8_t hash_key[16];
	uint64_t evicted; /* live entries replaced because their probe run was full */
};

struct mg_firewall {
	struct mg_fw_rules rules;
	struct mg_fw_flows flows;
	uint64_t allowed_reply, allowed_echo, dropped;
};

/* Parses one rule from text[0, len) (no newline): 0, or -MG_MESH_EMALFORMED
 * with err saying what was wrong, the token quoted, and what was expected. */
int mg_fw_rule_parse(struct mg_fw_rule *r, const char *text, size_t len, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* The rule's canonical text into out[MG_FW_RULE_TEXT]. */
void mg_fw_rule_format(const struct mg_fw_rule *r, char out[MG_FW_RULE_TEXT]);
bool mg_fw_rule_equal(const struct mg_fw_rule *a, const struct mg_fw_rule *b);

/* Parses a whole state file: 0, -MG_MESH_EMALFORMED (err names the line),
 * -MG_MESH_EVERSION (another header), -MG_MESH_ETOOBIG (too many rules or
 * bytes). rules is left empty on error. */
int mg_fw_parse(struct mg_fw_rules *rules, const uint8_t *buf, size_t len, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* The state file's text into out[cap]: its length, or -MG_MESH_ETOOBIG. */
int mg_fw_format(const struct mg_fw_rules *rules, char *out, size_t cap);

/* DIR/firewall into rules (absent: none): 0 or a state error (err names the
 * file and line). */
int mg_fw_load(struct mg_state *st, struct mg_fw_rules *rules, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Writes rules to DIR/firewall atomically (st locked): 0 or -errno. */
int mg_fw_save(struct mg_state *st, const struct mg_fw_rules *rules, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* The listing above into out[MG_FW_LIST_MAX]. */
void mg_fw_list(const struct mg_firewall *fw, bool json, bool running, char out[MG_FW_LIST_MAX]);

/* Appends r (hits reset): 0, -EEXIST (an equal rule exists), -ENOSPC. */
int mg_fw_add(struct mg_fw_rules *rules, const struct mg_fw_rule *r);
/* Deletes rule number n, counted from 1 as `firewall list` shows: 0 or
 * -ENOENT. */
int mg_fw_del(struct mg_fw_rules *rules, size_t n);

/* The flow table: 0 or -ENOMEM. mg_fw_free frees it (safe twice). */
int mg_fw_init(struct mg_firewall *fw);
void mg_fw_free(struct mg_firewall *fw);
/* Empties the flow table: flows recorded while no filter watched are
 * stale. */
void mg_fw_forget_flows(struct mg_firewall *fw);

/* An IP packet we send into the mesh (pkt[0, len), len the IP length or
 * more): records or refreshes its flow at time now (seconds). Packets that
 * are no flow (not TCP, UDP or an echo request) are ignored. */
void mg_fw_outbound(struct mg_firewall *fw, const uint8_t *pkt, size_t len, uint64_t now);
/* Whether an inbound IP packet from a member in groups[0, n_groups) passes
 * (policy above); counts the rule's hit, or the reason it passed or was
 * dropped. With no rules, true. pkt as for mg_fw_outbound. */
bool mg_fw_inbound(struct mg_firewall *fw, const char (*groups)[MG_MESH_GROUP_MAX + 1],
		   size_t n_groups, const uint8_t *pkt, size_t len, uint64_t now);

#endif
