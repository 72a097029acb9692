/* Cryptokey routing (whitepaper 2, wireguard.md "Cryptokey routing"): on
 * send, the destination address picks the peer by longest prefix, and no
 * match is a drop (tx_no_route); on receive, a decrypted packet whose source
 * address does not route back to the peer that sent it is a drop
 * (rx_not_allowed). IPv4 and IPv6. Node 0 has two peers with nested
 * prefixes: node 1 has 10.1.0.0/16 and fd01::/32, node 2 the more specific
 * 10.1.2.0/24 and fd01:0:2::/48. */
#include "wire_extra.h"

static struct wire w;

static struct mg_prefix prefix(const char *s)
{
	struct mg_prefix p;

	CHECK(mg_prefix_parse(&p, s, true) == 0);
	return p;
}

static void addr(const char *s, uint8_t out[16])
{
	struct mg_prefix p = prefix(s);

	memcpy(out, p.addr, 16);
}

static void allow(int a, int b, const char *s)
{
	struct mg_prefix p = prefix(s);

	CHECK(mg_device_peer_add_allowed_ip(wire_peer(&w, a, b), &p) == 0);
}

/* a and b know each other, with endpoints and no allowed IPs yet. */
static void link_nodes(int a, int b)
{
	struct mg_peer *p;

	CHECK(mg_device_add_peer(&w.nodes[a].dev, w.nodes[b].public_key, &p) == 0);
	mg_device_peer_set_endpoint(p, &w.nodes[b].addr);
	CHECK(mg_device_add_peer(&w.nodes[b].dev, w.nodes[a].public_key, &p) == 0);
	mg_device_peer_set_endpoint(p, &w.nodes[a].addr);
}

static void setup(void)
{
	wire_init(&w, 3);
	link_nodes(0, 1);
	link_nodes(0, 2);
	allow(0, 1, "10.1.0.0/16");
	allow(0, 1, "fd01::/32");
	allow(0, 2, "10.1.2.0/24");
	allow(0, 2, "fd01:0:2::/48");
	allow(1, 0, "10.0.0.1/32");
	allow(1, 0, "fd00::1/128");
	allow(2, 0, "10.0.0.1/32");
	allow(2, 0, "fd00::1/128");
}

static unsigned delivered(int n)
{
	return w.nodes[n].delivered;
}

/* Sends from node `from` with the given inner addresses; returns which node
 * got it on its TUN (-1: none). */
static int route(int from, const char *src, const char *dst, size_t len)
{
	uint8_t s[16], d[16];
	unsigned before[3] = { delivered(0), delivered(1), delivered(2) };

	addr(src, s);
	addr(dst, d);
	if (strchr(src, ':'))
		wire_send_ipv6(&w, from, s, d, len);
	else
		wire_send_ipv4(&w, from, s, d, len);
	wire_pump(&w);
	int got = -1;
	for (int n = 0; n < 3; n++) {
		if (delivered(n) != before[n]) {
			CHECK_EQ(delivered(n), before[n] + 1);
			CHECK(got < 0);
			got = n;
			CHECK_EQ(w.nodes[n].last_delivered_len, len);
		}
	}
	return got;
}

struct tx_row {
	const char *dst;
	int to; /* -1: no route */
};

static const struct tx_row tx_rows[] = {
	{ "10.1.2.5", 2 },	 { "10.1.2.255", 2 },	    { "10.1.2.0", 2 },
	{ "10.1.3.5", 1 },	 { "10.1.0.1", 1 },	    { "10.1.255.255", 1 },
	{ "10.2.0.1", -1 },	 { "10.0.0.2", -1 },	    { "192.0.2.1", -1 },
	{ "fd01:0:2::5", 2 },	 { "fd01:0:2:ffff::1", 2 }, { "fd01:0:3::5", 1 },
	{ "fd01:0:ffff::1", 1 }, { "fd01:ffff::1", -1 },    { "fd02::1", -1 },
	{ "::1", -1 },
};

static void send_side(void)
{
	for (size_t k = 0; k < sizeof(tx_rows) / sizeof(tx_rows[0]); k++) {
		const struct tx_row *row = &tx_rows[k];
		const char *src = strchr(row->dst, ':') ? "fd00::1" : "10.0.0.1";
		uint64_t no_route = w.nodes[0].dev.stats.tx_no_route;
		unsigned sent = w.nodes[0].sent;
		int got = route(0, src, row->dst, strchr(row->dst, ':') ? 120 : 100);
		if (got != row->to) {
			fprintf(stderr, "packet to %s reached node %d, expected %d\n", row->dst,
				got, row->to);
			exit(1);
		}
		if (row->to < 0) {
			CHECK_EQ(w.nodes[0].dev.stats.tx_no_route, no_route + 1);
			CHECK_EQ(w.nodes[0].sent, sent);
		}
	}
}

struct rx_row {
	int from;
	const char *src;
	bool allowed;
};

/* Packets to node 0 from each peer, with sources inside or outside what
 * node 0 routes to that peer. */
static const struct rx_row rx_rows[] = {
	{ 1, "10.1.3.7", true },     { 1, "10.1.0.1", true },	 { 1, "10.1.2.7", false },
	{ 1, "10.9.9.9", false },    { 1, "10.0.0.1", false },	 { 2, "10.1.2.7", true },
	{ 2, "10.1.3.7", false },    { 2, "192.0.2.9", false },	 { 1, "fd01:0:3::7", true },
	{ 1, "fd01:0:2::7", false }, { 2, "fd01:0:2::7", true }, { 2, "fd01:0:3::7", false },
	{ 2, "fd02::7", false },     { 1, "fd00::1", false },
};

static void receive_side(void)
{
	for (size_t k = 0; k < sizeof(rx_rows) / sizeof(rx_rows[0]); k++) {
		const struct rx_row *row = &rx_rows[k];
		bool v6 = strchr(row->src, ':') != NULL;
		uint64_t not_allowed = w.nodes[0].dev.stats.rx_not_allowed;
		int got = route(row->from, row->src, v6 ? "fd00::1" : "10.0.0.1", v6 ? 60 : 44);
		if ((got == 0) != row->allowed) {
			fprintf(stderr, "packet from node %d with source %s %s delivered\n",
				row->from, row->src, got == 0 ? "was" : "was not");
			exit(1);
		}
		CHECK_EQ(w.nodes[0].dev.stats.rx_not_allowed, not_allowed + !row->allowed);
	}
}

/* A default route catches what nothing more specific claims. */
static void default_route(void)
{
	allow(0, 1, "0.0.0.0/0");
	allow(0, 1, "::/0");
	CHECK_EQ(route(0, "10.0.0.1", "10.2.0.1", 100), 1);
	CHECK_EQ(route(0, "10.0.0.1", "198.51.100.7", 100), 1);
	CHECK_EQ(route(0, "10.0.0.1", "10.1.2.9", 100), 2);
	CHECK_EQ(route(0, "fd00::1", "2001:db8::1", 100), 1);
	CHECK_EQ(route(0, "fd00::1", "fd01:0:2::9", 100), 2);
	CHECK_EQ(route(1, "198.51.100.7", "10.0.0.1", 100), 0);
	CHECK_EQ(route(2, "198.51.100.7", "10.0.0.1", 100), -1);
}

/* The same checks on the plain two-node wire, whichever side initiated:
 * the responder and the initiator both filter by source. */
static void both_roles(int i)
{
	int r = 1 - i;
	uint8_t src[4] = { 10, 0, 0, 99 }, dst[4];

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_handshake(&w, i, r);
	for (int from = 0; from < 2; from++) {
		int to = 1 - from;
		wire_tunnel_ip(to, dst);
		unsigned before = delivered(to);
		wire_send_ipv4(&w, from, src, dst, 60);
		wire_pump(&w);
		CHECK_EQ(delivered(to), before);
		CHECK_EQ(w.nodes[to].dev.stats.rx_not_allowed, 1);
		dst[3] = 99;
		uint64_t no_route = w.nodes[from].dev.stats.tx_no_route;
		wire_send_ipv4(&w, from, src, dst, 60);
		CHECK_EQ(w.nodes[from].dev.stats.tx_no_route, no_route + 1);
	}
	wire_free(&w);
}

int main(void)
{
	wire_quiet();
	setup();
	send_side();
	receive_side();
	default_route();
	wire_free(&w);
	both_roles(0);
	both_roles(1);
	mg_test_pass("cryptokey_routing");
	return 0;
}
