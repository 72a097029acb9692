/* Rekeying by time and by message count, on the fake clock (wireguard.md,
 * "Timers and limits"): the initiator of a session rekeys when it sends after
 * REKEY_AFTER_TIME and, once, when it receives after REJECT_AFTER_TIME -
 * KEEPALIVE_TIMEOUT - REKEY_TIMEOUT; the responder never rekeys on time; a
 * new keypair pushes the old one to the previous slot, where it still
 * decrypts packets in flight; after REJECT_AFTER_TIME a keypair neither sends
 * nor receives; either side rekeys past REKEY_AFTER_MESSAGES and stops
 * sending at REJECT_AFTER_MESSAGES. Each scenario runs with node 0 and with
 * node 1 as the initiator. */
#include "wire_extra.h"

static struct wire w;

/* A session between i (initiator) and r; returns its birth time. Only R's
 * keepalive at +10 s follows, answering I's first packet. */
static uint64_t setup(int i, int r)
{
	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_handshake(&w, i, r);
	CHECK_EQ(w.nodes[i].sent_by_type[1], 1);
	return w.clock.mono;
}

static unsigned initiations(int n)
{
	return w.nodes[n].sent_by_type[1];
}

/* The initiator sends after REKEY_AFTER_TIME: the packet goes with the old
 * keypair and a handshake starts; the new keypair becomes current and the
 * old one previous, on both sides. */
static void rekey_after_time_on_send(int i, int r)
{
	uint64_t t0 = setup(i, r);
	struct mg_peer *pi = wire_peer(&w, i, r), *pr = wire_peer(&w, r, i);
	struct mg_keypair *old_i = pi->keypairs.current, *old_r = pr->keypairs.current;

	wire_advance_to(&w, t0, 119900, 100);
	wire_send_ip(&w, i, r, 100);
	wire_pump(&w);
	CHECK_EQ(initiations(i), 1);
	CHECK(pi->keypairs.current == old_i);

	wire_advance_to(&w, t0, 120000, 100);
	unsigned delivered = w.nodes[r].delivered;
	wire_send_ip(&w, i, r, 100);
	CHECK_EQ(initiations(i), 2);
	wire_pump(&w);
	CHECK_EQ(w.nodes[r].delivered, delivered + 1);
	CHECK_EQ(w.nodes[i].dev.stats.handshakes_completed, 2);
	CHECK_EQ(w.nodes[r].dev.stats.handshakes_completed, 2);
	CHECK(pi->keypairs.current != old_i && pi->keypairs.previous == old_i);
	CHECK(pr->keypairs.current != old_r && pr->keypairs.previous == old_r);
	CHECK(pr->keypairs.next == NULL);
	CHECK(pi->keypairs.current->i_am_the_initiator);
	CHECK_EQ(initiations(r), 0);
	wire_free(&w);
}

/* The responder sends after REKEY_AFTER_TIME and keeps its keypair. */
static void responder_does_not_rekey_on_time(int i, int r)
{
	uint64_t t0 = setup(i, r);
	struct mg_peer *pr = wire_peer(&w, r, i);
	struct mg_keypair *old_r = pr->keypairs.current;

	for (uint64_t ms = 120000; ms <= 125000; ms += 1000) {
		wire_advance_to(&w, t0, ms, 100);
		unsigned delivered = w.nodes[i].delivered;
		wire_send_ip(&w, r, i, 100);
		CHECK_EQ(initiations(r), 0);
		wire_pump(&w);
		CHECK_EQ(w.nodes[i].delivered, delivered + 1);
		CHECK(pr->keypairs.current == old_r);
		/* Receiving before REJECT - KEEPALIVE - REKEY does not rekey. */
		CHECK_EQ(initiations(i), 1);
	}
	wire_free(&w);
}

/* The initiator receives after 165 s: it sends one initiation, once. */
static void lastminute_handshake_on_receive(int i, int r)
{
	uint64_t t0 = setup(i, r);
	struct mg_peer *pi = wire_peer(&w, i, r);
	const uint64_t lastminute =
		(REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) / MG_NSEC_PER_MSEC;

	CHECK_EQ(lastminute, 165000);
	wire_advance_to(&w, t0, lastminute - 100, 100);
	wire_send_ip(&w, r, i, 100);
	wire_pump(&w);
	CHECK_EQ(initiations(i), 1);
	CHECK(!pi->timers.sent_lastminute_handshake);

	wire_advance_to(&w, t0, lastminute, 100);
	w.drop_to[r] = true; /* the handshake must not complete yet */
	wire_send_ip(&w, r, i, 100);
	wire_pump(&w);
	CHECK_EQ(initiations(i), 2);
	CHECK(pi->timers.sent_lastminute_handshake);

	/* After the first retransmission, more data arrives: no second
	 * last-minute initiation (which would restart the attempt count). */
	long ms = wire_advance_until_sent(&w, i, 1, 6000, 1);
	CHECK(ms >= 5000 && ms <= 5333);
	CHECK_EQ(pi->timers.handshake_attempts, 1);
	wire_send_ip(&w, r, i, 100);
	wire_pump(&w);
	CHECK_EQ(initiations(i), 3);
	CHECK_EQ(pi->timers.handshake_attempts, 1);
	CHECK_EQ(initiations(r), 0);

	/* The next retransmission gets through and completes a handshake. */
	w.drop_to[r] = false;
	CHECK(wire_advance_until_sent(&w, i, 1, 6000, 1) > 0);
	CHECK_EQ(w.nodes[i].dev.stats.handshakes_completed, 2);
	CHECK(!pi->timers.sent_lastminute_handshake);
	CHECK_EQ(initiations(r), 0);
	wire_free(&w);
}

/* Packets sealed with the old keypair and delivered after the new one took
 * over are still decrypted, through the previous slot, on both sides. */
static void previous_keypair_decrypts_in_flight(int i, int r)
{
	uint64_t t0 = setup(i, r);
	struct mg_peer *pi = wire_peer(&w, i, r), *pr = wire_peer(&w, r, i);
	struct mg_keypair *old_i = pi->keypairs.current, *old_r = pr->keypairs.current;
	struct datagram to_i, to_r;

	wire_advance_to(&w, t0, 121000, 100);
	wire_send_ip(&w, r, i, 200);
	CHECK(wire_pop(&w, &to_i));
	wire_send_ip(&w, i, r, 300); /* data, then the initiation */
	CHECK(wire_pop(&w, &to_r));
	CHECK(to_i.buf[0] == 4 && to_r.buf[0] == 4);
	wire_pump(&w);
	CHECK(pi->keypairs.previous == old_i && pi->keypairs.current != old_i);
	CHECK(pr->keypairs.previous == old_r && pr->keypairs.current != old_r);

	unsigned di = w.nodes[i].delivered, dr = w.nodes[r].delivered;
	wire_inject(&w, &to_i);
	wire_inject(&w, &to_r);
	CHECK_EQ(w.nodes[i].delivered, di + 1);
	CHECK_EQ(w.nodes[i].last_delivered_len, 200);
	CHECK_EQ(w.nodes[r].delivered, dr + 1);
	CHECK_EQ(w.nodes[r].last_delivered_len, 300);

	/* New packets go out under the new keypair. */
	wire_send_ip(&w, i, r, 100);
	struct datagram d;
	CHECK(wire_pop(&w, &d));
	uint32_t idx;
	memcpy(&idx, d.buf + 4, 4);
	CHECK_EQ(idx, pr->keypairs.current->entry.index);
	wire_free(&w);
}

/* After REJECT_AFTER_TIME the keypair no longer seals: the packet waits and
 * a handshake starts. Up to then it was used (the responder shows it; the
 * initiator would have rekeyed at 120 s). */
static void reject_after_time_send(int sender, int i, int r)
{
	uint64_t t0 = setup(i, r);
	int other = sender == i ? r : i;
	struct mg_peer *ps = wire_peer(&w, sender, other);
	unsigned data_sent, inits;

	if (sender == r) {
		wire_advance_to(&w, t0, 179900, 100);
		data_sent = w.nodes[sender].sent_by_type[4];
		wire_send_ip(&w, sender, other, 100);
		CHECK_EQ(w.nodes[sender].sent_by_type[4], data_sent + 1);
		CHECK_EQ(initiations(sender), 0);
		/* Delivered, it would make the initiator rekey (last minute). */
		wire_flush(&w);
	}
	wire_advance_to(&w, t0, 180000, 100);
	data_sent = w.nodes[sender].sent_by_type[4];
	inits = initiations(sender);
	unsigned delivered = w.nodes[other].delivered;
	wire_send_ip(&w, sender, other, 100);
	CHECK_EQ(w.nodes[sender].sent_by_type[4], data_sent);
	CHECK_EQ(initiations(sender), inits + 1);
	CHECK_EQ(ps->staged.count, 1);
	wire_pump(&w);
	CHECK_EQ(ps->staged.count, 0);
	CHECK_EQ(w.nodes[other].delivered, delivered + 1);
	CHECK(ps->keypairs.current->birth == w.clock.mono);
	wire_free(&w);
}

/* A packet sealed just before REJECT_AFTER_TIME and delivered at it is
 * refused (rx_expired_key); one delivered just before is taken. */
static void reject_after_time_receive(int sender, int i, int r)
{
	uint64_t t0 = setup(i, r);
	int other = sender == i ? r : i;
	struct datagram held[2], d;
	int n = 0;

	wire_advance_to(&w, t0, 179800, 100);
	wire_send_ip(&w, sender, other, 100);
	wire_send_ip(&w, sender, other, 100);
	while (wire_pop(&w, &d)) /* the initiator also sends an initiation */
		if (d.buf[0] == 4)
			held[n++] = d;
	CHECK_EQ(n, 2);
	w.drop_to[0] = w.drop_to[1] = true;

	wire_advance_to(&w, t0, 179900, 100);
	unsigned delivered = w.nodes[other].delivered;
	wire_inject(&w, &held[0]);
	CHECK_EQ(w.nodes[other].delivered, delivered + 1);
	wire_advance_to(&w, t0, 180000, 100);
	wire_inject(&w, &held[1]);
	CHECK_EQ(w.nodes[other].delivered, delivered + 1);
	CHECK_EQ(w.nodes[other].dev.stats.rx_expired_key, 1);
	wire_free(&w);
}

/* Sending with send_counter at `start`, `sends` times, starts `inits`
 * handshakes: the check is send_counter > REKEY_AFTER_MESSAGES after the
 * packet went, for either role. */
struct messages_row {
	uint64_t start;
	unsigned sends;
	unsigned inits;
};

static const struct messages_row messages_rows[] = {
	{ REKEY_AFTER_MESSAGES - 2, 1, 0 },    { REKEY_AFTER_MESSAGES - 1, 1, 0 },
	{ REKEY_AFTER_MESSAGES - 1, 2, 1 },    { REKEY_AFTER_MESSAGES, 1, 1 },
	{ REKEY_AFTER_MESSAGES + 1000, 1, 1 },
};

static void rekey_after_messages(int sender, int i, int r, const struct messages_row *row)
{
	uint64_t t0 = setup(i, r);
	int other = sender == i ? r : i;
	struct mg_peer *ps = wire_peer(&w, sender, other);

	wire_advance_to(&w, t0, 11000, 100); /* past the handshake rate limit */
	unsigned inits = initiations(sender), delivered = w.nodes[other].delivered;
	ps->keypairs.current->send_counter = row->start;
	for (unsigned k = 0; k < row->sends; k++)
		wire_send_ip(&w, sender, other, 100);
	CHECK_EQ(initiations(sender), inits + row->inits);
	wire_pump(&w);
	CHECK_EQ(w.nodes[other].delivered, delivered + row->sends);
	if (row->inits)
		CHECK(ps->keypairs.current->i_am_the_initiator &&
		      ps->keypairs.current->birth == w.clock.mono);
	wire_free(&w);
}

/* At REJECT_AFTER_MESSAGES the keypair seals nothing more: the last nonce
 * goes out, the next packet waits for the new session. */
static void reject_after_messages_send(int sender, int i, int r)
{
	uint64_t t0 = setup(i, r);
	int other = sender == i ? r : i;
	struct mg_peer *ps = wire_peer(&w, sender, other);
	struct mg_keypair *old = ps->keypairs.current;

	wire_advance_to(&w, t0, 11000, 100);
	unsigned inits = initiations(sender), data = w.nodes[sender].sent_by_type[4];
	unsigned delivered = w.nodes[other].delivered;
	old->send_counter = REJECT_AFTER_MESSAGES - 1;
	wire_send_ip(&w, sender, other, 100);
	CHECK_EQ(w.nodes[sender].sent_by_type[4], data + 1);
	CHECK_EQ(initiations(sender), inits + 1); /* past REKEY_AFTER_MESSAGES too */
	CHECK_EQ(old->send_counter, REJECT_AFTER_MESSAGES);
	wire_send_ip(&w, sender, other, 100);
	CHECK_EQ(w.nodes[sender].sent_by_type[4], data + 1);
	CHECK_EQ(ps->staged.count, 1);
	CHECK_EQ(old->send_counter, REJECT_AFTER_MESSAGES);
	wire_pump(&w);
	CHECK_EQ(w.nodes[other].delivered, delivered + 2);
	CHECK(ps->keypairs.current != old);
	CHECK_EQ(ps->staged.count, 0);
	wire_free(&w);
}

int main(void)
{
	wire_quiet();
	for (int i = 0; i < 2; i++) {
		int r = 1 - i;
		rekey_after_time_on_send(i, r);
		responder_does_not_rekey_on_time(i, r);
		lastminute_handshake_on_receive(i, r);
		previous_keypair_decrypts_in_flight(i, r);
		for (int s = 0; s < 2; s++) {
			reject_after_time_send(s, i, r);
			reject_after_time_receive(s, i, r);
			for (size_t k = 0; k < sizeof(messages_rows) / sizeof(messages_rows[0]);
			     k++)
				rekey_after_messages(s, i, r, &messages_rows[k]);
			reject_after_messages_send(s, i, r);
		}
	}
	mg_test_pass("timers_rekey");
	return 0;
}
