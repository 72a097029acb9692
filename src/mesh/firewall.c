#include "mesh/firewall.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- rule text ---- */

static bool group_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* The next space-separated token of text[*pos, len); false at the end. A
 * token never starts with a space: two spaces in a row give an empty one. */
static bool token(const char *text, size_t len, size_t *pos, const char **tok, size_t *tlen)
{
	size_t i = *pos;

	if (i > len)
		return false;
	*tok = text + i;
	while (i < len && text[i] != ' ')
		i++;
	*tlen = (size_t)(text + i - *tok);
	*pos = i + 1;
	return true;
}

/* tok is key "=" value: the value, else NULL. */
static const char *value_of(const char *tok, size_t tlen, const char *key, size_t *vlen)
{
	size_t k = strlen(key);

	if (tlen <= k || memcmp(tok, key, k) || tok[k] != '=')
		return NULL;
	*vlen = tlen - k - 1;
	return tok + k + 1;
}

static bool is_word(const char *v, size_t n, const char *word)
{
	return n == strlen(word) && !memcmp(v, word, n);
}

/* A decimal port 1..65535, no sign, no leading zero. */
static bool parse_port(const char *v, size_t n, uint16_t *out)
{
	unsigned long x = 0;

	if (n == 0 || n > 5 || v[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (unsigned long)(v[i] - '0');
	}
	if (x > 65535)
		return false;
	*out = (uint16_t)x;
	return true;
}

static bool parse_ports(struct mg_fw_rule *r, const char *v, size_t n)
{
	const char *dash = memchr(v, '-', n);

	if (is_word(v, n, "any")) {
		r->port_lo = 0;
		r->port_hi = 65535;
		return true;
	}
	if (!dash)
		return parse_port(v, n, &r->port_lo) && (r->port_hi = r->port_lo, true);
	return parse_port(v, (size_t)(dash - v), &r->port_lo) &&
	       parse_port(dash + 1, n - (size_t)(dash - v) - 1, &r->port_hi) &&
	       r->port_lo < r->port_hi;
}

static bool parse_group(struct mg_fw_rule *r, const char *v, size_t n)
{
	if (is_word(v, n, "any")) {
		r->group[0] = '\0';
		return true;
	}
	if (n == 0 || n > MG_MESH_GROUP_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!group_char(v[i]))
			return false;
	memcpy(r->group, v, n);
	r->group[n] = '\0';
	return true;
}

static bool parse_proto(struct mg_fw_rule *r, const char *v, size_t n)
{
	static const struct {
		const char *name;
		uint8_t proto;
	} names[] = { { "any", MG_FW_ANY },
		      { "icmp", MG_FW_ICMP },
		      { "tcp", MG_FW_TCP },
		      { "udp", MG_FW_UDP } };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (is_word(v, n, names[i].name)) {
			r->proto = names[i].proto;
			return true;
		}
	return false;
}

static const struct {
	const char *key;
	bool (*parse)(struct mg_fw_rule *r, const char *v, size_t n);
	const char *expected;
} fields[] = {
	{ "group", parse_group, "a group name (1-31 of A-Z a-z 0-9 . _ -) or \"any\"" },
	{ "proto", parse_proto, "tcp, udp, icmp or any" },
	{ "port", parse_ports, "a port 1-65535, a range LO-HI, or \"any\"" },
};

static int fail(char *err, size_t errlen, const char *what, const char *tok, size_t tlen,
		const char *expected)
{
	if (tlen > 48)
		tlen = 48;
	snprintf(err, errlen, "%s \"%.*s\": expected %s", what, (int)tlen, tok, expected);
	return -MG_MESH_EMALFORMED;
}

int mg_fw_rule_parse(struct mg_fw_rule *r, const char *text, size_t len, char *err, size_t errlen)
{
	const char *tok, *v;
	size_t pos = 0, tlen, vlen;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char expect[16];

		snprintf(expect, sizeof(expect), "%s=", fields[i].key);
		if (!token(text, len, &pos, &tok, &tlen))
			return fail(err, errlen, "rule", text, len, "group=G proto=P port=N");
		if (!(v = value_of(tok, tlen, fields[i].key, &vlen)))
			return fail(err, errlen, "field", tok, tlen, expect);
		if (!fields[i].parse(r, v, vlen))
			return fail(err, errlen, fields[i].key, v, vlen, fields[i].expected);
	}
	if (pos <= len)
		return fail(err, errlen, "trailing", text + pos - 1, len - pos + 1, "end of rule");
	if ((r->proto == MG_FW_ICMP || r->proto == MG_FW_ANY) &&
	    (r->port_lo || r->port_hi != 65535))
		return fail(err, errlen, "port", text, len, "port=any with proto icmp or any");
	return 0;
}

static const char *proto_name(uint8_t proto);
static void port_text(const struct mg_fw_rule *r, char out[16]);

void mg_fw_rule_format(const struct mg_fw_rule *r, char out[MG_FW_RULE_TEXT])
{
	char port[16];

	port_text(r, port);
	snprintf(out, MG_FW_RULE_TEXT, "group=%s proto=%s port=%s", r->group[0] ? r->group : "any",
		 proto_name(r->proto), port);
}

bool mg_fw_rule_equal(const struct mg_fw_rule *a, const struct mg_fw_rule *b)
{
	return !strcmp(a->group, b->group) && a->proto == b->proto && a->port_lo == b->port_lo &&
	       a->port_hi == b->port_hi;
}

/* ---- the state file ---- */

int mg_fw_parse(struct mg_fw_rules *rules, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	const char *text = (const char *)buf, *end = text + len, *line;
	size_t hlen = strlen(MG_FW_FILE_HEADER), lineno = 1;

	rules->n = 0;
	if (len > MG_FW_FILE_MAX) {
		snprintf(err, errlen, "firewall file longer than %d bytes", MG_FW_FILE_MAX);
		return -MG_MESH_ETOOBIG;
	}
	if (len < hlen || memcmp(text, MG_FW_FILE_HEADER, hlen)) {
		snprintf(err, errlen, "line 1: expected \"meshguard-firewall 1\"");
		return -MG_MESH_EVERSION;
	}
	for (line = text + hlen; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		char why[160];
		int ret;

		lineno++;
		if (!nl) {
			snprintf(err, errlen, "line %zu: no newline at the end", lineno);
			goto bad;
		}
		if (rules->n == MG_FW_RULES_MAX) {
			snprintf(err, errlen, "line %zu: more than %d rules", lineno,
				 MG_FW_RULES_MAX);
			rules->n = 0;
			return -MG_MESH_ETOOBIG;
		}
		ret = mg_fw_rule_parse(&rules->rule[rules->n], line, (size_t)(nl - line), why,
				       sizeof(why));
		if (ret < 0) {
			snprintf(err, errlen, "line %zu: %s", lineno, why);
			goto bad;
		}
		rules->n++;
		line = nl + 1;
	}
	return 0;
bad:
	rules->n = 0;
	return -MG_MESH_EMALFORMED;
}

int mg_fw_format(const struct mg_fw_rules *rules, char *out, size_t cap)
{
	size_t n = 0;
	int w = snprintf(out, cap, "%s", MG_FW_FILE_HEADER);

	if (w < 0 || (size_t)w >= cap)
		return -MG_MESH_ETOOBIG;
	n = (size_t)w;
	for (size_t i = 0; i < rules->n; i++) {
		char line[MG_FW_RULE_TEXT];

		mg_fw_rule_format(&rules->rule[i], line);
		w = snprintf(out + n, cap - n, "%s\n", line);
		if (w < 0 || (size_t)w >= cap - n)
			return -MG_MESH_ETOOBIG;
		n += (size_t)w;
	}
	return (int)n;
}

int mg_fw_add(struct mg_fw_rules *rules, const struct mg_fw_rule *r)
{
	for (size_t i = 0; i < rules->n; i++)
		if (mg_fw_rule_equal(&rules->rule[i], r))
			return -EEXIST;
	if (rules->n == MG_FW_RULES_MAX)
		return -ENOSPC;
	rules->rule[rules->n] = *r;
	rules->rule[rules->n++].hits = 0;
	return 0;
}

int mg_fw_del(struct mg_fw_rules *rules, size_t n)
{
	if (n == 0 || n > rules->n)
		return -ENOENT;
	memmove(&rules->rule[n - 1], &rules->rule[n], (rules->n - n) * sizeof(rules->rule[0]));
	rules->n--;
	return 0;
}

/* ---- packets ---- */

struct packet {
	uint8_t family, proto; /* proto as enum mg_fw_proto for ICMP */
	const uint8_t *src, *dst;
	bool has_ports, has_icmp;
	uint16_t sport, dport;
	uint8_t icmp_type;
	uint16_t icmp_id;
	const uint8_t *l4; /* NULL: no transport header here (a later fragment) */
	size_t l4_len;
};

/* The transport header of an IP packet. Only the bytes present are read:
 * the packet an ICMP error quotes may be cut short. */
static bool parse(struct packet *p, const uint8_t *b, size_t len)
{
	size_t hl;

	memset(p, 0, sizeof(*p));
	if (len >= 20 && (b[0] >> 4) == 4) {
		hl = (size_t)(b[0] & 15) * 4;
		if (hl < 20 || hl > len)
			return false;
		p->family = 4;
		p->proto = b[9];
		p->src = b + 12;
		p->dst = b + 16;
		if (((b[6] & 0x1f) << 8 | b[7]) == 0)
			p->l4 = b + hl;
	} else if (len >= 40 && (b[0] >> 4) == 6) {
		hl = 40;
		p->family = 6;
		p->proto = b[6] == 58 ? MG_FW_ICMP : b[6] == 1 ? 255 : b[6];
		p->src = b + 8;
		p->dst = b + 24;
		p->l4 = b + hl;
	} else {
		return false;
	}
	if (p->family == 4 && p->proto == 58)
		p->proto = 255; /* ICMPv6 inside IPv4 is no ICMP of ours */
	if (p->l4)
		p->l4_len = len - hl;
	if (p->l4 && (p->proto == MG_FW_TCP || p->proto == MG_FW_UDP) && p->l4_len >= 4) {
		p->has_ports = true;
		p->sport = (uint16_t)(p->l4[0] << 8 | p->l4[1]);
		p->dport = (uint16_t)(p->l4[2] << 8 | p->l4[3]);
	} else if (p->l4 && p->proto == MG_FW_ICMP && p->l4_len >= 8) {
		p->has_icmp = true;
		p->icmp_type = p->l4[0];
		p->icmp_id = (uint16_t)(p->l4[4] << 8 | p->l4[5]);
	}
	return true;
}

static bool echo_request(const struct packet *p)
{
	return p->has_icmp && p->icmp_type == (p->family == 4 ? 8 : 128);
}

static bool echo_reply(const struct packet *p)
{
	return p->has_icmp && p->icmp_type == (p->family == 4 ? 0 : 129);
}

static bool icmp_error(const struct packet *p)
{
	if (!p->has_icmp)
		return false;
	if (p->family == 4)
		return p->icmp_type == 3 || p->icmp_type == 11 || p->icmp_type == 12;
	return p->icmp_type >= 1 && p->icmp_type <= 4;
}

/* ---- the flow table ---- */

int mg_fw_init(struct mg_firewall *fw)
{
	memset(fw, 0, sizeof(*fw));
	fw->flows.slot = calloc(MG_FW_FLOWS_MAX, sizeof(*fw->flows.slot));
	if (!fw->flows.slot)
		return -ENOMEM;
	mg_random_bytes(fw->flows.hash_key, sizeof(fw->flows.hash_key));
	return 0;
}

void mg_fw_free(struct mg_firewall *fw)
{
	free(fw->flows.slot);
	fw->flows.slot = NULL;
}

void mg_fw_forget_flows(struct mg_firewall *fw)
{
	if (fw->flows.slot)
		memset(fw->flows.slot, 0, MG_FW_FLOWS_MAX * sizeof(*fw->flows.slot));
}

/* The flow of an outbound packet p (src ours), reversed when p is inbound. */
static void flow_key(struct mg_fw_flow *k, const struct packet *p, bool inbound)
{
	size_t alen = p->family == 4 ? 4 : 16;

	memset(k, 0, sizeof(*k));
	k->proto = p->proto;
	k->family = p->family;
	memcpy(k->src, inbound ? p->dst : p->src, alen);
	memcpy(k->dst, inbound ? p->src : p->dst, alen);
	if (p->has_ports) {
		k->sport = inbound ? p->dport : p->sport;
		k->dport = inbound ? p->sport : p->dport;
	} else {
		k->sport = k->dport = p->icmp_id;
	}
}

static bool same_flow(const struct mg_fw_flow *a, const struct mg_fw_flow *b)
{
	return a->proto == b->proto && a->family == b->family && a->sport == b->sport &&
	       a->dport == b->dport && !memcmp(a->src, b->src, 16) && !memcmp(a->dst, b->dst, 16);
}

static size_t flow_hash(const struct mg_fw_flows *t, const struct mg_fw_flow *k)
{
	uint8_t in[38], h[crypto_shorthash_BYTES];
	uint64_t v;

	in[0] = k->proto;
	in[1] = k->family;
	memcpy(in + 2, &k->sport, 2);
	memcpy(in + 4, &k->dport, 2);
	memcpy(in + 6, k->src, 16);
	memcpy(in + 22, k->dst, 16);
	crypto_shorthash(h, in, sizeof(in), t->hash_key);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (MG_FW_FLOWS_MAX - 1));
}

static struct mg_fw_flow *flow_find(struct mg_fw_flows *t, const struct mg_fw_flow *k, uint64_t now)
{
	size_t h = flow_hash(t, k);

	for (size_t i = 0; i < MG_FW_FLOW_PROBE; i++) {
		struct mg_fw_flow *f = &t->slot[(h + i) & (MG_FW_FLOWS_MAX - 1)];

		if (f->expires > now && same_flow(f, k))
			return f;
	}
	return NULL;
}

static uint64_t timeout(uint8_t proto)
{
	return proto == MG_FW_TCP   ? MG_FW_TCP_TIMEOUT
	       : proto == MG_FW_UDP ? MG_FW_UDP_TIMEOUT
				    : MG_FW_ICMP_TIMEOUT;
}

/* Refreshes k's entry, else takes a free (or expired) slot in its run,
 * else replaces the one that expires first. */
static void flow_record(struct mg_fw_flows *t, const struct mg_fw_flow *k, uint64_t now)
{
	size_t h = flow_hash(t, k);
	struct mg_fw_flow *victim = NULL;

	for (size_t i = 0; i < MG_FW_FLOW_PROBE; i++) {
		struct mg_fw_flow *f = &t->slot[(h + i) & (MG_FW_FLOWS_MAX - 1)];

		if (f->expires > now && same_flow(f, k)) {
			f->expires = now + timeout(k->proto);
			return;
		}
		if (!victim || (victim->expires > now && f->expires < victim->expires))
			victim = f;
	}
	if (victim->expires > now)
		t->evicted++;
	*victim = *k;
	victim->expires = now + timeout(k->proto);
}

void mg_fw_outbound(struct mg_firewall *fw, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct packet p;
	struct mg_fw_flow k;

	if (!fw->flows.slot || !parse(&p, pkt, len) || !(p.has_ports || echo_request(&p)))
		return;
	flow_key(&k, &p, false);
	flow_record(&fw->flows, &k, now);
}

/* ---- inbound ---- */

static bool in_groups(const char *g, const char (*groups)[MG_MESH_GROUP_MAX + 1], size_t n)
{
	if (!g[0])
		return true;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(g, groups[i]))
			return true;
	return false;
}

static bool rule_matches(const struct mg_fw_rule *r, const char (*groups)[MG_MESH_GROUP_MAX + 1],
			 size_t n_groups, const struct packet *p)
{
	if (r->proto != MG_FW_ANY && r->proto != p->proto)
		return false;
	if (r->port_lo != 0 || r->port_hi != 65535) {
		if (!p->has_ports || p->dport < r->port_lo || p->dport > r->port_hi)
			return false;
	}
	return in_groups(r->group, groups, n_groups);
}

/* A reply to one of our flows, or an ICMP error about one. */
static bool is_reply(struct mg_firewall *fw, const struct packet *p, uint64_t now)
{
	struct mg_fw_flow k;
	struct packet q;

	if (!fw->flows.slot)
		return false;
	if (p->has_ports || echo_reply(p)) {
		flow_key(&k, p, true);
		return flow_find(&fw->flows, &k, now) != NULL;
	}
	if (!icmp_error(p) || !parse(&q, p->l4 + 8, p->l4_len - 8) || q.family != p->family ||
	    !(q.has_ports || echo_request(&q)))
		return false;
	flow_key(&k, &q, false);
	return flow_find(&fw->flows, &k, now) != NULL;
}

static bool icmp_ruled(const struct mg_fw_rules *rules)
{
	for (size_t i = 0; i < rules->n; i++)
		if (rules->rule[i].proto == MG_FW_ICMP)
			return true;
	return false;
}

bool mg_fw_inbound(struct mg_firewall *fw, const char (*groups)[MG_MESH_GROUP_MAX + 1],
		   size_t n_groups, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct packet p;

	if (fw->rules.n == 0)
		return true;
	if (!parse(&p, pkt, len)) {
		fw->dropped++;
		return false;
	}
	for (size_t i = 0; i < fw->rules.n; i++)
		if (rule_matches(&fw->rules.rule[i], groups, n_groups, &p)) {
			fw->rules.rule[i].hits++;
			return true;
		}
	if (is_reply(fw, &p, now)) {
		fw->allowed_reply++;
		return true;
	}
	if (echo_request(&p) && !icmp_ruled(&fw->rules)) {
		fw->allowed_echo++;
		return true;
	}
	fw->dropped++;
	return false;
}

/* ---- the state file in DIR, and the listing ---- */

int mg_fw_load(struct mg_state *st, struct mg_fw_rules *rules, char *err, size_t errlen)
{
	uint8_t buf[MG_FW_FILE_MAX];
	char why[256] = "";
	size_t len;
	int ret;

	rules->n = 0;
	ret = mg_state_read(st, MG_STATE_FIREWALL, buf, sizeof(buf), &len, err, errlen);
	if (ret == -ENOENT)
		return 0;
	if (ret == -EFBIG)
		snprintf(err, errlen, "%s/%s: longer than %d bytes", st->dir, MG_STATE_FIREWALL,
			 MG_FW_FILE_MAX);
	if (ret < 0)
		return ret;
	ret = mg_fw_parse(rules, buf, len, why, sizeof(why));
	if (ret < 0)
		snprintf(err, errlen, "%s/%s: %s", st->dir, MG_STATE_FIREWALL, why);
	return ret;
}

int mg_fw_save(struct mg_state *st, const struct mg_fw_rules *rules, char *err, size_t errlen)
{
	char text[MG_FW_FILE_MAX];
	int len = mg_fw_format(rules, text, sizeof(text));

	if (len < 0)
		return len;
	return mg_state_write(st, MG_STATE_FIREWALL, text, (size_t)len, err, errlen);
}

static const char *proto_name(uint8_t proto)
{
	return proto == MG_FW_TCP    ? "tcp"
	       : proto == MG_FW_UDP  ? "udp"
	       : proto == MG_FW_ICMP ? "icmp"
				     : "any";
}

static void port_text(const struct mg_fw_rule *r, char out[16])
{
	if (r->port_lo == 0 && r->port_hi == 65535)
		snprintf(out, 16, "any");
	else if (r->port_lo == r->port_hi)
		snprintf(out, 16, "%u", r->port_lo);
	else
		snprintf(out, 16, "%u-%u", r->port_lo, r->port_hi);
}

/* Group names are [A-Za-z0-9._-]: nothing in them needs a JSON escape. */
static size_t list_rule(const struct mg_fw_rule *r, size_t n, bool json, char *out, size_t cap)
{
	char port[16], text[MG_FW_RULE_TEXT];
	int w;

	port_text(r, port);
	mg_fw_rule_format(r, text);
	if (json)
		w = snprintf(out, cap,
			     "%s{\"n\":%zu,\"group\":\"%s\",\"proto\":\"%s\",\"port\":\"%s\","
			     "\"hits\":%llu}",
			     n > 1 ? "," : "", n, r->group[0] ? r->group : "any",
			     proto_name(r->proto), port, (unsigned long long)r->hits);
	else
		w = snprintf(out, cap, "%zu: %s hits=%llu\n", n, text, (unsigned long long)r->hits);
	return w < 0 || (size_t)w >= cap ? 0 : (size_t)w;
}

void mg_fw_list(const struct mg_firewall *fw, bool json, bool running, char out[MG_FW_LIST_MAX])
{
	size_t n = 0;

	if (json)
		n += (size_t)snprintf(out, MG_FW_LIST_MAX, "{\"rules\":[");
	for (size_t i = 0; i < fw->rules.n; i++)
		n += list_rule(&fw->rules.rule[i], i + 1, json, out + n, MG_FW_LIST_MAX - n);
	if (json)
		snprintf(out + n, MG_FW_LIST_MAX - n,
			 "],\"dropped\":%llu,\"replies\":%llu,\"echo\":%llu,\"running\":%s}\n",
			 (unsigned long long)fw->dropped, (unsigned long long)fw->allowed_reply,
			 (unsigned long long)fw->allowed_echo, running ? "true" : "false");
	else
		snprintf(out + n, MG_FW_LIST_MAX - n, "dropped=%llu replies=%llu echo=%llu\n",
			 (unsigned long long)fw->dropped, (unsigned long long)fw->allowed_reply,
			 (unsigned long long)fw->allowed_echo);
}
