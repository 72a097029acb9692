/* The trie against a naive reference: a hash of live prefixes keyed by
 * (family, length, masked address), searched from the longest length down.
 * Random IPv4 and IPv6 routes across many peers, random moves and removals,
 * then many lookups (mostly inside known routes) must give identical answers,
 * and every peer's walk must list its routes in insertion order.
 *
 * Usage: test_allowedips_random [seed]. The seed is printed so a failure can
 * be replayed. */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>

#include "check.h"
#include "peer/allowedips.h"

#define NPEERS	     1000
#define NPREFIXES    100000
#define NOPS	     50000
#define NLOOKUPS     1000000
#define MAX_ENTRIES  (NPREFIXES + NOPS)
#define SLOTS	     (1u << 19) /* reference hash, a power of two > 2 * MAX_ENTRIES */
#define DEFAULT_SEED UINT64_C(0x6d657368677561)

static max_align_t fake_peers[NPEERS];

static struct mg_peer *peer_at(size_t i)
{
	return (struct mg_peer *)&fake_peers[i];
}

static size_t peer_index(const struct mg_peer *p)
{
	return (size_t)((const max_align_t *)(const void *)p - fake_peers);
}

/* ---- random numbers: splitmix64 ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static size_t below(size_t n)
{
	return (size_t)(rnd() % n);
}

/* ---- the reference ---- */

struct ref_entry {
	uint64_t key[2]; /* host order, masked, IPv4 in the top of key[0] */
	uint8_t family;
	uint8_t cidr;
	struct mg_peer *peer; /* NULL once removed; the entry stays */
	uint64_t stamp;	      /* when it was last given to its peer */
};

static struct ref_entry *entries;
static size_t nentries;
static uint32_t *slots; /* 0 free, else entry index + 1 */
static size_t live_per_len[2][129];
static size_t live;
static uint64_t clock_now;

static int fam_index(int family)
{
	return family == AF_INET6;
}

static unsigned width(int family)
{
	return family == AF_INET ? 32 : 128;
}

static void mask(uint64_t key[2], unsigned cidr)
{
	uint64_t m0 = cidr >= 64 ? ~UINT64_C(0) : cidr ? ~UINT64_C(0) << (64 - cidr) : 0;
	uint64_t m1 = cidr >= 128 ? ~UINT64_C(0) : cidr > 64 ? ~UINT64_C(0) << (128 - cidr) : 0;

	key[0] &= m0;
	key[1] &= m1;
}

static size_t slot_hash(const uint64_t key[2], int family, unsigned cidr)
{
	uint64_t h = key[0] * UINT64_C(0x9e3779b97f4a7c15) ^ key[1];
	h = (h ^ (h >> 31) ^ ((uint64_t)cidr << 8 | (uint64_t)family)) *
	    UINT64_C(0xbf58476d1ce4e5b9);
	return (size_t)(h ^ (h >> 29)) & (SLOTS - 1);
}

/* The entry for a masked key, or NULL; *slot is where it is or would go. */
static struct ref_entry *ref_find(const uint64_t key[2], int family, unsigned cidr, size_t *slot)
{
	size_t i = slot_hash(key, family, cidr);

	for (; slots[i]; i = (i + 1) & (SLOTS - 1)) {
		struct ref_entry *e = &entries[slots[i] - 1];
		if (e->key[0] == key[0] && e->key[1] == key[1] && e->family == family &&
		    e->cidr == cidr)
			break;
	}
	if (slot)
		*slot = i;
	return slots[i] ? &entries[slots[i] - 1] : NULL;
}

static void ref_set_peer(struct ref_entry *e, struct mg_peer *peer)
{
	if (!e->peer && peer) {
		live_per_len[fam_index(e->family)][e->cidr]++;
		live++;
	} else if (e->peer && !peer) {
		live_per_len[fam_index(e->family)][e->cidr]--;
		live--;
	}
	e->peer = peer;
	e->stamp = ++clock_now;
}

static struct ref_entry *ref_insert(const uint64_t key[2], int family, unsigned cidr,
				    struct mg_peer *peer)
{
	size_t slot;
	struct ref_entry *e = ref_find(key, family, cidr, &slot);

	if (!e) {
		CHECK(nentries < MAX_ENTRIES);
		e = &entries[nentries++];
		memset(e, 0, sizeof(*e));
		memcpy(e->key, key, sizeof(e->key));
		e->family = (uint8_t)family;
		e->cidr = (uint8_t)cidr;
		slots[slot] = (uint32_t)nentries;
	}
	ref_set_peer(e, peer);
	return e;
}

static struct mg_peer *ref_lookup(int family, const uint64_t addr[2])
{
	const size_t *counts = live_per_len[fam_index(family)];

	for (int cidr = (int)width(family); cidr >= 0; cidr--) {
		uint64_t key[2] = { addr[0], addr[1] };
		if (!counts[cidr])
			continue;
		mask(key, (unsigned)cidr);
		struct ref_entry *e = ref_find(key, family, (unsigned)cidr, NULL);
		if (e && e->peer)
			return e->peer;
	}
	return NULL;
}

/* ---- conversions to what the table takes ---- */

static void to_bytes(uint8_t out[16], const uint64_t key[2], int family)
{
	uint64_t be[2] = { htobe64(key[0]), htobe64(key[1]) };

	memcpy(out, be, family == AF_INET ? 4 : 16);
}

/* Keeps the first cidr bits of prefix and the rest of addr. */
static void graft(uint64_t addr[2], const uint64_t prefix[2], unsigned cidr)
{
	uint64_t keep[2] = { ~UINT64_C(0), ~UINT64_C(0) };

	mask(keep, cidr);
	addr[0] = (prefix[0] & keep[0]) | (addr[0] & ~keep[0]);
	addr[1] = (prefix[1] & keep[1]) | (addr[1] & ~keep[1]);
}

/* Host bits are set half the time: the table must ignore them. */
static struct mg_prefix to_prefix(const struct ref_entry *e)
{
	uint64_t key[2] = { rnd(), rnd() };
	struct mg_prefix p;

	mask(key, width(e->family));
	if (rnd() & 1)
		key[0] = key[1] = 0;
	graft(key, e->key, e->cidr);
	memset(&p, 0, sizeof(p));
	p.family = e->family;
	p.cidr = e->cidr;
	to_bytes(p.addr, key, e->family);
	return p;
}

/* ---- random routes ---- */

/* Anywhere in the family's space. */
static void random_addr(uint64_t key[2], int family)
{
	key[0] = rnd();
	key[1] = family == AF_INET ? 0 : rnd();
	if (family == AF_INET)
		key[0] &= ~UINT64_C(0) << 32;
}

/* Three fresh routes in four fall in a few dense blocks (four IPv4 /8s, four
 * ULA /24s) with lengths from a quarter of the width; the rest are long
 * routes anywhere, so most of the space stays unrouted and probes can miss.
 * One in 500 is short (below a quarter of the width, down to /0). */
static void fresh_route(uint64_t key[2], int family, unsigned *cidr)
{
	static const uint64_t dense4[] = { 10, 100, 172, 192 };
	unsigned w = width(family);

	random_addr(key, family);
	if (rnd() % 500 == 0) {
		*cidr = (unsigned)below(w / 4);
		return;
	}
	if (rnd() % 4 == 0) {
		*cidr = w / 2 + (unsigned)below(w - w / 2 + 1);
		return;
	}
	if (family == AF_INET)
		key[0] = (key[0] & ~(UINT64_C(0xff) << 56)) | dense4[below(4)] << 56;
	else
		key[0] = (key[0] & ~(~UINT64_C(0) << 40)) | UINT64_C(0xfd00) << 48 |
			 (uint64_t)below(4) << 40;
	*cidr = w / 4 + (unsigned)below(w - w / 4 + 1);
}

/* A route either fresh or nested inside an existing one, so the trie gets
 * deep chains of glue and routes. */
static void random_route(uint64_t key[2], int *family, unsigned *cidr)
{
	if (nentries && rnd() % 10 < 3) {
		const struct ref_entry *outer = &entries[below(nentries)];
		*family = outer->family;
		random_addr(key, *family);
		*cidr = outer->cidr + (unsigned)below(width(*family) - outer->cidr + 1);
		graft(key, outer->key, outer->cidr);
	} else {
		*family = rnd() & 1 ? AF_INET6 : AF_INET;
		fresh_route(key, *family, cidr);
	}
	mask(key, *cidr);
}

/* ---- operations on both ---- */

static void op_insert_new(struct mg_allowedips *t)
{
	uint64_t key[2];
	int family;
	unsigned cidr;
	struct mg_peer *peer = peer_at(below(NPEERS));
	struct ref_entry *e;

	random_route(key, &family, &cidr);
	e = ref_insert(key, family, cidr, peer);
	struct mg_prefix p = to_prefix(e);
	CHECK_EQ(mg_allowedips_insert(t, &p, peer), 0);
}

static void op_move(struct mg_allowedips *t)
{
	struct ref_entry *e = &entries[below(nentries)];
	struct mg_peer *peer = peer_at(below(NPEERS));
	struct mg_prefix p = to_prefix(e);

	CHECK_EQ(mg_allowedips_insert(t, &p, peer), 0);
	ref_set_peer(e, peer);
}

static void op_remove(struct mg_allowedips *t)
{
	struct ref_entry *e = &entries[below(nentries)];
	struct mg_prefix p = to_prefix(e);
	struct mg_peer *other = peer_at(below(NPEERS));

	if (e->peer && other != e->peer && rnd() % 8 == 0) {
		CHECK_EQ(mg_allowedips_remove(t, &p, other), -ENOENT);
		return;
	}
	if (!e->peer) {
		CHECK_EQ(mg_allowedips_remove(t, &p, other), -ENOENT);
		return;
	}
	CHECK_EQ(mg_allowedips_remove(t, &p, e->peer), 0);
	ref_set_peer(e, NULL);
}

static void op_remove_peer(struct mg_allowedips *t)
{
	struct mg_peer *peer = peer_at(below(NPEERS));

	mg_allowedips_remove_by_peer(t, peer);
	for (size_t i = 0; i < nentries; i++)
		if (entries[i].peer == peer)
			ref_set_peer(&entries[i], NULL);
}

static void random_ops(struct mg_allowedips *t)
{
	for (size_t i = 0; i < NOPS; i++) {
		unsigned r = (unsigned)below(100);
		if (r < 40)
			op_move(t);
		else if (r < 80)
			op_remove(t);
		else
			op_insert_new(t);
		if (i % 2500 == 0)
			op_remove_peer(t);
	}
}

/* ---- checks ---- */

/* Mostly addresses inside a known route (live or removed), some anywhere. */
static void random_probe(uint64_t addr[2], int *family)
{
	if (rnd() % 4) {
		const struct ref_entry *e = &entries[below(nentries)];
		*family = e->family;
		random_addr(addr, *family);
		graft(addr, e->key, e->cidr);
	} else {
		*family = rnd() & 1 ? AF_INET6 : AF_INET;
		random_addr(addr, *family);
	}
}

static size_t check_lookups(const struct mg_allowedips *t, size_t n)
{
	size_t hits = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t addr[2];
		uint8_t bytes[16];
		int family;
		random_probe(addr, &family);
		to_bytes(bytes, addr, family);
		struct mg_peer *want = ref_lookup(family, addr);
		if (mg_allowedips_lookup(t, family, bytes) != want) {
			fprintf(stderr, "lookup %016" PRIx64 "%016" PRIx64 " (family %d) differs\n",
				addr[0], addr[1], family);
			exit(1);
		}
		hits += want != NULL;
	}
	printf("  %zu lookups, %zu hit a route\n", n, hits);
	return hits;
}

struct walk_state {
	const size_t *want; /* entry indices in expected order */
	size_t n, at;
};

static int walk_check(void *ctx, const struct mg_prefix *p)
{
	struct walk_state *w = ctx;
	uint8_t bytes[16] = { 0 };
	const struct ref_entry *e;

	if (w->at == w->n)
		return -1;
	e = &entries[w->want[w->at++]];
	to_bytes(bytes, e->key, e->family);
	return p->family == e->family && p->cidr == e->cidr && !memcmp(p->addr, bytes, 16) ? 0 : -2;
}

static int by_peer_then_stamp(const void *a, const void *b)
{
	const struct ref_entry *x = &entries[*(const size_t *)a], *y = &entries[*(const size_t *)b];
	size_t px = peer_index(x->peer), py = peer_index(y->peer);

	if (px != py)
		return px < py ? -1 : 1;
	return x->stamp < y->stamp ? -1 : x->stamp > y->stamp;
}

static void check_walks(const struct mg_allowedips *t)
{
	size_t *order = malloc(live * sizeof(*order) + 1), n = 0, start = 0;

	CHECK(order != NULL);
	for (size_t i = 0; i < nentries; i++)
		if (entries[i].peer)
			order[n++] = i;
	CHECK_EQ(n, live);
	qsort(order, n, sizeof(*order), by_peer_then_stamp);
	for (size_t p = 0; p < NPEERS; p++) {
		struct walk_state w = { .want = order + start, .n = 0, .at = 0 };
		while (start + w.n < n && entries[order[start + w.n]].peer == peer_at(p))
			w.n++;
		CHECK_EQ(mg_allowedips_walk_by_peer(t, peer_at(p), walk_check, &w), 0);
		CHECK_EQ(w.at, w.n);
		start += w.n;
	}
	free(order);
}

/* Returns how many lookups found a route. */
static size_t check_all(const struct mg_allowedips *t, size_t lookups)
{
	CHECK_EQ(mg_allowedips_count(t), live);
	check_walks(t);
	return check_lookups(t, lookups);
}

/* Drops the short routes (the /0s among them) so that lookups can miss. */
static void remove_short(struct mg_allowedips *t)
{
	for (size_t i = 0; i < nentries; i++) {
		struct ref_entry *e = &entries[i];
		if (!e->peer || e->cidr >= width(e->family) / 4)
			continue;
		struct mg_prefix p = to_prefix(e);
		CHECK_EQ(mg_allowedips_remove(t, &p, e->peer), 0);
		ref_set_peer(e, NULL);
	}
}

/* Default routes answer exactly the lookups that missed before. */
static void add_defaults(struct mg_allowedips *t)
{
	static const int families[] = { AF_INET, AF_INET6 };
	const uint64_t zero[2] = { 0, 0 };

	for (size_t i = 0; i < 2; i++) {
		struct ref_entry *e = ref_insert(zero, families[i], 0, peer_at(below(NPEERS)));
		struct mg_prefix p = to_prefix(e);
		CHECK_EQ(mg_allowedips_insert(t, &p, e->peer), 0);
	}
	printf("with default routes: %zu routes\n", live);
}

int main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : DEFAULT_SEED;
	struct mg_allowedips t;

	printf("seed 0x%" PRIx64 "\n", seed);
	rng_state = seed;
	entries = calloc(MAX_ENTRIES, sizeof(*entries));
	slots = calloc(SLOTS, sizeof(*slots));
	CHECK(entries && slots);
	mg_allowedips_init(&t);

	for (size_t i = 0; i < NPREFIXES; i++)
		op_insert_new(&t);
	printf("inserted %zu random routes, %zu distinct\n", (size_t)NPREFIXES, live);
	check_all(&t, NLOOKUPS / 10);
	random_ops(&t);
	printf("after %d moves, removals and inserts: %zu routes\n", NOPS, live);
	CHECK(check_all(&t, NLOOKUPS / 2) > NLOOKUPS / 4);
	remove_short(&t);
	printf("without routes shorter than a quarter of the width: %zu routes\n", live);
	size_t hits = check_all(&t, NLOOKUPS / 2);
	CHECK(hits > NLOOKUPS / 8 && hits < NLOOKUPS / 2 * 95 / 100);
	add_defaults(&t);
	CHECK_EQ(check_all(&t, NLOOKUPS / 10), NLOOKUPS / 10);

	for (size_t p = 0; p < NPEERS; p++)
		mg_allowedips_remove_by_peer(&t, peer_at(p));
	CHECK_EQ(mg_allowedips_count(&t), 0);
	CHECK(mg_allowedips_lookup(&t, AF_INET, (const uint8_t *)"\x0a\0\0\1") == NULL);
	mg_allowedips_free(&t);
	free(entries);
	free(slots);
	mg_test_pass("allowedips_random");
	return 0;
}
