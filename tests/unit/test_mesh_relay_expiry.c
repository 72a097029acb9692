/* Registrations expire after MG_RELAY_TTL_MS unless renewed; a forgotten
 * (revoked) member is gone at once; a REGISTER no newer than the last one
 * accepted (a replay from another source) moves nothing. */
#include "path_fixture.h"

int main(void)
{
	struct mg_endpoint ea = px_ep("198.51.100.1:1000"), eb = px_ep("198.51.100.2:2000");
	struct mg_endpoint evil = px_ep("192.0.2.66:6666"), to;
	struct member a, b, c;
	struct mg_relay_table t;
	uint8_t src[8];
	uint64_t now = 5000;

	px_init(&a, &b, &c);
	CHECK_EQ(mg_relay_table_init(&t), 0);
	CHECK_EQ(mg_relay_register(&t, a.pk, &ea, NOW_MS, now), 0);
	CHECK_EQ(mg_relay_register(&t, b.pk, &eb, NOW_MS, now), 0);

	/* The last ms of the TTL forwards; the next does not, either way. */
	CHECK_EQ(mg_relay_route(&t, &ea, b.id, 100, now + MG_RELAY_TTL_MS - 1, &to, src), 0);
	CHECK_EQ(mg_relay_route(&t, &ea, b.id, 100, now + MG_RELAY_TTL_MS, &to, src), -EPERM);
	CHECK_EQ(mg_relay_route(&t, &eb, a.id, 100, now + MG_RELAY_TTL_MS, &to, src), -EPERM);

	/* Renewed in time, A stays; B, not renewed, expires. */
	CHECK_EQ(mg_relay_register(&t, a.pk, &ea, NOW_MS + 60000, now + 60000), 0);
	CHECK_EQ(mg_relay_register(&t, b.pk, &eb, NOW_MS + 60000, now + 60000), 0);
	now += 60000;
	CHECK_EQ(mg_relay_register(&t, a.pk, &ea, NOW_MS + 80000, now + 80000), 0);
	CHECK_EQ(mg_relay_route(&t, &ea, b.id, 100, now + 89999, &to, src), 0);
	CHECK_EQ(mg_relay_route(&t, &ea, b.id, 100, now + 90000, &to, src), -ENOENT);
	CHECK_EQ(mg_relay_route(&t, &ea, b.id, 100, now + 80000 + 89999, &to, src), -ENOENT);
	CHECK_EQ(mg_relay_route(&t, &ea, b.id, 100, now + 80000 + 90000, &to, src), -EPERM);

	/* Back after expiry: registers again, with any verified time. */
	now += 200000;
	CHECK_EQ(mg_relay_register(&t, a.pk, &ea, NOW_MS, now), 0);
	CHECK_EQ(mg_relay_register(&t, b.pk, &eb, NOW_MS, now), 0);
	CHECK_EQ(mg_relay_route(&t, &ea, b.id, 100, now, &to, src), 0);

	/* A replayed REGISTER of A (same time) from elsewhere: refused, A's
	 * traffic stays where it was; a newer one moves it. */
	CHECK_EQ(mg_relay_register(&t, a.pk, &evil, NOW_MS, now + 1), -EALREADY);
	CHECK_EQ(mg_relay_register(&t, a.pk, &evil, NOW_MS - 1, now + 1), -EALREADY);
	CHECK_EQ(mg_relay_route(&t, &evil, b.id, 100, now + 1, &to, src), -EPERM);
	CHECK_EQ(mg_relay_route(&t, &eb, a.id, 100, now + 1, &to, src), 0);
	CHECK(mg_endpoint_equal(&to, &ea));

	/* Forgotten (revoked): neither source nor destination, at once; a
	 * second forget and forgetting a stranger change nothing. */
	mg_relay_forget(&t, a.pk);
	CHECK_EQ(mg_relay_route(&t, &ea, b.id, 100, now + 2, &to, src), -EPERM);
	CHECK_EQ(mg_relay_route(&t, &eb, a.id, 100, now + 2, &to, src), -ENOENT);
	mg_relay_forget(&t, a.pk);
	mg_relay_forget(&t, c.pk);
	CHECK_EQ(t.used, 1);
	mg_relay_table_free(&t);
	mg_test_pass("mesh_relay_expiry");
	return 0;
}
