/* Roaming (whitepaper 2.1, wireguard.md "Cryptokey routing and roaming"):
 * a peer's endpoint becomes the source address of the latest authenticated
 * packet from it: a transport packet that decrypts and passes the replay
 * check, a valid initiation or a valid response. Cookie replies, packets
 * that fail to decrypt, replays and failed handshakes leave it alone. Node x
 * roams (over IPv4 and IPv6), as the session's initiator and as its
 * responder. */
#include "wire_extra.h"

static struct wire w;

static struct mg_endpoint endpoint6(const char *s)
{
	struct mg_endpoint ep;

	CHECK(mg_endpoint_parse(&ep, s) == 0);
	return ep;
}

static bool at(struct mg_peer *p, const struct mg_endpoint *ep)
{
	return mg_endpoint_equal(&p->endpoint, ep);
}

/* x moves to ep and sends data: y follows, and y's reply reaches x. */
static void data_moves_it(int x, int y, const struct mg_endpoint *ep)
{
	struct mg_peer *py = wire_peer(&w, y, x);

	w.nodes[x].addr = *ep;
	CHECK(!at(py, ep));
	wire_send_ip(&w, x, y, 100);
	wire_pump(&w);
	CHECK(at(py, ep));
	unsigned delivered = w.nodes[x].delivered;
	wire_send_ip(&w, y, x, 100);
	wire_pump(&w);
	CHECK_EQ(w.nodes[x].delivered, delivered + 1);
}

/* Handshake messages move it: x's initiation from a new address, and x's
 * response sent after x moved while y's initiation was on its way. */
static void handshakes_move_it(int x, int y)
{
	struct mg_endpoint a = wire_endpoint4(0xcb007101, 40001); /* 203.0.113.1 */
	struct mg_endpoint b = wire_endpoint4(0xcb007102, 40002);
	struct mg_peer *py = wire_peer(&w, y, x);

	wire_advance(&w, 6000, 100);
	w.nodes[x].addr = a;
	uint64_t done = w.nodes[y].dev.stats.handshakes_completed;
	mg_device_send_initiation(wire_peer(&w, x, y), false);
	CHECK_EQ(w.len, 1);
	struct datagram init;
	CHECK(wire_pop(&w, &init));
	wire_inject(&w, &init);
	CHECK(at(py, &a)); /* before any transport packet */
	wire_pump(&w);
	CHECK_EQ(w.nodes[y].dev.stats.handshakes_completed, done + 1);

	wire_advance(&w, 6000, 100);
	mg_device_send_initiation(wire_peer(&w, y, x), false);
	w.nodes[x].addr = b;
	struct datagram resp;
	CHECK(wire_pop(&w, &init));
	wire_inject(&w, &init);
	CHECK(wire_pop(&w, &resp));
	CHECK_EQ(resp.buf[0], 2);
	CHECK(at(py, &a));
	wire_inject(&w, &resp);
	CHECK(at(py, &b));
	wire_pump(&w);
}

/* What must not move it, each sent from elsewhere. */
static void others_do_not(int x, int y)
{
	struct mg_endpoint home = w.nodes[x].addr;
	struct mg_endpoint elsewhere = wire_endpoint4(0xc6336463, 6666); /* 198.51.100.99 */
	struct mg_peer *py = wire_peer(&w, y, x);
	struct datagram d, bad, init, cookie;
	struct mg_device_stats *s = &w.nodes[y].dev.stats;

	CHECK(at(py, &home));
	/* Data that fails to decrypt. */
	wire_send_ip(&w, x, y, 100);
	CHECK(wire_pop(&w, &d));
	bad = d;
	bad.buf[40] ^= 1;
	wire_receive(&w, y, &elsewhere, bad.buf, bad.len);
	CHECK_EQ(s->rx_decrypt_failed, 1);
	CHECK(at(py, &home));
	/* Data under no known index. */
	bad = d;
	bad.buf[5] ^= 0x40;
	wire_receive(&w, y, &elsewhere, bad.buf, bad.len);
	CHECK_EQ(s->rx_unknown_index, 1);
	CHECK(at(py, &home));
	/* The genuine packet from home, then replayed from elsewhere. */
	wire_inject(&w, &d);
	wire_receive(&w, y, &elsewhere, d.buf, d.len);
	CHECK_EQ(s->rx_replayed, 1);
	CHECK(at(py, &home));

	/* A replayed initiation (valid mac1, fails the timestamp check). */
	wire_advance(&w, 6000, 100);
	mg_device_send_initiation(wire_peer(&w, x, y), false);
	CHECK(wire_pop(&w, &init));
	wire_inject(&w, &init);
	wire_pump(&w);
	uint64_t failed = s->rx_handshake_failed;
	wire_receive(&w, y, &elsewhere, init.buf, init.len);
	CHECK_EQ(s->rx_handshake_failed, failed + 1);
	CHECK(at(py, &home));
	/* A bad mac1. */
	init.buf[20] ^= 1;
	wire_receive(&w, y, &elsewhere, init.buf, init.len);
	CHECK_EQ(s->rx_bad_mac1, 1);
	CHECK(at(py, &home));

	/* A genuine cookie reply from x, arriving from elsewhere: y takes the
	 * cookie but stays where it was. */
	wire_advance(&w, 6000, 100);
	w.nodes[x].dev.force_under_load = true;
	mg_device_send_initiation(py, false);
	CHECK(wire_pop(&w, &init));
	wire_inject(&w, &init);
	CHECK(wire_pop(&w, &cookie));
	CHECK_EQ(cookie.buf[0], 3);
	w.nodes[x].dev.force_under_load = false;
	wire_receive(&w, y, &elsewhere, cookie.buf, cookie.len);
	CHECK(py->cookie.cookie_valid);
	CHECK_EQ(s->rx_bad_cookie, 0);
	CHECK(at(py, &home));
	/* y resends its initiation at once (device.h), still to x. */
	CHECK(wire_pop(&w, &d));
	CHECK_EQ(d.buf[0], 1);
	CHECK_EQ(d.to, x);
	wire_flush(&w);

	/* And a genuine, fresh data packet from elsewhere does move it. */
	wire_send_ip(&w, x, y, 100);
	CHECK(wire_pop(&w, &d));
	wire_receive(&w, y, &elsewhere, d.buf, d.len);
	CHECK(at(py, &elsewhere));
	wire_flush(&w);
}

static void roam(int x, int i)
{
	int y = 1 - x;
	struct mg_endpoint v4 = wire_endpoint4(0xcb007105, 40000); /* 203.0.113.5 */
	struct mg_endpoint v6 = endpoint6("[2001:db8::5]:51820");

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_handshake(&w, i, 1 - i);
	data_moves_it(x, y, &v4);
	data_moves_it(x, y, &v6);
	handshakes_move_it(x, y);
	data_moves_it(x, y, &v4);
	others_do_not(x, y);
	wire_free(&w);
}

int main(void)
{
	wire_quiet();
	for (int x = 0; x < 2; x++)
		for (int i = 0; i < 2; i++)
			roam(x, i);
	mg_test_pass("roaming");
	return 0;
}
