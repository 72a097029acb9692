#include "peer/peer.h"
#include "crypto/primitives.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_BUCKETS 64

int mg_peer_table_init(struct mg_peer_table *t)
{
	memset(t, 0, sizeof(*t));
	t->buckets = calloc(INITIAL_BUCKETS, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->bucket_count = INITIAL_BUCKETS;
	/* Keyed so that nobody choosing public keys can pile them in a bucket. */
	mg_random_bytes(t->hash_key, sizeof(t->hash_key));
	return 0;
}

static uint32_t slot(const struct mg_peer_table *t, const uint8_t key[MG_KEY_SIZE])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint32_t v;
	crypto_shorthash(h, key, MG_KEY_SIZE, t->hash_key);
	memcpy(&v, h, sizeof(v));
	return v & (t->bucket_count - 1);
}

struct mg_peer *mg_peer_table_lookup(const struct mg_peer_table *t,
				     const uint8_t public_key[MG_KEY_SIZE])
{
	struct mg_peer *p = t->buckets[slot(t, public_key)];
	for (; p; p = p->hash_next)
		if (mg_equal(p->public_key, public_key, MG_KEY_SIZE))
			return p;
	return NULL;
}

/* Keeps chains short as the table grows; peers stay where they are. */
static int grow(struct mg_peer_table *t)
{
	uint32_t n = t->bucket_count * 2;
	struct mg_peer **b = calloc(n, sizeof(*b));
	if (!b)
		return -ENOMEM;
	free(t->buckets);
	t->buckets = b;
	t->bucket_count = n;
	for (struct mg_peer *p = t->first; p; p = p->list_next) {
		uint32_t i = slot(t, p->public_key);
		p->hash_next = b[i];
		b[i] = p;
	}
	return 0;
}

int mg_peer_table_add(struct mg_peer_table *t, const uint8_t public_key[MG_KEY_SIZE],
		      struct mg_peer **out)
{
	struct mg_peer *p;
	uint32_t i;

	if (mg_peer_table_lookup(t, public_key))
		return -EEXIST;
	if (t->count >= MAX_PEERS)
		return -ENOSPC;
	if (t->count >= t->bucket_count && grow(t) < 0)
		return -ENOMEM;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	memcpy(p->public_key, public_key, MG_KEY_SIZE);
	i = slot(t, public_key);
	p->hash_next = t->buckets[i];
	t->buckets[i] = p;
	p->list_prev = t->last;
	if (t->last)
		t->last->list_next = p;
	else
		t->first = p;
	t->last = p;
	t->count++;
	*out = p;
	return 0;
}

void mg_peer_table_remove(struct mg_peer_table *t, struct mg_peer *peer)
{
	for (struct mg_peer **pp = &t->buckets[slot(t, peer->public_key)]; *pp;
	     pp = &(*pp)->hash_next) {
		if (*pp == peer) {
			*pp = peer->hash_next;
			break;
		}
	}
	if (peer->list_prev)
		peer->list_prev->list_next = peer->list_next;
	else
		t->first = peer->list_next;
	if (peer->list_next)
		peer->list_next->list_prev = peer->list_prev;
	else
		t->last = peer->list_prev;
	t->count--;
	mg_wipe(peer, sizeof(*peer));
	free(peer);
}

void mg_peer_table_free(struct mg_peer_table *t)
{
	while (t->first)
		mg_peer_table_remove(t, t->first);
	free(t->buckets);
	t->buckets = NULL;
}
