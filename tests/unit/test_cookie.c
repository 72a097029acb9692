/* Cookies under load (whitepaper 5.4.7, wireguard.md "mac1, mac2 and
 * cookies"), with dev.force_under_load standing in for a flood:
 *  - a loaded responder answers a first initiation with a cookie reply, the
 *    initiator takes the cookie and resends its initiation at once, with a
 *    mac2 made with it, which completes the handshake without the clock
 *    moving; once per attempt only; when the initiator is the loaded one,
 *    the response gets the cookie reply and the retransmission completes;
 *  - forged, unknown-index, stale (made for an earlier mac1) and repeated
 *    cookie replies are refused (rx_bad_cookie) and change nothing;
 *  - a bad mac1 is dropped silently (rx_bad_mac1), loaded or not;
 *  - the initiator uses a cookie for 115 s, then asks for a new one;
 *  - handshakes with a valid mac2 are rate limited per source address;
 *  - real load: the share of time handshake work takes (a fake work clock)
 *    turns cookies on, sooner on a slow machine, and off a second later. */
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

/* The loaded responder's cookie reply, and at once, without the clock
 * moving, the initiation again with mac2, which completes the handshake. */
static void responder_under_load(int i)
{
	int r = 1 - i;
	struct datagram d;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	struct mg_peer *pi = wire_peer(&w, i, r);
	struct mg_device *dr = &w.nodes[r].dev;
	uint64_t t0 = w.clock.mono;
	dr->force_under_load = true;

	wire_send_ip(&w, i, r, 100);
	CHECK(wire_pop(&w, &d));
	CHECK_EQ(d.buf[0], 1);
	wire_inject(&w, &d);
	CHECK_EQ(dr->stats.rx_cookie_sent, 1);
	CHECK_EQ(w.nodes[r].sent_by_type[2], 0);
	CHECK(wire_pop(&w, &d));
	CHECK_EQ(d.buf[0], 3);
	wire_inject(&w, &d);
	CHECK(pi->cookie.cookie_valid);
	CHECK_EQ(w.nodes[i].dev.stats.rx_bad_cookie, 0);
	CHECK_EQ(w.nodes[i].sent_by_type[1], 2);

	CHECK(wire_pop_last(&w, &d));
	CHECK_EQ(d.len, sizeof(struct mg_msg_initiation));
	check_mac2(d.buf, d.len, pi->cookie.cookie);
	wire_inject(&w, &d);
	wire_pump(&w);
	CHECK_EQ(w.clock.mono, t0);
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

/* One immediate retry per attempt: when the retry's mac2 is refused too
 * (the responder changed its secret), the second cookie reply is taken but
 * the next initiation waits for the retransmit timer, which then
 * completes the handshake. */
static void retry_once(int i)
{
	int r = 1 - i;
	struct mg_device *dr;
	struct mg_peer *pi;
	struct datagram d;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	pi = wire_peer(&w, i, r);
	dr = &w.nodes[r].dev;
	dr->force_under_load = true;
	wire_send_ip(&w, i, r, 100);
	CHECK(wire_pop(&w, &d));
	wire_inject(&w, &d); /* initiation 1 -> cookie reply 1 */
	CHECK(wire_pop(&w, &d));
	wire_inject(&w, &d); /* cookie reply 1 -> initiation 2, with mac2 */
	CHECK_EQ(w.nodes[i].sent_by_type[1], 2);
	/* A new secret, and so no cached cookie, as a rotation does. */
	dr->cookie_checker.secret[0] ^= 1;
	dr->cookie_checker.cached_len = 0;
	wire_pump(&w); /* initiation 2 -> cookie reply 2, taken */
	CHECK_EQ(dr->stats.rx_cookie_sent, 2);
	CHECK_EQ(w.nodes[i].dev.stats.rx_bad_cookie, 0);
	CHECK(pi->cookie.cookie_valid);
	CHECK_EQ(w.nodes[i].sent_by_type[1], 2);
	CHECK_EQ(dr->stats.handshakes_completed, 0);
	long ms = wire_advance_until_sent(&w, i, 1, 6000, 100);
	CHECK(ms >= 5000 && ms <= 5500);
	wire_pump(&w);
	CHECK_EQ(dr->stats.rx_cookie_sent, 2);
	CHECK_EQ(dr->stats.handshakes_completed, 1);
	CHECK_EQ(w.nodes[r].delivered, 1);
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
	unsigned sent = w.nodes[i].sent_by_type[1];
	wire_inject(&w, &c2);
	CHECK_EQ(di->stats.rx_bad_cookie, 4);
	CHECK(pi->cookie.cookie_valid);
	CHECK_EQ(w.nodes[i].sent_by_type[1], sent + 1); /* the retry, at once */
	uint8_t cookie[16];
	memcpy(cookie, pi->cookie.cookie, 16);
	/* The same reply again: refused (the retry has a new mac1), and no
	 * second retry. */
	wire_inject(&w, &c2);
	CHECK_EQ(di->stats.rx_bad_cookie, 5);
	CHECK_MEM(pi->cookie.cookie, cookie, 16);
	CHECK_EQ(w.nodes[i].sent_by_type[1], sent + 1);

	/* None of it disturbed the handshake: the retry completes it. */
	wire_pump(&w);
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
	CHECK(p->keypairs.current != NULL); /* retried at once */
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
	CHECK_EQ(dr->stats.handshakes_completed, 1); /* retried at once */

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

/* A clock for the responder's handshake work that moves by cost at every
 * reading: each handshake reads it before and after, so each takes cost ns
 * of "work", like a machine that fast or slow. */
struct work_clock {
	struct mg_clock clock;
	uint64_t now, cost;
};

static uint64_t work_mono(const struct mg_clock *c)
{
	struct work_clock *k = (struct work_clock *)c;

	k->now += k->cost;
	return k->now;
}

static struct work_clock wc = { .clock = { .monotonic_ns = work_mono } };

/* The initiation load_after replays. */
static struct datagram last_flood;

/* Node 0's initiation replayed to node 1, per_gap copies every gap_ms, each
 * costing cost_us of work: how many went by before node 1 sent its first
 * cookie reply, or -1 if none of max did. The first is taken, the others
 * fail as replays after their Diffie-Hellman, as a flood's would. */
static long load_after(uint64_t cost_us, uint64_t gap_ms, unsigned per_gap, unsigned max)
{
	struct datagram flood;

	wire_init(&w, 3);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_pair(&w, 2, 1, NULL, NULL);
	wc.cost = cost_us * 1000;
	w.nodes[1].dev.work_clock = &wc.clock;
	mg_device_send_initiation(wire_peer(&w, 0, 1), false);
	CHECK(wire_pop(&w, &flood));
	last_flood = flood;
	for (unsigned k = 0; k < max; k++) {
		if (k % per_gap == 0)
			wire_clock_forward(&w, gap_ms);
		wire_inject(&w, &flood);
		if (w.nodes[1].dev.stats.rx_cookie_sent)
			return (long)k;
	}
	return -1;
}

/* Real load, not forced: the share of time handshakes take decides. 5% on
 * a fast machine (100 us each, 500 a second) never turns cookies on; the
 * same machine at 10,000 a second does within about 111 ms (its bucket
 * fills at 90% of the time); a slow one (2 ms each) does at 100 a second
 * within a second. */
static void load_by_cost(void)
{
	CHECK_EQ(load_after(100, 2, 1, 3000), -1);
	wire_free(&w);
	long k = load_after(100, 1, 10, 3000);
	CHECK(k >= 1000 && k <= 1200);
	wire_free(&w);
	k = load_after(2000, 10, 1, 3000);
	CHECK(k >= 90 && k <= 110);
}

/* Under load, anyone gets a cookie reply instead of a response (and comes
 * back with mac2), until MG_LOAD_HOLD after the expensive work (done, or
 * turned away) stopped. */
static void load_ends(void)
{
	struct mg_device *dr = &w.nodes[1].dev;

	CHECK(load_after(2000, 10, 1, 3000) > 0); /* node 1 now under load */
	wire_flush(&w);
	/* It turned on with the message before, 10 ms ago, and the one just
	 * turned away counted as the work it would have cost (2 ms, the
	 * average), which kept the bucket full: the hold runs from now. */
	CHECK_EQ(dr->under_load_until, w.clock.mono + MG_LOAD_HOLD);
	wire_clock_forward(&w, 999);
	mg_device_send_initiation(wire_peer(&w, 2, 1), false);
	wire_pump(&w);
	/* Node 2 got a cookie reply, resent at once with mac2, and completed
	 * its handshake under load without waiting REKEY_TIMEOUT. */
	CHECK_EQ(dr->stats.rx_cookie_sent, 2);
	CHECK(wire_peer(&w, 2, 1)->cookie.cookie_valid);
	CHECK_EQ(w.nodes[1].sent_by_type[2], 2);
	CHECK_EQ(w.nodes[2].dev.stats.handshakes_completed, 1);

	/* Past the hold, no more: node 0, with no cookie, completes a
	 * handshake without one. */
	wire_clock_forward(&w, 1);
	CHECK(!wire_peer(&w, 0, 1)->cookie.cookie_valid);
	wire_advance(&w, 6000, 100);
	CHECK_EQ(dr->stats.rx_cookie_sent, 2);
	CHECK_EQ(w.nodes[0].dev.stats.handshakes_completed, 1);
	CHECK(!wire_peer(&w, 0, 1)->cookie.cookie_valid);
	wire_free(&w);
}

static uint64_t handshake_work(const struct node *n)
{
	return n->dev.stats.rx_handshake_failed + n->sent_by_type[MG_MSG_RESPONSE];
}

/* A message turned away under load counts as the work it would have cost:
 * a flood that would take more than the share keeps the load on with no
 * Diffie-Hellman at all once it has turned on, for as long as it lasts, and
 * the load ends MG_LOAD_HOLD after the flood stops. */
static void load_lasts(void)
{
	struct mg_device *dr = &w.nodes[1].dev;
	struct datagram flood;
	uint64_t work, cookies;

	CHECK(load_after(100, 1, 10, 3000) > 0); /* 10,000 a second, 100 us each */
	wire_flush(&w);
	flood = last_flood;
	work = handshake_work(&w.nodes[1]);
	cookies = dr->stats.rx_cookie_sent;
	for (unsigned ms = 0; ms < 3000; ms++) {
		wire_clock_forward(&w, 1);
		for (int k = 0; k < 10; k++)
			wire_inject(&w, &flood);
		wire_flush(&w);
	}
	CHECK_EQ(handshake_work(&w.nodes[1]), work);
	CHECK_EQ(dr->stats.rx_cookie_sent, cookies + 30000);

	/* The flood stops: the bucket drains and the hold ends 1 s later. */
	wire_clock_forward(&w, 999);
	wire_inject(&w, &flood);
	CHECK_EQ(dr->stats.rx_cookie_sent, cookies + 30001);
	wire_clock_forward(&w, 1);
	wire_inject(&w, &flood);
	CHECK_EQ(dr->stats.rx_cookie_sent, cookies + 30001);
	CHECK_EQ(handshake_work(&w.nodes[1]), work + 1);
	wire_free(&w);
}

int main(void)
{
	wire_quiet();
	for (int i = 0; i < 2; i++) {
		responder_under_load(i);
		retry_once(i);
		initiator_under_load(i);
		bad_cookie_replies(i);
		bad_mac1(i, false);
		bad_mac1(i, true);
		cookie_expiry(i);
	}
	ratelimit_per_source();
	load_by_cost();
	wire_free(&w);
	load_ends();
	load_lasts();
	mg_test_pass("cookie");
	return 0;
}
