/* TSO with IPv4 options: every segment carries the options unchanged (the
 * IHL stays, the header checksum covers them) and the TCP header is found
 * after them. */
#include "offload_pkt.h"

#define MAX_SEGS 64

static uint8_t super[65535], orig[65535], out[MAX_SEGS * 2048];

static void run(const uint8_t *opts, size_t opts_len, uint8_t proto)
{
	static uint8_t payload[20000];
	struct pkt_spec s = spec_tcp(4);
	size_t lens[MAX_SEGS], len;
	const uint8_t *segs[MAX_SEGS];
	struct virtio_net_hdr h;
	int n;

	s.ip_opts = opts;
	s.ip_opts_len = opts_len;
	s.proto = proto;
	s.df = false;
	s.flags = F_ACK | F_PSH;
	fill_payload(payload, sizeof(payload), 3);
	len = build_pkt(orig, &s, payload, sizeof(payload));
	memcpy(super, orig, len);
	h = make_gso(super, len, 1400);
	CHECK_EQ(h.csum_start, 20 + opts_len);
	n = mg_offload_segment(&h, super, len, out, sizeof(out), 2048, lens, MAX_SEGS);
	CHECK_EQ(n, 15);
	for (int i = 0; i < n; i++) {
		segs[i] = out + (size_t)i * 2048;
		CHECK_EQ(segs[i][0], 0x40 | (20 + opts_len) / 4);
		CHECK_MEM(segs[i] + 20, opts, opts_len);
	}
	check_segments(orig, len, 1400, segs, lens, n);
}

int main(void)
{
	/* Router alert (RFC 2113) and a record-route with room for 9 hops,
	 * padded to the 40-byte maximum. */
	static const uint8_t router_alert[4] = { 0x94, 4, 0, 0 };
	static const uint8_t record_route[40] = { 1, 7, 39, 4 };

	run(router_alert, sizeof(router_alert), IPPROTO_TCP);
	run(record_route, sizeof(record_route), IPPROTO_TCP);
	run(router_alert, sizeof(router_alert), IPPROTO_UDP);
	mg_test_pass("offload_segment_ipv4_options");
	return 0;
}
