/* What stops a keypair from sending, and what must not stop it receiving,
 * as the kernel and wireguard-go do it:
 *  1. setting the private key we already have changes nothing (wireguard-go
 *     SetPrivateKey returns at once when the key is equal; the kernel's
 *     netlink.c skips to skip_set_private_key);
 *  2. a new private key expires the sessions for sending, and the next
 *     packet starts a handshake at once, even within REKEY_TIMEOUT of the
 *     last one (kernel wg_noise_expire_current_peer_keypairs clears the
 *     handshake and calls wg_noise_reset_last_sent_handshake; wireguard-go
 *     ExpireCurrentKeypairs sets lastSentHandshake back likewise);
 *  3. after a new private key, packets the peer sealed under the current
 *     session still decrypt (the kernel clears only sending.is_valid;
 *     wireguard-go only sets sendNonce to RejectAfterMessages);
 *  4. a keypair that reached REJECT_AFTER_MESSAGES on the sending side still
 *     receives (receiving.is_valid and sending.is_valid are separate in the
 *     kernel; receive.c only looks at the receiving counter).
 * Each runs with x as the session's initiator and as its responder; every
 * failure is reported before the exit status says so. */
#include "wire_extra.h"

static struct wire w;
static int failures;

static void fail(const char *what, int x, int i)
{
	fprintf(stderr, "%s (node %d, the session's %s)\n", what, x,
		x == i ? "initiator" : "responder");
	failures++;
}

/* A session with i as initiator, quiet from 11 s on; returns its birth. */
static uint64_t setup(int i)
{
	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_handshake(&w, i, 1 - i);
	uint64_t t0 = w.clock.mono;
	wire_advance(&w, 11000, 100);
	return t0;
}

static void new_key(int x)
{
	uint8_t priv[32], pub[32];

	mg_x25519_generate(priv, pub);
	mg_device_set_private_key(&w.nodes[x].dev, priv);
	mg_wipe(priv, sizeof(priv));
}

static void same_key_again(int x, int i)
{
	int y = 1 - x;

	setup(i);
	unsigned inits = w.nodes[x].sent_by_type[1], data = w.nodes[x].sent_by_type[4];
	mg_device_set_private_key(&w.nodes[x].dev, w.nodes[x].private_key);
	wire_send_ip(&w, x, y, 100);
	if (w.nodes[x].sent_by_type[1] != inits || w.nodes[x].sent_by_type[4] != data + 1)
		fail("setting the same private key again expired the session: the next packet "
		     "waited for a new handshake",
		     x, i);
	wire_free(&w);
}

static void new_key_initiates_at_once(int x, int i)
{
	int y = 1 - x;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_handshake(&w, i, 1 - i);
	wire_advance(&w, 1000, 100); /* within REKEY_TIMEOUT of the handshake */
	new_key(x);
	unsigned inits = w.nodes[x].sent_by_type[1], data = w.nodes[x].sent_by_type[4];
	wire_send_ip(&w, x, y, 100);
	CHECK_EQ(w.nodes[x].sent_by_type[4], data); /* staged: the session is expired */
	if (w.nodes[x].sent_by_type[1] != inits + 1)
		fail("after a new private key, the packet waits but no initiation goes out: "
		     "last_sent_handshake still rate-limits it",
		     x, i);
	wire_free(&w);
}

/* y seals a packet under the session, then x's sending side is expired by
 * `expire`; the packet must still be delivered to x. */
static void still_receives(int x, int i, void (*expire)(int x), const char *what)
{
	int y = 1 - x;
	struct datagram d;

	setup(i);
	wire_send_ip(&w, y, x, 100);
	CHECK(wire_pop(&w, &d));
	expire(x);
	wire_flush(&w); /* whatever the expiry sent */
	unsigned delivered = w.nodes[x].delivered;
	uint64_t expired = w.nodes[x].dev.stats.rx_expired_key;
	wire_inject(&w, &d);
	if (w.nodes[x].delivered != delivered + 1) {
		char msg[256];
		snprintf(msg, sizeof(msg),
			 "%s, a packet the peer sealed under the session was dropped "
			 "(rx_expired_key %llu -> %llu)",
			 what, (unsigned long long)expired,
			 (unsigned long long)w.nodes[x].dev.stats.rx_expired_key);
		fail(msg, x, i);
	}
	wire_free(&w);
}

static void exhaust_sending(int x)
{
	struct mg_peer *p = wire_peer(&w, x, 1 - x);

	p->keypairs.current->send_counter = REJECT_AFTER_MESSAGES;
	wire_send_ip(&w, x, 1 - x, 100);
	CHECK_EQ(p->staged.count, 1);
}

int main(void)
{
	wire_quiet();
	for (int i = 0; i < 2; i++) {
		for (int x = 0; x < 2; x++) {
			same_key_again(x, i);
			new_key_initiates_at_once(x, i);
			still_receives(x, i, new_key, "after a new private key");
			still_receives(
				x, i, exhaust_sending,
				"after the keypair reached REJECT_AFTER_MESSAGES for sending");
		}
	}
	if (failures) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	mg_test_pass("keypair_invalidation");
	return 0;
}
