/* The sticky source in the device (wireguard.md "Cryptokey routing and
 * roaming"; the kernel's socket.c and timers.c): an authenticated packet
 * sets the peer's endpoint with the local address it arrived at, also when
 * only that changed (the peer reached us on another of our addresses); one
 * that fails to authenticate does not. The remote address, what wg(8)
 * shows, is untouched by it. A handshake retransmit and the new-handshake
 * timer clear the local address, in case it is why nothing comes back. */
#include "wire_extra.h"

#define X 0 /* the peer that moves between our addresses */
#define Y 1 /* us */

static struct wire w;

/* ep arriving at local address 192.0.2.<host> on interface ifindex. */
static struct mg_endpoint at_local(struct mg_endpoint ep, uint8_t host, uint32_t ifindex)
{
	ep.local.in4.s_addr = htonl(0xc0000200 | host);
	ep.local.ifindex = ifindex;
	return ep;
}

/* x sends data; y receives it at local (host, ifindex), or a forgery of it
 * when forge. */
static void data_arrives_at(uint8_t host, uint32_t ifindex, bool forge)
{
	struct datagram d;

	wire_send_ip(&w, X, Y, 100);
	CHECK(wire_pop(&w, &d));
	CHECK_EQ(w.len, 0);
	d.from = at_local(d.from, host, ifindex);
	if (forge)
		d.buf[d.len - 1] ^= 1;
	wire_inject(&w, &d);
}

static void start(void)
{
	wire_init(&w, 2);
	wire_pair(&w, X, Y, NULL, NULL);
	wire_handshake(&w, X, Y);
}

/* Nothing gets through any more, so no packet from x resets the source. */
static void cut(void)
{
	w.drop_to[X] = true;
	w.drop_to[Y] = true;
}

static void moves_with_data(void)
{
	struct mg_endpoint home, want;
	struct mg_peer *px;
	unsigned delivered;

	start();
	px = wire_peer(&w, Y, X);
	home = w.nodes[X].addr;
	CHECK(!mg_endpoint_has_local(&px->endpoint));
	data_arrives_at(2, 7, false);
	want = at_local(home, 2, 7);
	CHECK(mg_endpoint_equal(&px->endpoint, &want));

	/* Same remote address, another of our addresses. */
	data_arrives_at(3, 7, false);
	want = at_local(home, 3, 7);
	CHECK(mg_endpoint_equal(&px->endpoint, &want));
	data_arrives_at(3, 8, false);
	want = at_local(home, 3, 8);
	CHECK(mg_endpoint_equal(&px->endpoint, &want));
	CHECK(mg_endpoint_equal_remote(&px->endpoint, &home));

	/* Not from a packet that fails to authenticate. */
	data_arrives_at(4, 9, true);
	CHECK(mg_endpoint_equal(&px->endpoint, &want));

	/* Replies still reach x. */
	delivered = w.nodes[X].delivered;
	wire_send_ip(&w, Y, X, 100);
	wire_pump(&w);
	CHECK_EQ(w.nodes[X].delivered, delivered + 1);
	wire_free(&w);
}

/* y initiates, x does not answer: the first retry clears the source. */
static void retransmit_clears(void)
{
	struct mg_peer *px;
	struct mg_endpoint home;

	start();
	px = wire_peer(&w, Y, X);
	home = w.nodes[X].addr;
	data_arrives_at(2, 7, false);
	cut();
	wire_advance(&w, REKEY_TIMEOUT / MSEC + 1, 100); /* past the handshake's rate limit */
	mg_device_send_initiation(px, false);
	CHECK(mg_endpoint_has_local(&px->endpoint));
	CHECK(wire_advance_until_sent(&w, Y, 1, REKEY_TIMEOUT / MSEC + 400, 1) >= 0);
	CHECK(!mg_endpoint_has_local(&px->endpoint));
	CHECK(mg_endpoint_equal(&px->endpoint, &home));
	wire_free(&w);
}

/* y sends data, nothing comes back: the new-handshake timer clears the
 * source when it starts the handshake. */
static void new_handshake_clears(void)
{
	struct mg_peer *px;

	start();
	px = wire_peer(&w, Y, X);
	data_arrives_at(2, 7, false);
	cut();
	wire_send_ip(&w, Y, X, 100);
	wire_advance(&w, (KEEPALIVE_TIMEOUT + REKEY_TIMEOUT) / MSEC - 1, 1);
	CHECK_EQ(w.nodes[Y].sent_by_type[1], 0); /* no handshake yet */
	CHECK(mg_endpoint_has_local(&px->endpoint));
	CHECK(wire_advance_until_sent(&w, Y, 1, 400, 1) >= 0);
	CHECK(!mg_endpoint_has_local(&px->endpoint));
	CHECK(mg_endpoint_equal(&px->endpoint, &w.nodes[X].addr));
	wire_free(&w);
}

int main(void)
{
	wire_quiet();
	moves_with_data();
	retransmit_clears();
	new_handshake_clears();
	mg_test_pass("roaming_source");
	return 0;
}
