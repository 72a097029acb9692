/* Prefix choice avoids every injected local prefix: with all /16s of
 * 100.64.0.0/10 but one taken (as routes or as one covering route), the
 * free one is chosen; with none free, -ENOSPC. The overlap test is checked
 * on a table; this host's own prefixes can be read. */
#include "mesh_state_fixture.h"

static struct mg_prefix pfx(const char *s)
{
	struct mg_prefix p;

	CHECK_EQ(mg_prefix_parse(&p, s, true), 0);
	return p;
}

static const struct {
	const char *a, *b;
	bool overlap;
} rows[] = {
	{ "100.64.0.0/10", "100.70.0.0/16", true },	{ "100.70.0.0/16", "100.70.3.4/32", true },
	{ "100.70.0.0/16", "100.71.0.0/16", false },	{ "10.0.0.0/8", "100.64.0.0/10", false },
	{ "100.64.0.0/15", "100.65.255.255/32", true }, { "100.64.0.0/15", "100.66.0.0/32", false },
	{ "fd00::/8", "fd12:3456::/32", true },		{ "fd12::/16", "fd13::/16", false },
	{ "100.64.0.0/10", "fd00::/8", false },		{ "0.0.0.0/0", "1.2.3.4/32", true },
};

int main(void)
{
	struct mg_prefix avoid[MG_MESH_AVOID_MAX], p4, p6, want;
	char s[MG_PREFIX_STRLEN];
	size_t n = 0;

	CHECK_EQ(mg_crypto_init(), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mg_prefix a = pfx(rows[i].a), b = pfx(rows[i].b);
		CHECK_EQ(mg_mesh_prefix_overlap(&a, &b), rows[i].overlap);
		CHECK_EQ(mg_mesh_prefix_overlap(&b, &a), rows[i].overlap);
	}

	/* Every /16 but 100.117.0.0/16 taken by a route of its own. */
	for (unsigned i = 0; i < 64; i++) {
		if (64 + i == 117)
			continue;
		snprintf(s, sizeof(s), "100.%u.0.0/16", 64 + i);
		avoid[n++] = pfx(s);
	}
	avoid[n++] = pfx("fd00::/9"); /* half of the ULA space */
	want = pfx("100.117.0.0/16");
	for (int round = 0; round < 20; round++) {
		CHECK_EQ(mg_mesh_choose_prefixes(avoid, n, &p4, &p6), 0);
		CHECK_MEM(&p4, &want, sizeof(want));
		CHECK_EQ(p6.family, AF_INET6);
		CHECK_EQ(p6.cidr, 48);
		CHECK_EQ(p6.addr[0], 0xfd);
		CHECK(p6.addr[1] >= 0x80);
		CHECK(mg_is_zero(p6.addr + 6, 10));
	}

	/* Two covering routes leave nothing; one address inside the last. */
	n = 0;
	avoid[n++] = pfx("100.64.0.0/11");
	avoid[n++] = pfx("100.96.0.0/12");
	avoid[n++] = pfx("100.112.0.0/13");
	avoid[n++] = pfx("100.120.0.0/14");
	avoid[n++] = pfx("100.124.0.0/15");
	avoid[n++] = pfx("100.126.0.0/16");
	avoid[n++] = pfx("100.127.3.4/32");
	CHECK_EQ(mg_mesh_choose_prefixes(avoid, n, &p4, &p6), -ENOSPC);
	n--;
	CHECK_EQ(mg_mesh_choose_prefixes(avoid, n, &p4, &p6), 0);
	want = pfx("100.127.0.0/16");
	CHECK_MEM(&p4, &want, sizeof(want));

	/* This host: whatever it has, the choice overlaps none of it. */
	CHECK_EQ(mg_mesh_local_prefixes(avoid, MG_MESH_AVOID_MAX, &n), 0);
	CHECK(n > 0); /* at least loopback */
	for (size_t i = 0; i < n; i++)
		CHECK(avoid[i].cidr >= 8);
	if (mg_mesh_choose_prefixes(avoid, n, &p4, &p6) == 0)
		for (size_t i = 0; i < n; i++)
			CHECK(!mg_mesh_prefix_overlap(&avoid[i], &p4) &&
			      !mg_mesh_prefix_overlap(&avoid[i], &p6));
	mg_test_pass("mesh_admin_prefixes");
	return 0;
}
