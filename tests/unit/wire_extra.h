/* Helpers on top of wire.h for the protocol tests: holding datagrams back
 * and delivering them later (in-flight packets, replays, forgeries), packets
 * with chosen inner addresses, and waiting for a node's next send on the fake
 * clock. Header-only, like wire.h. */
#ifndef MG_TEST_WIRE_EXTRA_H
#define MG_TEST_WIRE_EXTRA_H

#include "util/log.h"
#include "wire.h"

#define MSEC MG_NSEC_PER_MSEC
#define SEC  MG_NSEC_PER_SEC

/* Logs only errors, unless LOG_LEVEL asks for more: long runs on the fake
 * clock complete many handshakes. */
static inline void wire_quiet(void)
{
	mg_log_default()->threshold = MG_LOG_ERROR;
	mg_log_init_from_env();
}

/* Advances the clock to t0 + ms (t0 a monotonic time in ns), in steps of
 * at most step_ms. */
static inline void wire_advance_to(struct wire *w, uint64_t t0, uint64_t ms, uint64_t step_ms)
{
	uint64_t at = t0 + ms * MSEC;

	CHECK(at >= w->clock.mono);
	CHECK((at - w->clock.mono) % MSEC == 0);
	wire_advance(w, (at - w->clock.mono) / MSEC, step_ms);
	CHECK_EQ(w->clock.mono, at);
}

/* Takes the oldest queued datagram off the wire without delivering it. */
static inline bool wire_pop(struct wire *w, struct datagram *out)
{
	if (!w->len)
		return false;
	*out = w->queue[w->head];
	w->head = (w->head + 1) % WIRE_QUEUE;
	w->len--;
	return true;
}

/* Takes the newest queued datagram off the wire without delivering it. */
static inline bool wire_pop_last(struct wire *w, struct datagram *out)
{
	if (!w->len)
		return false;
	*out = w->queue[(w->head + w->len - 1) % WIRE_QUEUE];
	w->len--;
	return true;
}

/* Drops every queued datagram. */
static inline void wire_flush(struct wire *w)
{
	w->head = 0;
	w->len = 0;
}

/* Hands node `to` a datagram now, as if it came from `from`. The buffer is
 * copied first: devices decrypt in place, and a held datagram may be
 * delivered again. */
static inline void wire_receive(struct wire *w, int to, const struct mg_endpoint *from,
				const uint8_t *buf, size_t len)
{
	static uint8_t copy[65536];

	CHECK(len <= sizeof(copy));
	memcpy(copy, buf, len);
	mg_device_receive(&w->nodes[to].dev, from, copy, len);
}

/* Delivers a held datagram (see wire_pop) to its destination now. */
static inline void wire_inject(struct wire *w, const struct datagram *d)
{
	wire_receive(w, d->to, &d->from, d->buf, d->len);
}

/* Runs every device's expired timers without moving the clock. */
static inline void wire_tick(struct wire *w)
{
	for (int i = 0; i < w->count; i++)
		mg_device_tick(&w->nodes[i].dev);
}

static inline struct mg_endpoint wire_endpoint4(uint32_t ip, uint16_t port)
{
	struct mg_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	ep.in4.sin_family = AF_INET;
	ep.in4.sin_port = htons(port);
	ep.in4.sin_addr.s_addr = htonl(ip);
	return ep;
}

/* Node a's peer entry for node b. */
static inline struct mg_peer *wire_peer(struct wire *w, int a, int b)
{
	struct mg_peer *p = mg_peer_table_lookup(&w->nodes[a].dev.peers, w->nodes[b].public_key);
	CHECK(p != NULL);
	return p;
}

/* Sends an IPv4 packet of len bytes (>= 20) with the given inner addresses
 * through node a's device, as if read from its TUN. */
static inline void wire_send_ipv4(struct wire *w, int a, const uint8_t src[4], const uint8_t dst[4],
				  size_t len)
{
	uint8_t buf[MG_DEVICE_HEADROOM + 1500 + MG_DEVICE_TAILROOM];
	uint8_t *pkt = buf + MG_DEVICE_HEADROOM;

	CHECK(len >= 20 && len <= 1500);
	memset(pkt, 0xcd, len);
	pkt[0] = 0x45;
	pkt[1] = 0;
	pkt[2] = (uint8_t)(len >> 8);
	pkt[3] = (uint8_t)len;
	memcpy(pkt + 12, src, 4);
	memcpy(pkt + 16, dst, 4);
	mg_device_send_packet(&w->nodes[a].dev, pkt, len);
}

/* The same for IPv6 (len >= 40; the payload length says len - 40). */
static inline void wire_send_ipv6(struct wire *w, int a, const uint8_t src[16],
				  const uint8_t dst[16], size_t len)
{
	uint8_t buf[MG_DEVICE_HEADROOM + 1500 + MG_DEVICE_TAILROOM];
	uint8_t *pkt = buf + MG_DEVICE_HEADROOM;

	CHECK(len >= 40 && len <= 1500);
	memset(pkt, 0xef, len);
	pkt[0] = 0x60;
	pkt[1] = pkt[2] = pkt[3] = 0;
	pkt[4] = (uint8_t)((len - 40) >> 8);
	pkt[5] = (uint8_t)(len - 40);
	pkt[6] = 59; /* no next header */
	pkt[7] = 64;
	memcpy(pkt + 8, src, 16);
	memcpy(pkt + 24, dst, 16);
	mg_device_send_packet(&w->nodes[a].dev, pkt, len);
}

/* Node i sends one packet to node r and the wire settles: a session is up
 * with i as its initiator. */
static inline void wire_handshake(struct wire *w, int i, int r)
{
	unsigned before = w->nodes[r].delivered;

	wire_send_ip(w, i, r, 84);
	wire_pump(w);
	CHECK_EQ(w->nodes[r].delivered, before + 1);
	CHECK(wire_peer(w, i, r)->keypairs.current != NULL);
	CHECK(wire_peer(w, i, r)->keypairs.current->i_am_the_initiator);
	CHECK(wire_peer(w, r, i)->keypairs.current != NULL);
	CHECK(!wire_peer(w, r, i)->keypairs.current->i_am_the_initiator);
}

/* Advances the clock in steps of step_ms until node n has sent one more
 * message of the given type, at most max_ms. Returns the milliseconds that
 * passed, or -1 if nothing was sent. */
static inline long wire_advance_until_sent(struct wire *w, int n, int type, uint64_t max_ms,
					   uint64_t step_ms)
{
	unsigned before = w->nodes[n].sent_by_type[type];
	uint64_t start = w->clock.mono;

	while (w->clock.mono - start < max_ms * MSEC) {
		wire_advance(w, step_ms, step_ms);
		if (w->nodes[n].sent_by_type[type] != before)
			return (long)((w->clock.mono - start) / MSEC);
	}
	return -1;
}

/* Moves both clocks by ms without running any timer (a slow tick). */
static inline void wire_clock_forward(struct wire *w, uint64_t ms)
{
	uint64_t step = ms * MSEC;

	w->clock.mono += step;
	w->clock.wall.tv_nsec += (long)(step % MG_NSEC_PER_SEC);
	w->clock.wall.tv_sec += (time_t)(step / MG_NSEC_PER_SEC);
	if (w->clock.wall.tv_nsec >= 1000000000L) {
		w->clock.wall.tv_nsec -= 1000000000L;
		w->clock.wall.tv_sec++;
	}
}

/* Moves both clocks by ms and runs every device's timers, but delivers
 * nothing: what the timers send stays queued (see wire_pop). */
static inline void wire_step_hold(struct wire *w, uint64_t ms)
{
	wire_clock_forward(w, ms);
	wire_tick(w);
}

/* wire_advance_until_sent without delivering: 1 ms steps until node n has
 * sent one more message of the type (it is then the newest queued one, if
 * its destination is on the wire). Returns the milliseconds, or -1. */
static inline long wire_hold_until_sent(struct wire *w, int n, int type, uint64_t max_ms)
{
	unsigned before = w->nodes[n].sent_by_type[type];

	for (uint64_t ms = 1; ms <= max_ms; ms++) {
		wire_step_hold(w, 1);
		if (w->nodes[n].sent_by_type[type] != before)
			return (long)ms;
	}
	return -1;
}

/* Every counter of a datagram the device refused, whatever the reason. */
static inline uint64_t stats_rx_dropped(const struct mg_device_stats *s)
{
	return s->rx_invalid + s->rx_bad_mac1 + s->rx_handshake_failed + s->rx_cookie_sent +
	       s->rx_ratelimited + s->rx_bad_cookie + s->rx_unknown_index + s->rx_expired_key +
	       s->rx_decrypt_failed + s->rx_replayed + s->rx_bad_ip + s->rx_not_allowed +
	       s->rx_not_wireguard + s->rx_filtered;
}

#endif
