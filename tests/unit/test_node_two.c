/* Three nodes in one process on one loop, through the public API only for
 * the nodes (keys come from the internal generator: the key functions are
 * another test's), with the caller's packet and UDP I/O: no TUN, no socket,
 * no root. Each has its own log level and callback: a node's callback sees
 * only its own lines, and the one at error level sees no info line. A-B and
 * B-C complete handshakes and carry packets both ways; then A is closed (its
 * close callback runs) while B and C go on, and B's status and UAPI still
 * answer. The test's queue hands datagrams over from a uv_idle handle of its
 * own, never from inside a node's callback. */
#include "check.h"

#include "crypto/primitives.h"
#include "meshguard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NODES 3
#define QUEUE 256

struct side {
	int i;
	struct mg_node *node;
	bool closed;
	uint8_t private_key[32], public_key[32];
	char key_prefix[9]; /* how the others' logs name this node */
	struct sockaddr_in addr;
	enum mg_log_level level;
	unsigned log_lines, handshakes;
	bool saw_foreign_line;
	unsigned received;
	uint8_t last_src;
};

struct datagram {
	int from;
	struct sockaddr_in to;
	size_t len;
	uint8_t buf[2048];
};

static uv_loop_t loop;
static uv_idle_t pump;
static struct side sides[NODES];
static struct datagram queue[QUEUE];
static unsigned queued;

static void on_log(void *user, enum mg_log_level level, const char *line)
{
	struct side *s = user;

	CHECK(level <= s->level);
	s->log_lines++;
	/* A and C know only B: the other end's key must never show up. */
	if (s->i != 1 && strstr(line, sides[2 - s->i].key_prefix))
		s->saw_foreign_line = true;
	/* Nor may our own name, when the line is about a peer. */
	if (!strncmp(line, "peer ", 5) && !strncmp(line + 5, s->key_prefix, 8))
		s->saw_foreign_line = true;
}

static void on_event(void *user, const struct mg_event *e)
{
	struct side *s = user;

	if (e->type == MG_EVENT_HANDSHAKE)
		s->handshakes++;
}

static void on_packet(void *user, const uint8_t *packet, size_t len)
{
	struct side *s = user;

	CHECK(len >= 20);
	s->received++;
	s->last_src = packet[15];
}

static int udp_send(void *user, const struct mg_udp_endpoint *to, const uint8_t *buf, size_t len)
{
	struct side *s = user;
	struct datagram *d;

	CHECK_EQ(to->remote.ss_family, AF_INET);
	if (queued == QUEUE || len > sizeof(d->buf))
		return -ENOBUFS;
	d = &queue[queued++];
	d->from = s->i;
	memcpy(&d->to, &to->remote, sizeof(d->to));
	d->len = len;
	memcpy(d->buf, buf, len);
	return 0;
}

/* The wire: from the loop, never from inside a node. */
static void on_pump(uv_idle_t *h)
{
	static struct datagram batch[QUEUE];
	unsigned count = queued;

	(void)h;
	memcpy(batch, queue, count * sizeof(batch[0]));
	queued = 0;
	for (unsigned k = 0; k < count; k++) {
		struct mg_udp_endpoint from = { 0 };

		memcpy(&from.remote, &sides[batch[k].from].addr, sizeof(struct sockaddr_in));
		for (int j = 0; j < NODES; j++) {
			if (sides[j].closed || sides[j].addr.sin_port != batch[k].to.sin_port)
				continue;
			CHECK_EQ(
				mg_node_udp_input(sides[j].node, &from, batch[k].buf, batch[k].len),
				0);
		}
	}
}

static void run_until(bool (*done)(void))
{
	for (int k = 0; k < 10000 && !done(); k++)
		uv_run(&loop, UV_RUN_ONCE);
	CHECK(done());
}

static void make_node(int i, enum mg_log_level level)
{
	struct side *s = &sides[i];
	struct mg_node_config c = MG_NODE_CONFIG_INIT;
	char ifname[8], b64[MG_KEY_BASE64_LEN + 1];

	s->i = i;
	s->level = level;
	mg_x25519_generate(s->private_key, s->public_key);
	mg_key_to_base64(b64, s->public_key);
	memcpy(s->key_prefix, b64, 8);
	s->addr.sin_family = AF_INET;
	s->addr.sin_port = htons((uint16_t)(51820 + i));
	s->addr.sin_addr.s_addr = htonl(0xc0000201 + (uint32_t)i); /* 192.0.2.1+i */
	snprintf(ifname, sizeof(ifname), "node%d", i);
	c.ifname = ifname;
	c.packet_io = MG_PACKET_IO_CALLER;
	c.udp_io = MG_UDP_IO_CALLER;
	c.listen_port = (uint16_t)(51820 + i);
	c.log_level = level;
	c.on_log = on_log;
	c.on_event = on_event;
	c.on_packet = on_packet;
	c.udp_send = udp_send;
	c.user = s;
	CHECK_EQ(mg_node_new(&loop, &c, &s->node), 0);
	CHECK_EQ(mg_node_set_private_key(s->node, s->private_key), 0);
}

static void connect_pair(int a, int b)
{
	for (int k = 0; k < 2; k++) {
		int self = k ? b : a, other = k ? a : b;
		struct mg_peer_config p = MG_PEER_CONFIG_INIT;
		char endpoint[48], ip[24];
		const char *ips[] = { ip };

		snprintf(endpoint, sizeof(endpoint), "192.0.2.%d:%d", other + 1, 51820 + other);
		snprintf(ip, sizeof(ip), "10.0.0.%d", other + 1);
		memcpy(p.public_key, sides[other].public_key, 32);
		p.endpoint = endpoint;
		p.allowed_ips = ips;
		p.allowed_ips_len = 1;
		CHECK_EQ(mg_node_set_peer(sides[self].node, &p), 0);
	}
}

static int sending_to, sent_before;

static bool delivered(void)
{
	return (int)sides[sending_to].received == sent_before + 1;
}

/* An IPv4 packet from 10.0.0.(from+1) to 10.0.0.(to+1), handed in with the
 * room the library needs around it, then carried over the queue. */
static void send_packet(int from, int to)
{
	static uint8_t buf[MG_PACKET_HEADROOM + 84 + MG_PACKET_TAILROOM];
	uint8_t *pkt = buf + MG_PACKET_HEADROOM;
	struct mg_packet p = { pkt, 84 };

	memset(buf, 0, sizeof(buf));
	pkt[0] = 0x45;
	pkt[3] = 84;
	pkt[8] = 64;
	pkt[9] = 253;
	pkt[12] = 10, pkt[15] = (uint8_t)(from + 1);
	pkt[16] = 10, pkt[19] = (uint8_t)(to + 1);
	sending_to = to;
	sent_before = (int)sides[to].received;
	CHECK_EQ(mg_node_send_packets(sides[from].node, &p, 1), 0);
	run_until(delivered);
	CHECK_EQ(sides[to].last_src, from + 1);
}

static void on_closed(struct mg_node *node, void *user)
{
	struct side *s = user;

	CHECK(node == s->node);
	s->closed = true;
}

static bool a_closed(void)
{
	return sides[0].closed;
}

static bool all_closed(void)
{
	return sides[0].closed && sides[1].closed && sides[2].closed;
}

static void check_b_still_answers(void)
{
	struct mg_node_status st = MG_NODE_STATUS_INIT;
	struct mg_peer_status ps = MG_PEER_STATUS_INIT;
	char *reply = NULL;

	CHECK_EQ(mg_node_status(sides[1].node, &st), 0);
	CHECK_EQ(st.peers, 2);
	CHECK(st.handshakes_completed >= 2);
	CHECK_EQ(st.mtu, 1420);
	CHECK_MEM(st.public_key, sides[1].public_key, 32);
	CHECK_EQ(mg_node_peer_status(sides[1].node, sides[2].public_key, &ps), 0);
	CHECK_EQ(ps.allowed_ips, 1);
	CHECK(ps.rx_bytes > 0 && ps.tx_bytes > 0);
	CHECK_EQ(ps.endpoint.remote.ss_family, AF_INET);
	CHECK_EQ(mg_node_uapi(sides[1].node, "get=1\n\n", 7, &reply), 0);
	CHECK(strstr(reply, "listen_port=51821\n"));
	CHECK(strstr(reply, "errno=0\n\n"));
	mg_node_uapi_free(reply);
}

int main(void)
{
	CHECK_EQ(mg_crypto_init(), 0);
	CHECK_EQ(uv_loop_init(&loop), 0);
	CHECK_EQ(uv_idle_init(&loop, &pump), 0);
	CHECK_EQ(uv_idle_start(&pump, on_pump), 0);
	make_node(0, MG_LOG_LEVEL_DEBUG);
	make_node(1, MG_LOG_LEVEL_INFO);
	make_node(2, MG_LOG_LEVEL_ERROR);
	connect_pair(0, 1);
	connect_pair(1, 2);
	for (int i = 0; i < NODES; i++)
		CHECK_EQ(mg_node_start(sides[i].node), 0);

	send_packet(0, 1); /* waits for the A-B handshake */
	send_packet(1, 0);
	send_packet(2, 1); /* B-C, C initiating */
	send_packet(1, 2);
	CHECK_EQ(sides[0].handshakes, 1);
	CHECK_EQ(sides[1].handshakes, 2);
	CHECK_EQ(sides[2].handshakes, 1);

	mg_node_close(sides[0].node, on_closed);
	mg_node_close(sides[0].node, NULL); /* harmless */
	run_until(a_closed);
	for (int k = 0; k < 3; k++) {
		send_packet(1, 2);
		send_packet(2, 1);
	}
	check_b_still_answers();

	for (int i = 0; i < NODES; i++) {
		CHECK(!sides[i].saw_foreign_line);
		CHECK(sides[i].log_lines > 0 || sides[i].level == MG_LOG_LEVEL_ERROR);
	}
	CHECK_EQ(sides[2].log_lines, 0);		    /* error level: no info line at all */
	CHECK(sides[0].log_lines > sides[1].log_lines / 2); /* debug sees plenty */

	mg_node_close(sides[1].node, on_closed);
	mg_node_close(sides[2].node, on_closed);
	run_until(all_closed);
	uv_close((uv_handle_t *)&pump, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_EQ(uv_loop_close(&loop), 0);
	printf("ok\n");
	return 0;
}
