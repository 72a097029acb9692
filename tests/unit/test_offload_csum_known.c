/* Known answers for the internet checksum: the worked example of RFC 1071
 * section 3, the IPv4 header example everyone quotes, and a TCP SYN the Linux
 * kernel sent through a TUN (captured with full checksums), recomputed from
 * its pseudo-header. */
#include "offload_pkt.h"

/* RFC 1071 3: the sum of these words is ddf2, so the checksum is 220d. */
static const uint8_t rfc1071[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

static const char ipv4_example[] = "450000730000400040110000c0a80001c0a800c7";

/* 10.77.0.1:48210 -> 10.77.0.2:8080 SYN with MSS, SACK-permitted,
 * timestamps and window scale; IPv4 checksum 5fc4, TCP checksum 0f3e. */
static const char syn[] = "4500003cc65b400040065fc40a4d00010a4d0002bc521f90a6e0979700000000"
			  "a002faf00f3e0000020405b40402080a198ff547000000000103030a";

static void check_rfc1071(void)
{
	uint32_t sum = mg_offload_csum_partial(rfc1071, sizeof(rfc1071), 0);

	CHECK_EQ(mg_offload_csum_fold(sum), 0x220d);
	/* Two halves chained give the same, as do all four words apart. */
	sum = mg_offload_csum_partial(rfc1071 + 4, 4, mg_offload_csum_partial(rfc1071, 4, 0));
	CHECK_EQ(mg_offload_csum_fold(sum), 0x220d);
	sum = 0;
	for (int i = 0; i < 8; i += 2)
		sum = mg_offload_csum_partial(rfc1071 + i, 2, sum);
	CHECK_EQ(mg_offload_csum_fold(sum), 0x220d);
	/* With the checksum appended the whole verifies. */
	uint8_t with[10];
	memcpy(with, rfc1071, 8);
	wr16(with + 8, 0x220d);
	CHECK_EQ(mg_offload_csum_fold(mg_offload_csum_partial(with, 10, 0)), 0);
}

static void check_ipv4_header(void)
{
	uint8_t ip[20];

	CHECK_EQ(mg_test_unhex(ip, sizeof(ip), ipv4_example), 20);
	CHECK_EQ(mg_offload_csum_fold(mg_offload_csum_partial(ip, 20, 0)), 0xb861);
	wr16(ip + 10, 0xb861);
	CHECK_EQ(mg_offload_csum_fold(mg_offload_csum_partial(ip, 20, 0)), 0);
}

static void check_captured_syn(void)
{
	uint8_t p[60];
	size_t len = mg_test_unhex(p, sizeof(p), syn);
	uint32_t sum;

	CHECK_EQ(len, 60);
	CHECK_EQ(mg_offload_csum_fold(mg_offload_csum_partial(p, 20, 0)), 0);
	wr16(p + 10, 0);
	CHECK_EQ(mg_offload_csum_fold(mg_offload_csum_partial(p, 20, 0)), 0x5fc4);

	sum = mg_offload_pseudo_v4(p + 12, p + 16, IPPROTO_TCP, (uint16_t)(len - 20));
	CHECK_EQ(mg_offload_csum_fold(mg_offload_csum_partial(p + 20, len - 20, sum)), 0);
	wr16(p + 36, 0);
	CHECK_EQ(mg_offload_csum_fold(mg_offload_csum_partial(p + 20, len - 20, sum)), 0x0f3e);
}

int main(void)
{
	check_rfc1071();
	check_ipv4_header();
	check_captured_syn();
	mg_test_pass("offload_csum_known");
	return 0;
}
