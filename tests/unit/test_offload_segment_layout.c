/* Where segments land: at out + i * stride (headroom before each slot stays
 * untouched when out points past it), or packed back to back with stride 0;
 * and -ENOBUFS, with nothing written, when max_segments, out_cap or the
 * stride is too small. */
#include "offload_pkt.h"

#define HEADROOM 16
#define STRIDE	 1536

static uint8_t super[65535], orig[65535], out[64 * STRIDE];

static size_t make(struct virtio_net_hdr *h, size_t payload_len, uint16_t mss)
{
	static uint8_t payload[65535];
	struct pkt_spec s = spec_tcp(4);
	size_t len;

	fill_payload(payload, payload_len, 1);
	len = build_pkt(orig, &s, payload, payload_len);
	memcpy(super, orig, len);
	*h = make_gso(super, len, mss);
	return len;
}

static bool untouched(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0xaa)
			return false;
	return true;
}

static void check_stride_headroom(void)
{
	struct virtio_net_hdr h;
	size_t len = make(&h, 10 * 1448 + 5, 1448), lens[16];
	const uint8_t *segs[16];
	int n;

	memset(out, 0xaa, sizeof(out));
	n = mg_offload_segment(&h, super, len, out + HEADROOM, sizeof(out) - HEADROOM, STRIDE, lens,
			       16);
	CHECK_EQ(n, 11);
	for (int i = 0; i < n; i++) {
		segs[i] = out + HEADROOM + (size_t)i * STRIDE;
		CHECK(untouched(out + (size_t)i * STRIDE, HEADROOM));
		CHECK(untouched(segs[i] + lens[i], STRIDE - HEADROOM - lens[i]));
	}
	check_segments(orig, len, 1448, segs, lens, n);
}

static void check_packed(void)
{
	struct virtio_net_hdr h;
	size_t len = make(&h, 10 * 1448 + 5, 1448), lens[16], total = 0;
	const uint8_t *segs[16];
	int n;

	memset(out, 0xaa, sizeof(out));
	n = mg_offload_segment(&h, super, len, out, sizeof(out), 0, lens, 16);
	CHECK_EQ(n, 11);
	for (int i = 0; i < n; i++) {
		segs[i] = out + total;
		total += lens[i];
	}
	CHECK(untouched(out + total, 64));
	check_segments(orig, len, 1448, segs, lens, n);

	/* Exactly enough room, then one byte less. */
	CHECK_EQ(mg_offload_segment(&h, super, len, out, total, 0, lens, 16), 11);
	memset(out, 0xaa, sizeof(out));
	CHECK_EQ(mg_offload_segment(&h, super, len, out, total - 1, 0, lens, 16), -ENOBUFS);
	CHECK(untouched(out, sizeof(out)));
}

static void check_limits(void)
{
	struct virtio_net_hdr h;
	size_t len = make(&h, 10 * 1448, 1448), lens[16];
	size_t seg = 52 + 1448;

	memset(out, 0xaa, sizeof(out));
	CHECK_EQ(mg_offload_segment(&h, super, len, out, sizeof(out), STRIDE, lens, 9), -ENOBUFS);
	CHECK_EQ(mg_offload_segment(&h, super, len, out, sizeof(out), seg - 1, lens, 16), -ENOBUFS);
	CHECK_EQ(mg_offload_segment(&h, super, len, out, 9 * STRIDE + seg - 1, STRIDE, lens, 16),
		 -ENOBUFS);
	CHECK(untouched(out, sizeof(out)));
	CHECK_EQ(mg_offload_segment(&h, super, len, out, 9 * STRIDE + seg, STRIDE, lens, 10), 10);
	CHECK_EQ(mg_offload_segment(&h, super, len, out, sizeof(out), seg, lens, 10), 10);
	/* A huge stride must not wrap the room computation around. */
	CHECK_EQ(mg_offload_segment(&h, super, len, out, sizeof(out), SIZE_MAX / 2, lens, 16),
		 -ENOBUFS);
}

int main(void)
{
	check_stride_headroom();
	check_packed();
	check_limits();
	mg_test_pass("offload_segment_layout");
	return 0;
}
