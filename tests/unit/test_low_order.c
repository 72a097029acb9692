/* Peers whose public keys are points of small order (the list in the
 * kernel's netns.sh, wireguard.md section 5) make every DH with them zero:
 * with persistent keepalive 1 and packets sent to them, there must be no
 * datagram at all over a minute of fake time, whether our private key was
 * set before or after they were added. An initiation claiming such a key as
 * its sender's static key is refused and answered with nothing. */
#include "wire_extra.h"
#include "low_order_keys.h"

static struct wire w;

static void add_low_order_peers(void)
{
	uint8_t key[32];
	struct mg_peer *p;

	for (size_t k = 0; k < N_LOW; k++) {
		struct mg_prefix pfx = { .family = AF_INET, .cidr = 32, .addr = { 10, 7, 0, 0 } };
		CHECK_EQ(mg_key_from_base64(key, low_order[k]), 0);
		CHECK_EQ(mg_device_add_peer(&w.nodes[0].dev, key, &p), 0);
		mg_device_peer_set_endpoint(p, &w.nodes[1].addr);
		pfx.addr[3] = (uint8_t)(k + 1);
		CHECK_EQ(mg_device_peer_add_allowed_ip(p, &pfx), 0);
	}
}

/* Turns persistent keepalive on (which sends a keepalive at once) and sends
 * a packet to each peer. */
static void poke_peers(void)
{
	mg_peer_table_for_each(&w.nodes[0].dev.peers, p)
	{
		mg_device_peer_set_persistent_keepalive(p, 0);
		mg_device_peer_set_persistent_keepalive(p, 1);
	}
	for (size_t k = 0; k < N_LOW; k++) {
		uint8_t src[4] = { 10, 0, 0, 1 }, dst[4] = { 10, 7, 0, (uint8_t)(k + 1) };
		wire_send_ipv4(&w, 0, src, dst, 100);
	}
}

static void check_silent_for_a_minute(void)
{
	for (int s = 0; s < 60; s++) {
		wire_advance(&w, 1000, 100);
		if (s % 10 == 0)
			poke_peers(); /* more packets, and again */
	}
	CHECK_EQ(w.nodes[0].sent, 0);
	CHECK_EQ(w.nodes[1].sent, 0);
	CHECK_EQ(stats_rx_dropped(&w.nodes[1].dev.stats), 0);
	CHECK_EQ(w.nodes[0].dev.stats.tx_no_route, 0);
	mg_peer_table_for_each(&w.nodes[0].dev.peers, p)
	{
		CHECK(p->keypairs.current == NULL);
		CHECK_EQ(p->handshake.state, MG_HANDSHAKE_ZEROED);
	}
}

/* Our key first, then the peers. */
static void key_then_peers(void)
{
	wire_init(&w, 2);
	add_low_order_peers();
	CHECK_EQ(w.nodes[0].dev.peers.count, N_LOW);
	poke_peers();
	check_silent_for_a_minute();
	wire_free(&w);
}

/* The peers first, on a device with no key; then the key. */
static void peers_then_key(void)
{
	wire_init(&w, 2);
	mg_device_set_private_key(&w.nodes[0].dev, NULL);
	add_low_order_peers();
	poke_peers();
	mg_device_set_private_key(&w.nodes[0].dev, w.nodes[0].private_key);
	poke_peers();
	check_silent_for_a_minute();
	wire_free(&w);
}

/* Someone sends node 0 an initiation whose encrypted static key is a
 * low-order point that node 0 has as a peer: the static-static DH is zero,
 * so it fails and node 0 answers nothing. */
static void initiation_from_low_order_key(void)
{
	static struct mg_index_table indices;
	struct mg_static_identity fake;
	struct mg_handshake hs;
	struct mg_cookie_maker maker;
	struct mg_msg_initiation msg;

	wire_init(&w, 2);
	add_low_order_peers();
	mg_index_table_init(&indices);
	for (size_t k = 0; k < N_LOW; k++) {
		memset(&fake, 0, sizeof(fake));
		mg_x25519_generate(fake.private_key, fake.public_key);
		CHECK_EQ(mg_key_from_base64(fake.public_key, low_order[k]), 0);
		fake.has_identity = true;
		mg_noise_handshake_init(&hs, NULL, &fake, w.nodes[0].public_key, NULL);
		CHECK(mg_noise_create_initiation(&msg, &hs, &fake, &indices, &w.clock.wall));
		mg_cookie_maker_init(&maker, w.nodes[0].public_key);
		mg_cookie_add_macs(&maker, (uint8_t *)&msg, sizeof(msg), w.clock.mono);
		wire_receive(&w, 0, &w.nodes[1].addr, (const uint8_t *)&msg, sizeof(msg));
		CHECK_EQ(w.nodes[0].dev.stats.rx_bad_mac1, 0);
		CHECK_EQ(w.nodes[0].dev.stats.rx_handshake_failed, k + 1);
		mg_noise_handshake_clear(&hs, &indices);
	}
	CHECK_EQ(w.nodes[0].sent, 0);
	CHECK_EQ(w.len, 0);
	wire_free(&w);
}

int main(void)
{
	wire_quiet();
	key_then_peers();
	peers_then_key();
	initiation_from_low_order_key();
	mg_test_pass("low_order");
	return 0;
}
