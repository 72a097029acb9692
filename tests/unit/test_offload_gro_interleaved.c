/* Several flows in one batch: TCP over IPv4, TCP over IPv6, TCP over IPv4
 * to another port and a UDP flow, sent round-robin, with an ICMP packet in
 * the middle. Each TCP flow comes out as one merged packet; UDP and ICMP
 * come out unchanged, the UDP datagrams in arrival order. */
#include "offload_pkt.h"

#define ROUNDS 8
#define FLOWS  4
#define MSS    1300
#define INPUTS (ROUNDS * FLOWS + 1)

static uint8_t arena[MG_GRO_ARENA_SIZE], pkts[INPUTS][1600];
static const char names[] = "123456789abcdefghijklmnopqrstuvwxyz";
static struct sink sink;

/* An ICMPv4 echo request: not TCP, not UDP. */
static size_t make_icmp(uint8_t *p)
{
	size_t len = mg_test_unhex(p, 28,
				   "450000540000400040010000"
				   "0a0000010a000002"
				   "0800f7ff00000000");

	memset(p + len, 0, 84 - len);
	wr16(p + 10, (uint16_t)~ref_sum(p, 20, 0));
	return 84;
}

/* Appends input i's name to s, after a '|' when it stands alone. */
static void name(char *s, int i, bool alone)
{
	size_t at = strlen(s);

	if (alone)
		s[at++] = '|';
	s[at++] = names[i];
	s[at] = 0;
}

int main(void)
{
	static uint8_t payload[ROUNDS * MSS];
	struct pkt_spec spec[FLOWS] = { spec_tcp(4), spec_tcp(6), spec_tcp(4), spec_tcp(6) };
	const uint8_t *in[INPUTS];
	size_t len[INPUTS];
	char want[4 * INPUTS] = "", tcp[FLOWS][ROUNDS + 1] = { "" }, udp[2][INPUTS] = { "" };
	int n = 0;
	struct mg_gro g;

	spec[2].dport = 22;
	spec[2].seq = 77;
	spec[3].proto = IPPROTO_UDP;
	fill_payload(payload, sizeof(payload), 11);
	for (int r = 0; r < ROUNDS; r++) {
		for (int f = 0; f < FLOWS; f++, n++) {
			len[n] = build_pkt(pkts[n], &spec[f], payload + r * MSS, MSS);
			spec[f].seq += MSS;
			spec[f].id++;
			if (f < 3)
				name(tcp[f], n, false);
			else
				name(udp[r >= 4], n, true);
		}
		if (r == 3) {
			len[n] = make_icmp(pkts[n]);
			name(udp[0], n++, true);
		}
	}
	for (int i = 0; i < n; i++)
		in[i] = pkts[i];
	snprintf(want, sizeof(want), "%s|%s|%s%s%s", tcp[0], tcp[1], tcp[2], udp[0], udp[1]);

	mg_gro_init(&g, arena, sizeof(arena));
	for (int i = 0; i < n; i++)
		CHECK(mg_gro_add(&g, in[i], len[i]) >= 0); /* UDP and ICMP: MG_GRO_PASSED */
	sink_reset(&sink);
	CHECK_EQ(mg_gro_flush(&g, sink_write, &sink), 0);
	check_groups(&sink, in, len, want);
	int v4 = 0, v6 = 0;
	for (int o = 0; o < sink.n; o++) {
		v4 += sink.h[o].gso_type == VIRTIO_NET_HDR_GSO_TCPV4;
		v6 += sink.h[o].gso_type == VIRTIO_NET_HDR_GSO_TCPV6;
	}
	CHECK_EQ(v4, 2);
	CHECK_EQ(v6, 1);
	mg_test_pass("offload_gro_interleaved");
	return 0;
}
