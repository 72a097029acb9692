/* mg_offload_complete_csum: a NEEDS_CSUM packet (pseudo-header sum in the
 * field) gets its full checksum; a zero result goes out as 0xffff; without
 * the flag nothing changes; a field outside the packet is refused untouched. */
#include "offload_pkt.h"

static uint8_t pkt[2000], want[2000];

static size_t make(int version, uint8_t proto, size_t n)
{
	struct pkt_spec s = spec_tcp(version);
	uint8_t payload[1500];

	s.proto = proto;
	fill_payload(payload, n, (uint32_t)n);
	return build_pkt(want, &s, payload, n);
}

static void check_completes(int version, uint8_t proto, size_t n)
{
	size_t len = make(version, proto, n);
	struct virtio_net_hdr h;

	memcpy(pkt, want, len);
	h = make_gso(pkt, len, 0);
	h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	CHECK(memcmp(pkt, want, len) != 0);
	CHECK_EQ(mg_offload_complete_csum(&h, pkt, len), 0);
	CHECK_MEM(pkt, want, len);
	CHECK(ref_l4_ok(pkt, len));
}

/* Payload chosen so that the checksum comes out 0: UDP must send 0xffff. */
static void check_zero_becomes_ffff(void)
{
	size_t len = make(4, IPPROTO_UDP, 100), at = ref_l4_csum_at(want);
	struct virtio_net_hdr h;

	wr16(want + len - 2, 0);
	wr16(want + at, 0);
	wr16(want + len - 2, (uint16_t)~ref_l4_sum(want, len));
	memcpy(pkt, want, len);
	h = make_gso(pkt, len, 0);
	CHECK_EQ(mg_offload_complete_csum(&h, pkt, len), 0);
	CHECK_EQ(rd16(pkt + at), 0xffff);
	CHECK(ref_l4_ok(pkt, len));
}

static void check_noop_and_bounds(void)
{
	size_t len = make(6, IPPROTO_TCP, 10);
	struct virtio_net_hdr h = { 0 };

	memcpy(pkt, want, len);
	CHECK_EQ(mg_offload_complete_csum(&h, pkt, len), 0);
	CHECK_MEM(pkt, want, len);

	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	const struct {
		uint16_t start, offset;
	} bad[] = {
		{ (uint16_t)len, 0 },	      { (uint16_t)(len - 1), 0 },
		{ 40, (uint16_t)(len - 41) }, { 40, (uint16_t)(len - 40) },
		{ 0xffff, 0xffff },	      { 0, 0xffff },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h.csum_start = bad[i].start;
		h.csum_offset = bad[i].offset;
		CHECK_EQ(mg_offload_complete_csum(&h, pkt, len), -EINVAL);
		CHECK_MEM(pkt, want, len);
	}
	/* The last two bytes are still inside. */
	h.csum_start = 40;
	h.csum_offset = (uint16_t)(len - 42);
	CHECK_EQ(mg_offload_complete_csum(&h, pkt, len), 0);
}

int main(void)
{
	for (size_t n = 0; n < 1400; n += 97) {
		check_completes(4, IPPROTO_TCP, n);
		check_completes(6, IPPROTO_TCP, n);
		check_completes(4, IPPROTO_UDP, n);
		check_completes(6, IPPROTO_UDP, n + 1);
	}
	check_zero_becomes_ffff();
	check_noop_and_bounds();
	mg_test_pass("offload_complete_csum");
	return 0;
}
