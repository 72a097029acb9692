/* The device's packet filter (mg_device_filter): inbound sees each
 * decrypted packet that passed the allowed-IPs check, with its peer and IP
 * length, before delivery, and a false drops it (rx_filtered); outbound
 * sees each routed packet from the TUN with the peer it goes to. With no
 * filter, or after it is cleared, no hook is called. */
#include "wire_extra.h"

static struct wire w;

struct calls {
	unsigned in, out;
	bool verdict;
	const struct mg_peer *peer;
	size_t len;
};

static bool on_in(void *ctx, const struct mg_peer *peer, const uint8_t *pkt, size_t len)
{
	struct calls *c = ctx;

	CHECK((pkt[0] >> 4) == 4);
	c->in++;
	c->peer = peer;
	c->len = len;
	return c->verdict;
}

static void on_out(void *ctx, const struct mg_peer *peer, const uint8_t *pkt, size_t len)
{
	struct calls *c = ctx;

	CHECK((pkt[0] >> 4) == 4);
	c->out++;
	c->peer = peer;
	c->len = len;
}

int main(void)
{
	struct calls rx = { 0 }, tx = { 0 };
	const struct mg_device_filter fin = { on_in, NULL, &rx }, fout = { NULL, on_out, &tx };
	unsigned delivered;

	wire_quiet();
	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_handshake(&w, 0, 1);
	mg_device_set_filter(&w.nodes[1].dev, &fin);
	mg_device_set_filter(&w.nodes[0].dev, &fout);

	delivered = w.nodes[1].delivered;
	wire_send_ip(&w, 0, 1, 100);
	wire_pump(&w);
	CHECK_EQ(tx.out, 1);
	CHECK(tx.peer == wire_peer(&w, 0, 1));
	CHECK_EQ(tx.len, 100);
	CHECK_EQ(rx.in, 1);
	CHECK(rx.peer == wire_peer(&w, 1, 0));
	CHECK_EQ(rx.len, 100); /* the IP length, not the padded one */
	CHECK_EQ(w.nodes[1].delivered, delivered);
	CHECK_EQ(w.nodes[1].dev.stats.rx_filtered, 1);

	rx.verdict = true;
	wire_send_ip(&w, 0, 1, 60);
	wire_pump(&w);
	CHECK_EQ(rx.in, 2);
	CHECK_EQ(w.nodes[1].delivered, delivered + 1);
	CHECK_EQ(w.nodes[1].last_delivered_len, 60);
	CHECK_EQ(w.nodes[1].dev.stats.rx_filtered, 1);

	/* Cleared: no calls, everything delivered. */
	mg_device_set_filter(&w.nodes[1].dev, NULL);
	mg_device_set_filter(&w.nodes[0].dev, NULL);
	rx.verdict = false;
	wire_send_ip(&w, 0, 1, 60);
	wire_pump(&w);
	CHECK_EQ(rx.in, 2);
	CHECK_EQ(tx.out, 2);
	CHECK_EQ(w.nodes[1].delivered, delivered + 2);
	wire_free(&w);
	mg_test_pass("device_filter");
	return 0;
}
