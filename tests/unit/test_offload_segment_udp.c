/* USO for IPv4 and IPv6: a UDP super-packet cut into datagrams of gso_size
 * bytes, each with its own UDP length and checksum (never 0), IPv4 IDs
 * counting up, IPv6 payload lengths; the last datagram may be shorter. */
#include "offload_pkt.h"

#define MAX_SEGS 128
#define STRIDE	 1600

static uint8_t super[65535], orig[65535], out[MAX_SEGS * STRIDE];

static void run(int version, uint16_t gso_size, size_t payload_len)
{
	static uint8_t payload[65535];
	struct pkt_spec s = spec_tcp(version);
	size_t lens[MAX_SEGS], len;
	const uint8_t *segs[MAX_SEGS];
	struct virtio_net_hdr h;
	int n;

	s.proto = IPPROTO_UDP;
	s.sport = 51820;
	s.dport = 443;
	s.df = false;
	fill_payload(payload, payload_len, gso_size);
	len = build_pkt(orig, &s, payload, payload_len);
	memcpy(super, orig, len);
	h = make_gso(super, len, gso_size);
	CHECK_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_UDP_L4);
	n = mg_offload_segment(&h, super, len, out, sizeof(out), STRIDE, lens, MAX_SEGS);
	CHECK(n > 0);
	for (int i = 0; i < n; i++)
		segs[i] = out + (size_t)i * STRIDE;
	check_segments(orig, len, gso_size, segs, lens, n);
}

int main(void)
{
	const uint16_t sizes[] = { 1472, 1452, 1200, 1000, 512 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		run(4, sizes[i], sizes[i] * 40u);
		run(4, sizes[i], sizes[i] * 40u + 17);
		run(6, sizes[i], sizes[i] * 40u);
		run(6, sizes[i], sizes[i] * 3u - 1);
		run(4, sizes[i], 1);
	}
	run(4, 1200, 65535 - 28);
	run(6, 1200, 65535 - 48);
	mg_test_pass("offload_segment_udp");
	return 0;
}
