/* GSO_NONE through mg_offload_segment: one segment, a copy of the packet,
 * with a partial checksum completed and a full one left alone. */
#include "offload_pkt.h"

static uint8_t pkt[2000], want[2000], out[4096];

int main(void)
{
	for (int v = 4; v <= 6; v += 2) {
		for (int udp = 0; udp <= 1; udp++) {
			struct pkt_spec s = spec_tcp(v);
			uint8_t payload[1000];
			struct virtio_net_hdr h;
			size_t lens[2] = { 0 }, len;

			s.proto = udp ? IPPROTO_UDP : IPPROTO_TCP;
			fill_payload(payload, sizeof(payload), 9);
			len = build_pkt(want, &s, payload, sizeof(payload));

			memcpy(pkt, want, len);
			h = make_gso(pkt, len, 1400);
			h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
			memset(out, 0xaa, sizeof(out));
			CHECK_EQ(mg_offload_segment(&h, pkt, len, out, sizeof(out), 0, lens, 1), 1);
			CHECK_EQ(lens[0], len);
			CHECK_MEM(out, want, len);
			CHECK_EQ(out[len], 0xaa);

			/* Already complete: copied as is. */
			memset(&h, 0, sizeof(h));
			CHECK_EQ(mg_offload_segment(&h, want, len, out, sizeof(out), 2048, lens, 1),
				 1);
			CHECK_MEM(out, want, len);

			/* Too small a slot, or no segment allowed. */
			CHECK_EQ(mg_offload_segment(&h, want, len, out, len - 1, 0, lens, 1),
				 -ENOBUFS);
			CHECK_EQ(mg_offload_segment(&h, want, len, out, sizeof(out), len - 1, lens,
						    1),
				 -ENOBUFS);
			CHECK_EQ(mg_offload_segment(&h, want, len, out, sizeof(out), 0, lens, 0),
				 -ENOBUFS);
		}
	}
	mg_test_pass("offload_segment_none");
	return 0;
}
