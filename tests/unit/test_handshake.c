/* Two devices complete a handshake through the in-memory wire, carry data
 * both ways, and count bytes exactly as the kernel's netns.sh expects. */
#include "wire.h"

static void handshake_initiated_by(int initiator)
{
	struct wire w;
	struct mg_peer *pa, *pb;
	int responder = 1 - initiator;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, &pa, &pb);
	struct mg_peer *pi = initiator == 0 ? pa : pb, *pr = initiator == 0 ? pb : pa;

	wire_send_ip(&w, initiator, responder, 84);
	CHECK_EQ(w.len, 1); /* the initiation; the packet waits */
	CHECK_EQ(w.nodes[initiator].sent_by_type[1], 1);
	wire_pump(&w);
	/* initiation -> response -> staged data (no extra keepalive needed) */
	CHECK_EQ(w.nodes[responder].sent_by_type[2], 1);
	CHECK_EQ(w.nodes[responder].delivered, 1);
	CHECK_EQ(w.nodes[responder].last_delivered_len, 84);
	CHECK(pi->keypairs.current && pi->keypairs.current->i_am_the_initiator);
	CHECK(pr->keypairs.current && !pr->keypairs.current->i_am_the_initiator);
	CHECK(pr->keypairs.next == NULL);
	CHECK_EQ(w.nodes[0].dev.stats.handshakes_completed, 1);
	CHECK_EQ(w.nodes[1].dev.stats.handshakes_completed, 1);

	for (int i = 0; i < 9; i++) {
		wire_send_ip(&w, initiator, responder, 84);
		wire_pump(&w);
		wire_send_ip(&w, responder, initiator, 84);
		wire_pump(&w);
	}
	CHECK_EQ(w.nodes[responder].delivered, 10);
	CHECK_EQ(w.nodes[initiator].delivered, 9);
	/* 84-byte packets pad to 96: 16 + 96 + 16 = 128 bytes on the wire. */
	CHECK_EQ(pi->tx_bytes, 148 + 10 * 128);
	CHECK_EQ(pi->rx_bytes, 92 + 9 * 128);
	CHECK_EQ(pr->rx_bytes, 148 + 10 * 128);
	CHECK_EQ(pr->tx_bytes, 92 + 9 * 128);
	CHECK(pi->last_handshake.tv_sec != 0 && pr->last_handshake.tv_sec != 0);
	wire_free(&w);
}

int main(void)
{
	handshake_initiated_by(0);
	handshake_initiated_by(1);
	mg_test_pass("handshake");
	return 0;
}
