/* Malformed GSO reads: each row breaks one thing in an otherwise valid
 * packet or virtio header and mg_offload_segment must say -EINVAL without
 * writing anything. Then every truncation of a valid packet, which must be
 * refused too (run under ASan, this also shows nothing is read past len). */
#include "offload_pkt.h"

static uint8_t base[4000], pkt[4000], out[64 * 2048];
static size_t base_len;
static struct virtio_net_hdr base_h;

struct row {
	const char *what;
	int version;
	uint8_t proto;
	void (*breaks)(uint8_t *p, size_t *len, struct virtio_net_hdr *h);
};

static void hdr_len_past_end(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)p;
	h->hdr_len = (uint16_t)(*len + 1);
}

static void csum_start_past_end(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)p;
	h->csum_start = (uint16_t)(*len + 1);
}

static void csum_start_wrong(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)p, (void)len;
	h->csum_start += 4;
}

static void csum_offset_wrong(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)p, (void)len;
	h->csum_offset = 2;
}

static void gso_size_zero(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)p, (void)len;
	h->gso_size = 0;
}

static void gso_type_ufo(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)p, (void)len;
	h->gso_type = VIRTIO_NET_HDR_GSO_UDP;
}

static void gso_type_unknown(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)p, (void)len;
	h->gso_type = 7;
}

static void gso_type_other_version(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)len;
	h->gso_type = p[0] >> 4 == 4 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
}

static void gso_type_other_proto(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)len;
	h->gso_type = ref_proto(p) == IPPROTO_TCP ? VIRTIO_NET_HDR_GSO_UDP_L4
		      : p[0] >> 4 == 4		  ? VIRTIO_NET_HDR_GSO_TCPV4
						  : VIRTIO_NET_HDR_GSO_TCPV6;
}

static void version_5(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)len, (void)h;
	p[0] = (uint8_t)(0x50 | (p[0] & 0x0f));
}

static void ihl_4(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)len, (void)h;
	p[0] = 0x44;
}

static void ihl_15(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)len, (void)h;
	p[0] = 0x4f;
}

static void total_len_short(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)h;
	wr16(p + 2, (uint16_t)(*len - 1));
}

static void total_len_long(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)h;
	wr16(p + 2, (uint16_t)(*len + 1));
}

static void more_fragments(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)len, (void)h;
	p[6] |= 0x20;
}

static void fragment_offset(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)len, (void)h;
	p[7] = 1;
}

static void payload_len_wrong(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)h;
	wr16(p + 4, (uint16_t)(*len - 41));
}

static void jumbo_payload_len(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)len, (void)h;
	wr16(p + 4, 0);
}

/* A hop-by-hop header in front of TCP: offsets no longer match. */
static void extension_header(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)len, (void)h;
	p[6] = 0;
}

static void proto_icmp(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)len, (void)h;
	p[p[0] >> 4 == 6 ? 6 : 9] = p[0] >> 4 == 6 ? 58 : 1;
}

static void doff_4(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)len, (void)h;
	p[ref_l3_len(p) + 12] = 0x40;
}

/* The TCP header claims 60 bytes and the packet ends inside them. */
static void doff_past_end(uint8_t *p, size_t *len, struct virtio_net_hdr *h)
{
	(void)h;
	p[ref_l3_len(p) + 12] = 0xf0;
	*len = ref_l3_len(p) + 40;
	if (p[0] >> 4 == 4)
		wr16(p + 2, (uint16_t)*len);
	else
		wr16(p + 4, (uint16_t)(*len - 40));
}

static const struct row rows[] = {
	{ "hdr_len > len", 4, IPPROTO_TCP, hdr_len_past_end },
	{ "hdr_len > len", 6, IPPROTO_UDP, hdr_len_past_end },
	{ "csum_start > len", 4, IPPROTO_TCP, csum_start_past_end },
	{ "csum_start > len", 6, IPPROTO_TCP, csum_start_past_end },
	{ "csum_start not at L4", 4, IPPROTO_UDP, csum_start_wrong },
	{ "csum_start not at L4", 6, IPPROTO_TCP, csum_start_wrong },
	{ "csum_offset wrong", 4, IPPROTO_TCP, csum_offset_wrong },
	{ "csum_offset wrong", 6, IPPROTO_UDP, csum_offset_wrong },
	{ "gso_size 0", 4, IPPROTO_TCP, gso_size_zero },
	{ "gso_size 0", 6, IPPROTO_UDP, gso_size_zero },
	{ "UFO", 4, IPPROTO_UDP, gso_type_ufo },
	{ "unknown gso_type", 6, IPPROTO_TCP, gso_type_unknown },
	{ "TCPV6 on IPv4", 4, IPPROTO_TCP, gso_type_other_version },
	{ "TCPV4 on IPv6", 6, IPPROTO_TCP, gso_type_other_version },
	{ "UDP_L4 on TCP", 4, IPPROTO_TCP, gso_type_other_proto },
	{ "TCPV6 on UDP", 6, IPPROTO_UDP, gso_type_other_proto },
	{ "IP version 5", 4, IPPROTO_TCP, version_5 },
	{ "IHL 4", 4, IPPROTO_TCP, ihl_4 },
	{ "IHL 15", 4, IPPROTO_UDP, ihl_15 },
	{ "total length short", 4, IPPROTO_TCP, total_len_short },
	{ "total length long", 4, IPPROTO_UDP, total_len_long },
	{ "MF", 4, IPPROTO_TCP, more_fragments },
	{ "fragment offset", 4, IPPROTO_UDP, fragment_offset },
	{ "payload length", 6, IPPROTO_TCP, payload_len_wrong },
	{ "jumbo", 6, IPPROTO_UDP, jumbo_payload_len },
	{ "extension header", 6, IPPROTO_TCP, extension_header },
	{ "extension header", 6, IPPROTO_UDP, extension_header },
	{ "ICMP", 4, IPPROTO_TCP, proto_icmp },
	{ "ICMPv6", 6, IPPROTO_UDP, proto_icmp },
	{ "TCP doff 4", 4, IPPROTO_TCP, doff_4 },
	{ "TCP doff 4", 6, IPPROTO_TCP, doff_4 },
	{ "TCP doff past end", 4, IPPROTO_TCP, doff_past_end },
	{ "TCP doff past end", 6, IPPROTO_TCP, doff_past_end },
};

static void make(int version, uint8_t proto)
{
	struct pkt_spec s = spec_tcp(version);
	uint8_t payload[3000];

	s.proto = proto;
	fill_payload(payload, sizeof(payload), 5);
	base_len = build_pkt(base, &s, payload, sizeof(payload));
	base_h = make_gso(base, base_len, 1000);
}

static bool out_untouched(void)
{
	for (size_t i = 0; i < sizeof(out); i++)
		if (out[i] != 0xaa)
			return false;
	return true;
}

static void check_rows(void)
{
	size_t lens[64];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct virtio_net_hdr h;
		size_t len;

		make(rows[i].version, rows[i].proto);
		/* The unbroken packet is fine. */
		CHECK_EQ(mg_offload_segment(&base_h, base, base_len, out, sizeof(out), 2048, lens,
					    64),
			 3);
		memcpy(pkt, base, base_len);
		len = base_len;
		h = base_h;
		rows[i].breaks(pkt, &len, &h);
		memset(out, 0xaa, sizeof(out));
		int ret = mg_offload_segment(&h, pkt, len, out, sizeof(out), 2048, lens, 64);
		if (ret != -EINVAL || !out_untouched()) {
			fprintf(stderr, "row '%s' (IPv%d/%u): got %d\n", rows[i].what,
				rows[i].version, rows[i].proto, ret);
			exit(1);
		}
	}
}

/* Each truncation, with the virtio header and the IP length fields left
 * claiming the full packet. */
static void check_truncations(int version, uint8_t proto)
{
	size_t lens[64];
	static uint8_t *copy;

	make(version, proto);
	for (size_t len = 0; len < base_len; len++) {
		copy = malloc(len ? len : 1);
		memcpy(copy, base, len);
		CHECK_EQ(mg_offload_segment(&base_h, copy, len, out, sizeof(out), 2048, lens, 64),
			 -EINVAL);
		free(copy);
	}
}

int main(void)
{
	check_rows();
	check_truncations(4, IPPROTO_TCP);
	check_truncations(6, IPPROTO_TCP);
	check_truncations(4, IPPROTO_UDP);
	check_truncations(6, IPPROTO_UDP);
	mg_test_pass("offload_segment_bad");
	return 0;
}
