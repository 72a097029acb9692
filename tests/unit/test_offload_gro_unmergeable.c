/* What GRO must not merge. Each row sends three TCP segments of one flow
 * (1000 bytes each, contiguous unless the row says otherwise) with the
 * second one changed, and names how the output must group them: "1|23"
 * means the change ends the first packet and the second opens a new one
 * that the third joins. The first rows are positive controls. */
#include "offload_pkt.h"

#define PAYLOAD 1000
#define ZERO	-1

struct row {
	const char *what;
	int version;
	void (*spec2)(struct pkt_spec *s);     /* the second and third packets */
	void (*raw2)(uint8_t *p, size_t *len); /* the second packet only */
	int payload2;			       /* 0: PAYLOAD, ZERO: none */
	bool df_clear;
	const char *want;
};

static void psh(struct pkt_spec *s)
{
	s->flags |= F_PSH;
}
static void fixed_id(struct pkt_spec *s)
{
	s->id -= 1;
}
static void seq_gap(struct pkt_spec *s)
{
	s->seq += 1;
}
static void seq_repeat(struct pkt_spec *s)
{
	s->seq -= PAYLOAD;
}
static void ttl(struct pkt_spec *s)
{
	s->ttl = 63;
}
static void tos(struct pkt_spec *s)
{
	s->tos = 0x01; /* ECT(1) differs too: CE marks must not be merged away */
}
static void flow_label(struct pkt_spec *s)
{
	s->flow_label = 1;
}
static void ack(struct pkt_spec *s)
{
	s->ack += 1448;
}
static void window(struct pkt_spec *s)
{
	s->window += 1;
}
static const uint8_t other_ts[12] = { 1, 1, 8, 10, 0, 0, 0x12, 0x35, 0, 0, 0x56, 0x78 };
static void options(struct pkt_spec *s)
{
	s->tcp_opts = other_ts;
}
static void no_options(struct pkt_spec *s)
{
	s->tcp_opts_len = 0;
}
static void df(struct pkt_spec *s)
{
	s->df = !s->df;
}
static void id_jump(struct pkt_spec *s)
{
	s->id += 5;
}
static void syn(struct pkt_spec *s)
{
	s->flags = F_SYN | F_ACK;
}
static void fin(struct pkt_spec *s)
{
	s->flags = F_FIN | F_ACK;
}
static void rst(struct pkt_spec *s)
{
	s->flags = F_RST | F_ACK;
}
static void urg(struct pkt_spec *s)
{
	s->flags = F_URG | F_ACK;
}
static void ece(struct pkt_spec *s)
{
	s->flags = F_ECE | F_ACK;
}
static void cwr(struct pkt_spec *s)
{
	s->flags = F_CWR | F_ACK;
}
static void no_ack(struct pkt_spec *s)
{
	s->flags = 0;
}
static void udp(struct pkt_spec *s)
{
	s->proto = IPPROTO_UDP;
}
static const uint8_t router_alert[4] = { 0x94, 4, 0, 0 };
static void ip_options(struct pkt_spec *s)
{
	s->ip_opts = router_alert;
	s->ip_opts_len = 4;
}

static void bad_tcp_csum(uint8_t *p, size_t *len)
{
	(void)len;
	p[ref_l4_csum_at(p)] ^= 0x40;
}
static void bad_ip_csum(uint8_t *p, size_t *len)
{
	(void)len;
	p[10] ^= 0x01;
}
static void refresh_ipv4(uint8_t *p)
{
	wr16(p + 10, 0);
	wr16(p + 10, (uint16_t)~ref_sum(p, 20, 0));
}
static void more_fragments(uint8_t *p, size_t *len)
{
	(void)len;
	p[6] |= 0x20;
	refresh_ipv4(p);
}
static void reserved_bit(uint8_t *p, size_t *len)
{
	p[ref_l3_len(p) + 12] |= 0x01;
	ref_fill_l4(p, *len);
}
/* Ethernet-style padding after the IP packet. */
static void trailing_bytes(uint8_t *p, size_t *len)
{
	memset(p + *len, 0, 4);
	*len += 4;
}
static void hop_by_hop(uint8_t *p, size_t *len)
{
	(void)len;
	p[6] = 0;
}

static const struct row rows[] = {
	{ "control", 4, NULL, NULL, 0, false, "123" },
	{ "control", 6, NULL, NULL, 0, false, "123" },
	{ "PSH ends the packet", 4, psh, NULL, 0, false, "12|3" },
	{ "PSH ends the packet", 6, psh, NULL, 0, false, "12|3" },
	{ "short segment ends it", 4, NULL, NULL, 500, false, "12|3" },
	{ "short segment ends it", 6, NULL, NULL, 1, false, "12|3" },
	{ "DF: fixed ID is fine", 4, fixed_id, NULL, 0, false, "123" },
	{ "no DF: counting ID", 4, NULL, NULL, 0, true, "123" },

	{ "no DF: ID jumps", 4, id_jump, NULL, 0, true, "1|23" },
	{ "no DF: repeated ID", 4, fixed_id, NULL, 0, true, "1|23" },
	{ "DF differs", 4, df, NULL, 0, false, "1|23" },
	{ "sequence gap", 4, seq_gap, NULL, 0, false, "1|23" },
	{ "sequence gap", 6, seq_gap, NULL, 0, false, "1|23" },
	{ "retransmission", 4, seq_repeat, NULL, 0, false, "1|23" },
	{ "TTL", 4, ttl, NULL, 0, false, "1|23" },
	{ "hop limit", 6, ttl, NULL, 0, false, "1|23" },
	{ "TOS", 4, tos, NULL, 0, false, "1|23" },
	{ "traffic class", 6, tos, NULL, 0, false, "1|23" },
	{ "flow label", 6, flow_label, NULL, 0, false, "1|23" },
	{ "ACK number", 4, ack, NULL, 0, false, "1|23" },
	{ "window", 6, window, NULL, 0, false, "1|23" },
	{ "options", 4, options, NULL, 0, false, "1|23" },
	{ "options length", 6, no_options, NULL, 0, false, "1|23" },
	{ "longer than the first", 4, NULL, NULL, 1400, false, "1|23" },
	{ "SYN", 4, syn, NULL, 0, false, "1|2|3" },
	{ "FIN", 6, fin, NULL, 0, false, "1|2|3" },
	{ "RST", 4, rst, NULL, 0, false, "1|2|3" },
	{ "URG", 6, urg, NULL, 0, false, "1|2|3" },
	{ "ECE", 4, ece, NULL, 0, false, "1|2|3" },
	{ "CWR", 6, cwr, NULL, 0, false, "1|2|3" },
	{ "no ACK", 4, no_ack, NULL, 0, false, "1|2|3" },
	{ "pure ACK keeps its place", 4, NULL, NULL, ZERO, false, "1|2|3" },
	{ "pure ACK keeps its place", 6, NULL, NULL, ZERO, false, "1|2|3" },
	{ "IPv4 options", 4, ip_options, NULL, 0, false, "1|2|3" },
	{ "bad TCP checksum", 4, NULL, bad_tcp_csum, 0, false, "1|2|3" },
	{ "bad TCP checksum", 6, NULL, bad_tcp_csum, 0, false, "1|2|3" },
	{ "bad IPv4 checksum", 4, NULL, bad_ip_csum, 0, false, "1|2|3" },
	{ "fragment", 4, NULL, more_fragments, 0, false, "1|2|3" },
	{ "reserved TCP bit", 6, NULL, reserved_bit, 0, false, "1|2|3" },
	{ "trailing bytes", 4, NULL, trailing_bytes, 0, false, "1|2|3" },
	{ "extension header", 6, NULL, hop_by_hop, 0, false, "1|2|3" },
	/* UDP in between is another flow: the TCP packets still merge. */
	{ "UDP between", 4, udp, NULL, 0, false, "13|2" },
	{ "UDP between", 6, udp, NULL, 0, false, "13|2" },
};

static uint8_t arena[MG_GRO_ARENA_SIZE], pkts[3][2048];
static struct sink sink;

static void run(const struct row *r)
{
	static uint8_t payload[4 * PAYLOAD];
	struct pkt_spec base = spec_tcp(r->version), s = base;
	size_t n2 = r->payload2 == ZERO ? 0 : r->payload2 ? (size_t)r->payload2 : PAYLOAD;
	const uint8_t *in[3] = { pkts[0], pkts[1], pkts[2] };
	size_t len[3];
	struct mg_gro g;

	base.df = s.df = !r->df_clear;
	fill_payload(payload, sizeof(payload), 0);
	len[0] = build_pkt(pkts[0], &base, payload, PAYLOAD);
	s.seq += PAYLOAD;
	s.id += 1;
	if (r->spec2)
		r->spec2(&s);
	len[1] = build_pkt(pkts[1], &s, payload + PAYLOAD, n2);
	if (r->raw2)
		r->raw2(pkts[1], &len[1]);
	/* The third continues the second, or the first if the second was UDP. */
	s.seq += s.proto == IPPROTO_UDP ? 0 : (uint32_t)n2;
	s.id += 1;
	s.proto = IPPROTO_TCP;
	s.flags &= (uint8_t) ~(F_PSH | F_SYN | F_FIN | F_RST | F_URG | F_ECE | F_CWR);
	s.flags |= F_ACK;
	len[2] = build_pkt(pkts[2], &s, payload + PAYLOAD + n2, PAYLOAD);

	mg_gro_init(&g, arena, sizeof(arena));
	for (int i = 0; i < 3; i++)
		CHECK(mg_gro_add(&g, in[i], len[i]) >= 0); /* 0 or MG_GRO_PASSED */
	sink_reset(&sink);
	CHECK_EQ(mg_gro_flush(&g, sink_write, &sink), 0);
	fprintf(stderr, "%s (IPv%d): want %s\n", r->what, r->version, r->want);
	check_groups(&sink, in, len, r->want);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run(&rows[i]);
	mg_test_pass("offload_gro_unmergeable");
	return 0;
}
