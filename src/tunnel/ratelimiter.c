#include "tunnel/ratelimiter.h"
#include "crypto/primitives.h"
#include "tunnel/messages.h"

#include <sodium.h>
#include <string.h>

#define PACKET_COST (MG_NSEC_PER_SEC / MG_RATELIMITER_PER_SECOND)
#define TOKEN_MAX   (PACKET_COST * MG_RATELIMITER_BURST)

void mg_ratelimiter_init(struct mg_ratelimiter *r)
{
	memset(r, 0, sizeof(*r));
	mg_random_bytes(r->hash_key, sizeof(r->hash_key));
}

/* The bucket of a source: by IPv4 address, or IPv6 /64 (one host). */
static struct mg_ratelimiter_slot *slot_of(struct mg_ratelimiter *r, const struct mg_endpoint *src)
{
	uint8_t in[9] = { 0 };
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t k;

	in[0] = (uint8_t)src->sa.sa_family;
	if (src->sa.sa_family == AF_INET)
		memcpy(in + 1, &src->in4.sin_addr, 4);
	else
		memcpy(in + 1, &src->in6.sin6_addr, 8);
	crypto_shorthash(h, in, sizeof(in), r->hash_key);
	memcpy(&k, h, sizeof(k));
	return &r->slots[k % MG_RATELIMITER_SLOTS];
}

bool mg_ratelimiter_allow(struct mg_ratelimiter *r, const struct mg_endpoint *src, uint64_t now)
{
	struct mg_ratelimiter_slot *s = slot_of(r, src);

	/* Sources that collide share one bucket: a limited source stays
	 * limited however many others arrive. A fresh bucket starts full. */
	if (!s->last || now - s->last > TOKEN_MAX)
		s->tokens = TOKEN_MAX;
	else
		s->tokens += now - s->last;
	if (s->tokens > TOKEN_MAX)
		s->tokens = TOKEN_MAX;
	s->last = now ? now : 1;
	if (s->tokens < PACKET_COST)
		return false;
	s->tokens -= PACKET_COST;
	return true;
}
