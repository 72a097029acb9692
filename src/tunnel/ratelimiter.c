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

/* The source's identity: an IPv4 address, or an IPv6 /64 (one host). */
static uint64_t source_key(const struct mg_ratelimiter *r, const struct mg_endpoint *src)
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
	return k | 1; /* never 0, which marks a free slot */
}

bool mg_ratelimiter_allow(struct mg_ratelimiter *r, const struct mg_endpoint *src, uint64_t now)
{
	uint64_t key = source_key(r, src);
	struct mg_ratelimiter_slot *s = &r->slots[key % MG_RATELIMITER_SLOTS];

	if (s->key != key) {
		s->key = key;
		s->last = now;
		s->tokens = TOKEN_MAX - PACKET_COST;
		return true;
	}
	s->tokens += now - s->last;
	if (s->tokens > TOKEN_MAX)
		s->tokens = TOKEN_MAX;
	s->last = now;
	if (s->tokens < PACKET_COST)
		return false;
	s->tokens -= PACKET_COST;
	return true;
}
