/* TSO for IPv4: a 64 KB super-packet with timestamps, cut at several MSS
 * values, with DF set and clear, with PSH/FIN/CWR to be spread correctly
 * over the segments, sequence numbers and IPv4 IDs wrapping. Every segment
 * is checked against the reference checksum. */
#include "offload_pkt.h"

static void run(uint8_t flags, bool alt, uint16_t mss, size_t payload_len)
{
	struct pkt_spec s = spec_tcp(4);

	s.flags = flags;
	s.df = alt;
	check_tso(&s, mss, payload_len);
}

int main(void)
{
	tso_cases(run, 52);
	mg_test_pass("offload_segment_tcp4");
	return 0;
}
