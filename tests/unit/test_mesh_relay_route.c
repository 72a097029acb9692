/* The relay forwards between registered members only: A -> B goes to B's
 * registered endpoint naming A; a non-member's datagram, or one for a
 * member that did not register, is never forwarded. An endpoint taken over
 * by a newer registration belongs to the new member alone. */
#include "path_fixture.h"

static struct member a, b, c;

static void members_only(struct mg_relay_table *t)
{
	struct mg_endpoint ea = px_ep("198.51.100.1:1000"), eb = px_ep("[2001:db8::2]:2000");
	struct mg_endpoint stranger = px_ep("198.51.100.1:1001"), to, unset;
	uint8_t src[8], zero_id[8] = { 0 };

	memset(&unset, 0, sizeof(unset));
	/* Nobody registered: nothing is forwarded. */
	CHECK_EQ(mg_relay_route(t, &ea, b.id, 100, 10, &to, src), -EPERM);

	CHECK_EQ(mg_relay_register(t, a.pk, &ea, NOW_MS, 10), 0);
	/* A registered, B not: unknown destination. */
	CHECK_EQ(mg_relay_route(t, &ea, b.id, 100, 10, &to, src), -ENOENT);
	CHECK_EQ(mg_relay_register(t, b.pk, &eb, NOW_MS, 10), 0);

	/* A -> B: to B's endpoint, naming A; and back. */
	CHECK_EQ(mg_relay_route(t, &ea, b.id, 100, 11, &to, src), 0);
	CHECK(mg_endpoint_equal(&to, &eb));
	CHECK_MEM(src, a.id, 8);
	CHECK_EQ(mg_relay_route(t, &eb, a.id, 100, 11, &to, src), 0);
	CHECK(mg_endpoint_equal(&to, &ea));
	CHECK_MEM(src, b.id, 8);

	/* A non-member: another port of A's address, an unset source, C's id
	 * (certified perhaps, but not registered here). */
	CHECK_EQ(mg_relay_route(t, &stranger, b.id, 100, 12, &to, src), -EPERM);
	CHECK_EQ(mg_relay_route(t, &unset, b.id, 100, 12, &to, src), -EPERM);
	CHECK_EQ(mg_relay_route(t, &ea, c.id, 100, 12, &to, src), -ENOENT);
	CHECK_EQ(mg_relay_route(t, &ea, zero_id, 100, 12, &to, src), -ENOENT);

	/* Lengths outside a RELAY_DATA's. */
	CHECK_EQ(mg_relay_route(t, &ea, b.id, 0, 12, &to, src), -MG_MESH_EMALFORMED);
	CHECK_EQ(mg_relay_route(t, &ea, b.id, MG_RELAY_DATA_MAX + 1, 12, &to, src),
		 -MG_MESH_EMALFORMED);

	/* Sources that are no endpoint cannot register. */
	CHECK_EQ(mg_relay_register(t, c.pk, &unset, NOW_MS, 12), -EINVAL);
}

static void takeover(struct mg_relay_table *t)
{
	struct mg_endpoint ea = px_ep("198.51.100.1:1000"), eb = px_ep("[2001:db8::2]:2000");
	struct mg_endpoint ea2 = px_ep("198.51.100.1:3000"), to;
	uint8_t src[8];

	/* C registers from A's endpoint (a reused NAT mapping): it is C's;
	 * A is no destination until it registers again. */
	CHECK_EQ(mg_relay_register(t, c.pk, &ea, NOW_MS, 20), 0);
	CHECK_EQ(mg_relay_route(t, &ea, b.id, 100, 21, &to, src), 0);
	CHECK_MEM(src, c.id, 8);
	CHECK_EQ(mg_relay_route(t, &eb, a.id, 100, 21, &to, src), -ENOENT);
	CHECK_EQ(mg_relay_route(t, &eb, c.id, 100, 21, &to, src), 0);
	CHECK(mg_endpoint_equal(&to, &ea));

	/* A moves to a new port: its old endpoint no longer speaks for it. */
	CHECK_EQ(mg_relay_register(t, a.pk, &ea2, NOW_MS + 1, 22), 0);
	CHECK_EQ(mg_relay_route(t, &eb, a.id, 100, 22, &to, src), 0);
	CHECK(mg_endpoint_equal(&to, &ea2));
	CHECK_EQ(mg_relay_register(t, a.pk, &eb, NOW_MS + 2, 23), 0);
	CHECK_EQ(mg_relay_route(t, &ea2, c.id, 100, 23, &to, src), -EPERM);
	CHECK_EQ(mg_relay_route(t, &eb, c.id, 100, 23, &to, src), 0);
	CHECK_MEM(src, a.id, 8);
	/* B lost its endpoint to A: it is no destination any more. */
	CHECK_EQ(mg_relay_route(t, &ea, b.id, 100, 23, &to, src), -ENOENT);
	CHECK_EQ(t->used, 3);
}

int main(void)
{
	struct mg_relay_table t;

	px_init(&a, &b, &c);
	CHECK_EQ(mg_relay_table_init(&t), 0);
	members_only(&t);
	takeover(&t);
	mg_relay_table_free(&t);
	mg_test_pass("mesh_relay_route");
	return 0;
}
