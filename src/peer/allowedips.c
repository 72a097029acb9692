/* Cryptokey routing table: a path-compressed binary trie per address family,
 * after the Linux WireGuard module's allowedips.c.
 *
 * Every node holds a prefix (key, cidr). A node with a peer is a route; a
 * node without one is glue and always has exactly two children, so the trie
 * has at most two nodes per route. Children extend their parent's prefix and
 * are chosen by the first bit past it.
 *
 * Keys are two host-order 64-bit words, most significant bit first, so prefix
 * comparison is an XOR and a count of leading zeros. IPv4 keys sit in the top
 * half of key[0]; the families live in separate tries, so ::ffff:a.b.c.d
 * never matches an IPv4 route.
 *
 * Each peer's route nodes are also on a doubly linked list in insertion order,
 * reached through a small hash keyed by the peer pointer. That list is what
 * makes remove_by_peer and walk_by_peer independent of the table's size.
 *
 * Lookups are bound by memory latency (one dependent load per level), so a
 * node is exactly one 64-byte cache line, carved from slabs, and keeps no
 * parent pointer: a removal walks down from the root again instead. */
#include "peer/allowedips.h"

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct mg_allowedips_node {
	/* Lookups read the first 48 bytes only. */
	uint64_t key[2]; /* bits past cidr are zero */
	uint8_t cidr;
	uint8_t family;
	struct mg_allowedips_node *bit[2];
	struct mg_peer *peer; /* NULL for glue */
	/* This peer's nodes, in insertion order. */
	struct mg_allowedips_node *peer_prev, *peer_next;
};

/* A node is one cache line; a slab's first line holds the link to the next. */
#define NODE_BYTES 64
#define SLAB_NODES 64
_Static_assert(sizeof(struct mg_allowedips_node) == NODE_BYTES, "a node is one cache line");

/* One slot of the peer hash; peer == NULL marks a free slot. */
struct mg_allowedips_owner {
	struct mg_peer *peer;
	struct mg_allowedips_node *head, *tail;
};

static unsigned family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

static void mask_key(uint64_t key[2], unsigned cidr)
{
	if (cidr < 64) {
		key[0] &= cidr ? ~UINT64_C(0) << (64 - cidr) : 0;
		key[1] = 0;
	} else if (cidr < 128) {
		key[1] &= cidr > 64 ? ~UINT64_C(0) << (128 - cidr) : 0;
	}
}

/* addr is 4 or 16 bytes in network order. */
static void load_key(uint64_t key[2], int family, const uint8_t *addr)
{
	if (family == AF_INET) {
		uint32_t a;
		memcpy(&a, addr, 4);
		key[0] = (uint64_t)be32toh(a) << 32;
		key[1] = 0;
	} else {
		memcpy(key, addr, 16);
		key[0] = be64toh(key[0]);
		key[1] = be64toh(key[1]);
	}
}

static void store_prefix(struct mg_prefix *p, const struct mg_allowedips_node *n)
{
	uint64_t words[2] = { htobe64(n->key[0]), htobe64(n->key[1]) };

	memset(p, 0, sizeof(*p));
	p->family = n->family;
	p->cidr = n->cidr;
	memcpy(p->addr, words, n->family == AF_INET ? 4 : 16);
}

/* The number of leading bits n's key shares with key (128 if all). */
static unsigned common_bits(const struct mg_allowedips_node *n, const uint64_t key[2])
{
	uint64_t x = n->key[0] ^ key[0];

	if (x)
		return (unsigned)__builtin_clzll(x);
	x = n->key[1] ^ key[1];
	return x ? 64 + (unsigned)__builtin_clzll(x) : 128;
}

static bool matches(const struct mg_allowedips_node *n, const uint64_t key[2])
{
	return common_bits(n, key) >= n->cidr;
}

/* The child on key's side: the bit right after n's prefix. key needs
 * n->cidr / 64 + 1 words; only lookups reach a full-length node (/32, /128),
 * which has no children, so they pass a third zero word and need no length
 * check. */
static unsigned choose(const struct mg_allowedips_node *n, const uint64_t *key)
{
	return (unsigned)(key[n->cidr >> 6] >> (63 - (n->cidr & 63))) & 1;
}

/* Refills the spare list with a new slab. 0 or -ENOMEM. */
static int grow(struct mg_allowedips *t)
{
	struct mg_allowedips_node *slab = aligned_alloc(NODE_BYTES, NODE_BYTES * SLAB_NODES);

	if (!slab)
		return -ENOMEM;
	memcpy(slab, &t->slabs, sizeof(t->slabs));
	t->slabs = slab;
	for (size_t i = SLAB_NODES - 1; i > 0; i--) {
		slab[i].bit[0] = t->spare;
		t->spare = &slab[i];
	}
	return 0;
}

/* Returns a node for key/cidr with host bits cleared and no peer, or NULL. */
static struct mg_allowedips_node *node_new(struct mg_allowedips *t, const uint64_t key[2],
					   unsigned cidr, int family)
{
	struct mg_allowedips_node *n;

	if (!t->spare && grow(t) < 0)
		return NULL;
	n = t->spare;
	t->spare = n->bit[0];
	memset(n, 0, sizeof(*n));
	memcpy(n->key, key, sizeof(n->key));
	mask_key(n->key, cidr);
	n->cidr = (uint8_t)cidr;
	n->family = (uint8_t)family;
	return n;
}

static void node_free(struct mg_allowedips *t, struct mg_allowedips_node *n)
{
	n->bit[0] = t->spare;
	t->spare = n;
}

/* ---- the peer hash: linear probing, backward-shift deletion ---- */

static size_t owner_hash(const struct mg_peer *peer, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)peer * UINT64_C(0x9e3779b97f4a7c15);

	return (size_t)(h ^ (h >> 32)) & (cap - 1);
}

/* The slot holding peer, or the free slot where it would go. cap > 0. */
static struct mg_allowedips_owner *owner_slot(const struct mg_allowedips *t,
					      const struct mg_peer *peer)
{
	size_t i = owner_hash(peer, t->owners_cap);

	while (t->owners[i].peer && t->owners[i].peer != peer)
		i = (i + 1) & (t->owners_cap - 1);
	return &t->owners[i];
}

static struct mg_allowedips_owner *owner_find(const struct mg_allowedips *t,
					      const struct mg_peer *peer)
{
	struct mg_allowedips_owner *o;

	if (!t->owners_cap || !peer)
		return NULL;
	o = owner_slot(t, peer);
	return o->peer ? o : NULL;
}

/* Makes room for one more peer (load at most 3/4), so owner_get cannot fail
 * after it. 0 or -ENOMEM, the hash unchanged on failure. */
static int owner_reserve(struct mg_allowedips *t)
{
	size_t cap = t->owners_cap ? t->owners_cap * 2 : 16;
	struct mg_allowedips_owner *old = t->owners;
	size_t old_cap = t->owners_cap;

	if ((t->owners_len + 1) * 4 <= t->owners_cap * 3)
		return 0;
	t->owners = calloc(cap, sizeof(*t->owners));
	if (!t->owners) {
		t->owners = old;
		return -ENOMEM;
	}
	t->owners_cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].peer)
			*owner_slot(t, old[i].peer) = old[i];
	free(old);
	return 0;
}

static struct mg_allowedips_owner *owner_get(struct mg_allowedips *t, struct mg_peer *peer)
{
	struct mg_allowedips_owner *o = owner_slot(t, peer);

	if (!o->peer) {
		o->peer = peer;
		t->owners_len++;
	}
	return o;
}

/* Closes the gap at o by moving back later entries of its probe run. */
static void owner_delete(struct mg_allowedips *t, struct mg_allowedips_owner *o)
{
	size_t mask = t->owners_cap - 1, hole = (size_t)(o - t->owners), j = hole;

	for (;;) {
		j = (j + 1) & mask;
		if (!t->owners[j].peer)
			break;
		size_t home = owner_hash(t->owners[j].peer, t->owners_cap);
		bool stays = hole < j ? hole < home && home <= j : hole < home || home <= j;
		if (stays)
			continue;
		t->owners[hole] = t->owners[j];
		hole = j;
	}
	memset(&t->owners[hole], 0, sizeof(t->owners[hole]));
	t->owners_len--;
}

/* ---- per-peer lists ---- */

static void append(struct mg_allowedips_owner *o, struct mg_allowedips_node *n)
{
	n->peer_prev = o->tail;
	n->peer_next = NULL;
	if (o->tail)
		o->tail->peer_next = n;
	else
		o->head = n;
	o->tail = n;
}

/* Takes n off its peer's list, dropping the peer's slot when it empties. */
static void unlink_peer(struct mg_allowedips *t, struct mg_allowedips_node *n)
{
	struct mg_allowedips_owner *o = owner_find(t, n->peer);

	if (n->peer_prev)
		n->peer_prev->peer_next = n->peer_next;
	else
		o->head = n->peer_next;
	if (n->peer_next)
		n->peer_next->peer_prev = n->peer_prev;
	else
		o->tail = n->peer_prev;
	n->peer_prev = n->peer_next = NULL;
	if (!o->head)
		owner_delete(t, o);
}

/* Gives n to peer, at the end of peer's list. Needs owner_reserve first. */
static void set_peer(struct mg_allowedips *t, struct mg_allowedips_node *n, struct mg_peer *peer)
{
	if (n->peer)
		unlink_peer(t, n);
	else
		t->count++;
	n->peer = peer;
	append(owner_get(t, peer), n);
}

/* ---- the trie ---- */

static struct mg_allowedips_node **root_of(struct mg_allowedips *t, int family)
{
	return family == AF_INET ? &t->root4 : &t->root6;
}

/* Walks down from root towards key/cidr. Returns the node that is exactly
 * key/cidr, or NULL with *slot the link where it belongs: empty, or holding
 * a node that does not contain key/cidr. */
static struct mg_allowedips_node *placement(struct mg_allowedips_node **root, const uint64_t key[2],
					    unsigned cidr, struct mg_allowedips_node ***slot)
{
	struct mg_allowedips_node **s = root;

	while (*s && (*s)->cidr <= cidr && matches(*s, key)) {
		if ((*s)->cidr == cidr) {
			*slot = s;
			return *s;
		}
		s = &(*s)->bit[choose(*s, key)];
	}
	*slot = s;
	return NULL;
}

/* Puts n (not yet in the trie) at slot, from placement. Whatever hung there
 * goes below n, or below a new glue node where the two prefixes part.
 * 0 or -ENOMEM (nothing changed). */
static int link_node(struct mg_allowedips *t, struct mg_allowedips_node **slot,
		     struct mg_allowedips_node *n)
{
	struct mg_allowedips_node *down = *slot, *glue;
	unsigned common;

	if (down) {
		common = common_bits(down, n->key);
		if (common >= n->cidr) {
			n->bit[choose(n, down->key)] = down;
		} else {
			glue = node_new(t, n->key, common, n->family);
			if (!glue)
				return -ENOMEM;
			glue->bit[choose(glue, n->key)] = n;
			glue->bit[choose(glue, down->key)] = down;
			n = glue;
		}
	}
	*slot = n;
	return 0;
}

/* The link pointing at n, which must be in the trie, and the link pointing
 * at its parent (NULL at the root). Nodes keep no parent pointer: a removal
 * walks down again, which costs the depth and saves 8 bytes a node. */
static void locate(struct mg_allowedips_node **root, const struct mg_allowedips_node *n,
		   struct mg_allowedips_node ***slot, struct mg_allowedips_node ***parent_slot)
{
	struct mg_allowedips_node **s = root, **ps = NULL;

	while (*s != n) {
		ps = s;
		s = &(*s)->bit[choose(*s, n->key)];
	}
	*slot = s;
	*parent_slot = ps;
}

static int check_prefix(const struct mg_prefix *p, uint64_t key[2])
{
	if (p->family != AF_INET && p->family != AF_INET6)
		return -EINVAL;
	if (p->cidr > family_bits(p->family))
		return -EINVAL;
	load_key(key, p->family, p->addr);
	mask_key(key, p->cidr);
	return 0;
}

void mg_allowedips_init(struct mg_allowedips *t)
{
	memset(t, 0, sizeof(*t));
}

void mg_allowedips_free(struct mg_allowedips *t)
{
	void *next;

	for (void *slab = t->slabs; slab; slab = next) {
		memcpy(&next, slab, sizeof(next));
		free(slab);
	}
	free(t->owners);
	mg_allowedips_init(t);
}

int mg_allowedips_insert(struct mg_allowedips *t, const struct mg_prefix *p, struct mg_peer *peer)
{
	struct mg_allowedips_node **slot, *n;
	uint64_t key[2];

	if (!peer || check_prefix(p, key) < 0)
		return -EINVAL;
	if (owner_reserve(t) < 0)
		return -ENOMEM;
	n = placement(root_of(t, p->family), key, p->cidr, &slot);
	if (n) {
		set_peer(t, n, peer);
		return 0;
	}
	n = node_new(t, key, p->cidr, p->family);
	if (!n)
		return -ENOMEM;
	if (link_node(t, slot, n) < 0) {
		node_free(t, n);
		return -ENOMEM;
	}
	set_peer(t, n, peer);
	return 0;
}

/* Drops the route at n (already off its peer's list), then whatever glue that
 * leaves with fewer than two children. */
static void detach(struct mg_allowedips *t, struct mg_allowedips_node *n)
{
	struct mg_allowedips_node **slot, **parent_slot, *parent;

	n->peer = NULL;
	n->peer_prev = n->peer_next = NULL;
	t->count--;
	if (n->bit[0] && n->bit[1])
		return;
	locate(root_of(t, n->family), n, &slot, &parent_slot);
	*slot = n->bit[0] ? n->bit[0] : n->bit[1];
	node_free(t, n);
	if (*slot || !parent_slot || (*parent_slot)->peer)
		return;
	/* The parent is glue that just lost one of its two children. */
	parent = *parent_slot;
	*parent_slot = parent->bit[0] ? parent->bit[0] : parent->bit[1];
	node_free(t, parent);
}

int mg_allowedips_remove(struct mg_allowedips *t, const struct mg_prefix *p, struct mg_peer *peer)
{
	struct mg_allowedips_node **slot, *n;
	uint64_t key[2];

	if (check_prefix(p, key) < 0)
		return -EINVAL;
	n = placement(root_of(t, p->family), key, p->cidr, &slot);
	if (!n || !peer || n->peer != peer)
		return -ENOENT;
	unlink_peer(t, n);
	detach(t, n);
	return 0;
}

void mg_allowedips_remove_by_peer(struct mg_allowedips *t, struct mg_peer *peer)
{
	struct mg_allowedips_owner *o = owner_find(t, peer);
	struct mg_allowedips_node *n, *next;

	if (!o)
		return;
	n = o->head;
	owner_delete(t, o);
	for (; n; n = next) {
		next = n->peer_next;
		detach(t, n);
	}
}

struct mg_peer *mg_allowedips_lookup(const struct mg_allowedips *t, int family, const uint8_t *addr)
{
	const struct mg_allowedips_node *n;
	struct mg_peer *found = NULL;
	uint64_t key[3] = { 0 }; /* the third word is for choose() at /128 */

	if (family == AF_INET)
		n = t->root4;
	else if (family == AF_INET6)
		n = t->root6;
	else
		return NULL;
	load_key(key, family, addr);
	for (; n && matches(n, key); n = n->bit[choose(n, key)])
		if (n->peer)
			found = n->peer;
	return found;
}

int mg_allowedips_walk_by_peer(const struct mg_allowedips *t, const struct mg_peer *peer,
			       int (*cb)(void *ctx, const struct mg_prefix *p), void *ctx)
{
	const struct mg_allowedips_owner *o = owner_find(t, peer);
	struct mg_prefix p;
	int ret;

	for (const struct mg_allowedips_node *n = o ? o->head : NULL; n; n = n->peer_next) {
		store_prefix(&p, n);
		ret = cb(ctx, &p);
		if (ret)
			return ret;
	}
	return 0;
}

size_t mg_allowedips_count(const struct mg_allowedips *t)
{
	return t->count;
}
