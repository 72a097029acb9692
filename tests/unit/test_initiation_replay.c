/* Replay and flood protection of initiations (whitepaper 5.1, wireguard.md
 * "Replay and flood checks on the responder"): an initiation is taken only
 * if its TAI64N timestamp is greater than the last one taken from that peer,
 * and no sooner than 1 s / INITIATIONS_PER_SECOND = 20 ms after it. Refused
 * ones count as rx_handshake_failed and are answered with nothing. The
 * initiations are made at chosen times; the sender's own once-per-
 * REKEY_TIMEOUT limit is lifted for that by clearing last_sent_handshake. */
#include "wire_extra.h"

static struct wire w;
static int i, r;

/* A new initiation from i at the current time, held back. */
static struct datagram make(void)
{
	struct datagram d;

	wire_peer(&w, i, r)->last_sent_handshake = 0;
	mg_device_send_initiation(wire_peer(&w, i, r), false);
	CHECK(wire_pop_last(&w, &d));
	CHECK_EQ(d.buf[0], 1);
	return d;
}

/* Delivers d to r now; true if r took it (and answered). */
static bool offer(const struct datagram *d)
{
	uint64_t failed = w.nodes[r].dev.stats.rx_handshake_failed;
	unsigned responses = w.nodes[r].sent_by_type[2];

	wire_inject(&w, d);
	bool taken = w.nodes[r].sent_by_type[2] == responses + 1;
	CHECK_EQ(w.nodes[r].dev.stats.rx_handshake_failed, failed + !taken);
	wire_flush(&w);
	return taken;
}

static void run(int initiator)
{
	i = initiator;
	r = 1 - i;
	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);

	struct datagram older = make();
	wire_clock_forward(&w, 100);
	struct datagram newer = make();
	CHECK(offer(&newer));
	wire_clock_forward(&w, 1000);
	CHECK(!offer(&newer)); /* the same timestamp */
	CHECK(!offer(&older)); /* an older one, long after */

	/* A newer one 19 ms after the last one taken: too soon. */
	wire_clock_forward(&w, 1000);
	struct datagram a = make();
	CHECK(offer(&a));
	wire_clock_forward(&w, 1000 / INITIATIONS_PER_SECOND - 1);
	struct datagram b = make();
	CHECK(!offer(&b));
	/* 20 ms after: taken. b's refusal changed nothing, so b itself is
	 * still good now. */
	wire_clock_forward(&w, 1);
	CHECK(offer(&b));
	wire_clock_forward(&w, 1000 / INITIATIONS_PER_SECOND);
	struct datagram c = make();
	CHECK(offer(&c));

	/* Afterwards an ordinary handshake works. */
	wire_peer(&w, i, r)->last_sent_handshake = 0;
	wire_clock_forward(&w, 1000);
	wire_send_ip(&w, i, r, 100);
	wire_pump(&w);
	CHECK_EQ(w.nodes[r].delivered, 1);
	wire_free(&w);
}

int main(void)
{
	wire_quiet();
	run(0);
	run(1);
	mg_test_pass("initiation_replay");
	return 0;
}
