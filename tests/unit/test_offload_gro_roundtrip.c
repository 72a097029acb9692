/* Segment, then coalesce: a TSO super-packet cut by mg_offload_segment and
 * fed back through mg_gro comes out as the very same super-packet, byte for
 * byte (pseudo-header sum in the TCP checksum field included), behind the
 * very same virtio header; segmenting that again gives the same segments.
 * A FIN on the last segment stays a packet of its own. */
#include "offload_pkt.h"

#define MAX_SEGS 64
#define STRIDE	 2048

static uint8_t orig[65535], super[65535], segs[MAX_SEGS * STRIDE], again[MAX_SEGS * STRIDE];
static uint8_t arena[MG_GRO_ARENA_SIZE];
static struct sink sink;

static void run(int version, bool df, uint8_t flags, uint16_t mss, size_t payload_len)
{
	static uint8_t payload[65535];
	struct pkt_spec s = spec_tcp(version);
	size_t lens[MAX_SEGS], lens2[MAX_SEGS], len;
	struct virtio_net_hdr h;
	struct mg_gro g;
	int n, merged = flags & F_FIN ? 2 : 1;

	s.df = df;
	s.flags = flags;
	fill_payload(payload, payload_len, mss);
	len = build_pkt(orig, &s, payload, payload_len);
	memcpy(super, orig, len);
	h = make_gso(super, len, mss);
	n = mg_offload_segment(&h, super, len, segs, sizeof(segs), STRIDE, lens, MAX_SEGS);
	CHECK(n > 2);

	mg_gro_init(&g, arena, sizeof(arena));
	for (int i = 0; i < n; i++)
		CHECK_EQ(mg_gro_add(&g, segs + (size_t)i * STRIDE, lens[i]), 0);
	sink_reset(&sink);
	CHECK_EQ(mg_gro_flush(&g, sink_write, &sink), 0);
	CHECK_EQ(sink.n, merged);

	if (!(flags & F_FIN)) {
		CHECK_MEM(&sink.h[0], &h, sizeof(h));
		CHECK_EQ(sink.len[0], len);
		CHECK_MEM(sink.pkt[0], super, len);
	} else {
		/* All but the FIN segment merged; the FIN one untouched. */
		CHECK_EQ(sink.h[0].gso_size, mss);
		CHECK_EQ(sink.len[1], lens[n - 1]);
		CHECK_MEM(sink.pkt[1], segs + (size_t)(n - 1) * STRIDE, lens[n - 1]);
		CHECK(vnet_is_zero(&sink.h[1]));
	}

	/* And back again: the same segments. */
	int n2 = mg_offload_segment(&sink.h[0], sink.pkt[0], sink.len[0], again, sizeof(again),
				    STRIDE, lens2, MAX_SEGS);
	CHECK_EQ(n2, n - (merged - 1));
	for (int i = 0; i < n2; i++) {
		CHECK_EQ(lens2[i], lens[i]);
		CHECK_MEM(again + (size_t)i * STRIDE, segs + (size_t)i * STRIDE, lens[i]);
	}
}

int main(void)
{
	for (int v = 4; v <= 6; v += 2) {
		run(v, true, F_ACK, 1448, 45 * 1448);
		run(v, false, F_ACK | F_PSH, 1448, 44 * 1448 + 700);
		run(v, true, F_ACK | F_PSH, 1208, 30 * 1208 + 1);
		run(v, false, F_ACK | F_FIN, 1000, 20 * 1000 + 10);
		run(v, true, F_ACK | F_PSH | F_FIN, 536, 10 * 536);
	}
	mg_test_pass("offload_gro_roundtrip");
	return 0;
}
