/* Cookies under load (whitepaper 5.4.7, wireguard.md "mac1, mac2 and
 * cookies"), with dev.force_under_load standing in for a flood:
 *  - a loaded responder answers a first initiation with a cookie reply, the
 *    initiator takes the cookie, and its retransmission 5 s later carries a
 *    mac2 made with it, which completes the handshake; the same when the
 *    initiator is the loaded one and the response gets the cookie reply;
 *  - forged, unknown-index, stale (made for an earlier mac1) and repeated
 *    cookie replies are refused (rx_bad_cookie) and change nothing;
 *  - a bad mac1 is dropped silently (rx_bad_mac1), loaded or not;
 *  - the initiator uses a cookie for 115 s, then asks for a new one;
 *  - handshakes with a valid mac2 are rate limited per source address;
 *  - a real flood of handshake messages puts the device under load. */
#include "crypto/blake2s.h"
#include "wire_extra.h"

static struct wire w;

static void check_mac2(const uint8_t *msg, size_t len, const uint8_t cookie[16])
{
	uint8_t mac2[16], zero[16] = { 0 };

	mg_blake2s(mac2, 16, msg, len - 16, cookie, 16);
	CHECK_MEM(msg + len - 16, mac2, 16);
	CHECK(memcmp(mac2, zero, 16) != 0);
}

/* The loaded responder's cookie reply, then the retransmission with mac2. */
static void responder_under_load(int i)
{
	int r = 1 - i;
	struct datagram d;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	struct mg_peer *pi = wire_peer(&w, i, r);
	struct mg_device *dr = &w.nodes[r].dev;
	dr->force_under_load = true;

	wire_send_ip(&w, i, r, 100);
	wire_pump(&w);
	CHECK_EQ(dr->stats.rx_cookie_sent, 1);
	CHECK_EQ(w.nodes[r].sent_by_type[3], 1);
	CHECK_EQ(w.nodes[r].sent_by_type[2], 0);
	CHECK(pi->cookie.cookie_valid);
	CHECK_EQ(w.nodes[i].dev.stats.rx_bad_cookie, 0);
	CHECK_EQ(pi->staged.count, 1);

	long ms = wire_hold_until_sent(&w, i, 1, 6000);
	CHECK(ms >= 5000 && ms <= 5333);
	CHECK(wire_pop_last(&w, &d));
	CHECK_EQ(d.len, sizeof(struct mg_msg_initiation));
	check_mac2(d.buf, d.len, pi->cookie.cookie);
	wire_inject(&w, &d);
	wire_pump(&w);
	CHECK_EQ(dr->stats.rx_cookie_sent, 1);
	CHECK_EQ(dr->stats.rx_ratelimited, 0);
	CHECK_EQ(dr->stats.handshakes_completed, 1);
	CHECK_EQ(w.nodes[i].dev.stats.handshakes_completed, 1);
	CHECK_EQ(w.nodes[r].delivered, 1);

	/* Data keeps flowing under load: only handshakes need cookies. */
	wire_send_ip(&w, i, r, 100);
	wire_send_ip(&w, r, i, 100);
	wire_pump(&w);
	CHECK_EQ(w.nodes[r].delivered, 2);
	CHECK_EQ(w.nodes[i].delivered, 1);
	wire_free(&w);
}

/* The loaded initiator answers the response with a cookie reply; the
 * responder takes it, and its next response carries mac2. */
static void initiator_under_load(int i)
{
	int r = 1 - i;
	struct datagram d;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	struct mg_peer *pr = wire_peer(&w, r, i);
	struct mg_device *di = &w.nodes[i].dev;
	di->force_under_load = true;

	wire_send_ip(&w, i, r, 100);
	wire_pump(&w);
	CHECK_EQ(w.nodes[r].sent_by_type[2], 1);
	CHECK_EQ(di->stats.rx_cookie_sent, 1);
	CHECK(pr->cookie.cookie_valid);
	CHECK_EQ(di->stats.handshakes_completed, 0);

	CHECK(wire_hold_until_sent(&w, i, 1, 6000) >= 5000);
	CHECK(wire_pop_last(&w, &d));
	wire_inject(&w, &d);
	CHECK_EQ(w.nodes[r].sent_by_type[2], 2);
	CHECK(wire_pop(&w, &d));
	CHECK_EQ(d.len, sizeof(struct mg_msg_response));
	check_mac2(d.buf, d.len, pr->cookie.cookie);
	wire_inject(&w, &d);
	wire_pump(&w);
	CHECK_EQ(di->stats.rx_cookie_sent, 1);
	CHECK_EQ(di->stats.handshakes_completed, 1);
	CHECK_EQ(w.nodes[r].dev.stats.handshakes_completed, 1);
	CHECK_EQ(w.nodes[r].delivered, 1);
	wire_free(&w);
}

/* Cookie replies that must not be taken. */
static void bad_cookie_replies(int i)
{
	int r = 1 - i;
	struct datagram c1, c2, d;
	struct mg_msg_cookie_reply forged;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	struct mg_peer *pi = wire_peer(&w, i, r);
	struct mg_device *di = &w.nodes[i].dev;
	w.nodes[r].dev.force_under_load = true;

	wire_send_ip(&w, i, r, 100);
	CHECK(wire_pop(&w, &d));
	wire_inject(&w, &d);
	CHECK(wire_pop(&w, &c1)); /* the cookie reply to initiation 1 */
	CHECK_EQ(c1.buf[0], 3);

	/* Forged: the right index, random contents. */
	memset(&forged, 0, sizeof(forged));
	forged.type = htole32(MG_MSG_COOKIE_REPLY);
	forged.receiver_index = pi->handshake.entry.index;
	mg_random_bytes(forged.nonce, sizeof(forged.nonce));
	mg_random_bytes(forged.encrypted_cookie, sizeof(forged.encrypted_cookie));
	wire_receive(&w, i, &w.nodes[r].addr, (const uint8_t *)&forged, sizeof(forged));
	CHECK_EQ(di->stats.rx_bad_cookie, 1);
	/* A genuine one with its index changed to one nobody has. */
	memcpy(&forged, c1.buf, sizeof(forged));
	forged.receiver_index ^= 0x5a5a5a5a;
	wire_receive(&w, i, &w.nodes[r].addr, (const uint8_t *)&forged, sizeof(forged));
	CHECK_EQ(di->stats.rx_bad_cookie, 2);
	/* A genuine one with one bit of the sealed cookie flipped. */
	memcpy(&forged, c1.buf, sizeof(forged));
	forged.encrypted_cookie[3] ^= 0x10;
	wire_receive(&w, i, &w.nodes[r].addr, (const uint8_t *)&forged, sizeof(forged));
	CHECK_EQ(di->stats.rx_bad_cookie, 3);
	CHECK(!pi->cookie.cookie_valid);

	/* The retransmission has a new mac1; its own cookie reply c2 is good,
	 * c1 (sealed to the old mac1) is now stale. */
	CHECK(wire_hold_until_sent(&w, i, 1, 6000) >= 5000);
	CHECK(wire_pop_last(&w, &d));
	wire_inject(&w, &d);
	CHECK(wire_pop(&w, &c2));
	CHECK_EQ(c2.buf[0], 3);
	wire_inject(&w, &c1);
	CHECK_EQ(di->stats.rx_bad_cookie, 4);
	CHECK(!pi->cookie.cookie_valid);
	wire_inject(&w, &c2);
	CHECK_EQ(di->stats.rx_bad_cookie, 4);
	CHECK(pi->cookie.cookie_valid);
	uint8_t cookie[16];
	memcpy(cookie, pi->cookie.cookie, 16);
	/* The same reply again: nothing was sent since, refused. */
	wire_inject(&w, &c2);
	CHECK_EQ(di->stats.rx_bad_cookie, 5);
	CHECK_MEM(pi->cookie.cookie, cookie, 16);

	/* None of it disturbed the handshake. */
	CHECK(wire_advance_until_sent(&w, i, 1, 6000, 1) > 0);
	CHECK_EQ(di->stats.handshakes_completed, 1);
	CHECK_EQ(w.nodes[r].delivered, 1);
	wire_free(&w);
}

/* Bad mac1 is a silent drop: no cookie reply, no response, loaded or not,
 * for initiations and responses alike. */
static void bad_mac1(int i, bool loaded)
{
	int r = 1 - i;
	struct datagram init, resp, d;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	w.nodes[0].dev.force_under_load = loaded;
	w.nodes[1].dev.force_under_load = loaded;
	struct mg_device *di = &w.nodes[i].dev, *dr = &w.nodes[r].dev;

	wire_send_ip(&w, i, r, 100);
	CHECK(wire_pop(&w, &init));
	static const size_t init_offsets[] = { 4, 8, 40, 100, 116, 131 };
	for (size_t k = 0; k < sizeof(init_offsets) / sizeof(init_offsets[0]); k++) {
		d = init;
		d.buf[init_offsets[k]] ^= 0x01;
		unsigned sent = w.nodes[r].sent;
		wire_inject(&w, &d);
		CHECK_EQ(dr->stats.rx_bad_mac1, k + 1);
		CHECK_EQ(w.nodes[r].sent, sent);
		CHECK_EQ(w.len, 0);
	}
	CHECK_EQ(dr->stats.rx_cookie_sent + dr->stats.rx_handshake_failed, 0);

	/* A response with a bad mac1 at the initiator. */
	if (loaded) {
		w.nodes[r].dev.force_under_load = false;
		w.nodes[i].dev.force_under_load = false;
	}
	wire_inject(&w, &init);
	CHECK(wire_pop(&w, &resp));
	CHECK_EQ(resp.buf[0], 2);
	w.nodes[i].dev.force_under_load = loaded;
	static const size_t resp_offsets[] = { 4, 8, 12, 44, 60, 75 };
	for (size_t k = 0; k < sizeof(resp_offsets) / sizeof(resp_offsets[0]); k++) {
		d = resp;
		d.buf[resp_offsets[k]] ^= 0x80;
		wire_inject(&w, &d);
		CHECK_EQ(di->stats.rx_bad_mac1, k + 1);
		CHECK_EQ(w.len, 0);
	}
	CHECK_EQ(di->stats.rx_cookie_sent + di->stats.rx_handshake_failed, 0);
	CHECK_EQ(di->stats.handshakes_completed, 0);
	w.nodes[i].dev.force_under_load = false;
	wire_inject(&w, &resp);
	wire_pump(&w);
	CHECK_EQ(di->stats.handshakes_completed, 1);
	CHECK_EQ(w.nodes[r].delivered, 1);
	wire_free(&w);
}

/* Node n gets a cookie from the loaded node 1 and completes a handshake. */
static void get_cookie(int n)
{
	struct mg_peer *p = wire_peer(&w, n, 1);

	wire_send_ip(&w, n, 1, 100);
	wire_pump(&w);
	CHECK(p->cookie.cookie_valid);
	CHECK(wire_advance_until_sent(&w, n, 1, 6000, 1) > 0);
	CHECK(p->keypairs.current != NULL);
}

/* A fresh initiation from node n, held back; it carries a valid mac2. */
static void hold_initiation(int n, struct datagram *d)
{
	struct mg_peer *p = wire_peer(&w, n, 1);

	mg_device_send_initiation(p, false);
	CHECK(wire_pop_last(&w, d));
	CHECK_EQ(d->buf[0], 1);
	check_mac2(d->buf, d->len, p->cookie.cookie);
}

/* Valid-mac2 handshakes from one source: a burst of MG_RATELIMITER_BURST,
 * then one per 1/MG_RATELIMITER_PER_SECOND s; another source is not
 * affected. */
static void ratelimit_per_source(void)
{
	struct datagram a, b;

	wire_init(&w, 3);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_pair(&w, 2, 1, NULL, NULL);
	struct mg_device *dr = &w.nodes[1].dev;
	dr->force_under_load = true;
	/* Sources that collide in the rate limiter's table share a bucket, by
	 * design; its key is random, so nodes 0 and 2 would do so once in
	 * 4096 runs. A fixed key gives them slots of their own every time. */
	for (size_t i = 0; i < sizeof(dr->ratelimiter.hash_key); i++)
		dr->ratelimiter.hash_key[i] = (uint8_t)(0x5a + 7 * i);
	get_cookie(0);
	get_cookie(2);
	wire_advance(&w, 6000, 100); /* buckets full again, past REKEY_TIMEOUT */

	hold_initiation(0, &a);
	hold_initiation(2, &b);
	uint64_t limited = dr->stats.rx_ratelimited, failed = dr->stats.rx_handshake_failed;
	unsigned responses = w.nodes[1].sent_by_type[2];
	for (int k = 0; k < 10; k++)
		wire_inject(&w, &a);
	/* The first is taken, the next four are admitted but replay its
	 * timestamp, the other five never reach the handshake code. */
	CHECK_EQ(w.nodes[1].sent_by_type[2], responses + 1);
	CHECK_EQ(dr->stats.rx_handshake_failed, failed + MG_RATELIMITER_BURST - 1);
	CHECK_EQ(dr->stats.rx_ratelimited, limited + 10 - MG_RATELIMITER_BURST);
	CHECK_EQ(dr->stats.rx_cookie_sent, 2);

	/* One more token 50 ms later, not before. */
	wire_step_hold(&w, 1000 / MG_RATELIMITER_PER_SECOND - 1);
	wire_inject(&w, &a);
	CHECK_EQ(dr->stats.rx_ratelimited, limited + 6);
	wire_step_hold(&w, 1);
	wire_inject(&w, &a);
	CHECK_EQ(dr->stats.rx_ratelimited, limited + 6);
	CHECK_EQ(dr->stats.rx_handshake_failed, failed + MG_RATELIMITER_BURST);
	wire_inject(&w, &a);
	CHECK_EQ(dr->stats.rx_ratelimited, limited + 7);

	/* Another source at the same instant is not limited. */
	wire_inject(&w, &b);
	CHECK_EQ(w.nodes[1].sent_by_type[2], responses + 2);
	CHECK_EQ(dr->stats.rx_ratelimited, limited + 7);
	wire_flush(&w);
	wire_free(&w);
}

/* The initiator uses a cookie for COOKIE_SECRET_MAX_AGE -
 * COOKIE_SECRET_LATENCY = 115 s: at 110 s its initiation still carries a
 * mac2 the loaded responder takes, at 115 s it carries none and gets a new
 * cookie reply. */
static void cookie_expiry(int i)
{
	int r = 1 - i;
	struct datagram d;
	const uint8_t zero[16] = { 0 };

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	struct mg_peer *pi = wire_peer(&w, i, r);
	struct mg_device *dr = &w.nodes[r].dev;
	dr->force_under_load = true;
	wire_send_ip(&w, i, r, 100);
	wire_pump(&w);
	CHECK(pi->cookie.cookie_valid);
	uint64_t born = pi->cookie.cookie_birth;
	CHECK(wire_advance_until_sent(&w, i, 1, 6000, 1) > 0);
	CHECK_EQ(dr->stats.handshakes_completed, 1);

	wire_advance_to(&w, born, 110000, 100);
	mg_device_send_initiation(pi, false);
	CHECK(wire_pop_last(&w, &d));
	check_mac2(d.buf, d.len, pi->cookie.cookie);
	wire_inject(&w, &d);
	wire_pump(&w);
	CHECK_EQ(dr->stats.rx_cookie_sent, 1);
	CHECK_EQ(dr->stats.handshakes_completed, 2);

	wire_advance_to(&w, born, 115000, 100);
	mg_device_send_initiation(pi, false);
	CHECK(wire_pop_last(&w, &d));
	CHECK_EQ(d.buf[0], 1);
	CHECK_MEM(d.buf + d.len - 16, zero, 16);
	wire_inject(&w, &d);
	CHECK_EQ(dr->stats.rx_cookie_sent, 2);
	wire_pump(&w);
	CHECK(pi->cookie.cookie_birth == w.clock.mono);
	wire_free(&w);
}

/* Real load, not forced: past MG_HANDSHAKE_LOAD_PER_SECOND handshake
 * messages in one second the responder demands cookies from everyone, until
 * a second after the flood. */
static void under_real_load(void)
{
	struct datagram flood;

	wire_init(&w, 3);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_pair(&w, 2, 1, NULL, NULL);
	struct mg_device *dr = &w.nodes[1].dev;

	mg_device_send_initiation(wire_peer(&w, 0, 1), false);
	CHECK(wire_pop(&w, &flood));
	for (int k = 0; k < MG_HANDSHAKE_LOAD_PER_SECOND; k++)
		wire_inject(&w, &flood); /* the first one is taken, then replays */
	CHECK_EQ(dr->stats.rx_cookie_sent, 0);
	CHECK_EQ(dr->stats.rx_handshake_failed, MG_HANDSHAKE_LOAD_PER_SECOND - 1);
	wire_inject(&w, &flood);
	CHECK_EQ(dr->stats.rx_cookie_sent, 1);
	wire_flush(&w);

	/* Anyone else now gets a cookie reply instead of a response. */
	wire_send_ip(&w, 2, 1, 100);
	wire_pump(&w);
	CHECK_EQ(dr->stats.rx_cookie_sent, 2);
	CHECK_EQ(w.nodes[1].sent_by_type[2], 1);
	CHECK(wire_peer(&w, 2, 1)->cookie.cookie_valid);

	/* A second after the flood, no more: node 0, which has no cookie,
	 * completes a handshake with its retransmission; node 2's carries
	 * mac2 anyway. */
	wire_clock_forward(&w, 1000);
	CHECK(!wire_peer(&w, 0, 1)->cookie.cookie_valid);
	wire_advance(&w, 5000, 100);
	CHECK_EQ(dr->stats.rx_cookie_sent, 2);
	CHECK_EQ(w.nodes[0].dev.stats.handshakes_completed, 1);
	CHECK_EQ(w.nodes[2].dev.stats.handshakes_completed, 1);
	CHECK(!wire_peer(&w, 0, 1)->cookie.cookie_valid);
	wire_free(&w);
}

int main(void)
{
	wire_quiet();
	for (int i = 0; i < 2; i++) {
		responder_under_load(i);
		initiator_under_load(i);
		bad_cookie_replies(i);
		bad_mac1(i, false);
		bad_mac1(i, true);
		cookie_expiry(i);
	}
	ratelimit_per_source();
	under_real_load();
	mg_test_pass("cookie");
	return 0;
}
