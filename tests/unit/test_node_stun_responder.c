/* mg_node_config.stun_responder_off, through the library's API: a node (no
 * TUN, caller's UDP) answers a Binding request fed to mg_node_udp_input
 * with a Binding success response through udp_send, by default and for an
 * older caller whose struct ends before the field; with the field set it
 * sends nothing. Requests with an unknown comprehension-required attribute
 * get nothing either way. No root. */
#include "check.h"

#include "meshguard.h"
#include "nat/stun.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

static uv_loop_t loop;
static unsigned sends;
static uint8_t answer[256];
static size_t answer_len;

static void on_packet(void *user, const uint8_t *packet, size_t len)
{
	(void)user, (void)packet, (void)len;
}

static int udp_send(void *user, const struct mg_udp_endpoint *to, const uint8_t *buf, size_t len)
{
	(void)user, (void)to;
	sends++;
	answer_len = len < sizeof(answer) ? len : sizeof(answer);
	memcpy(answer, buf, answer_len);
	return 0;
}

static struct mg_node_config caller_config(void)
{
	struct mg_node_config c = MG_NODE_CONFIG_INIT;

	c.ifname = "stunr0";
	c.packet_io = MG_PACKET_IO_CALLER;
	c.udp_io = MG_UDP_IO_CALLER;
	c.log_level = MG_LOG_LEVEL_ERROR;
	c.on_packet = on_packet;
	c.udp_send = udp_send;
	return c;
}

static void on_closed(struct mg_node *node, void *user)
{
	(void)node, (void)user;
}

/* One Binding request (bare header, or with PRIORITY when unknown) from
 * 198.51.100.4:4000; whether an answer went out. */
static bool answered(struct mg_node *node, bool unknown)
{
	static const uint8_t priority[8] = { 0x00, 0x24, 0x00, 0x04, 1, 2, 3, 4 };
	struct mg_udp_endpoint from;
	struct sockaddr_in *sin = (struct sockaddr_in *)&from.remote;
	uint8_t req[64], txid[MG_STUN_TXID_SIZE] = { 7, 7, 7 };
	size_t len = MG_STUN_HEADER_SIZE;
	struct mg_stun_message m;
	unsigned before = sends;

	memset(&from, 0, sizeof(from));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(4000);
	sin->sin_addr.s_addr = htonl(0xC6336404);
	mg_stun_build_request(req, txid);
	req[3] = 0;
	if (unknown) {
		memcpy(req + len, priority, sizeof(priority));
		len += sizeof(priority);
		req[3] = 8;
	}
	CHECK_EQ(mg_node_udp_input(node, &from, req, len), 0);
	if (sends == before)
		return false;
	CHECK_EQ(sends, before + 1);
	CHECK_EQ(answer_len, 32);
	CHECK_EQ(mg_stun_parse(&m, answer, answer_len), 0);
	CHECK_EQ(m.type, MG_STUN_BINDING_SUCCESS);
	CHECK_MEM(m.txid, txid, sizeof(txid));
	return true;
}

/* A node from c: whether it answers a Binding request. */
static bool node_answers(const struct mg_node_config *c)
{
	struct mg_node *node = NULL;
	bool yes;

	CHECK_EQ(mg_node_new(&loop, c, &node), 0);
	CHECK_EQ(mg_node_start(node), 0);
	yes = answered(node, false);
	CHECK(!answered(node, true));
	mg_node_close(node, on_closed);
	uv_run(&loop, UV_RUN_DEFAULT);
	return yes;
}

int main(void)
{
	struct mg_node_config c = caller_config();

	CHECK_EQ(uv_loop_init(&loop), 0);
	CHECK(node_answers(&c));
	c.stun_responder_off = true;
	CHECK(!node_answers(&c));
	/* An older caller's struct, ending before the field: on. */
	c.size = offsetof(struct mg_node_config, stun_responder_off);
	CHECK(node_answers(&c));
	CHECK_EQ(uv_loop_close(&loop), 0);
	mg_test_pass("node_stun_responder");
	return 0;
}
