/* A per-source token bucket for handshake work under load: 20 packets per
 * second with a burst of 5 per IPv4 address or IPv6 /64, as the kernel and
 * wireguard-go allow. A fixed table of buckets indexed by a keyed hash of the
 * source, so a flood of sources costs no memory; sources that collide share
 * one bucket, which errs towards limiting. */
#ifndef MG_TUNNEL_RATELIMITER_H
#define MG_TUNNEL_RATELIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "util/ipaddr.h"

#define MG_RATELIMITER_SLOTS	  4096
#define MG_RATELIMITER_PER_SECOND 20
#define MG_RATELIMITER_BURST	  5

struct mg_ratelimiter_slot {
	uint64_t last;	 /* 0: never used */
	uint64_t tokens; /* in nanoseconds of credit */
};

struct mg_ratelimiter {
	uint8_t hash_key[16];
	struct mg_ratelimiter_slot slots[MG_RATELIMITER_SLOTS];
};

void mg_ratelimiter_init(struct mg_ratelimiter *r);
bool mg_ratelimiter_allow(struct mg_ratelimiter *r, const struct mg_endpoint *src, uint64_t now);

#endif
