/* Address picking: the same key gets the same addresses; taken addresses,
 * the network and broadcast addresses are skipped; a full IPv4 prefix gives
 * -ENOSPC. */
#include "mesh_state_fixture.h"

struct taken_set {
	struct mg_prefix addr[64];
	size_t n;
	size_t asked;
};

static bool taken(void *ctx, const struct mg_prefix *a)
{
	struct taken_set *t = ctx;

	t->asked++;
	for (size_t i = 0; i < t->n; i++)
		if (memcmp(&t->addr[i], a, sizeof(*a)) == 0)
			return true;
	return false;
}

static struct mg_prefix pfx(const char *s)
{
	struct mg_prefix p;

	CHECK_EQ(mg_prefix_parse(&p, s, false), 0);
	return p;
}

int main(void)
{
	struct mg_prefix p4 = pfx("100.70.0.0/16"), p6 = pfx("fd12:3456:789a::/48");
	struct mg_prefix small = pfx("10.9.8.4/30"), v6_64 = pfx("fd00:1::/64");
	struct mg_prefix a4, a6, b4, b6;
	struct taken_set set = { .n = 0 };
	uint8_t key[32];

	CHECK_EQ(mg_crypto_init(), 0);
	mg_random_bytes(key, sizeof(key));

	CHECK_EQ(mg_mesh_pick_addresses(&p4, &p6, key, NULL, NULL, &a4, &a6), 0);
	CHECK_EQ(a4.cidr, 32);
	CHECK_EQ(a6.cidr, 128);
	CHECK(mg_mesh_prefix_overlap(&a4, &p4));
	CHECK(mg_mesh_prefix_overlap(&a6, &p6));
	CHECK_EQ(mg_mesh_pick_addresses(&p4, &p6, key, NULL, NULL, &b4, &b6), 0);
	CHECK_MEM(&a4, &b4, sizeof(a4));
	CHECK_MEM(&a6, &b6, sizeof(a6));

	/* Taken: the first choice moves on, to another free address. */
	set.addr[set.n++] = a4;
	set.addr[set.n++] = a6;
	CHECK_EQ(mg_mesh_pick_addresses(&p4, &p6, key, taken, &set, &b4, &b6), 0);
	CHECK(memcmp(&a4, &b4, sizeof(a4)) != 0);
	CHECK(memcmp(&a6, &b6, sizeof(a6)) != 0);
	CHECK(mg_mesh_prefix_overlap(&b4, &p4));
	CHECK(mg_mesh_prefix_overlap(&b6, &p6));

	/* A /30 has two hosts, .5 and .6; never .4 or .7. */
	set.n = 0;
	CHECK_EQ(mg_mesh_pick_addresses(&small, &v6_64, key, taken, &set, &b4, &b6), 0);
	CHECK(b4.addr[3] == 5 || b4.addr[3] == 6);
	set.addr[set.n++] = b4;
	CHECK_EQ(mg_mesh_pick_addresses(&small, &v6_64, key, taken, &set, &a4, &b6), 0);
	CHECK_EQ(a4.addr[3], 11 - b4.addr[3]);
	set.addr[set.n++] = a4;
	set.asked = 0;
	CHECK_EQ(mg_mesh_pick_addresses(&small, &v6_64, key, taken, &set, &b4, &b6), -ENOSPC);
	CHECK_EQ(set.asked, 2);

	/* Keys spread: 50 keys in a /24 (254 hosts) meet rarely. */
	{
		struct mg_prefix p24 = pfx("100.70.1.0/24");
		set.n = 0;
		for (int i = 0; i < 50 && set.n < 64; i++) {
			mg_random_bytes(key, sizeof(key));
			CHECK_EQ(mg_mesh_pick_addresses(&p24, &v6_64, key, taken, &set, &b4, &b6),
				 0);
			CHECK(b4.addr[3] != 0 && b4.addr[3] != 255);
			CHECK(!taken(&set, &b4));
			set.addr[set.n++] = b4;
		}
	}

	/* Out-of-range prefixes are the caller's bug. */
	CHECK_EQ(mg_mesh_pick_addresses(&p6, &p4, key, NULL, NULL, &b4, &b6), -EINVAL);
	mg_test_pass("mesh_admin_addresses");
	return 0;
}
