/* The fast checksum against the reference one at every length up to 2 KB
 * and every alignment, chained at even splits, on carry-heavy all-ones data,
 * and the pseudo-header sums against a byte-by-byte pseudo-header. */
#include "offload_pkt.h"

static uint32_t rng = 0x12345678;

static uint8_t next_byte(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return (uint8_t)rng;
}

static void check_lengths(void)
{
	static uint8_t buf[2048 + 8];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = next_byte();
	for (size_t align = 0; align < 8; align++) {
		for (size_t len = 0; len <= 2048; len++) {
			uint16_t want = (uint16_t)~ref_sum(buf + align, len, 0);
			uint32_t got = mg_offload_csum_partial(buf + align, len, 0);
			CHECK_EQ(mg_offload_csum_fold(got), want);
			size_t split = (len / 2) & ~(size_t)1;
			got = mg_offload_csum_partial(buf + align, split, 0);
			got = mg_offload_csum_partial(buf + align + split, len - split, got);
			CHECK_EQ(mg_offload_csum_fold(got), want);
		}
	}
}

static void check_all_ones(void)
{
	static uint8_t ones[1 << 20];

	memset(ones, 0xff, sizeof(ones));
	for (size_t len = 65530; len < 65540; len++)
		CHECK_EQ(mg_offload_csum_fold(mg_offload_csum_partial(ones, len, 0)),
			 (uint16_t)~ref_sum(ones, len, 0));
	CHECK_EQ(mg_offload_csum_fold(mg_offload_csum_partial(ones, sizeof(ones), 0)),
		 (uint16_t)~ref_sum(ones, sizeof(ones), 0));
}

static void check_pseudo(void)
{
	for (int round = 0; round < 2000; round++) {
		uint8_t ip[60] = { 0 };
		uint16_t l4_len = (uint16_t)(next_byte() << 8 | next_byte());
		uint8_t proto = round & 1 ? IPPROTO_TCP : IPPROTO_UDP;
		uint32_t got;

		for (int i = 8; i < 40; i++)
			ip[i] = next_byte();
		if (round & 2) {
			ip[0] = 0x60;
			ip[6] = proto;
			got = mg_offload_pseudo_v6(ip + 8, ip + 24, proto, l4_len);
			CHECK_EQ(mg_offload_csum_fold(got),
				 (uint16_t)~ref_pseudo(ip, 40u + l4_len));
		} else {
			ip[0] = 0x45;
			ip[9] = proto;
			got = mg_offload_pseudo_v4(ip + 12, ip + 16, proto, l4_len);
			CHECK_EQ(mg_offload_csum_fold(got),
				 (uint16_t)~ref_pseudo(ip, 20u + l4_len));
		}
	}
}

int main(void)
{
	check_lengths();
	check_all_ones();
	check_pseudo();
	mg_test_pass("offload_csum_random");
	return 0;
}
