/* Cryptokey routing table: longest-prefix match, moves, removals and the
 * per-peer walk order, driven by small tables of routes and expected owners.
 * Peers are distinct fake pointers; the table never dereferences them. */
#include <arpa/inet.h>
#include <errno.h>

#include "check.h"
#include "peer/allowedips.h"

static max_align_t fake_peers[8];
#define PEER(i) ((struct mg_peer *)&fake_peers[i])

struct route {
	const char *prefix;
	int peer;
};

/* peer -1: no route. */
struct probe {
	const char *addr;
	int peer;
};

static struct mg_prefix prefix(const char *s)
{
	struct mg_prefix p;

	if (mg_prefix_parse(&p, s, false) < 0) {
		fprintf(stderr, "bad prefix \"%s\" in test\n", s);
		exit(1);
	}
	return p;
}

static void insert_all(struct mg_allowedips *t, const struct route *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct mg_prefix p = prefix(r[i].prefix);
		CHECK_EQ(mg_allowedips_insert(t, &p, PEER(r[i].peer)), 0);
	}
}

static struct mg_peer *lookup(const struct mg_allowedips *t, const char *addr)
{
	uint8_t buf[16];
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;

	CHECK_EQ(inet_pton(family, addr, buf), 1);
	return mg_allowedips_lookup(t, family, buf);
}

static void probe_all(const struct mg_allowedips *t, const struct probe *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct mg_peer *want = p[i].peer < 0 ? NULL : PEER(p[i].peer);
		struct mg_peer *got = lookup(t, p[i].addr);
		if (got != want)
			fprintf(stderr, "lookup %s: want peer %d\n", p[i].addr, p[i].peer);
		CHECK(got == want);
	}
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Adapted from the Linux module's selftest: nested and sibling routes. */
static const struct route nested_routes[] = {
	{ "192.168.4.0/24", 0 },
	{ "192.168.4.4/32", 1 },
	{ "192.168.0.0/16", 2 },
	{ "192.95.5.64/27", 3 },
	{ "192.95.5.65/32", 2 },
	{ "192.95.5.93/32", 4 },
	{ "192.0.0.0/8", 5 },
	{ "10.0.0.0/8", 6 },
	{ "10.1.0.0/16", 7 },
	{ "2607:5300:60:6b00::c05f:543/128", 3 },
	{ "2607:5300:60:6b00::/64", 4 },
	{ "2607:5300::/32", 5 },
	{ "2001:db8::/32", 6 },
	{ "2001:db8:1::/48", 7 },
	{ "64.15.112.0/20", 1 },
	{ "64.15.123.211/25", 2 },
};

static const struct probe nested_probes[] = {
	{ "192.168.4.20", 0 },
	{ "192.168.4.0", 0 },
	{ "192.168.4.4", 1 },
	{ "192.168.200.182", 2 },
	{ "192.95.5.68", 3 },
	{ "192.95.5.64", 3 },
	{ "192.95.5.65", 2 },
	{ "192.95.5.93", 4 },
	{ "192.95.5.96", 5 },
	{ "192.1.2.3", 5 },
	{ "193.1.2.3", -1 },
	{ "10.1.2.3", 7 },
	{ "10.2.2.3", 6 },
	{ "11.0.0.0", -1 },
	{ "64.15.116.26", 1 },
	{ "64.15.127.3", 1 },
	{ "64.15.123.1", 1 },
	{ "64.15.123.128", 2 },
	{ "64.15.123.211", 2 },
	{ "64.15.123.255", 2 },
	{ "2607:5300:60:6b00::c05f:543", 3 },
	{ "2607:5300:60:6b00::c05f:544", 4 },
	{ "2607:5300:60:6b01::1", 5 },
	{ "2607:5301::1", -1 },
	{ "2001:db8:1::1", 7 },
	{ "2001:db8:2::1", 6 },
	{ "::", -1 },
};

static void test_longest_match(void)
{
	struct mg_allowedips t;

	mg_allowedips_init(&t);
	insert_all(&t, nested_routes, ARRAY_LEN(nested_routes));
	CHECK_EQ(mg_allowedips_count(&t), ARRAY_LEN(nested_routes));
	probe_all(&t, nested_probes, ARRAY_LEN(nested_probes));
	mg_allowedips_free(&t);
	CHECK_EQ(mg_allowedips_count(&t), 0);
	CHECK(lookup(&t, "192.168.4.4") == NULL);
}

/* Inserting in the reverse order builds a different trie shape (glue nodes
 * appear and are later filled); the answers must not change. */
static void test_order_independent(void)
{
	struct mg_allowedips t;

	mg_allowedips_init(&t);
	for (size_t i = ARRAY_LEN(nested_routes); i-- > 0;)
		insert_all(&t, &nested_routes[i], 1);
	probe_all(&t, nested_probes, ARRAY_LEN(nested_probes));
	mg_allowedips_free(&t);
}

static void test_default_and_host_routes(void)
{
	static const struct route routes[] = {
		{ "0.0.0.0/0", 0 },   { "::/0", 1 },
		{ "10.0.0.1/32", 2 }, { "255.255.255.255/32", 3 },
		{ "::1/128", 4 },     { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 5 },
		{ "0.0.0.0/32", 6 },  { "::/128", 7 },
	};
	static const struct probe probes[] = {
		{ "10.0.0.1", 2 },
		{ "10.0.0.0", 0 },
		{ "10.0.0.2", 0 },
		{ "255.255.255.255", 3 },
		{ "255.255.255.254", 0 },
		{ "0.0.0.0", 6 },
		{ "0.0.0.1", 0 },
		{ "::1", 4 },
		{ "::2", 1 },
		{ "::", 7 },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 5 },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 1 },
	};
	struct mg_allowedips t;

	mg_allowedips_init(&t);
	insert_all(&t, routes, ARRAY_LEN(routes));
	probe_all(&t, probes, ARRAY_LEN(probes));
	mg_allowedips_free(&t);
}

/* Host bits are ignored: 10.1.2.3/8 is 10.0.0.0/8, the same route. */
static void test_host_bits_masked(void)
{
	static const struct route routes[] = { { "10.1.2.3/8", 0 }, { "10.200.0.0/8", 1 } };
	static const struct probe probes[] = { { "10.9.9.9", 1 }, { "11.0.0.0", -1 } };
	struct mg_allowedips t;
	struct mg_prefix p = prefix("10.7.7.7/8");

	mg_allowedips_init(&t);
	insert_all(&t, routes, ARRAY_LEN(routes));
	CHECK_EQ(mg_allowedips_count(&t), 1);
	probe_all(&t, probes, ARRAY_LEN(probes));
	CHECK_EQ(mg_allowedips_remove(&t, &p, PEER(1)), 0);
	CHECK_EQ(mg_allowedips_count(&t), 0);
	mg_allowedips_free(&t);
}

/* ::ffff:10.0.0.1 is an IPv6 address; it must not take IPv4 routes, and
 * ::/96-style IPv6 routes must not catch IPv4 addresses. */
static void test_v4_mapped_separate(void)
{
	static const struct route routes[] = {
		{ "10.0.0.0/8", 0 },
		{ "::ffff:0:0/96", 1 },
		{ "::/96", 2 },
	};
	static const struct probe probes[] = {
		{ "10.0.0.1", 0 },
		{ "::ffff:10.0.0.1", 1 },
		{ "::10.0.0.1", 2 },
		{ "11.0.0.1", -1 },
	};
	struct mg_allowedips t;
	struct mg_prefix p = prefix("10.0.0.0/8");

	mg_allowedips_init(&t);
	insert_all(&t, routes, ARRAY_LEN(routes));
	probe_all(&t, probes, ARRAY_LEN(probes));
	CHECK_EQ(mg_allowedips_remove(&t, &p, PEER(0)), 0);
	CHECK(lookup(&t, "10.0.0.1") == NULL);
	CHECK(lookup(&t, "::ffff:10.0.0.1") == PEER(1));
	mg_allowedips_free(&t);
}

static void test_move(void)
{
	static const struct route routes[] = {
		{ "10.0.0.0/8", 0 }, { "10.1.0.0/16", 1 }, { "10.0.0.0/8", 2 },
		{ "fd00::/8", 0 },   { "fd00::/8", 1 },
	};
	static const struct probe probes[] = {
		{ "10.0.0.1", 2 },
		{ "10.1.0.1", 1 },
		{ "fd00::1", 1 },
	};
	struct mg_allowedips t;
	struct mg_prefix p = prefix("10.0.0.0/8");

	mg_allowedips_init(&t);
	insert_all(&t, routes, ARRAY_LEN(routes));
	CHECK_EQ(mg_allowedips_count(&t), 3);
	probe_all(&t, probes, ARRAY_LEN(probes));
	/* The old owner no longer owns it. */
	CHECK_EQ(mg_allowedips_remove(&t, &p, PEER(0)), -ENOENT);
	CHECK(lookup(&t, "10.0.0.1") == PEER(2));
	mg_allowedips_free(&t);
}

static void test_remove(void)
{
	struct mg_allowedips t;
	struct mg_prefix p;

	mg_allowedips_init(&t);
	insert_all(&t, nested_routes, ARRAY_LEN(nested_routes));

	p = prefix("192.168.4.4/32");
	CHECK_EQ(mg_allowedips_remove(&t, &p, PEER(0)), -ENOENT);
	CHECK_EQ(mg_allowedips_remove(&t, &p, NULL), -ENOENT);
	CHECK_EQ(mg_allowedips_remove(&t, &p, PEER(1)), 0);
	CHECK_EQ(mg_allowedips_remove(&t, &p, PEER(1)), -ENOENT);
	CHECK(lookup(&t, "192.168.4.4") == PEER(0));

	/* A glue node's prefix (the split point of two routes) is not a route. */
	p = prefix("192.0.0.0/9");
	CHECK_EQ(mg_allowedips_remove(&t, &p, PEER(5)), -ENOENT);
	p = prefix("192.168.0.0/16");
	CHECK_EQ(mg_allowedips_remove(&t, &p, PEER(2)), 0);
	CHECK(lookup(&t, "192.168.200.1") == PEER(5));
	CHECK(lookup(&t, "192.168.4.1") == PEER(0));
	CHECK_EQ(mg_allowedips_count(&t), ARRAY_LEN(nested_routes) - 2);

	p.family = 7;
	CHECK_EQ(mg_allowedips_remove(&t, &p, PEER(2)), -EINVAL);
	CHECK_EQ(mg_allowedips_insert(&t, &p, PEER(2)), -EINVAL);
	p = prefix("10.0.0.0/8");
	p.cidr = 33;
	CHECK_EQ(mg_allowedips_insert(&t, &p, PEER(2)), -EINVAL);
	p.cidr = 8;
	CHECK_EQ(mg_allowedips_insert(&t, &p, NULL), -EINVAL);
	mg_allowedips_free(&t);
}

/* Removing every route one by one, in any order, leaves an empty table. */
static void test_remove_all(void)
{
	struct mg_allowedips t;

	mg_allowedips_init(&t);
	insert_all(&t, nested_routes, ARRAY_LEN(nested_routes));
	for (size_t k = 0; k < ARRAY_LEN(nested_routes); k++) {
		size_t i = (k * 7) % ARRAY_LEN(nested_routes);
		struct mg_prefix p = prefix(nested_routes[i].prefix);
		CHECK_EQ(mg_allowedips_remove(&t, &p, PEER(nested_routes[i].peer)), 0);
	}
	CHECK_EQ(mg_allowedips_count(&t), 0);
	CHECK(t.root4 == NULL && t.root6 == NULL);
	CHECK_EQ(t.owners_len, 0);
	mg_allowedips_free(&t);
}

static void test_remove_by_peer(void)
{
	static const struct probe probes[] = {
		{ "192.168.4.20", 0 }, { "192.168.4.4", 1 },	      { "192.168.200.182", 5 },
		{ "192.95.5.65", 3 },  { "2607:5300:60:6b00::1", 4 }, { "2607:5300:1::1", 5 },
	};
	struct mg_allowedips t;

	mg_allowedips_init(&t);
	insert_all(&t, nested_routes, ARRAY_LEN(nested_routes));
	mg_allowedips_remove_by_peer(&t, PEER(2));
	CHECK_EQ(mg_allowedips_count(&t), ARRAY_LEN(nested_routes) - 3);
	probe_all(&t, probes, ARRAY_LEN(probes));
	mg_allowedips_remove_by_peer(&t, PEER(2));
	mg_allowedips_remove_by_peer(&t, NULL);
	for (int i = 0; i < 8; i++)
		mg_allowedips_remove_by_peer(&t, PEER(i));
	CHECK_EQ(mg_allowedips_count(&t), 0);
	CHECK(t.root4 == NULL && t.root6 == NULL);
	mg_allowedips_free(&t);
}

struct collect {
	char out[16][MG_PREFIX_STRLEN];
	size_t n;
	size_t stop_at;
};

static int collect(void *ctx, const struct mg_prefix *p)
{
	struct collect *c = ctx;

	mg_prefix_format(c->out[c->n], sizeof(c->out[0]), p);
	c->n++;
	return c->n == c->stop_at ? 42 : 0;
}

static void check_walk(const struct mg_allowedips *t, int peer, const char *const *want, size_t n)
{
	struct collect c = { .n = 0, .stop_at = 0 };

	CHECK_EQ(mg_allowedips_walk_by_peer(t, PEER(peer), collect, &c), 0);
	CHECK_EQ(c.n, n);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(c.out[i], want[i]))
			fprintf(stderr, "walk %d[%zu]: \"%s\" want \"%s\"\n", peer, i, c.out[i],
				want[i]);
		CHECK(!strcmp(c.out[i], want[i]));
	}
}

static void test_walk_order(void)
{
	static const struct route routes[] = {
		{ "10.0.0.0/8", 0 },  { "fd00::/8", 0 },  { "1.2.3.4/32", 0 },
		{ "10.1.0.0/16", 1 }, { "0.0.0.0/0", 0 }, { "10.1.2.3/16", 0 },
		{ "fd00::/8", 0 },
	};
	static const char *const want0[] = { "10.0.0.0/8", "1.2.3.4/32", "0.0.0.0/0", "10.1.0.0/16",
					     "fd00::/8" };
	static const char *const want0_after[] = { "10.0.0.0/8", "0.0.0.0/0", "10.1.0.0/16",
						   "fd00::/8" };
	struct mg_allowedips t;
	struct collect c = { .n = 0, .stop_at = 2 };
	struct mg_prefix p = prefix("1.2.3.4/32");

	mg_allowedips_init(&t);
	insert_all(&t, routes, ARRAY_LEN(routes));
	/* Re-inserting (a move, or the same owner again) puts a prefix last. */
	check_walk(&t, 0, want0, ARRAY_LEN(want0));
	check_walk(&t, 1, NULL, 0);
	check_walk(&t, 3, NULL, 0);
	CHECK_EQ(mg_allowedips_walk_by_peer(&t, PEER(0), collect, &c), 42);
	CHECK_EQ(c.n, 2);
	CHECK_EQ(mg_allowedips_remove(&t, &p, PEER(0)), 0);
	check_walk(&t, 0, want0_after, ARRAY_LEN(want0_after));
	mg_allowedips_free(&t);
}

/* Enough peers to make the peer hash grow and shrink runs around deletions. */
static void test_many_peers(void)
{
	static max_align_t many[300];
	struct mg_allowedips t;
	struct mg_prefix p = prefix("10.0.0.0/32");

	mg_allowedips_init(&t);
	for (int i = 0; i < 300; i++) {
		p.addr[2] = (uint8_t)(i >> 8);
		p.addr[3] = (uint8_t)i;
		CHECK_EQ(mg_allowedips_insert(&t, &p, (struct mg_peer *)&many[i]), 0);
	}
	for (int i = 0; i < 300; i += 2)
		mg_allowedips_remove_by_peer(&t, (struct mg_peer *)&many[i]);
	CHECK_EQ(mg_allowedips_count(&t), 150);
	for (int i = 0; i < 300; i++) {
		p.addr[2] = (uint8_t)(i >> 8);
		p.addr[3] = (uint8_t)i;
		struct mg_peer *want = i % 2 ? (struct mg_peer *)&many[i] : NULL;
		CHECK(mg_allowedips_lookup(&t, AF_INET, p.addr) == want);
		struct collect c = { .n = 0, .stop_at = 0 };
		CHECK_EQ(mg_allowedips_walk_by_peer(&t, (struct mg_peer *)&many[i], collect, &c),
			 0);
		CHECK_EQ(c.n, i % 2);
	}
	mg_allowedips_free(&t);
}

int main(void)
{
	test_longest_match();
	test_order_independent();
	test_default_and_host_routes();
	test_host_bits_masked();
	test_v4_mapped_separate();
	test_move();
	test_remove();
	test_remove_all();
	test_remove_by_peer();
	test_walk_order();
	test_many_peers();
	mg_test_pass("allowedips");
	return 0;
}
