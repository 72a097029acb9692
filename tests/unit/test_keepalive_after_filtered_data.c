/* An authenticated data packet counts as data received for the timers even
 * when its inner packet is then dropped (source outside the peer's allowed
 * IPs, or no sound IP header): the kernel calls wg_timers_data_received()
 * before those checks (receive.c, wg_packet_consume_data_done), and so does
 * wireguard-go (timersDataReceived() in RoutineSequentialReceiver). So the
 * receiver answers with a keepalive after KEEPALIVE_TIMEOUT, and the sender,
 * which hears back, starts no handshake after KEEPALIVE_TIMEOUT +
 * REKEY_TIMEOUT. Run with the receiver as the session's initiator and as its
 * responder. */
#include "wire_extra.h"

static struct wire w;
static int failures;

static void check(int x, int i, const char *what, uint64_t stat_before, const uint64_t *stat)
{
	int y = 1 - x;
	unsigned keepalives = w.nodes[x].sent_by_type[4], inits = w.nodes[y].sent_by_type[1];

	CHECK_EQ(*stat, stat_before + 1);
	wire_advance(&w, 10000, 100);
	bool keepalive = w.nodes[x].sent_by_type[4] == keepalives + 1;
	wire_advance(&w, 10000, 100);
	bool handshake = w.nodes[y].sent_by_type[1] != inits;
	if (!keepalive || handshake) {
		fprintf(stderr,
			"node %d (the session's %s) took data it then dropped (%s): %s, and its "
			"peer "
			"%s\n",
			x, x == i ? "initiator" : "responder", what,
			keepalive ? "sent a keepalive" : "sent no keepalive after 10 s",
			handshake ? "started a new handshake after 15 s" : "stayed quiet");
		failures++;
	}
}

static void filtered(int x, int i)
{
	int y = 1 - x;
	uint8_t src[4] = { 10, 0, 0, 99 }, dst[4];

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_handshake(&w, i, 1 - i);
	wire_advance(&w, 11000, 100);
	wire_tunnel_ip(x, dst);
	uint64_t before = w.nodes[x].dev.stats.rx_not_allowed;
	wire_send_ipv4(&w, y, src, dst, 60);
	wire_pump(&w);
	check(x, i, "source not allowed", before, &w.nodes[x].dev.stats.rx_not_allowed);
	wire_free(&w);
}

static void not_ip(int x, int i)
{
	int y = 1 - x;
	uint8_t buf[MG_DEVICE_HEADROOM + 64 + MG_DEVICE_TAILROOM];
	uint8_t *pkt = buf + MG_DEVICE_HEADROOM;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, NULL, NULL);
	wire_handshake(&w, i, 1 - i);
	wire_advance(&w, 11000, 100);
	/* Sent as IPv4 (the sender routes on bytes 16-19) with a total length
	 * below 20, which the receiver refuses. */
	memset(pkt, 0, 64);
	pkt[0] = 0x45;
	pkt[3] = 10;
	wire_tunnel_ip(y, pkt + 12);
	wire_tunnel_ip(x, pkt + 16);
	uint64_t before = w.nodes[x].dev.stats.rx_bad_ip;
	mg_device_send_packet(&w.nodes[y].dev, pkt, 64);
	wire_pump(&w);
	check(x, i, "not a sound IP packet", before, &w.nodes[x].dev.stats.rx_bad_ip);
	wire_free(&w);
}

int main(void)
{
	wire_quiet();
	for (int i = 0; i < 2; i++) {
		for (int x = 0; x < 2; x++) {
			filtered(x, i);
			not_ip(x, i);
		}
	}
	if (failures) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	mg_test_pass("keepalive_after_filtered_data");
	return 0;
}
