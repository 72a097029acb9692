/* Under load, cookie-less handshake messages with a valid mac1 must not use
 * up the rate-limit budget of their source address. mac1 needs only the
 * responder's public key, so anyone can send such messages with a victim's
 * source address; only messages with a valid mac2 (which needs the cookie
 * sent to that address) may count. The kernel checks the rate limiter only
 * after mac2 validated (cookie.c wg_cookie_validate_packet,
 * VALID_MAC_WITH_COOKIE_BUT_RATELIMITED) and answers every cookie-less
 * message with a cookie reply (receive.c, wg_packet_send_handshake_cookie);
 * wireguard-go does the same (device/receive.go, RoutineHandshake), and
 * device.h says so too ("those with a good mac2 are rate-limited"). */
#include "wire_extra.h"

int main(void)
{
	static struct wire w;
	struct datagram spoofed, genuine;
	struct mg_peer *attacker_view;

	wire_quiet();
	/* Node 0 is a real peer of the loaded node 1; node 2 only knows node
	 * 1's public key, which is all a valid mac1 takes. */
	wire_init(&w, 3);
	wire_pair(&w, 0, 1, NULL, NULL);
	CHECK(mg_device_add_peer(&w.nodes[2].dev, w.nodes[1].public_key, &attacker_view) == 0);
	mg_device_peer_set_endpoint(attacker_view, &w.nodes[1].addr);
	struct mg_device *dr = &w.nodes[1].dev;
	struct mg_peer *victim = wire_peer(&w, 0, 1);
	dr->force_under_load = true;

	/* The victim gets a cookie and a session the normal way. */
	wire_send_ip(&w, 0, 1, 100);
	wire_pump(&w);
	CHECK(victim->cookie.cookie_valid);
	CHECK_EQ(dr->stats.handshakes_completed, 1); /* retried at once */
	wire_advance(&w, 6000, 100);

	/* Twenty cookie-less initiations "from" the victim's address. */
	mg_device_send_initiation(attacker_view, false);
	CHECK(wire_pop_last(&w, &spoofed));
	CHECK_EQ(spoofed.buf[0], 1);
	uint64_t cookies = dr->stats.rx_cookie_sent, limited = dr->stats.rx_ratelimited;
	for (int k = 0; k < 20; k++)
		wire_receive(&w, 1, &w.nodes[0].addr, spoofed.buf, spoofed.len);
	CHECK_EQ(dr->stats.rx_bad_mac1, 0);

	/* Then the victim's own initiation, with a valid mac2. */
	mg_device_send_initiation(victim, false);
	CHECK(wire_pop_last(&w, &genuine));
	unsigned responses = w.nodes[1].sent_by_type[2];
	wire_inject(&w, &genuine);
	if (w.nodes[1].sent_by_type[2] != responses + 1) {
		fprintf(stderr,
			"the victim's initiation with a valid mac2 was dropped (rx_ratelimited "
			"%llu -> %llu): cookie-less messages spoofed from its address used up its "
			"rate-limit budget\n",
			(unsigned long long)limited, (unsigned long long)dr->stats.rx_ratelimited);
		return 1;
	}
	CHECK_EQ(dr->stats.rx_cookie_sent, cookies + 20);
	CHECK_EQ(dr->stats.rx_ratelimited, limited);
	wire_flush(&w);
	wire_free(&w);
	mg_test_pass("cookie_spoofed_flood");
	return 0;
}
