/* Packet builders and a deliberately naive reference checksum for the
 * offload tests, so that what the module computes is checked against code
 * that shares nothing with it. Header-only: each test includes it once. */
#ifndef MG_TEST_OFFLOAD_PKT_H
#define MG_TEST_OFFLOAD_PKT_H

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "tunnel/offload.h"

struct pkt_spec {
	int version;   /* 4 or 6 */
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	uint16_t id;
	bool df;
	uint8_t ttl, tos;
	uint32_t flow_label;
	const uint8_t *tcp_opts; /* multiple of 4 bytes */
	size_t tcp_opts_len;
	const uint8_t *ip_opts; /* IPv4 options, multiple of 4 bytes */
	size_t ip_opts_len;
};

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10
#define F_URG 0x20
#define F_ECE 0x40
#define F_CWR 0x80

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

/* RFC 1071 as written: big-endian 16-bit words, one at a time, folded at
 * the end. Returns the folded sum, not complemented. */
static inline uint32_t ref_sum(const uint8_t *p, size_t len, uint32_t seed)
{
	uint64_t sum = seed;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint32_t)sum;
}

static inline size_t ref_l3_len(const uint8_t *ip)
{
	return ip[0] >> 4 == 6 ? 40 : (size_t)(ip[0] & 0x0f) * 4;
}

static inline uint8_t ref_proto(const uint8_t *ip)
{
	return ip[0] >> 4 == 6 ? ip[6] : ip[9];
}

/* The pseudo-header written out byte by byte and summed. */
static inline uint32_t ref_pseudo(const uint8_t *ip, size_t len)
{
	uint8_t ph[40];
	size_t l4_len = len - ref_l3_len(ip);

	if (ip[0] >> 4 == 6) {
		memcpy(ph, ip + 8, 32);
		wr32(ph + 32, (uint32_t)l4_len);
		wr32(ph + 36, ref_proto(ip));
		return ref_sum(ph, 40, 0);
	}
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = ref_proto(ip);
	wr16(ph + 10, (uint16_t)l4_len);
	return ref_sum(ph, 12, 0);
}

/* Pseudo-header plus transport header and payload. */
static inline uint32_t ref_l4_sum(const uint8_t *ip, size_t len)
{
	size_t l3 = ref_l3_len(ip);

	return ref_sum(ip + l3, len - l3, ref_pseudo(ip, len));
}

/* True when the full TCP/UDP checksum in the packet verifies. */
static inline bool ref_l4_ok(const uint8_t *ip, size_t len)
{
	return ref_l4_sum(ip, len) == 0xffff;
}

static inline bool ref_ipv4_ok(const uint8_t *ip)
{
	return ref_sum(ip, ref_l3_len(ip), 0) == 0xffff;
}

static inline size_t ref_l4_csum_at(const uint8_t *ip)
{
	return ref_l3_len(ip) + (ref_proto(ip) == IPPROTO_TCP ? 16 : 6);
}

/* Sets the transport checksum to its full value. */
static inline void ref_fill_l4(uint8_t *ip, size_t len)
{
	size_t at = ref_l4_csum_at(ip);
	uint16_t c;

	wr16(ip + at, 0);
	c = (uint16_t)~ref_l4_sum(ip, len);
	wr16(ip + at, c ? c : 0xffff);
}

/* Writes a complete packet with valid checksums; returns its length. */
static inline size_t build_pkt(uint8_t *buf, const struct pkt_spec *s, const uint8_t *payload,
			       size_t n)
{
	size_t l3 = s->version == 6 ? 40 : 20 + s->ip_opts_len;
	size_t l4 = s->proto == IPPROTO_TCP ? 20 + s->tcp_opts_len : 8;
	size_t len = l3 + l4 + n;
	uint8_t *th = buf + l3;

	memset(buf, 0, l3 + l4);
	if (s->version == 6) {
		wr32(buf, 6u << 28 | (uint32_t)s->tos << 20 | (s->flow_label & 0xfffff));
		wr16(buf + 4, (uint16_t)(len - 40));
		buf[6] = s->proto;
		buf[7] = s->ttl ? s->ttl : 64;
		memcpy(buf + 8, s->src, 16);
		memcpy(buf + 24, s->dst, 16);
	} else {
		buf[0] = (uint8_t)(0x40 | l3 / 4);
		buf[1] = s->tos;
		wr16(buf + 2, (uint16_t)len);
		wr16(buf + 4, s->id);
		wr16(buf + 6, s->df ? 0x4000 : 0);
		buf[8] = s->ttl ? s->ttl : 64;
		buf[9] = s->proto;
		memcpy(buf + 12, s->src, 4);
		memcpy(buf + 16, s->dst, 4);
		if (s->ip_opts_len)
			memcpy(buf + 20, s->ip_opts, s->ip_opts_len);
		wr16(buf + 10, (uint16_t)~ref_sum(buf, l3, 0));
	}
	wr16(th, s->sport);
	wr16(th + 2, s->dport);
	if (s->proto == IPPROTO_TCP) {
		wr32(th + 4, s->seq);
		wr32(th + 8, s->ack);
		th[12] = (uint8_t)(l4 / 4 << 4);
		th[13] = s->flags;
		wr16(th + 14, s->window);
		if (s->tcp_opts_len)
			memcpy(th + 20, s->tcp_opts, s->tcp_opts_len);
	} else {
		wr16(th + 4, (uint16_t)(l4 + n));
	}
	if (n)
		memcpy(buf + l3 + l4, payload, n);
	ref_fill_l4(buf, len);
	return len;
}

/* Turns a complete packet into what a TSO/USO read returns: the pseudo-header
 * sum in the checksum field and a virtio header describing it. */
static inline struct virtio_net_hdr make_gso(uint8_t *ip, size_t len, uint16_t gso_size)
{
	size_t l3 = ref_l3_len(ip), at = ref_l4_csum_at(ip);
	bool tcp = ref_proto(ip) == IPPROTO_TCP;
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = !tcp	      ? VIRTIO_NET_HDR_GSO_UDP_L4
			    : ip[0] >> 4 == 6 ? VIRTIO_NET_HDR_GSO_TCPV6
					      : VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = (uint16_t)(l3 + (tcp ? (ip[l3 + 12] >> 4) * 4 : 8)),
		.gso_size = gso_size,
		.csum_start = (uint16_t)l3,
		.csum_offset = tcp ? 16 : 6,
	};

	/* The field holds the folded pseudo-header sum, as the kernel leaves
	 * it for CHECKSUM_PARTIAL. */
	wr16(ip + at, (uint16_t)ref_pseudo(ip, len));
	return h;
}

/* Checks segments produced from orig (a complete super-packet, full
 * checksum) with gso_size: the headers match orig but for the fields GSO
 * rewrites, which hold what each segment needs; checksums verify with the
 * reference; payloads are orig's, in order. */
static inline void check_segments(const uint8_t *orig, size_t orig_len, uint16_t gso_size,
				  const uint8_t *const *segs, const size_t *lens, int n)
{
	size_t l3 = ref_l3_len(orig);
	bool tcp = ref_proto(orig) == IPPROTO_TCP, v6 = orig[0] >> 4 == 6;
	size_t hdr = l3 + (tcp ? (size_t)(orig[l3 + 12] >> 4) * 4 : 8);
	size_t payload = orig_len - hdr, off = 0;
	int want = payload ? (int)((payload + gso_size - 1) / gso_size) : 1;

	CHECK_EQ(n, want);
	for (int i = 0; i < n; i++) {
		const uint8_t *s = segs[i];
		size_t chunk = payload - off < gso_size ? payload - off : gso_size;
		uint8_t flags = tcp ? orig[l3 + 13] : 0;

		CHECK_EQ(lens[i], hdr + chunk);
		if (v6) {
			CHECK_EQ(rd16(s + 4), lens[i] - 40);
			CHECK_MEM(s, orig, 4);
			CHECK_MEM(s + 6, orig + 6, 34);
		} else {
			CHECK_EQ(rd16(s + 2), lens[i]);
			CHECK_EQ(rd16(s + 4), (uint16_t)(rd16(orig + 4) + i));
			CHECK(ref_ipv4_ok(s));
			CHECK_MEM(s, orig, 2);
			CHECK_MEM(s + 6, orig + 6, 4);
			CHECK_MEM(s + 12, orig + 12, l3 - 12);
		}
		CHECK(ref_l4_ok(s, lens[i]));
		CHECK(rd16(s + ref_l4_csum_at(s)) != 0);
		CHECK_MEM(s + l3, orig + l3, 4);
		if (tcp) {
			CHECK_EQ(rd32(s + l3 + 4), (uint32_t)(rd32(orig + l3 + 4) + off));
			if (i != n - 1)
				flags &= (uint8_t) ~(F_FIN | F_PSH);
			if (i != 0)
				flags &= (uint8_t)~F_CWR;
			CHECK_EQ(s[l3 + 13], flags);
			CHECK_MEM(s + l3 + 8, orig + l3 + 8, 5);
			CHECK_MEM(s + l3 + 14, orig + l3 + 14, 2);
			CHECK_MEM(s + l3 + 18, orig + l3 + 18, hdr - l3 - 18);
		} else {
			CHECK_EQ(rd16(s + l3 + 4), lens[i] - l3);
		}
		CHECK_MEM(s + hdr, orig + hdr + off, chunk);
		off += chunk;
	}
	CHECK_EQ(off, payload);
}

/* Collects what mg_gro_flush writes: virtio header + packet, in order. */
#define SINK_MAX 1024
struct sink {
	int n;
	struct virtio_net_hdr h[SINK_MAX];
	const uint8_t *pkt[SINK_MAX];
	size_t len[SINK_MAX];
	size_t used;
	uint8_t data[4 << 20];
};

static inline int sink_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct sink *k = ctx;

	CHECK(len > MG_OFFLOAD_VNET_HDR_LEN);
	CHECK(k->n < SINK_MAX && k->used + len <= sizeof(k->data));
	memcpy(&k->h[k->n], buf, MG_OFFLOAD_VNET_HDR_LEN);
	k->len[k->n] = len - MG_OFFLOAD_VNET_HDR_LEN;
	k->pkt[k->n] = k->data + k->used;
	memcpy(k->data + k->used, buf + MG_OFFLOAD_VNET_HDR_LEN, k->len[k->n]);
	k->used += k->len[k->n];
	k->n++;
	return 0;
}

static inline void sink_reset(struct sink *k)
{
	k->n = 0;
	k->used = 0;
}

static inline bool vnet_is_zero(const struct virtio_net_hdr *h)
{
	static const struct virtio_net_hdr zero;
	return !memcmp(h, &zero, sizeof(zero));
}

/* Equal packets, except that IPv4 datagrams with DF set may differ in their
 * ID (RFC 6864: it identifies nothing then) and so in the header checksum. */
static inline bool same_but_atomic_id(const uint8_t *a, const uint8_t *b, size_t len)
{
	if (a[0] >> 4 != 4 || !(b[6] & 0x40))
		return !memcmp(a, b, len);
	return !memcmp(a, b, 4) && !memcmp(a + 6, b + 6, 4) && !memcmp(a + 12, b + 12, len - 12) &&
	       ref_ipv4_ok(a);
}

/* Same version, protocol, addresses and (TCP/UDP) ports. */
static inline bool same_flow(const uint8_t *a, const uint8_t *b)
{
	size_t la = ref_l3_len(a), lb = ref_l3_len(b);
	bool v6 = a[0] >> 4 == 6,
	     ports = ref_proto(a) == IPPROTO_TCP || ref_proto(a) == IPPROTO_UDP;

	if (a[0] >> 4 != b[0] >> 4 || ref_proto(a) != ref_proto(b))
		return false;
	if (memcmp(a + (v6 ? 8 : 12), b + (v6 ? 8 : 12), v6 ? 32 : 8))
		return false;
	return !ports || !memcmp(a + la, b + lb, 4);
}

/* Inputs past the ninth are named 'a'..'z'. */
static inline int input_index(char c)
{
	return c >= 'a' ? c - 'a' + 9 : c - '1';
}

/* Whether output o carries exactly the inputs named in group (n names): a
 * merged output must segment back into them byte for byte, a lone one must
 * be its input unchanged behind a zeroed virtio header. */
static inline bool output_is(const struct sink *k, int o, const uint8_t *const *in,
			     const size_t *in_len, const char *group, size_t n)
{
	static uint8_t segs[64 * 2048];
	size_t lens[64];

	if (n == 1) {
		int i = input_index(group[0]);
		return vnet_is_zero(&k->h[o]) && k->len[o] == in_len[i] &&
		       !memcmp(k->pkt[o], in[i], in_len[i]);
	}
	if (k->h[o].gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return false;
	if (mg_offload_segment(&k->h[o], k->pkt[o], k->len[o], segs, sizeof(segs), 2048, lens,
			       64) != (int)n)
		return false;
	for (size_t j = 0; j < n; j++) {
		int i = input_index(group[j]);
		if (lens[j] != in_len[i] || !same_but_atomic_id(segs + j * 2048, in[i], in_len[i]))
			return false;
	}
	return true;
}

/* Checks that a flush wrote exactly the packets that went in, grouped as
 * want says: the input names of each output packet, groups separated by '|'
 * ("12|3": the first two merged, the third alone). Outputs of one flow must
 * come in the order want lists them; different flows may interleave. */
static inline void check_groups(const struct sink *k, const uint8_t *const *in,
				const size_t *in_len, const char *want)
{
	int where[64], groups = 0;
	const char *start[64];
	bool used[SINK_MAX] = { false };

	for (const char *g = want; *g; groups++) {
		size_t n = strcspn(g, "|");
		int o = 0;

		while (o < k->n && (used[o] || !output_is(k, o, in, in_len, g, n)))
			o++;
		if (o == k->n) {
			fprintf(stderr, "no output carries '%.*s' of '%s'\n", (int)n, g, want);
			exit(1);
		}
		used[o] = true;
		where[groups] = o;
		start[groups] = g;
		for (int e = 0; e < groups; e++)
			if (same_flow(in[input_index(start[e][0])], in[input_index(g[0])]))
				CHECK(where[e] < o);
		g += n + (g[n] == '|');
	}
	CHECK_EQ(k->n, groups);
}

/* A payload whose every byte depends on its offset, so misplaced bytes show. */
static inline void fill_payload(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i + seed) * 2654435761u >> 13);
}

static const uint8_t ADDR4_A[16] = { 10, 0, 0, 1 };
static const uint8_t ADDR4_B[16] = { 10, 0, 0, 2 };
static const uint8_t ADDR6_A[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t ADDR6_B[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };

/* Timestamps, as Linux sends on every data segment. */
static const uint8_t TCP_TS_OPTS[12] = { 1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78 };

static inline struct pkt_spec spec_tcp(int version)
{
	struct pkt_spec s = {
		.version = version,
		.proto = IPPROTO_TCP,
		.sport = 40000,
		.dport = 5201,
		.seq = 0xfffff000u, /* wraps inside a super-packet */
		.ack = 0x01020304,
		.flags = F_ACK,
		.window = 502,
		.id = 0xfff0, /* wraps too */
		.df = true,
		.ttl = 64,
		.tcp_opts = TCP_TS_OPTS,
		.tcp_opts_len = sizeof(TCP_TS_OPTS),
	};
	memcpy(s.src, version == 6 ? ADDR6_A : ADDR4_A, 16);
	memcpy(s.dst, version == 6 ? ADDR6_B : ADDR4_B, 16);
	return s;
}

/* Builds the packet s describes with payload_len bytes of payload, turns it
 * into what a TSO read returns with gso_size mss, segments it into 2048-byte
 * slots and checks every segment against the original (check_segments). */
static inline void check_tso(const struct pkt_spec *s, uint16_t mss, size_t payload_len)
{
	enum {
		MAX_SEGS = 256,
		SLOT = 2048
	};
	static uint8_t payload[65535], orig[65535], super[65535], out[MAX_SEGS * SLOT];
	size_t lens[MAX_SEGS], len;
	const uint8_t *segs[MAX_SEGS];
	struct virtio_net_hdr h;
	int n;

	fill_payload(payload, payload_len, mss);
	len = build_pkt(orig, s, payload, payload_len);
	memcpy(super, orig, len);
	h = make_gso(super, len, mss);
	n = mg_offload_segment(&h, super, len, out, sizeof(out), SLOT, lens, MAX_SEGS);
	CHECK(n > 0);
	for (int i = 0; i < n; i++)
		segs[i] = out + (size_t)i * SLOT;
	check_segments(orig, len, mss, segs, lens, n);
}

/* The TSO cases of one IP version: several MSS values (down to 1), flags
 * that GSO must spread over the segments (PSH/FIN on the last, CWR on the
 * first), the largest super-packet after hdr_len bytes of headers, payloads
 * that end on and just before a segment boundary, one shorter than a
 * segment and none at all. run(flags, alt, mss, payload_len) builds and
 * checks one case; alt switches the version's own variant (DF, TOS). */
static inline void tso_cases(void (*run)(uint8_t flags, bool alt, uint16_t mss, size_t len),
			     size_t hdr_len)
{
	const uint16_t mss[] = { 1448, 1388, 1000, 536, 1 };
	const uint8_t flags[] = { F_ACK, F_ACK | F_PSH, F_ACK | F_PSH | F_FIN,
				  F_ACK | F_CWR | F_PSH };

	for (size_t i = 0; i < sizeof(mss) / sizeof(mss[0]); i++) {
		for (size_t f = 0; f < sizeof(flags); f++) {
			size_t max = mss[i] == 1 ? 200 : 65535 - hdr_len;
			run(flags[f], f & 1, mss[i], max);
			run(flags[f], true, mss[i], mss[i] * 7u);
			run(flags[f], false, mss[i], mss[i] * 7u - 1);
		}
	}
	run(F_ACK | F_PSH, true, 1448, 100);
	run(F_ACK | F_FIN, true, 1448, 0);
}

#endif
