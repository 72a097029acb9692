/* TSO for IPv6: a 64 KB super-packet with timestamps, cut at several MSS
 * values, with a traffic class and flow label, with PSH/FIN/CWR to be spread correctly
 * over the segments and sequence numbers wrapping. Every segment
 * is checked against the reference checksum. */
#include "offload_pkt.h"

static void run(uint8_t flags, bool alt, uint16_t mss, size_t payload_len)
{
	struct pkt_spec s = spec_tcp(6);

	s.flags = flags;
	s.tos = alt ? 0x2e : 0;
	s.flow_label = 0xabcde;
	check_tso(&s, mss, payload_len);
}

int main(void)
{
	tso_cases(run, 72);
	mg_test_pass("offload_segment_tcp6");
	return 0;
}
