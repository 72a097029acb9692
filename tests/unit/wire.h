/* An in-memory wire between meshguard devices and a fake clock, so protocol
 * tests run two (or more) real devices in one process, deterministically,
 * without sockets or sleeping. Header-only: each test includes it once. */
#ifndef MG_TEST_WIRE_H
#define MG_TEST_WIRE_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crypto/primitives.h"
#include "tunnel/device.h"

#define WIRE_MAX_NODES 4
#define WIRE_QUEUE     512

struct fake_clock {
	struct mg_clock clock;
	uint64_t mono;
	struct timespec wall;
};

static inline uint64_t fake_mono(const struct mg_clock *c)
{
	return ((const struct fake_clock *)c)->mono;
}

static inline void fake_wall(const struct mg_clock *c, struct timespec *ts)
{
	*ts = ((const struct fake_clock *)c)->wall;
}

struct datagram {
	int to;
	struct mg_endpoint from;
	size_t len;
	uint8_t buf[2048];
};

struct wire;

struct node {
	struct wire *wire;
	int id;
	struct mg_device dev;
	struct mg_endpoint addr;
	uint8_t private_key[32], public_key[32];
	/* what the TUN received */
	unsigned delivered;
	size_t last_delivered_len;
	uint8_t last_delivered[2048];
	unsigned sent; /* datagrams put on the wire */
	unsigned sent_by_type[5];
};

struct wire {
	struct fake_clock clock;
	struct node nodes[WIRE_MAX_NODES];
	int count;
	struct datagram queue[WIRE_QUEUE];
	unsigned head, len;
	bool drop_to[WIRE_MAX_NODES]; /* black-hole datagrams to this node */
	unsigned dropped;
};

/* By remote address: the local part of a peer's endpoint is the sender's. */
static inline int wire_node_by_addr(struct wire *w, const struct mg_endpoint *ep)
{
	for (int i = 0; i < w->count; i++)
		if (mg_endpoint_equal_remote(&w->nodes[i].addr, ep))
			return i;
	return -1;
}

static inline int wire_send(void *ctx, const struct mg_endpoint *to, enum mg_send_kind kind,
			    const uint8_t *buf, size_t len)
{
	struct node *n = ctx;
	(void)kind; /* the wire copies every datagram at once */
	struct wire *w = n->wire;
	int dst = wire_node_by_addr(w, to);

	n->sent++;
	if (buf[0] >= 1 && buf[0] <= 4)
		n->sent_by_type[buf[0]]++;
	if (dst < 0 || w->drop_to[dst] || w->len == WIRE_QUEUE || len > 2048) {
		w->dropped++;
		return 0;
	}
	struct datagram *d = &w->queue[(w->head + w->len++) % WIRE_QUEUE];
	d->to = dst;
	d->from = n->addr;
	d->len = len;
	memcpy(d->buf, buf, len);
	return 0;
}

static inline void wire_deliver(void *ctx, const uint8_t *pkt, size_t len)
{
	struct node *n = ctx;
	n->delivered++;
	n->last_delivered_len = len;
	memcpy(n->last_delivered, pkt, len < 2048 ? len : 2048);
}

static const struct mg_device_ops wire_ops = {
	.send = wire_send,
	.deliver = wire_deliver,
};

static inline void wire_init(struct wire *w, int count)
{
	CHECK(mg_crypto_init() == 0);
	memset(w, 0, sizeof(*w));
	w->clock.clock.monotonic_ns = fake_mono;
	w->clock.clock.wall = fake_wall;
	w->clock.mono = 1000 * MG_NSEC_PER_SEC; /* boot was a while ago */
	w->clock.wall.tv_sec = 1700000000;
	w->count = count;
	for (int i = 0; i < count; i++) {
		struct node *n = &w->nodes[i];
		n->wire = w;
		n->id = i;
		CHECK(mg_device_init(&n->dev, &w->clock.clock, &wire_ops, n) == 0);
		mg_x25519_generate(n->private_key, n->public_key);
		mg_device_set_private_key(&n->dev, n->private_key);
		n->addr.in4.sin_family = AF_INET;
		n->addr.in4.sin_port = htons((uint16_t)(51820 + i));
		n->addr.in4.sin_addr.s_addr = htonl(0xc0000201 + (uint32_t)i); /* 192.0.2.1+i */
	}
}

/* Node i's tunnel address: 10.0.0.(i+1)/32. */
static inline void wire_tunnel_ip(int i, uint8_t out[4])
{
	out[0] = 10, out[1] = 0, out[2] = 0, out[3] = (uint8_t)(i + 1);
}

/* Makes a and b peers of each other with endpoints and /32 allowed IPs. */
static inline void wire_pair(struct wire *w, int a, int b, struct mg_peer **pa, struct mg_peer **pb)
{
	struct mg_prefix p = { .family = AF_INET, .cidr = 32 };
	struct mg_peer *peer;

	CHECK(mg_device_add_peer(&w->nodes[a].dev, w->nodes[b].public_key, &peer) == 0);
	mg_device_peer_set_endpoint(peer, &w->nodes[b].addr);
	wire_tunnel_ip(b, p.addr);
	CHECK(mg_device_peer_add_allowed_ip(peer, &p) == 0);
	if (pa)
		*pa = peer;
	CHECK(mg_device_add_peer(&w->nodes[b].dev, w->nodes[a].public_key, &peer) == 0);
	mg_device_peer_set_endpoint(peer, &w->nodes[a].addr);
	wire_tunnel_ip(a, p.addr);
	CHECK(mg_device_peer_add_allowed_ip(peer, &p) == 0);
	if (pb)
		*pb = peer;
}

/* Delivers queued datagrams until the wire is quiet; returns how many. */
static inline unsigned wire_pump(struct wire *w)
{
	unsigned n = 0;
	while (w->len) {
		struct datagram d = w->queue[w->head];
		w->head = (w->head + 1) % WIRE_QUEUE;
		w->len--;
		mg_device_receive(&w->nodes[d.to].dev, &d.from, d.buf, d.len);
		n++;
	}
	return n;
}

/* Advances the fake clocks and runs every device's timers on the way, in
 * steps of at most step_ms, pumping the wire after each. */
static inline void wire_advance(struct wire *w, uint64_t ms, uint64_t step_ms)
{
	uint64_t end = w->clock.mono + ms * MG_NSEC_PER_MSEC;
	while (w->clock.mono < end) {
		uint64_t step = step_ms * MG_NSEC_PER_MSEC;
		if (w->clock.mono + step > end)
			step = end - w->clock.mono;
		w->clock.mono += step;
		w->clock.wall.tv_nsec += (long)(step % MG_NSEC_PER_SEC);
		w->clock.wall.tv_sec += (time_t)(step / MG_NSEC_PER_SEC);
		if (w->clock.wall.tv_nsec >= 1000000000L) {
			w->clock.wall.tv_nsec -= 1000000000L;
			w->clock.wall.tv_sec++;
		}
		for (int i = 0; i < w->count; i++)
			mg_device_tick(&w->nodes[i].dev);
		wire_pump(w);
	}
}

/* Sends an IPv4/ICMP-sized packet of len bytes (>= 20) from node a to node
 * b's tunnel address through a's device, as if read from a's TUN. */
static inline void wire_send_ip(struct wire *w, int a, int b, size_t len)
{
	uint8_t buf[MG_DEVICE_HEADROOM + 1500 + MG_DEVICE_TAILROOM];
	uint8_t *pkt = buf + MG_DEVICE_HEADROOM;

	CHECK(len >= 20 && len <= 1500);
	memset(pkt, 0xab, len);
	pkt[0] = 0x45;
	pkt[1] = 0;
	pkt[2] = (uint8_t)(len >> 8);
	pkt[3] = (uint8_t)len;
	wire_tunnel_ip(a, pkt + 12);
	wire_tunnel_ip(b, pkt + 16);
	mg_device_send_packet(&w->nodes[a].dev, pkt, len);
}

static inline void wire_free(struct wire *w)
{
	for (int i = 0; i < w->count; i++)
		mg_device_free(&w->nodes[i].dev);
}

#endif
