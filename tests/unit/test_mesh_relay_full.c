/* The table holds MG_RELAY_MEMBERS_MAX members: one more is refused
 * (-ENOSPC) while all are live; an expired entry makes room; a forgotten
 * one too; every member registered still routes. */
#include "path_fixture.h"

#include <arpa/inet.h>

static struct mg_endpoint ep_of(uint32_t i)
{
	struct mg_endpoint e;

	memset(&e, 0, sizeof(e));
	e.in4.sin_family = AF_INET;
	e.in4.sin_addr.s_addr = htonl(0x0a000000u + i);
	e.in4.sin_port = htons(51820);
	return e;
}

int main(void)
{
	static struct member m[MG_RELAY_MEMBERS_MAX + 1];
	struct mg_relay_table t;
	struct mg_endpoint e, to;
	uint8_t src[8];

	CHECK_EQ(mg_crypto_init(), 0);
	CHECK_EQ(mg_relay_table_init(&t), 0);
	for (uint32_t i = 0; i <= MG_RELAY_MEMBERS_MAX; i++)
		px_member(&m[i]);
	/* Members 1.. register at time 0, member 0 last, at 1000. */
	for (uint32_t i = 1; i < MG_RELAY_MEMBERS_MAX; i++) {
		e = ep_of(i);
		CHECK_EQ(mg_relay_register(&t, m[i].pk, &e, NOW_MS, 0), 0);
	}
	e = ep_of(0);
	CHECK_EQ(mg_relay_register(&t, m[0].pk, &e, NOW_MS, 1000), 0);
	CHECK_EQ(t.used, MG_RELAY_MEMBERS_MAX);
	e = ep_of(MG_RELAY_MEMBERS_MAX);
	CHECK_EQ(mg_relay_register(&t, m[MG_RELAY_MEMBERS_MAX].pk, &e, NOW_MS, 1000), -ENOSPC);

	/* Every pair still routes (a sample across the table). */
	for (uint32_t i = 0; i < MG_RELAY_MEMBERS_MAX; i += 97) {
		uint32_t j = (i * 31 + 7) % MG_RELAY_MEMBERS_MAX;
		struct mg_endpoint from = ep_of(i), want = ep_of(j);
		CHECK_EQ(mg_relay_route(&t, &from, m[j].id, 100, 1000, &to, src), 0);
		CHECK(mg_endpoint_equal(&to, &want));
		CHECK_MEM(src, m[i].id, 8);
	}

	/* A forgotten member makes room at once. */
	mg_relay_forget(&t, m[5].pk);
	CHECK_EQ(mg_relay_register(&t, m[MG_RELAY_MEMBERS_MAX].pk, &e, NOW_MS, 1000), 0);
	e = ep_of(5);
	CHECK_EQ(mg_relay_register(&t, m[5].pk, &e, NOW_MS, 1000), -ENOSPC);

	/* Once the early ones expire, their entries are reused; member 0,
	 * registered later, is still there. */
	CHECK_EQ(mg_relay_register(&t, m[5].pk, &e, NOW_MS, MG_RELAY_TTL_MS), 0);
	e = ep_of(0);
	CHECK_EQ(mg_relay_route(&t, &e, m[5].id, 100, MG_RELAY_TTL_MS, &to, src), 0);
	CHECK_EQ(t.used, MG_RELAY_MEMBERS_MAX);
	mg_relay_table_free(&t);
	mg_test_pass("mesh_relay_full");
	return 0;
}
