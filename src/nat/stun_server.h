/* A STUN Binding responder, so any meshguard node can tell others their
 * public endpoint. It answers on whatever socket its owner reads (the
 * WireGuard port, through the device's handler for other datagrams).
 *
 * A responder is a reflector: a request with a forged source makes it send
 * to a victim. So it answers only Binding requests, never responses or
 * indications (two responders cannot loop), not sources with port 0,
 * multicast or broadcast addresses, and each source address (IPv4 address,
 * IPv6 /64) at most MG_RATELIMITER_PER_SECOND times a second with a burst of
 * MG_RATELIMITER_BURST; an answer is at most MG_STUN_ERROR_MAX bytes. */
#ifndef MG_NAT_STUN_SERVER_H
#define MG_NAT_STUN_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "nat/stun.h"
#include "util/clock.h"
#include "tunnel/ratelimiter.h"

struct mg_stun_server_stats {
	uint64_t answered;    /* success responses sent */
	uint64_t errors;      /* error responses sent (unknown attributes) */
	uint64_t ratelimited; /* requests over their source's budget */
	uint64_t dropped;     /* malformed requests, forbidden sources, send failures */
};

struct mg_stun_server {
	const struct mg_clock *clock;
	mg_stun_send_fn send;
	void *send_ctx;
	struct mg_ratelimiter limiter;
	struct mg_stun_server_stats stats;
};

void mg_stun_server_init(struct mg_stun_server *s, const struct mg_clock *clock,
			 mg_stun_send_fn send, void *send_ctx);

/* A datagram from `from`. True when it was a Binding request (answered,
 * or dropped and counted); false for anything else. */
bool mg_stun_server_receive(struct mg_stun_server *s, const struct mg_endpoint *from,
			    const uint8_t *buf, size_t len);

#endif
