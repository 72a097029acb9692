/* Keepalives and the quiet-peer handshake, on the fake clock: a node that
 * received data and sent nothing back sends a 32-byte keepalive after
 * KEEPALIVE_TIMEOUT (and another one if more data came meanwhile), none if it
 * answered with data; a node that sent data and heard nothing for
 * KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter starts a handshake; persistent
 * keepalive sends every N seconds without other authenticated traffic, once
 * at once when turned on, and stops when turned off. Each runs with the
 * session's initiator and with its responder in the role. */
#include "wire_extra.h"

#define KEEPALIVE_MS (KEEPALIVE_TIMEOUT / MSEC)

static struct wire w;

/* A session between nodes 0 and 1 with `initiator` starting it, quiet
 * from the returned time on (the responder's keepalive at +10 s is past). */
static uint64_t setup(int initiator)
{
	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_handshake(&w, initiator, 1 - initiator);
	wire_advance(&w, 11000, 100);
	return w.clock.mono;
}

static unsigned data_msgs(int n)
{
	return w.nodes[n].sent_by_type[4];
}

/* x sends data to y at t1; y answers with one 32-byte keepalive at
 * t1 + 10 s; after that both stay quiet (x's quiet-peer timer was disarmed
 * by the keepalive, and a keepalive is not answered). */
static void passive_keepalive(int initiator, int x)
{
	uint64_t t1 = setup(initiator);
	int y = 1 - x;
	struct mg_peer *py = wire_peer(&w, y, x);

	wire_send_ip(&w, x, y, 100);
	wire_pump(&w);
	unsigned y_data = data_msgs(y), x_sent = w.nodes[x].sent;
	uint64_t y_tx = py->tx_bytes;
	wire_advance_to(&w, t1, KEEPALIVE_MS - 1, 1);
	CHECK_EQ(data_msgs(y), y_data);
	wire_advance(&w, 1, 1);
	CHECK_EQ(data_msgs(y), y_data + 1);
	CHECK_EQ(py->tx_bytes - y_tx, MG_DATA_MIN_SIZE);
	CHECK_EQ(w.nodes[x].delivered + w.nodes[y].delivered, 2); /* handshake's + this */

	wire_advance(&w, 60000, 100);
	CHECK_EQ(w.nodes[x].sent, x_sent);
	CHECK_EQ(data_msgs(y), y_data + 1);
	CHECK_EQ(w.nodes[0].sent_by_type[1] + w.nodes[1].sent_by_type[1], 1);
	wire_free(&w);
}

/* y answers x's data with data within KEEPALIVE_TIMEOUT: no keepalive from
 * y; x, which got data and sent nothing since, keepalives in turn. */
static void no_keepalive_after_reply(int initiator, int x)
{
	uint64_t t1 = setup(initiator);
	int y = 1 - x;

	wire_send_ip(&w, x, y, 100);
	wire_pump(&w);
	wire_advance_to(&w, t1, 5000, 100);
	wire_send_ip(&w, y, x, 100);
	wire_pump(&w);
	unsigned y_data = data_msgs(y), x_data = data_msgs(x);
	wire_advance_to(&w, t1, 5000 + KEEPALIVE_MS - 100, 100);
	CHECK_EQ(data_msgs(y), y_data);
	CHECK_EQ(data_msgs(x), x_data);
	wire_advance_to(&w, t1, 5000 + KEEPALIVE_MS, 100);
	CHECK_EQ(data_msgs(x), x_data + 1);
	wire_advance_to(&w, t1, 60000, 100);
	CHECK_EQ(data_msgs(y), y_data);
	CHECK_EQ(data_msgs(x), x_data + 1);
	wire_free(&w);
}

/* More data while the keepalive timer runs: one keepalive when it expires
 * and one more KEEPALIVE_TIMEOUT later (need_another_keepalive), then no
 * more. */
static void another_keepalive(int initiator, int x)
{
	uint64_t t1 = setup(initiator);
	int y = 1 - x;

	wire_send_ip(&w, x, y, 100);
	wire_pump(&w);
	wire_advance_to(&w, t1, 5000, 100);
	wire_send_ip(&w, x, y, 100);
	wire_pump(&w);
	unsigned y_data = data_msgs(y);
	wire_advance_to(&w, t1, KEEPALIVE_MS, 100);
	CHECK_EQ(data_msgs(y), y_data + 1);
	wire_advance_to(&w, t1, 2 * KEEPALIVE_MS - 100, 100);
	CHECK_EQ(data_msgs(y), y_data + 1);
	wire_advance_to(&w, t1, 2 * KEEPALIVE_MS, 100);
	CHECK_EQ(data_msgs(y), y_data + 2);
	wire_advance_to(&w, t1, 60000, 100);
	CHECK_EQ(data_msgs(y), y_data + 2);
	wire_free(&w);
}

/* x sends data into the void: a handshake starts after 15 s + jitter, not
 * before. */
static void new_handshake_when_quiet(int initiator, int x)
{
	setup(initiator);
	int y = 1 - x;
	unsigned inits = w.nodes[x].sent_by_type[1];

	w.drop_to[y] = true;
	wire_send_ip(&w, x, y, 100);
	CHECK_EQ(w.nodes[x].sent_by_type[1], inits);
	long ms = wire_advance_until_sent(&w, x, 1, 20000, 1);
	long base = (long)((KEEPALIVE_TIMEOUT + REKEY_TIMEOUT) / MSEC);
	CHECK(ms >= base && ms <= base + REKEY_TIMEOUT_JITTER_MAX_MS - 1);
	CHECK_EQ(w.nodes[x].sent_by_type[1], inits + 1);
	/* From then on it is an ordinary handshake that completes. */
	w.drop_to[y] = false;
	CHECK(wire_advance_until_sent(&w, x, 1, 6000, 1) > 0);
	CHECK_EQ(w.nodes[x].dev.stats.handshakes_completed, 2);
	wire_free(&w);
}

/* Persistent keepalive 7 s on x's side: one at once, then every 7 s;
 * traffic either way pushes the next one back; 0 turns it off. */
static void persistent_keepalive(int initiator, int x)
{
	uint64_t t1 = setup(initiator);
	int y = 1 - x;
	struct mg_peer *px = wire_peer(&w, x, y);
	unsigned y_sent = w.nodes[y].sent, y_delivered = w.nodes[y].delivered;
	uint64_t x_tx = px->tx_bytes;
	unsigned x_data = data_msgs(x);

	mg_device_peer_set_persistent_keepalive(px, 7);
	CHECK_EQ(data_msgs(x), x_data + 1);
	CHECK_EQ(px->tx_bytes - x_tx, MG_DATA_MIN_SIZE);
	for (int k = 0; k < 3; k++)
		CHECK_EQ(wire_advance_until_sent(&w, x, 4, 8000, 100), 7000);
	CHECK_EQ(w.clock.mono - t1, 21 * SEC);
	CHECK_EQ(w.nodes[y].sent, y_sent); /* keepalives are not answered */
	CHECK_EQ(w.nodes[y].delivered, y_delivered);

	/* Received data re-arms it: next one 7 s after that. */
	wire_advance_to(&w, t1, 25000, 100);
	wire_send_ip(&w, y, x, 100);
	wire_pump(&w);
	CHECK_EQ(wire_advance_until_sent(&w, x, 4, 8000, 100), 7000);
	/* So does sent data. */
	wire_advance_to(&w, t1, 33000, 100);
	wire_send_ip(&w, x, y, 100);
	wire_pump(&w);
	CHECK_EQ(wire_advance_until_sent(&w, x, 4, 8000, 100), 7000);

	/* Setting the same interval again sends nothing extra. */
	x_data = data_msgs(x);
	mg_device_peer_set_persistent_keepalive(px, 7);
	CHECK_EQ(data_msgs(x), x_data);

	mg_device_peer_set_persistent_keepalive(px, 0);
	x_data = data_msgs(x);
	wire_advance(&w, 60000, 100);
	CHECK_EQ(data_msgs(x), x_data);
	CHECK_EQ(w.nodes[0].sent_by_type[1] + w.nodes[1].sent_by_type[1], 1);
	wire_free(&w);
}

/* Turning persistent keepalive on with no session starts a handshake at
 * once; the keepalive follows it. */
static void persistent_keepalive_without_session(int x)
{
	int y = 1 - x;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	mg_device_peer_set_persistent_keepalive(wire_peer(&w, x, y), 25);
	CHECK_EQ(w.nodes[x].sent_by_type[1], 1);
	wire_pump(&w);
	CHECK_EQ(w.nodes[x].dev.stats.handshakes_completed, 1);
	CHECK_EQ(w.nodes[y].dev.stats.handshakes_completed, 1);
	CHECK_EQ(w.nodes[x].sent_by_type[4], 1);
	CHECK_EQ(w.nodes[y].delivered, 0);
	CHECK_EQ(wire_advance_until_sent(&w, x, 4, 26000, 100), 25000);
	wire_free(&w);
}

int main(void)
{
	wire_quiet();
	for (int initiator = 0; initiator < 2; initiator++) {
		for (int x = 0; x < 2; x++) {
			passive_keepalive(initiator, x);
			no_keepalive_after_reply(initiator, x);
			another_keepalive(initiator, x);
			new_handshake_when_quiet(initiator, x);
			persistent_keepalive(initiator, x);
		}
		persistent_keepalive_without_session(initiator);
	}
	mg_test_pass("timers_keepalive");
	return 0;
}
