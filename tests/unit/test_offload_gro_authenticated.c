/* GRO over packets WireGuard authenticated (the engine's case): segment
 * checksums are not verified again, so a segment whose TCP checksum is off
 * still merges, and a packet that goes out alone is marked DATA_VALID so the
 * kernel skips its check, as the kernel's WireGuard does with what it
 * decrypts. Without the flag, the same input is not merged and nothing is
 * marked. */
#include "offload_pkt.h"

#define PAYLOAD 1000

static uint8_t arena[MG_GRO_ARENA_SIZE], pkts[3][1600], payload[3 * PAYLOAD];
static size_t lens[3];
static struct sink sink;

static void build(void)
{
	struct pkt_spec s = {
		.version = 4,
		.proto = IPPROTO_TCP,
		.src = { 10, 0, 0, 1 },
		.dst = { 10, 0, 0, 2 },
		.sport = 40000,
		.dport = 5201,
		.seq = 1000,
		.ack = 77,
		.flags = F_ACK,
		.window = 500,
		.id = 9,
		.df = true,
	};

	for (int i = 0; i < 3; i++) {
		lens[i] = build_pkt(pkts[i], &s, payload + i * PAYLOAD, PAYLOAD);
		s.seq += PAYLOAD;
		s.id++;
	}
	/* The second segment's checksum is off. */
	pkts[1][ref_l4_csum_at(pkts[1])] ^= 0x40;
}

static void run(bool authenticated)
{
	struct mg_gro g;

	mg_gro_init(&g, arena, sizeof(arena));
	g.authenticated = authenticated;
	sink_reset(&sink);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(mg_gro_add(&g, pkts[i], lens[i]), 0);
	CHECK_EQ(mg_gro_flush(&g, sink_write, &sink), 0);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	build();

	run(true);
	CHECK_EQ(sink.n, 1);
	CHECK_EQ(sink.h[0].gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	CHECK(sink.h[0].flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);

	run(false);
	CHECK(sink.n >= 2);
	for (int i = 0; i < sink.n; i++)
		CHECK(!(sink.h[i].flags & VIRTIO_NET_HDR_F_DATA_VALID));

	/* A lone packet: DATA_VALID only when authenticated. */
	struct mg_gro g;
	mg_gro_init(&g, arena, sizeof(arena));
	g.authenticated = true;
	sink_reset(&sink);
	CHECK_EQ(mg_gro_add(&g, pkts[0], lens[0]), 0);
	CHECK_EQ(mg_gro_flush(&g, sink_write, &sink), 0);
	CHECK_EQ(sink.n, 1);
	CHECK_EQ(sink.h[0].flags, VIRTIO_NET_HDR_F_DATA_VALID);
	CHECK_EQ(sink.h[0].gso_type, VIRTIO_NET_HDR_GSO_NONE);

	mg_test_pass("offload gro authenticated");
	return 0;
}
