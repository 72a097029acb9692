/* Peers reached through a relay (device.h, "Relays"): two devices on the
 * in-memory wire whose send op plays the relay as well. A datagram sent to
 * RELAY must start with the prefix its sender was given; the relay strips it
 * and hands the rest to the destination through mg_device_receive_relayed.
 * Everything else crosses the wire directly.
 *
 * The send op also checks the buffer contract (enum mg_send_kind), as the
 * engine's batching relies on it: a sealed datagram lies in the slot of the
 * packet being sent, at most once per mg_device_send_packet, and is still
 * the same bytes when that call returns; a relayed one is always transient.
 *
 * What it shows: a handshake and data both ways entirely through the relay
 * with the prefix on every datagram, no endpoint ever moved onto the relay's
 * address, direct sending again once the relay is cleared, a direct packet
 * that moves the endpoint but keeps the relay, cookie replies under load
 * through the relay, and the setter's bounds. */
#include "wire_extra.h"

#include <errno.h>

enum {
	A = 0,
	B = 1
};

static struct wire w;
static struct mg_endpoint relay_addr;
static uint8_t prefix[2][MG_RELAY_PREFIX_MAX];
static const size_t prefix_len[2] = { MG_RELAY_PREFIX_MAX, 5 };

static unsigned sent_direct[2], sent_relayed[2], sealed[2];
/* The packet in the device's hands (mg_device_send_packet) and the sealed
 * datagram it gave back, kept to see it was not touched afterwards. */
static const uint8_t *slot, *slot_end;
static const uint8_t *sealed_at;
static uint8_t sealed_copy[2048];
static size_t sealed_len;
static size_t relayed_len; /* of the last datagram to the relay */

static bool in_slot(const uint8_t *buf, size_t len)
{
	return slot && buf >= slot && buf < slot_end && len <= (size_t)(slot_end - buf);
}

static void check_kind(enum mg_send_kind kind, const uint8_t *buf, size_t len)
{
	if (kind == MG_SEND_TRANSIENT)
		return;
	CHECK(in_slot(buf, len));
	CHECK(sealed_at == NULL); /* once per packet */
	sealed_at = buf;
	sealed_len = len;
	memcpy(sealed_copy, buf, len);
}

static void queue(int to, const struct mg_endpoint *from, const uint8_t *buf, size_t len)
{
	struct datagram *d = &w.queue[(w.head + w.len) % WIRE_QUEUE];

	CHECK(w.len < WIRE_QUEUE && len <= sizeof(d->buf));
	w.len++;
	d->to = to;
	d->from = *from;
	d->len = len;
	memcpy(d->buf, buf, len);
}

/* The relay: the sender's prefix names the destination (its byte 3). */
static void relay(int n, enum mg_send_kind kind, const uint8_t *buf, size_t len)
{
	CHECK(kind == MG_SEND_TRANSIENT);
	CHECK(!in_slot(buf, len));
	CHECK(len > prefix_len[n]);
	CHECK_MEM(buf, prefix[n], prefix_len[n]);
	sent_relayed[n]++;
	relayed_len = len;
	queue(prefix[n][3], &relay_addr, buf + prefix_len[n], len - prefix_len[n]);
}

static int relay_send(void *ctx, const struct mg_endpoint *to, enum mg_send_kind kind,
		      const uint8_t *buf, size_t len)
{
	struct node *n = ctx;
	int dst;

	check_kind(kind, buf, len);
	if (mg_endpoint_equal_remote(to, &relay_addr)) {
		relay(n->id, kind, buf, len);
		return 0;
	}
	dst = wire_node_by_addr(&w, to);
	CHECK(dst >= 0);
	sent_direct[n->id]++;
	queue(dst, &n->addr, buf, len);
	return 0;
}

static const struct mg_device_ops relay_ops = {
	.send = relay_send,
	.deliver = wire_deliver,
};

/* Delivers until quiet: what came from the relay's address was relayed. */
static void pump(void)
{
	struct datagram d;

	while (wire_pop(&w, &d)) {
		struct mg_device *dev = &w.nodes[d.to].dev;
		if (mg_endpoint_equal(&d.from, &relay_addr))
			mg_device_receive_relayed(dev, &relay_addr, d.buf, d.len);
		else
			mg_device_receive(dev, &d.from, d.buf, d.len);
	}
}

static void advance(uint64_t ms)
{
	for (uint64_t i = 0; i < ms / 100; i++) {
		wire_step_hold(&w, 100);
		pump();
	}
}

/* wire_send_ip with the engine's slot rules checked around the call. */
static void send_ip(int a, int b, size_t len)
{
	static uint8_t buf[MG_DEVICE_HEADROOM + 1500 + MG_DEVICE_TAILROOM];
	uint8_t *pkt = buf + MG_DEVICE_HEADROOM;

	memset(pkt, 0xab, len);
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)(len >> 8);
	pkt[3] = (uint8_t)len;
	wire_tunnel_ip(a, pkt + 12);
	wire_tunnel_ip(b, pkt + 16);
	slot = buf;
	slot_end = buf + sizeof(buf);
	sealed_at = NULL;
	mg_device_send_packet(&w.nodes[a].dev, pkt, len);
	if (sealed_at) {
		sealed[a]++;
		CHECK_MEM(sealed_at, sealed_copy, sealed_len);
	}
	slot = slot_end = NULL;
}

static void setup(struct mg_peer **pa, struct mg_peer **pb)
{
	wire_init(&w, 2);
	for (int i = 0; i < 2; i++) {
		w.nodes[i].dev.ops = &relay_ops;
		sent_direct[i] = sent_relayed[i] = sealed[i] = 0;
		mg_random_bytes(prefix[i], sizeof(prefix[i]));
		prefix[i][3] = (uint8_t)(1 - i);
	}
	relay_addr = wire_endpoint4(0xc6336407, 3478); /* 198.51.100.7 */
	wire_pair(&w, A, B, pa, pb);
	CHECK(mg_device_peer_set_relay(*pa, &relay_addr, prefix[A], prefix_len[A]) == 0);
	CHECK(mg_device_peer_set_relay(*pb, &relay_addr, prefix[B], prefix_len[B]) == 0);
}

static bool at(const struct mg_peer *p, const struct mg_endpoint *ep)
{
	return mg_endpoint_equal(&p->endpoint, ep);
}

/* A and B shake hands and exchange data with nothing direct: B does not
 * even know A's address, and learns none from relayed packets. */
static void all_through_relay(struct mg_peer *pa, struct mg_peer *pb)
{
	memset(&pb->endpoint, 0, sizeof(pb->endpoint));
	send_ip(A, B, 84);
	pump();
	CHECK_EQ(w.nodes[B].delivered, 1);
	CHECK_EQ(w.nodes[A].dev.stats.handshakes_completed, 1);
	CHECK_EQ(w.nodes[B].dev.stats.handshakes_completed, 1);
	send_ip(B, A, 1420); /* a full packet: the envelope comes on top */
	CHECK_EQ(w.len, 1);
	CHECK_EQ(relayed_len, prefix_len[B] + MG_DATA_MIN_SIZE + 1420);
	CHECK_EQ(w.queue[w.head].len, MG_DATA_MIN_SIZE + 1420);
	pump();
	CHECK_EQ(w.nodes[A].delivered, 1);
	CHECK_EQ(w.nodes[A].last_delivered_len, 1420);
	advance(30000); /* keepalives, and no roaming from them */
	CHECK_EQ(sent_direct[A] + sent_direct[B] + sealed[A] + sealed[B], 0);
	CHECK(sent_relayed[A] >= 2 && sent_relayed[B] >= 2);
	CHECK_EQ(pb->endpoint.sa.sa_family, 0);
	CHECK(at(pa, &w.nodes[B].addr));
	CHECK(pa->last_rx_relayed && pb->last_rx_relayed);
	CHECK_EQ(pa->rx_direct_packets + pb->rx_direct_packets, 0);
	CHECK(pa->rx_relayed_packets >= 2 && pb->rx_relayed_packets >= 2);
	CHECK_EQ(w.nodes[A].dev.stats.tx_no_endpoint + w.nodes[B].dev.stats.tx_no_endpoint, 0);
}

/* A clears its relay and sends direct, sealed in place. B moves its endpoint
 * for A to the direct packet's source but keeps its own relay, so its
 * answer still goes through it, and A stays where it was. */
static void back_to_direct(struct mg_peer *pa, struct mg_peer *pb)
{
	struct mg_endpoint moved = wire_endpoint4(0xcb007109, 40009); /* 203.0.113.9 */
	unsigned relayed_b = sent_relayed[B];

	CHECK(mg_device_peer_set_relay(pa, NULL, NULL, 0) == 0);
	CHECK_EQ(pa->relay.via.sa.sa_family, 0);
	send_ip(A, B, 100);
	CHECK_EQ(sent_direct[A], 1);
	CHECK_EQ(sealed[A], 1);
	pump();
	CHECK_EQ(w.nodes[B].delivered, 2);
	CHECK(at(pb, &w.nodes[A].addr));
	CHECK(!pb->last_rx_relayed);
	CHECK_EQ(pb->rx_direct_packets, 1);
	CHECK(mg_endpoint_equal(&pb->relay.via, &relay_addr));

	w.nodes[A].addr = moved; /* A roams: direct packets still move B */
	send_ip(A, B, 100);
	pump();
	CHECK(at(pb, &moved));
	CHECK(mg_endpoint_equal(&pb->relay.via, &relay_addr));

	send_ip(B, A, 100);
	CHECK_EQ(sent_relayed[B], relayed_b + 1);
	CHECK_EQ(sent_direct[B] + sealed[B], 0);
	pump();
	CHECK_EQ(w.nodes[A].delivered, 2);
	CHECK(pa->last_rx_relayed);
	CHECK(at(pa, &w.nodes[B].addr));
}

static uint64_t cookies_sent(int n)
{
	return w.nodes[n].dev.stats.rx_cookie_sent;
}

/* Under load (see device.h): B's relayed initiation, which names no peer
 * before the DH, passes on the relay address's rate limit; A, loaded too,
 * answers B's relayed response with a cookie reply through its relay for B;
 * that cookie, made for the relay's address, is B's mac2 next time. */
static void cookies_through_relay(struct mg_peer *pa, struct mg_peer *pb)
{
	w.nodes[B].dev.force_under_load = true;
	mg_device_send_initiation(pa, false);
	pump();
	CHECK_EQ(cookies_sent(B), 0);
	CHECK_EQ(w.nodes[A].dev.stats.handshakes_completed, 1);
	CHECK_EQ(w.nodes[B].dev.stats.handshakes_completed, 1);

	w.nodes[A].dev.force_under_load = true;
	wire_clock_forward(&w, 6000);
	mg_device_send_initiation(pa, false);
	pump(); /* initiation, response, cookie reply */
	CHECK_EQ(cookies_sent(A), 1);
	CHECK(pb->cookie.cookie_valid);
	CHECK_EQ(w.nodes[B].dev.stats.rx_bad_cookie, 0);
	CHECK_EQ(w.nodes[A].dev.stats.handshakes_completed, 1);

	wire_clock_forward(&w, 6000);
	mg_device_send_initiation(pb, false);
	pump(); /* initiation with mac2, response, cookie reply from B */
	CHECK_EQ(cookies_sent(A), 1);
	CHECK_EQ(cookies_sent(B), 1);
	CHECK(pa->cookie.cookie_valid);
	CHECK_EQ(w.nodes[A].dev.stats.rx_ratelimited + w.nodes[B].dev.stats.rx_ratelimited, 0);
	CHECK_EQ(sent_direct[A] + sent_direct[B], 0);
	CHECK(at(pb, &w.nodes[A].addr) && at(pa, &w.nodes[B].addr));
}

static void no_other_handler(void *ctx, const struct mg_endpoint *from, uint8_t *buf, size_t len)
{
	(void)ctx, (void)from, (void)buf, (void)len;
	CHECK(!"a relayed datagram reached the other handler");
}

static void bounds(struct mg_peer *p)
{
	uint8_t big[MG_RELAY_PREFIX_MAX + 1] = { 0 };
	struct mg_endpoint none;
	uint8_t junk[40] = "not wireguard, through a relay";

	memset(&none, 0, sizeof(none));
	mg_device_set_other_handler(p->device, no_other_handler, NULL);
	CHECK(mg_device_peer_set_relay(p, &relay_addr, big, sizeof(big)) == -EINVAL);
	CHECK(mg_device_peer_set_relay(p, &none, big, 4) == -EINVAL);
	CHECK(mg_device_peer_set_relay(p, &relay_addr, NULL, 4) == -EINVAL);
	CHECK(mg_device_peer_set_relay(p, &relay_addr, NULL, 0) == 0);
	CHECK_EQ(p->relay.prefix_len, 0);
	mg_device_receive_relayed(p->device, &relay_addr, junk, sizeof(junk));
	CHECK_EQ(p->device->stats.rx_not_wireguard, 1);
}

int main(void)
{
	struct mg_peer *pa, *pb;

	wire_quiet();
	setup(&pa, &pb);
	all_through_relay(pa, pb);
	back_to_direct(pa, pb);
	wire_free(&w);

	setup(&pa, &pb);
	cookies_through_relay(pa, pb);
	bounds(pa);
	wire_free(&w);
	mg_test_pass("device_relay");
	return 0;
}
