/* mg_gro_add tells which packets wait for nothing: ICMP, UDP and anything it
 * cannot match to a TCP flow return MG_GRO_PASSED, so the engine flushes and
 * a ping or a DNS reply under a bulk transfer reaches the TUN at once. TCP,
 * data or a bare ACK, returns 0 and waits for the batch's end. Whatever the
 * return, the packets come out of the flush in order. */
#include "offload_pkt.h"

#define PAYLOAD 1000

static uint8_t arena[MG_GRO_ARENA_SIZE], payload[2 * PAYLOAD];
static struct sink sink;

/* An ICMP echo request, 10.0.0.1 -> 10.0.0.2, with a valid header checksum. */
static size_t build_icmp(uint8_t *buf)
{
	memset(buf, 0, 28);
	buf[0] = 0x45;
	wr16(buf + 2, 28);
	buf[6] = 0x40;
	buf[8] = 64;
	buf[9] = 1; /* ICMP */
	memcpy(buf + 12, ADDR4_A, 4);
	memcpy(buf + 16, ADDR4_B, 4);
	wr16(buf + 10, (uint16_t)~ref_sum(buf, 20, 0));
	buf[20] = 8; /* echo request */
	wr16(buf + 22, (uint16_t)~ref_sum(buf + 20, 8, 0));
	return 28;
}

int main(void)
{
	static uint8_t data1[1600], data2[1600], ack[100], icmp[100], udp[1600], junk[40];
	struct pkt_spec s = spec_tcp(4);
	struct mg_gro g;
	size_t l_data1, l_data2, l_ack, l_icmp, l_udp;

	fill_payload(payload, sizeof(payload), 7);
	l_data1 = build_pkt(data1, &s, payload, PAYLOAD);
	s.seq += PAYLOAD;
	s.id++;
	l_data2 = build_pkt(data2, &s, payload + PAYLOAD, PAYLOAD);
	s = spec_tcp(4);
	s.sport = 40001; /* another flow: a bare ACK of a transfer the other way */
	l_ack = build_pkt(ack, &s, NULL, 0);
	l_icmp = build_icmp(icmp);
	s = spec_tcp(4);
	s.proto = IPPROTO_UDP;
	s.dport = 53;
	l_udp = build_pkt(udp, &s, payload, 200);
	memset(junk, 0xee, sizeof(junk)); /* not IP at all */

	mg_gro_init(&g, arena, sizeof(arena));
	g.authenticated = true;
	CHECK_EQ(mg_gro_add(&g, data1, l_data1), 0);
	CHECK_EQ(mg_gro_add(&g, ack, l_ack), 0);
	CHECK_EQ(mg_gro_add(&g, icmp, l_icmp), MG_GRO_PASSED);
	CHECK_EQ(mg_gro_add(&g, data2, l_data2), 0);
	CHECK_EQ(mg_gro_add(&g, udp, l_udp), MG_GRO_PASSED);
	CHECK_EQ(mg_gro_add(&g, junk, sizeof(junk)), MG_GRO_PASSED);

	/* The two data segments merged (same flow, in order); the rest
	 * passed through unchanged, each flow in order. */
	sink_reset(&sink);
	CHECK_EQ(mg_gro_flush(&g, sink_write, &sink), 0);
	CHECK_EQ(sink.n, 5);
	size_t total = 0;
	for (int i = 0; i < sink.n; i++)
		total += sink.len[i];
	CHECK_EQ(total, l_data1 + PAYLOAD + l_ack + l_icmp + l_udp + sizeof(junk));
	return 0;
}
