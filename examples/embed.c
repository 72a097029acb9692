/* Embedding meshguard: two nodes on one libuv loop in one process, joined
 * by the host's own packet and UDP I/O (no TUN device, no socket, no root).
 * Node a sends IP packets to node b and back; the first one waits for the
 * WireGuard handshake, which crosses the host's "wire": a queue the host
 * empties from its loop (a uv_idle handle), never from inside a node's
 * callback.
 *
 *   cc embed.c $(pkg-config --cflags --libs meshguard) -o embed && ./embed */
#include <meshguard.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#define PACKETS	   3
#define PACKET_LEN 84
#define QUEUE	   64

struct host_node {
	const char *name;
	struct mg_node *node;
	uint8_t private_key[MG_KEY_BYTES], public_key[MG_KEY_BYTES];
	struct sockaddr_in udp;	  /* where the wire delivers its datagrams */
	struct in_addr tunnel_ip; /* its address inside the tunnel */
	unsigned handshakes, received;
	bool closed;
};

struct datagram {
	struct host_node *from;
	struct sockaddr_in to;
	size_t len;
	uint8_t buf[2048];
};

static uv_loop_t loop;
static uv_idle_t wire;
static struct host_node nodes[2] = { { .name = "a" }, { .name = "b" } };
static struct datagram queue[QUEUE];
static unsigned queued;

static void on_log(void *user, enum mg_log_level level, const char *line)
{
	struct host_node *h = user;

	(void)level;
	printf("  [%s] %s\n", h->name, line);
}

static void on_event(void *user, const struct mg_event *e)
{
	struct host_node *h = user;
	char key[MG_KEY_BASE64_CHARS + 1];

	if (e->type != MG_EVENT_HANDSHAKE)
		return;
	h->handshakes++;
	mg_key_encode_base64(key, e->public_key);
	printf("node %s: handshake with %s\n", h->name, key);
}

static void on_packet(void *user, const uint8_t *packet, size_t len)
{
	struct host_node *h = user;
	char src[INET_ADDRSTRLEN] = "?";

	if (len >= 20)
		inet_ntop(AF_INET, packet + 12, src, sizeof(src));
	h->received++;
	printf("node %s: received packet %u (%zu bytes) from %s\n", h->name, h->received, len, src);
}

static void on_wire(uv_idle_t *h);

/* The node's datagrams go on the host's queue; buf is only lent. The wire
 * runs only while something waits on it, so an idle host sleeps. */
static int udp_send(void *user, const struct mg_udp_endpoint *to, const uint8_t *buf, size_t len)
{
	struct datagram *d;

	if (to->remote.ss_family != AF_INET || queued == QUEUE || len > sizeof(d->buf))
		return -ENOBUFS;
	if (!queued)
		uv_idle_start(&wire, on_wire);
	d = &queue[queued++];
	d->from = user;
	memcpy(&d->to, &to->remote, sizeof(d->to));
	d->len = len;
	memcpy(d->buf, buf, len);
	return 0;
}

static void on_wire(uv_idle_t *h)
{
	static struct datagram batch[QUEUE];
	unsigned count = queued;

	memcpy(batch, queue, count * sizeof(batch[0]));
	queued = 0;
	for (unsigned k = 0; k < count; k++) {
		struct mg_udp_endpoint from = { 0 };

		memcpy(&from.remote, &batch[k].from->udp, sizeof(batch[k].from->udp));
		for (int i = 0; i < 2; i++)
			if (!nodes[i].closed && nodes[i].udp.sin_port == batch[k].to.sin_port)
				mg_node_udp_input(nodes[i].node, &from, batch[k].buf, batch[k].len);
	}
	if (!queued)
		uv_idle_stop(h);
}

static int make_node(struct host_node *h, int i)
{
	struct mg_node_config c = MG_NODE_CONFIG_INIT;
	int err;

	h->udp.sin_family = AF_INET;
	h->udp.sin_port = htons((uint16_t)(51820 + i));
	h->udp.sin_addr.s_addr = htonl(0xc0000201 + (uint32_t)i); /* 192.0.2.1, .2 */
	h->tunnel_ip.s_addr = htonl(0x0a000001 + (uint32_t)i);	  /* 10.0.0.1, .2 */
	c.ifname = h->name;
	c.packet_io = MG_PACKET_IO_CALLER;
	c.udp_io = MG_UDP_IO_CALLER;
	c.listen_port = (uint16_t)(51820 + i);
	c.log_level = MG_LOG_LEVEL_ERROR;
	c.on_log = on_log;
	c.on_event = on_event;
	c.on_packet = on_packet;
	c.udp_send = udp_send;
	c.user = h;
	if ((err = mg_key_generate_private(h->private_key)) < 0 ||
	    (err = mg_key_public_from_private(h->public_key, h->private_key)) < 0 ||
	    (err = mg_node_new(&loop, &c, &h->node)) < 0)
		return err;
	return mg_node_set_private_key(h->node, h->private_key);
}

/* Each node knows the other: its key, where its UDP is, its tunnel IP. */
static int add_peer(struct host_node *self, const struct host_node *other)
{
	struct mg_peer_config p = MG_PEER_CONFIG_INIT;
	char endpoint[32], ip[INET_ADDRSTRLEN];
	const char *ips[] = { ip };

	inet_ntop(AF_INET, &other->udp.sin_addr, ip, sizeof(ip));
	snprintf(endpoint, sizeof(endpoint), "%s:%u", ip, ntohs(other->udp.sin_port));
	inet_ntop(AF_INET, &other->tunnel_ip, ip, sizeof(ip));
	memcpy(p.public_key, other->public_key, MG_KEY_BYTES);
	p.endpoint = endpoint;
	p.allowed_ips = ips;
	p.allowed_ips_len = 1;
	return mg_node_set_peer(self->node, &p);
}

/* An IPv4 packet (an unassigned protocol number: nothing needs to parse
 * it), with the room the library seals it in around it. */
static int send_packet(struct host_node *from, const struct host_node *to, uint8_t n)
{
	static uint8_t buf[MG_PACKET_HEADROOM + PACKET_LEN + MG_PACKET_TAILROOM];
	uint8_t *ip = buf + MG_PACKET_HEADROOM;
	struct mg_packet p = { ip, PACKET_LEN };

	memset(buf, n, sizeof(buf));
	ip[0] = 0x45, ip[1] = 0, ip[2] = 0, ip[3] = PACKET_LEN;
	ip[6] = ip[7] = 0, ip[8] = 64, ip[9] = 253, ip[10] = ip[11] = 0;
	memcpy(ip + 12, &from->tunnel_ip, 4);
	memcpy(ip + 16, &to->tunnel_ip, 4);
	return mg_node_send_packets(from->node, &p, 1);
}

/* Runs the loop until *counter reaches want (or gives up). */
static bool run_until(const unsigned *counter, unsigned want)
{
	for (int k = 0; k < 10000 && *counter < want; k++)
		uv_run(&loop, UV_RUN_ONCE);
	return *counter >= want;
}

static const char *exchange(void)
{
	for (unsigned k = 1; k <= PACKETS; k++) {
		if (send_packet(&nodes[0], &nodes[1], (uint8_t)k) < 0)
			return "node a refused a packet";
		if (!run_until(&nodes[1].received, k))
			return "node b did not receive a packet";
		if (send_packet(&nodes[1], &nodes[0], (uint8_t)k) < 0)
			return "node b refused a packet";
		if (!run_until(&nodes[0].received, k))
			return "node a did not receive a packet";
	}
	if (nodes[0].handshakes != 1 || nodes[1].handshakes != 1)
		return "expected exactly one handshake on each side";
	return NULL;
}

static void on_closed(struct mg_node *node, void *user)
{
	struct host_node *h = user;

	(void)node;
	h->closed = true;
	printf("node %s: closed\n", h->name);
}

int main(void)
{
	const char *failed = NULL;
	int err;

	if (uv_loop_init(&loop) < 0 || uv_idle_init(&loop, &wire) < 0) {
		fprintf(stderr, "embed: cannot set up the loop\n");
		return 1;
	}
	for (int i = 0; i < 2 && !failed; i++)
		if ((err = make_node(&nodes[i], i)) < 0)
			failed = "cannot create a node";
	if (!failed && (add_peer(&nodes[0], &nodes[1]) < 0 || add_peer(&nodes[1], &nodes[0]) < 0))
		failed = "cannot add the peers";
	for (int i = 0; i < 2 && !failed; i++)
		if (mg_node_start(nodes[i].node) < 0)
			failed = "cannot start a node";
	if (!failed)
		failed = exchange();
	for (int i = 0; i < 2; i++)
		if (nodes[i].node)
			mg_node_close(nodes[i].node, on_closed);
	uv_close((uv_handle_t *)&wire, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) < 0 && !failed)
		failed = "handles left open on the loop";
	if (failed) {
		fprintf(stderr, "embed: %s\n", failed);
		return 1;
	}
	printf("embed: ok\n");
	return 0;
}
