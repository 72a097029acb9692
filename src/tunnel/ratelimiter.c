#include "tunnel/ratelimiter.h"
#include "crypto/primitives.h"
#include "tunnel/messages.h"

#include <sodium.h>
#include <string.h>

_Static_assert(MG_NSEC_PER_SEC / MG_RATELIMITER_PER_SECOND * MG_RATELIMITER_BURST <= UINT32_MAX,
	       "tokens fit the entry's 32 bits");
_Static_assert((MG_RATELIMITER_SLOTS & (MG_RATELIMITER_SLOTS - 1)) == 0, "a power of two");

void mg_ratelimiter_init(struct mg_ratelimiter *r)
{
	mg_ratelimiter_init_rate(r, MG_RATELIMITER_PER_SECOND, MG_RATELIMITER_BURST);
}

void mg_ratelimiter_init_rate(struct mg_ratelimiter *r, uint32_t per_second, uint32_t burst)
{
	uint64_t cost = MG_NSEC_PER_SEC / (per_second ? per_second : 1);

	memset(r, 0, sizeof(*r));
	mg_random_bytes(r->hash_key, sizeof(r->hash_key));
	burst = burst ? burst : 1;
	if (cost * burst > UINT32_MAX)
		burst = (uint32_t)(UINT32_MAX / cost);
	r->cost = (uint32_t)cost;
	r->max = (uint32_t)(cost * burst);
}

/* The exact key of a source; false for a family that has none. An
 * IPv4-mapped IPv6 address is the IPv4 source it stands for. */
static bool source_key(const struct mg_endpoint *src, uint8_t *family, uint64_t *key)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	const uint8_t *a6 = src->in6.sin6_addr.s6_addr;
	uint32_t a4;

	if (src->sa.sa_family == AF_INET6 && memcmp(a6, mapped, sizeof(mapped))) {
		*family = AF_INET6;
		memcpy(key, a6, 8);
		return true;
	}
	if (src->sa.sa_family == AF_INET6)
		memcpy(&a4, a6 + 12, 4);
	else if (src->sa.sa_family == AF_INET)
		memcpy(&a4, &src->in4.sin_addr, 4);
	else
		return false;
	*family = AF_INET;
	*key = a4;
	return true;
}

static bool live(const struct mg_ratelimiter *r, const struct mg_ratelimiter_entry *e, uint64_t now)
{
	return e->family && now - e->last < r->max;
}

static size_t window_start(const struct mg_ratelimiter *r, uint8_t family, uint64_t key)
{
	uint8_t in[9], h[crypto_shorthash_BYTES];
	uint64_t k;

	in[0] = family;
	memcpy(in + 1, &key, 8);
	crypto_shorthash(h, in, sizeof(in), r->hash_key);
	memcpy(&k, h, sizeof(k));
	return (size_t)(k & (MG_RATELIMITER_SLOTS - 1));
}

/* The source's own entry, a fresh one for it, or the shared overflow bucket
 * when its window is full of live entries (see the header). */
static struct mg_ratelimiter_entry *entry_of(struct mg_ratelimiter *r, uint8_t family, uint64_t key,
					     uint64_t now)
{
	size_t start = window_start(r, family, key);
	struct mg_ratelimiter_entry *e, *spare = NULL;

	for (size_t i = 0; i < MG_RATELIMITER_PROBE; i++) {
		e = &r->slots[(start + i) & (MG_RATELIMITER_SLOTS - 1)];
		if (e->family == family && e->key == key)
			return e;
		if (!spare && !live(r, e, now))
			spare = e;
	}
	if (!spare)
		return &r->overflow;
	memset(spare, 0, sizeof(*spare));
	spare->family = family;
	spare->key = key;
	return spare;
}

bool mg_ratelimiter_allow(struct mg_ratelimiter *r, const struct mg_endpoint *src, uint64_t now)
{
	struct mg_ratelimiter_entry *e;
	uint64_t tokens;
	uint8_t family;
	uint64_t key;

	if (!source_key(src, &family, &key))
		return false;
	e = entry_of(r, family, key, now);
	/* A fresh or idle bucket starts full. */
	if (!e->last || now - e->last >= r->max)
		tokens = r->max;
	else
		tokens = e->tokens + (now - e->last);
	if (tokens > r->max)
		tokens = r->max;
	e->last = now ? now : 1;
	if (tokens < r->cost) {
		e->tokens = (uint32_t)tokens;
		return false;
	}
	e->tokens = (uint32_t)(tokens - r->cost);
	return true;
}
