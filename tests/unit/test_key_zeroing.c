/* REJECT_AFTER_TIME * 3 = 540 s after the last session was derived, every
 * key of a peer is wiped, on both sides: no keypair in any slot, the
 * handshake zeroed and no index left in the device's table. A rekey
 * (another derivation) pushes the deadline back. Either node initiates. */
#include "wire_extra.h"

#define ZERO_MS (3 * REJECT_AFTER_TIME / MSEC)

static struct wire w;

static bool has_keys(const struct mg_peer *p)
{
	return p->keypairs.previous || p->keypairs.current || p->keypairs.next;
}

static void check_wiped(int n, struct mg_peer *p)
{
	const uint8_t zero[32] = { 0 };

	CHECK(!has_keys(p));
	CHECK_EQ(p->handshake.state, MG_HANDSHAKE_ZEROED);
	CHECK_MEM(p->handshake.ephemeral_private, zero, 32);
	CHECK_MEM(p->handshake.remote_ephemeral, zero, 32);
	CHECK_MEM(p->handshake.chaining_key, zero, 32);
	CHECK_MEM(p->handshake.hash, zero, 32);
	CHECK_EQ(w.nodes[n].dev.indices.count, 0);
	CHECK_EQ(p->timers.deadline[MG_TIMER_ZERO_KEY_MATERIAL], 0);
}

/* One session at t0, then silence: wiped at t0 + 540 s, not before. */
static void after_one_session(int i)
{
	int r = 1 - i;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_handshake(&w, i, r);
	uint64_t t0 = w.clock.mono;
	struct mg_peer *pi = wire_peer(&w, i, r), *pr = wire_peer(&w, r, i);

	wire_advance_to(&w, t0, 11000, 100); /* r's keepalive */
	unsigned sent = w.nodes[0].sent + w.nodes[1].sent;
	wire_advance_to(&w, t0, ZERO_MS - 100, 100);
	CHECK(pi->keypairs.current && pr->keypairs.current);
	CHECK(pi->keypairs.previous == NULL && pr->keypairs.next == NULL);
	wire_advance_to(&w, t0, ZERO_MS, 100);
	check_wiped(i, pi);
	check_wiped(r, pr);
	CHECK_EQ(w.nodes[0].sent + w.nodes[1].sent, sent);

	/* A new packet starts a new session. */
	wire_handshake(&w, r, i);
	wire_free(&w);
}

/* A rekey at t0 + 125 s derives a new session on both sides (and leaves the
 * old keypair in the previous slot): everything, old and new, goes at
 * t0 + 125 s + 540 s. */
static void after_rekey(int i)
{
	int r = 1 - i;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_handshake(&w, i, r);
	uint64_t t0 = w.clock.mono;
	struct mg_peer *pi = wire_peer(&w, i, r), *pr = wire_peer(&w, r, i);

	wire_advance_to(&w, t0, 125000, 100);
	wire_send_ip(&w, i, r, 100);
	wire_pump(&w);
	CHECK_EQ(w.nodes[i].dev.stats.handshakes_completed, 2);
	CHECK(pi->keypairs.previous && pr->keypairs.previous);
	uint64_t t1 = w.clock.mono;

	wire_advance_to(&w, t0, ZERO_MS, 1000);
	CHECK(has_keys(pi) && has_keys(pr));
	wire_advance_to(&w, t1, ZERO_MS - 100, 100);
	CHECK(pi->keypairs.current && pr->keypairs.current);
	wire_advance_to(&w, t1, ZERO_MS, 100);
	check_wiped(i, pi);
	check_wiped(r, pr);
	wire_free(&w);
}

int main(void)
{
	wire_quiet();
	for (int i = 0; i < 2; i++) {
		after_one_session(i);
		after_rekey(i);
	}
	mg_test_pass("key_zeroing");
	return 0;
}
