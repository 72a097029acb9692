/* Handshake retransmission with the other side black-holed, on the fake
 * clock in 1 ms steps: an initiation every REKEY_TIMEOUT + jitter (0-333 ms),
 * never two within REKEY_TIMEOUT even while the application keeps sending,
 * MAX_TIMER_HANDSHAKES + 2 = 20 tries in all; then the staged packets are
 * dropped, and REJECT_AFTER_TIME * 3 after the last session was derived (or
 * after giving up, when there was none) every key is wiped. Run for both
 * nodes, and for a node that was the initiator and one that was the
 * responder of the session that expired. */
#include "wire_extra.h"

#define TRIES	      (MAX_TIMER_HANDSHAKES + 2)
#define JITTER_MAX_MS (REKEY_TIMEOUT_JITTER_MAX_MS - 1)
#define TIMEOUT_MS    (REKEY_TIMEOUT / MSEC)

static struct wire w;

/* Steps 1 ms at a time for at most `ms`, recording when node n sent
 * initiations, until it has sent `want` of them. */
static unsigned record_initiations(int n, uint64_t ms, uint64_t *at, unsigned want)
{
	unsigned count = 0;

	for (uint64_t t = 0; t < ms && count < want; t++) {
		unsigned before = w.nodes[n].sent_by_type[1];
		wire_advance(&w, 1, 1);
		for (unsigned k = before; k < w.nodes[n].sent_by_type[1]; k++) {
			CHECK(count < want);
			at[count++] = w.clock.mono;
		}
	}
	return count;
}

/* The gaps between tries are REKEY_TIMEOUT plus a jitter that varies. */
static void check_spacing(const uint64_t *at, unsigned n)
{
	uint64_t min = UINT64_MAX, max = 0;

	for (unsigned k = 1; k < n; k++) {
		uint64_t gap = (at[k] - at[k - 1]) / MSEC;
		if (gap < TIMEOUT_MS || gap > TIMEOUT_MS + JITTER_MAX_MS) {
			fprintf(stderr, "try %u came %llu ms after the previous one\n", k + 1,
				(unsigned long long)gap);
			exit(1);
		}
		min = gap < min ? gap : min;
		max = gap > max ? gap : max;
	}
	CHECK(max > min); /* 19 equal draws out of 334 would be no jitter */
}

/* After the last try's timer: staged packets dropped, zeroing armed. */
static uint64_t check_give_up(struct mg_peer *p)
{
	uint64_t give_up = p->timers.deadline[MG_TIMER_RETRANSMIT_HANDSHAKE];

	CHECK(give_up != 0);
	wire_advance_to(&w, give_up - MSEC, 0, 1);
	CHECK(p->staged.count > 0);
	wire_advance(&w, 1, 1);
	CHECK_EQ(p->staged.count, 0);
	CHECK_EQ(p->timers.deadline[MG_TIMER_RETRANSMIT_HANDSHAKE], 0);
	return give_up;
}

static void check_zeroed(struct mg_peer *p)
{
	const uint8_t zero[32] = { 0 };

	CHECK(p->keypairs.previous == NULL);
	CHECK(p->keypairs.current == NULL);
	CHECK(p->keypairs.next == NULL);
	CHECK_EQ(p->handshake.state, MG_HANDSHAKE_ZEROED);
	CHECK_MEM(p->handshake.ephemeral_private, zero, 32);
	CHECK_MEM(p->handshake.chaining_key, zero, 32);
	CHECK_MEM(p->handshake.hash, zero, 32);
}

/* No session ever: 20 tries, give up, wipe 540 s after giving up. */
static void fresh(int i, int r)
{
	uint64_t at[64];

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	struct mg_peer *p = wire_peer(&w, i, r);
	w.drop_to[r] = true;

	wire_send_ip(&w, i, r, 100);
	at[0] = w.clock.mono;
	CHECK_EQ(w.nodes[i].sent_by_type[1], 1);
	CHECK_EQ(p->staged.count, 1);
	unsigned n = 1 + record_initiations(i, 120000, at + 1, TRIES - 1);
	CHECK_EQ(n, TRIES);
	check_spacing(at, n);

	uint64_t give_up = check_give_up(p);
	CHECK((give_up - at[n - 1]) / MSEC >= TIMEOUT_MS);
	CHECK_EQ(p->timers.deadline[MG_TIMER_ZERO_KEY_MATERIAL], give_up + 3 * REJECT_AFTER_TIME);
	CHECK_EQ(p->handshake.state, MG_HANDSHAKE_CREATED_INITIATION);
	wire_advance_to(&w, give_up, 3 * REJECT_AFTER_TIME / MSEC - 1, 1000);
	CHECK_EQ(p->handshake.state, MG_HANDSHAKE_CREATED_INITIATION);
	wire_advance(&w, 1, 1);
	check_zeroed(p);
	CHECK_EQ(w.nodes[i].sent_by_type[1], TRIES);
	CHECK_EQ(w.nodes[r].sent, 0);

	/* Nothing more happens on its own; new data starts over. */
	wire_advance(&w, 600000, 1000);
	CHECK_EQ(w.nodes[i].sent, TRIES);
	w.drop_to[r] = false;
	wire_send_ip(&w, i, r, 100);
	wire_pump(&w);
	CHECK_EQ(w.nodes[r].delivered, 1);
	wire_free(&w);
}

/* A session at t0 expires; node s (its initiator or responder) then sends
 * into the void. It gives up after 20 tries, and the keys go at t0 + 540 s,
 * when the zeroing armed by the session fires (giving up does not push it
 * back). */
static void after_session(int s, int i, int r)
{
	uint64_t at[64];
	int other = s == i ? r : i;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_handshake(&w, i, r);
	uint64_t t0 = w.clock.mono;
	struct mg_peer *p = wire_peer(&w, s, other);
	unsigned inits = w.nodes[s].sent_by_type[1];

	wire_advance_to(&w, t0, 181000, 100);
	w.drop_to[other] = true;
	wire_send_ip(&w, s, other, 100);
	at[0] = w.clock.mono;
	CHECK_EQ(w.nodes[s].sent_by_type[1], inits + 1);
	unsigned n = 1 + record_initiations(s, 120000, at + 1, TRIES - 1);
	CHECK_EQ(n, TRIES);
	check_spacing(at, n);
	check_give_up(p);
	CHECK_EQ(p->timers.deadline[MG_TIMER_ZERO_KEY_MATERIAL], t0 + 3 * REJECT_AFTER_TIME);

	wire_advance_to(&w, t0, 3 * REJECT_AFTER_TIME / MSEC - 1000, 1000);
	CHECK(p->keypairs.current != NULL);
	wire_advance_to(&w, t0, 3 * REJECT_AFTER_TIME / MSEC, 1000);
	check_zeroed(p);
	/* The other side derived its session at t0 too. */
	check_zeroed(wire_peer(&w, other, s));
	wire_free(&w);
}

/* The application keeps sending while no response comes: every packet asks
 * for a handshake, and still no two initiations are closer than
 * REKEY_TIMEOUT. */
static void busy_sender(int i, int r)
{
	uint64_t at[64];
	unsigned n = 0;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	w.drop_to[r] = true;
	for (int k = 0; k < 590; k++) {
		unsigned before = w.nodes[i].sent_by_type[1];
		wire_send_ip(&w, i, r, 100);
		if (w.nodes[i].sent_by_type[1] != before)
			at[n++] = w.clock.mono;
		n += record_initiations(i, 50, at + n, 64 - n);
	}
	CHECK_EQ(n, 6); /* 29.5 s */
	for (unsigned k = 1; k < n; k++) {
		uint64_t gap = (at[k] - at[k - 1]) / MSEC;
		CHECK(gap >= TIMEOUT_MS && gap <= TIMEOUT_MS + 50);
	}
	CHECK(wire_peer(&w, i, r)->staged.count <= MAX_STAGED_PACKETS);
	wire_free(&w);
}

int main(void)
{
	wire_quiet();
	CHECK_EQ(TRIES, 20);
	for (int i = 0; i < 2; i++) {
		fresh(i, 1 - i);
		after_session(i, i, 1 - i);
		after_session(1 - i, i, 1 - i);
		busy_sender(i, 1 - i);
	}
	mg_test_pass("timers_retransmit");
	return 0;
}
