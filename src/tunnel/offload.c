/* Software TSO/USO and GRO for a virtio_net_hdr TUN. Packet layout facts
 * come from RFC 791/793/768/8200 and the kernel's tcp_offload.c and
 * af_inet.c (what GRO merges, how GSO fixes up each segment). */
#include "tunnel/offload.h"
#include "util/bytes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80

#define IPV4_DF	       0x4000
#define IPV4_FRAG_MASK 0x3fff /* MF and the fragment offset */

/* --- Checksums ---------------------------------------------------------- */

/* Ones' complement addition: the carry out of the top wraps to the bottom. */
static uint64_t add64(uint64_t a, uint64_t b)
{
	a += b;
	return a + (a < b);
}

static uint32_t fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

static uint32_t load32(const uint8_t *p)
{
	uint32_t w;
	memcpy(&w, p, sizeof(w));
	return w;
}

/* Native-order loads: a ones' complement sum is byte-order independent
 * (RFC 1071 2(B)), so the words are summed as they lie and swapped once at
 * the end in mg_offload_csum_fold. 32-bit words go into four independent
 * 64-bit sums that cannot overflow below 16 GiB, so the main loop has no
 * carry chain (the CPU runs the four adds in parallel, and the compiler may
 * vectorise them); the carries are folded back in once at the end. This
 * sum is the largest cost of segmentation after the copies. */
struct sum4 {
	uint64_t s[4];
};

static void sum4_block(struct sum4 *a, const uint8_t p[16])
{
	for (int i = 0; i < 4; i++)
		a->s[i] += load32(p + 4 * i);
}

static uint64_t sum4_total(const struct sum4 *a)
{
	return add64(add64(a->s[0], a->s[1]), add64(a->s[2], a->s[3]));
}

uint32_t mg_offload_csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	struct sum4 a = { { sum, 0, 0, 0 } };
	uint64_t acc;

	for (; len >= 16; p += 16, len -= 16)
		sum4_block(&a, p);
	for (; len >= 4; p += 4, len -= 4)
		a.s[0] += load32(p);
	acc = sum4_total(&a);
	if (len >= 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		acc = add64(acc, w);
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t tail[2] = { p[0], 0 };
		uint16_t w;
		memcpy(&w, tail, 2);
		acc = add64(acc, w);
	}
	return fold64(acc);
}

/* Copies len bytes and returns their partial sum, as mg_offload_csum_partial
 * would: one pass over the payload of a segment instead of a copy and then a
 * sum (about twice as fast on 1400-byte segments). */
static uint32_t csum_copy(uint8_t *dst, const uint8_t *src, size_t len, uint32_t sum)
{
	struct sum4 a = { { sum, 0, 0, 0 } };
	size_t done = 0;

	for (; len - done >= 16; done += 16) {
		sum4_block(&a, src + done);
		memcpy(dst + done, src + done, 16);
	}
	memcpy(dst + done, src + done, len - done);
	return mg_offload_csum_partial(src + done, len - done, fold64(sum4_total(&a)));
}

uint16_t mg_offload_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ntohs((uint16_t)~sum);
}

/* Adds a 32-bit big-endian word given in host order. */
static uint32_t add_be32(uint32_t sum, uint32_t host)
{
	return fold64((uint64_t)sum + htonl(host));
}

uint32_t mg_offload_pseudo_v4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
			      uint16_t l4_len)
{
	uint32_t sum = mg_offload_csum_partial(src, 4, 0);

	sum = mg_offload_csum_partial(dst, 4, sum);
	return add_be32(sum, (uint32_t)proto << 16 | l4_len);
}

uint32_t mg_offload_pseudo_v6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
			      uint32_t l4_len)
{
	uint32_t sum = mg_offload_csum_partial(src, 16, 0);

	sum = mg_offload_csum_partial(dst, 16, sum);
	sum = add_be32(sum, l4_len);
	return add_be32(sum, proto);
}

/* Pseudo-header sum of the packet at ip, whose transport header starts at
 * l3_len and runs to len. */
static uint32_t pseudo(const uint8_t *ip, bool v6, uint8_t proto, size_t l4_len)
{
	if (v6)
		return mg_offload_pseudo_v6(ip + 8, ip + 24, proto, (uint32_t)l4_len);
	return mg_offload_pseudo_v4(ip + 12, ip + 16, proto, (uint16_t)l4_len);
}

/* A computed 0 goes out as 0xffff, as the kernel does (CSUM_MANGLED_0): UDP
 * reserves 0 for "no checksum", and for TCP both mean the same. */
static void store_csum(uint8_t *field, uint16_t csum)
{
	put16(field, csum ? csum : 0xffff);
}

static void set_ipv4_csum(uint8_t *ip, size_t l3_len)
{
	put16(ip + 10, 0);
	put16(ip + 10, mg_offload_csum_fold(mg_offload_csum_partial(ip, l3_len, 0)));
}

int mg_offload_complete_csum(const struct virtio_net_hdr *h, uint8_t *pkt, size_t len)
{
	size_t start = h->csum_start, field = start + h->csum_offset;

	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	if (field > len || len - field < 2)
		return -EINVAL;
	/* The field holds the pseudo-header sum, so it is summed in as is. */
	store_csum(pkt + field,
		   mg_offload_csum_fold(mg_offload_csum_partial(pkt + start, len - start, 0)));
	return 0;
}

/* --- Segmentation ------------------------------------------------------- */

/* A validated GSO packet: every offset below is inside it. */
struct gso {
	size_t len, l3_len, hdr_len, payload;
	uint16_t gso_size;
	uint8_t proto;
	bool v6;
	int segs;
};

static int parse_ip(struct gso *g, const uint8_t *pkt, size_t len)
{
	if (len < 1)
		return -EINVAL;
	if (pkt[0] >> 4 == 4) {
		g->l3_len = (size_t)(pkt[0] & 0x0f) * 4;
		if (len < 20 || g->l3_len < 20 || g->l3_len > len || get16(pkt + 2) != len)
			return -EINVAL;
		if (get16(pkt + 6) & IPV4_FRAG_MASK)
			return -EINVAL;
		g->proto = pkt[9];
		g->v6 = false;
		return 0;
	}
	if (pkt[0] >> 4 == 6) {
		/* Any next header but TCP or UDP is an extension header or
		 * a protocol GSO does not carry: both are rejected later. */
		if (len < 40 || (size_t)get16(pkt + 4) + 40 != len)
			return -EINVAL;
		g->l3_len = 40;
		g->proto = pkt[6];
		g->v6 = true;
		return 0;
	}
	return -EINVAL;
}

static int parse_l4(struct gso *g, const uint8_t *pkt)
{
	size_t l4_len = 8;

	if (g->proto == IPPROTO_TCP) {
		if (g->len - g->l3_len < 20)
			return -EINVAL;
		l4_len = (size_t)(pkt[g->l3_len + 12] >> 4) * 4;
		if (l4_len < 20)
			return -EINVAL;
	} else if (g->proto != IPPROTO_UDP) {
		return -EINVAL;
	}
	if (g->len - g->l3_len < l4_len)
		return -EINVAL;
	g->hdr_len = g->l3_len + l4_len;
	return 0;
}

/* The virtio header must agree with what the packet says it is. */
static int check_vnet(const struct gso *g, const struct virtio_net_hdr *h)
{
	uint8_t type = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	if (type == VIRTIO_NET_HDR_GSO_TCPV4 && (g->v6 || g->proto != IPPROTO_TCP))
		return -EINVAL;
	if (type == VIRTIO_NET_HDR_GSO_TCPV6 && (!g->v6 || g->proto != IPPROTO_TCP))
		return -EINVAL;
	if (type == VIRTIO_NET_HDR_GSO_UDP_L4 && g->proto != IPPROTO_UDP)
		return -EINVAL;
	if (h->gso_size == 0 || h->hdr_len > g->len)
		return -EINVAL;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (h->csum_start != g->l3_len ||
		    h->csum_offset != (g->proto == IPPROTO_TCP ? 16 : 6))
			return -EINVAL;
	}
	return 0;
}

static int parse_gso(struct gso *g, const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len)
{
	int ret;

	g->len = len;
	ret = parse_ip(g, pkt, len);
	if (!ret)
		ret = parse_l4(g, pkt);
	if (!ret)
		ret = check_vnet(g, h);
	if (ret)
		return ret;
	g->gso_size = h->gso_size;
	g->payload = len - g->hdr_len;
	g->segs = g->payload ? (int)((g->payload + g->gso_size - 1) / g->gso_size) : 1;
	return 0;
}

static size_t seg_payload(const struct gso *g, int i)
{
	size_t off = (size_t)i * g->gso_size;
	size_t left = g->payload - off;

	return left < g->gso_size ? left : g->gso_size;
}

/* Where segment i starts: a fixed stride, or right after segment i - 1. */
static size_t seg_offset(const struct gso *g, size_t stride, int i)
{
	if (stride)
		return (size_t)i * stride;
	return (size_t)i * g->hdr_len + (size_t)i * g->gso_size;
}

static int check_room(const struct gso *g, size_t cap, size_t stride, int max_segments)
{
	size_t first = g->hdr_len + seg_payload(g, 0);
	size_t last = g->hdr_len + seg_payload(g, g->segs - 1);

	if (g->segs > max_segments)
		return -ENOBUFS;
	if (stride && first > stride)
		return -ENOBUFS;
	if (last > cap)
		return -ENOBUFS;
	/* Divide rather than multiply: no overflow for any stride. */
	if (stride && (size_t)(g->segs - 1) > (cap - last) / stride)
		return -ENOBUFS;
	if (!stride && seg_offset(g, 0, g->segs - 1) > cap - last)
		return -ENOBUFS;
	return 0;
}

static void fix_ip(const struct gso *g, uint8_t *ip, int i, size_t seg_len)
{
	if (g->v6) {
		put16(ip + 4, (uint16_t)(seg_len - 40));
		return;
	}
	put16(ip + 2, (uint16_t)seg_len);
	put16(ip + 4, (uint16_t)(get16(ip + 4) + i));
	set_ipv4_csum(ip, g->l3_len);
}

static void fix_l4(const struct gso *g, uint8_t *l4, int i, size_t n)
{
	if (g->proto == IPPROTO_UDP) {
		put16(l4 + 4, (uint16_t)(8 + n));
		return;
	}
	put32(l4 + 4, get32(l4 + 4) + (uint32_t)i * g->gso_size);
	if (i != g->segs - 1)
		l4[13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
	if (i != 0)
		l4[13] &= (uint8_t)~TCP_CWR;
}

static size_t write_segment(const struct gso *g, const uint8_t *pkt, int i, uint8_t *dst)
{
	size_t n = seg_payload(g, i), seg_len = g->hdr_len + n;
	uint8_t *l4 = dst + g->l3_len;
	uint8_t *field = l4 + (g->proto == IPPROTO_TCP ? 16 : 6);
	uint64_t sum;

	/* The transport header's length is a multiple of 4, so the payload's
	 * sum adds to the header's as it is. */
	sum = csum_copy(dst + g->hdr_len, pkt + g->hdr_len + (size_t)i * g->gso_size, n, 0);
	memcpy(dst, pkt, g->hdr_len);
	fix_ip(g, dst, i, seg_len);
	fix_l4(g, l4, i, n);
	put16(field, 0);
	sum += pseudo(dst, g->v6, g->proto, seg_len - g->l3_len);
	store_csum(field, mg_offload_csum_fold(mg_offload_csum_partial(l4, g->hdr_len - g->l3_len,
								       fold64(sum))));
	return seg_len;
}

static int segment_none(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len,
			uint8_t *out, size_t out_cap, size_t out_stride, size_t *lens,
			int max_segments)
{
	if (max_segments < 1 || len > out_cap || (out_stride && len > out_stride))
		return -ENOBUFS;
	memcpy(out, pkt, len);
	lens[0] = len;
	if (mg_offload_complete_csum(h, out, len) < 0)
		return -EINVAL;
	return 1;
}

int mg_offload_segment(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len, uint8_t *out,
		       size_t out_cap, size_t out_stride, size_t *lens, int max_segments)
{
	uint8_t type = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	struct gso g;
	int ret;

	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return segment_none(h, pkt, len, out, out_cap, out_stride, lens, max_segments);
	if (type != VIRTIO_NET_HDR_GSO_TCPV4 && type != VIRTIO_NET_HDR_GSO_TCPV6 &&
	    type != VIRTIO_NET_HDR_GSO_UDP_L4)
		return -EINVAL;
	ret = parse_gso(&g, h, pkt, len);
	if (!ret)
		ret = check_room(&g, out_cap, out_stride, max_segments);
	if (ret)
		return ret;
	for (int i = 0; i < g.segs; i++)
		lens[i] = write_segment(&g, pkt, i, out + seg_offset(&g, out_stride, i));
	return g.segs;
}

/* --- Coalescing --------------------------------------------------------- */

/* The arena holds records in arrival order, 8-byte aligned: u32 room for the
 * packet, u32 its length, a byte set when the record moved away, 5 spare
 * bytes, the virtio_net_hdr, then the packet, so that header and packet are
 * contiguous for write(2). A flow's first packet gets exactly its size; once
 * a second one joins, the packet is grown in place if it is the last record
 * or moved to the end with room to spare, so that flows that never merge
 * waste nothing and interleaved flows move once per merged packet. */
#define REC_CAP	 0
#define REC_LEN	 4
#define REC_DEAD 8
#define REC_VNET (MG_GRO_RECORD_HDR - MG_OFFLOAD_VNET_HDR_LEN)

static size_t round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static uint32_t rec_get(const struct mg_gro *g, size_t rec, size_t field)
{
	uint32_t v;
	memcpy(&v, g->arena + rec + field, sizeof(v));
	return v;
}

static void rec_set(struct mg_gro *g, size_t rec, size_t field, uint32_t v)
{
	memcpy(g->arena + rec + field, &v, sizeof(v));
}

static uint8_t *rec_pkt(const struct mg_gro *g, size_t rec)
{
	return g->arena + rec + MG_GRO_RECORD_HDR;
}

static size_t rec_size(size_t cap)
{
	return MG_GRO_RECORD_HDR + round8(cap);
}

void mg_gro_init(struct mg_gro *g, uint8_t *arena, size_t cap)
{
	memset(g, 0, sizeof(*g));
	g->arena = arena;
	g->cap = cap;
}

/* A TCP segment as GRO sees it. key is false when the packet is not TCP
 * over plain IPv4/IPv6 (no ports to match a flow); mergeable only when it
 * could join or open a merged packet. */
struct seg {
	bool key, mergeable, v6, psh;
	uint8_t l3_len, l4_len;
	uint16_t payload;
	uint32_t seq;
};

/* Packets that might belong to an open flow but whose ports we cannot see:
 * IPv4 fragments and IPv6 extension headers. */
static bool opaque_ip(const uint8_t *pkt, size_t len)
{
	if (len >= 20 && pkt[0] >> 4 == 4)
		return (get16(pkt + 6) & IPV4_FRAG_MASK) != 0;
	if (len >= 40 && pkt[0] >> 4 == 6)
		return pkt[6] != IPPROTO_TCP && pkt[6] != IPPROTO_UDP && pkt[6] != IPPROTO_ICMPV6;
	return false;
}

static void parse_key(struct seg *s, const uint8_t *pkt, size_t len)
{
	size_t l3_len;

	memset(s, 0, sizeof(*s));
	if (len >= 20 && pkt[0] >> 4 == 4 && pkt[9] == IPPROTO_TCP) {
		l3_len = (size_t)(pkt[0] & 0x0f) * 4;
		if (get16(pkt + 6) & IPV4_FRAG_MASK)
			return;
	} else if (len >= 40 && pkt[0] >> 4 == 6 && pkt[6] == IPPROTO_TCP) {
		l3_len = 40;
		s->v6 = true;
	} else {
		return;
	}
	if (l3_len < 20 || len < l3_len + 20)
		return;
	s->key = true;
	s->l3_len = (uint8_t)l3_len;
	s->l4_len = (uint8_t)((pkt[l3_len + 12] >> 4) * 4);
}

static bool csums_valid(const struct seg *s, const uint8_t *pkt, size_t len)
{
	size_t l4_len = len - s->l3_len;
	uint32_t sum = pseudo(pkt, s->v6, IPPROTO_TCP, l4_len);

	if (!s->v6 && mg_offload_csum_fold(mg_offload_csum_partial(pkt, 20, 0)))
		return false;
	return mg_offload_csum_fold(mg_offload_csum_partial(pkt + s->l3_len, l4_len, sum)) == 0;
}

/* Only ACK or ACK|PSH data segments with consistent lengths and intact
 * checksums: after merging, the kernel trusts our NEEDS_CSUM and would never
 * see a corrupt segment's bad checksum. */
static void parse_mergeable(struct seg *s, const uint8_t *pkt, size_t len, bool authenticated)
{
	const uint8_t *th = pkt + s->l3_len;
	uint8_t flags;

	if (!s->key || s->l4_len < 20 || len < (size_t)s->l3_len + s->l4_len)
		return;
	if (s->v6 && (size_t)get16(pkt + 4) + 40 != len)
		return;
	if (!s->v6 && (pkt[0] != 0x45 || get16(pkt + 2) != len))
		return;
	flags = th[13];
	if ((th[12] & 0x0f) || (flags & ~TCP_PSH) != TCP_ACK)
		return;
	if (len == (size_t)s->l3_len + s->l4_len || (!authenticated && !csums_valid(s, pkt, len)))
		return;
	s->payload = (uint16_t)(len - s->l3_len - s->l4_len);
	s->seq = get32(th + 4);
	s->psh = flags & TCP_PSH;
	s->mergeable = true;
}

static bool same_flow(const struct seg *s, const uint8_t *pkt, const uint8_t *head,
		      const struct mg_gro_flow *f)
{
	size_t addrs = s->v6 ? 8 : 12, addr_len = s->v6 ? 32 : 8;

	if ((head[0] >> 4 == 6) != s->v6)
		return false;
	return !memcmp(pkt + addrs, head + addrs, addr_len) &&
	       !memcmp(pkt + s->l3_len, head + f->l3_len, 4);
}

static struct mg_gro_flow *find_flow(struct mg_gro *g, const struct seg *s, const uint8_t *pkt)
{
	for (int i = 0; i < MG_GRO_FLOWS; i++) {
		struct mg_gro_flow *f = &g->flows[i];
		if (f->open && same_flow(s, pkt, rec_pkt(g, f->rec), f))
			return f;
	}
	return NULL;
}

/* Gives the merged packet the lengths, checksums and virtio header that make
 * it a GSO packet with CHECKSUM_PARTIAL once written to the TUN. */
static void finalize(struct mg_gro *g, const struct mg_gro_flow *f)
{
	uint8_t *ip = rec_pkt(g, f->rec);
	size_t len = rec_get(g, f->rec, REC_LEN);
	bool v6 = ip[0] >> 4 == 6;
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = (uint16_t)(f->l3_len + f->l4_len),
		.gso_size = f->gso_size,
		.csum_start = f->l3_len,
		.csum_offset = 16,
	};

	if (f->segs < 2)
		return;
	if (v6) {
		put16(ip + 4, (uint16_t)(len - 40));
	} else {
		put16(ip + 2, (uint16_t)len);
		set_ipv4_csum(ip, f->l3_len);
	}
	/* Not complemented: the kernel adds the rest and complements. */
	put16(ip + f->l3_len + 16,
	      (uint16_t)~mg_offload_csum_fold(pseudo(ip, v6, IPPROTO_TCP, len - f->l3_len)));
	memcpy(g->arena + f->rec + REC_VNET, &h, sizeof(h));
}

static bool at_end(const struct mg_gro *g, size_t rec)
{
	return rec + rec_size(rec_get(g, rec, REC_CAP)) == g->used;
}

/* Gives back the unused room of the last record. */
static void trim(struct mg_gro *g, size_t rec)
{
	size_t len = rec_get(g, rec, REC_LEN);

	rec_set(g, rec, REC_CAP, (uint32_t)round8(len));
	g->used = rec + rec_size(len);
}

/* Ends a flow's merged packet. */
static void close_flow(struct mg_gro *g, struct mg_gro_flow *f)
{
	finalize(g, f);
	if (at_end(g, f->rec))
		trim(g, f->rec);
	f->open = false;
}

static void close_all(struct mg_gro *g)
{
	for (int i = 0; i < MG_GRO_FLOWS; i++)
		if (g->flows[i].open)
			close_flow(g, &g->flows[i]);
}

/* Bytes free for a record's packet at offset rec, a multiple of 8. */
static size_t avail_at(const struct mg_gro *g, size_t rec)
{
	if (g->cap - rec < MG_GRO_RECORD_HDR)
		return 0;
	return (g->cap - rec - MG_GRO_RECORD_HDR) & ~(size_t)7;
}

/* Copies a packet in at the arena's end, with exactly its room. When the
 * arena is full, the room an open flow holds there is given back first. */
static long new_record(struct mg_gro *g, const uint8_t *pkt, size_t len)
{
	size_t rec;

	if (avail_at(g, g->used) < round8(len)) {
		for (int i = 0; i < MG_GRO_FLOWS; i++)
			if (g->flows[i].open && at_end(g, g->flows[i].rec))
				trim(g, g->flows[i].rec);
		if (avail_at(g, g->used) < round8(len))
			return -ENOBUFS;
	}
	rec = g->used;
	memset(g->arena + rec, 0, MG_GRO_RECORD_HDR);
	rec_set(g, rec, REC_CAP, (uint32_t)round8(len));
	rec_set(g, rec, REC_LEN, (uint32_t)len);
	if (g->authenticated)
		g->arena[rec + REC_VNET] = VIRTIO_NET_HDR_F_DATA_VALID; /* flags */
	memcpy(rec_pkt(g, rec), pkt, len);
	g->used = rec + rec_size(len);
	return (long)rec;
}

/* Room for a packet that needs need bytes where avail are free: what it
 * needs plus half the rest, so other flows still fit, up to a full packet. */
static size_t pick_room(size_t need, size_t avail)
{
	size_t room = round8(need) + ((avail - round8(need)) / 2 & ~(size_t)7);

	return room < round8(MG_OFFLOAD_MAX_PACKET) ? room : round8(MG_OFFLOAD_MAX_PACKET);
}

/* Makes f's packet able to hold need bytes: grows it if it is the last
 * record, else moves it to the end (it is the flow's newest record, so the
 * flow's order holds). False when the arena has no such room. */
static bool grow(struct mg_gro *g, struct mg_gro_flow *f, size_t need)
{
	size_t rec = f->rec, len = rec_get(g, rec, REC_LEN), to = g->used, avail;

	if (need <= rec_get(g, rec, REC_CAP))
		return true;
	if (at_end(g, rec))
		to = rec;
	avail = avail_at(g, to);
	if (round8(need) > avail)
		return false;
	if (to != rec) {
		memcpy(g->arena + to, g->arena + rec, MG_GRO_RECORD_HDR + len);
		g->arena[rec + REC_DEAD] = 1;
		f->rec = (uint32_t)to;
	}
	rec_set(g, to, REC_CAP, (uint32_t)pick_room(need, avail));
	g->used = to + rec_size(rec_get(g, to, REC_CAP));
	return true;
}

static struct mg_gro_flow *free_flow(struct mg_gro *g)
{
	struct mg_gro_flow *lru = &g->flows[0];

	for (int i = 0; i < MG_GRO_FLOWS; i++) {
		if (!g->flows[i].open)
			return &g->flows[i];
		if (g->flows[i].last_use < lru->last_use)
			lru = &g->flows[i];
	}
	close_flow(g, lru);
	return lru;
}

static int open_flow(struct mg_gro *g, const struct seg *s, const uint8_t *pkt, size_t len)
{
	struct mg_gro_flow *f = free_flow(g);
	long rec = new_record(g, pkt, len);

	if (rec < 0)
		return (int)rec;
	*f = (struct mg_gro_flow){
		.rec = (uint32_t)rec,
		.next_seq = s->seq + s->payload,
		.last_use = g->clock,
		.gso_size = s->payload,
		.segs = 1,
		.l3_len = s->l3_len,
		.l4_len = s->l4_len,
		.open = true,
	};
	return 0;
}

static bool same_ip_fields(const struct mg_gro_flow *f, const uint8_t *pkt, const uint8_t *head)
{
	uint16_t frag = get16(pkt + 6);

	if (head[0] >> 4 == 6)
		return !memcmp(pkt, head, 4) && pkt[7] == head[7];
	if (pkt[1] != head[1] || pkt[8] != head[8] || (frag ^ get16(head + 6)) & IPV4_DF)
		return false;
	/* Without DF the ID identifies each datagram: it must count up so that
	 * resegmenting gives every packet back its own. */
	return (frag & IPV4_DF) || get16(pkt + 4) == (uint16_t)(get16(head + 4) + f->segs);
}

/* Same ACK, window, urgent pointer and options: everything in the TCP
 * header but sequence number, PSH and checksum. */
static bool same_tcp_fields(const struct mg_gro_flow *f, const uint8_t *th, const uint8_t *head)
{
	const uint8_t *hth = head + f->l3_len;

	return !memcmp(th + 8, hth + 8, 5) && (th[13] & ~TCP_PSH) == (hth[13] & ~TCP_PSH) &&
	       !memcmp(th + 14, hth + 14, 2) && !memcmp(th + 18, hth + 18, f->l4_len - 18u);
}

static bool can_append(const struct mg_gro *g, const struct mg_gro_flow *f, const struct seg *s,
		       const uint8_t *pkt)
{
	const uint8_t *head = rec_pkt(g, f->rec);

	if (s->seq != f->next_seq || s->payload > f->gso_size || s->l4_len != f->l4_len ||
	    s->l3_len != f->l3_len)
		return false;
	if (rec_get(g, f->rec, REC_LEN) + s->payload > MG_OFFLOAD_MAX_PACKET)
		return false;
	return same_ip_fields(f, pkt, head) && same_tcp_fields(f, pkt + s->l3_len, head);
}

/* Appends the payload; a short or PSH segment ends the packet, as does a
 * packet too full for one more full segment. */
static void append(struct mg_gro *g, struct mg_gro_flow *f, const struct seg *s, const uint8_t *pkt)
{
	uint8_t *head = rec_pkt(g, f->rec);
	size_t len = rec_get(g, f->rec, REC_LEN);

	memcpy(head + len, pkt + s->l3_len + s->l4_len, s->payload);
	len += s->payload;
	rec_set(g, f->rec, REC_LEN, (uint32_t)len);
	f->segs++;
	f->next_seq += s->payload;
	f->last_use = g->clock;
	if (s->psh)
		head[f->l3_len + 13] |= TCP_PSH;
	if (s->psh || s->payload < f->gso_size || len + f->gso_size > MG_OFFLOAD_MAX_PACKET)
		close_flow(g, f);
}

int mg_gro_add(struct mg_gro *g, const uint8_t *pkt, size_t len)
{
	struct mg_gro_flow *f = NULL;
	struct seg s;

	if (len == 0 || len > MG_OFFLOAD_MAX_PACKET)
		return -EINVAL;
	g->clock++;
	parse_key(&s, pkt, len);
	parse_mergeable(&s, pkt, len, g->authenticated);
	if (s.key)
		f = find_flow(g, &s, pkt);
	else if (opaque_ip(pkt, len))
		close_all(g); /* it may belong to any flow: keep it in order */
	if (f && s.mergeable && can_append(g, f, &s, pkt) &&
	    grow(g, f, rec_get(g, f->rec, REC_LEN) + s.payload)) {
		append(g, f, &s, pkt);
		return 0;
	}
	if (f)
		close_flow(g, f);
	if (s.mergeable && !s.psh)
		return open_flow(g, &s, pkt, len);
	if (new_record(g, pkt, len) < 0)
		return -ENOBUFS;
	return s.key ? 0 : MG_GRO_PASSED;
}

int mg_gro_flush(struct mg_gro *g, mg_gro_write_fn write, void *ctx)
{
	int ret = 0;

	close_all(g);
	for (size_t rec = 0; rec < g->used; rec += rec_size(rec_get(g, rec, REC_CAP))) {
		size_t len = rec_get(g, rec, REC_LEN);
		int err;

		if (g->arena[rec + REC_DEAD])
			continue;
		err = write(ctx, g->arena + rec + REC_VNET, MG_OFFLOAD_VNET_HDR_LEN + len);
		if (err < 0 && ret == 0)
			ret = err;
	}
	g->used = 0;
	return ret;
}
