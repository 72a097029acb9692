/* The engine with the caller's I/O on both sides: no TUN (packets handed in
 * with mg_engine_send_packets, decrypted ones out through on_packet) and no
 * socket (datagrams out through udp_send, in through mg_engine_udp_input).
 * Two engines on one loop in one process, joined by the test's own queues:
 * the handshake completes, packets cross both ways, each exactly once, the
 * caller's buffers are sealed in place (no copy), and a call from inside an
 * engine's own callback is refused instead of re-entering its batch. Needs
 * no root: nothing touches the kernel. */
#include "check.h"

#include "crypto/primitives.h"
#include "tunnel/engine.h"

#include <errno.h>
#include <string.h>

#define QUEUE 64

struct datagram {
	struct mg_endpoint from;
	size_t len;
	uint8_t buf[2048];
};

struct side {
	struct mg_engine engine;
	struct mg_endpoint addr;
	uint8_t private_key[32], public_key[32];
	struct side *other;
	/* what it sent, waiting for the test to hand it to the other side */
	struct datagram queue[QUEUE];
	unsigned queued;
	unsigned delivered;
	uint8_t last[2048];
	size_t last_len;
	int reentry; /* what a call from inside on_packet returned */
};

static struct side sides[2];
static uv_loop_t loop;

static int side_udp_send(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct side *s = ctx;
	struct datagram *d;

	CHECK(mg_endpoint_equal(to, &s->other->addr));
	if (s->queued == QUEUE || len > sizeof(d->buf))
		return -ENOBUFS;
	d = &s->queue[s->queued++];
	d->from = s->addr;
	d->len = len;
	memcpy(d->buf, buf, len);
	return 0;
}

static void side_on_packet(void *ctx, const uint8_t *packet, size_t len)
{
	struct side *s = ctx;
	uint8_t room[16 + 64 + 32];
	struct mg_packet p = { room + 16, 20 };

	s->delivered++;
	s->last_len = len < sizeof(s->last) ? len : sizeof(s->last);
	memcpy(s->last, packet, s->last_len);
	memset(room, 0, sizeof(room));
	s->reentry = mg_engine_send_packets(&s->engine, &p, 1);
}

/* Hands every queued datagram to the other side, until both are quiet. */
static unsigned pump(void)
{
	unsigned n = 0;
	bool more = true;

	while (more) {
		more = false;
		for (int i = 0; i < 2; i++) {
			struct side *s = &sides[i];
			unsigned count = s->queued;
			static struct datagram batch[QUEUE];

			memcpy(batch, s->queue, count * sizeof(batch[0]));
			s->queued = 0;
			for (unsigned k = 0; k < count; k++) {
				CHECK_EQ(mg_engine_udp_input(&s->other->engine, &batch[k].from,
							     batch[k].buf, batch[k].len),
					 0);
				n++;
				more = true;
			}
		}
	}
	return n;
}

static void tunnel_ip(int i, uint8_t out[4])
{
	out[0] = 10, out[1] = 0, out[2] = 0, out[3] = (uint8_t)(i + 1);
}

static void setup_side(int i)
{
	struct side *s = &sides[i];
	struct mg_engine_config c = {
		.tun_fd = -1,
		.port = (uint16_t)(51820 + i),
		.on_packet = side_on_packet,
		.udp_send = side_udp_send,
		.ctx = s,
	};
	char ep[32];

	s->other = &sides[!i];
	snprintf(ep, sizeof(ep), "192.0.2.%d:%d", i + 1, 51820 + i);
	CHECK_EQ(mg_endpoint_parse(&s->addr, ep), 0);
	mg_x25519_generate(s->private_key, s->public_key);
	CHECK_EQ(mg_engine_init(&s->engine, &loop, &c), 0);
	CHECK_EQ(s->engine.udp.port, 51820 + i);
	CHECK_EQ(s->engine.udp.fd4, -1); /* no socket of its own */
	mg_device_set_private_key(&s->engine.dev, s->private_key);
}

static void pair_sides(void)
{
	for (int i = 0; i < 2; i++) {
		struct side *s = &sides[i];
		struct mg_prefix p = { .family = AF_INET, .cidr = 32 };
		struct mg_peer *peer;

		CHECK_EQ(mg_device_add_peer(&s->engine.dev, s->other->public_key, &peer), 0);
		mg_device_peer_set_endpoint(peer, &s->other->addr);
		tunnel_ip(!i, p.addr);
		CHECK_EQ(mg_device_peer_add_allowed_ip(peer, &p), 0);
		CHECK_EQ(mg_engine_start(&s->engine), 0);
	}
}

/* An IPv4 packet of len bytes from side i to the other, numbered id, laid
 * out in buf with the room the engine needs around it. */
static struct mg_packet make_packet(uint8_t *buf, int i, size_t len, uint8_t id)
{
	uint8_t *pkt = buf + MG_DEVICE_HEADROOM;

	memset(pkt, id, len);
	pkt[0] = 0x45;
	pkt[1] = 0;
	pkt[2] = (uint8_t)(len >> 8);
	pkt[3] = (uint8_t)len;
	pkt[9] = 253; /* experimental protocol: nothing parses it */
	tunnel_ip(i, pkt + 12);
	tunnel_ip(!i, pkt + 16);
	return (struct mg_packet){ pkt, len };
}

static void send_batch(int i, unsigned count, size_t len)
{
	static uint8_t bufs[8][MG_DEVICE_HEADROOM + 1500 + MG_DEVICE_TAILROOM];
	struct mg_packet p[8];
	unsigned before = sides[!i].delivered;

	bool keyed = sides[i].engine.dev.peers.first->keypairs.current;

	CHECK(count <= 8);
	memset(bufs, 0, sizeof(bufs));
	for (unsigned k = 0; k < count; k++)
		p[k] = make_packet(bufs[k], i, len, (uint8_t)(k + 1));
	CHECK_EQ(mg_engine_send_packets(&sides[i].engine, p, count), 0);
	/* Sealed where they lay: each caller's buffer holds its datagram, a
	 * data message's type in front of the packet (with no session the
	 * packets were copied to wait, and the buffers are untouched). */
	for (unsigned k = 0; k < count; k++)
		CHECK_EQ(bufs[k][0], keyed ? 4 : 0);
	pump();
	CHECK_EQ(sides[!i].delivered, before + count);
	CHECK_EQ(sides[!i].last_len, len);
	CHECK_EQ(sides[!i].last[20], count); /* the last one, intact */
	CHECK_EQ(sides[!i].reentry, -EBUSY);
}

int main(void)
{
	CHECK_EQ(mg_crypto_init(), 0);
	CHECK_EQ(uv_loop_init(&loop), 0);
	setup_side(0);
	setup_side(1);
	pair_sides();

	/* The first packet waits for the handshake, which crosses the queues. */
	send_batch(0, 1, 100);
	CHECK_EQ(sides[0].engine.dev.stats.handshakes_completed, 1);
	send_batch(0, 8, 1400);
	send_batch(1, 8, 600);
	send_batch(1, 3, 1420);
	for (int i = 0; i < 2; i++) {
		const struct mg_device_stats *st = &sides[i].engine.dev.stats;
		CHECK_EQ(st->rx_decrypt_failed, 0);
		CHECK_EQ(st->rx_replayed, 0);
		CHECK_EQ(st->rx_invalid, 0);
		CHECK_EQ(sides[i].engine.stats.udp_send_failed, 0);
		CHECK_EQ(sides[i].engine.stats.tx_rejected, 0);
	}
	for (int i = 0; i < 2; i++)
		mg_engine_close(&sides[i].engine);
	uv_run(&loop, UV_RUN_DEFAULT);
	for (int i = 0; i < 2; i++)
		mg_engine_free(&sides[i].engine);
	CHECK_EQ(uv_loop_close(&loop), 0);
	printf("ok\n");
	return 0;
}
