/* TSO for IPv4: a 64 KB super-packet with timestamps, cut at several MSS
 * values, with DF set and clear, with PSH/FIN/CWR to be spread correctly
 * over the segments, sequence numbers and IPv4 IDs wrapping. Every segment
 * is checked against the reference checksum. */
#include "offload_pkt.h"

#define MAX_SEGS 256

static uint8_t super[65535], orig[65535], out[MAX_SEGS * 2048];

static void run(uint8_t flags, bool df, uint16_t mss, size_t payload_len)
{
	static uint8_t payload[65535];
	struct pkt_spec s = spec_tcp(4);
	size_t lens[MAX_SEGS], len;
	const uint8_t *segs[MAX_SEGS];
	struct virtio_net_hdr h;
	int n;

	s.flags = flags;
	s.df = df;
	fill_payload(payload, payload_len, mss);
	len = build_pkt(orig, &s, payload, payload_len);
	memcpy(super, orig, len);
	h = make_gso(super, len, mss);
	n = mg_offload_segment(&h, super, len, out, sizeof(out), 2048, lens, MAX_SEGS);
	CHECK(n > 0);
	for (int i = 0; i < n; i++)
		segs[i] = out + (size_t)i * 2048;
	check_segments(orig, len, mss, segs, lens, n);
}

int main(void)
{
	const uint16_t mss[] = { 1448, 1388, 1000, 536, 1 };
	const uint8_t flags[] = { F_ACK, F_ACK | F_PSH, F_ACK | F_PSH | F_FIN,
				  F_ACK | F_CWR | F_PSH };

	for (size_t i = 0; i < sizeof(mss) / sizeof(mss[0]); i++) {
		for (size_t f = 0; f < sizeof(flags); f++) {
			size_t max = mss[i] == 1 ? 200 : 65535 - 52;
			run(flags[f], f & 1, mss[i], max);
			run(flags[f], true, mss[i], mss[i] * 7u);
			run(flags[f], false, mss[i], mss[i] * 7u - 1);
		}
	}
	/* Shorter than one segment, and no payload at all: one segment. */
	run(F_ACK | F_PSH, true, 1448, 100);
	run(F_ACK | F_FIN, true, 1448, 0);
	mg_test_pass("offload_segment_tcp4");
	return 0;
}
