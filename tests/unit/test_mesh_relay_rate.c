/* Each source member has a bucket of MG_RELAY_RATE_PACKETS packets/s and
 * MG_RELAY_RATE_BYTES bytes/s, a second of burst: past it -EAGAIN; it
 * refills with time; one member's flood does not limit another. */
#include "path_fixture.h"

int main(void)
{
	struct mg_endpoint ea = px_ep("198.51.100.1:1000"), eb = px_ep("198.51.100.2:2000");
	struct mg_endpoint ec = px_ep("198.51.100.3:3000"), to;
	struct member a, b, c;
	struct mg_relay_table t;
	uint8_t src[8];
	uint64_t now = 1000;
	const size_t big = MG_RELAY_DATA_MAX;

	px_init(&a, &b, &c);
	CHECK_EQ(mg_relay_table_init(&t), 0);
	CHECK_EQ(mg_relay_register(&t, a.pk, &ea, NOW_MS, now), 0);
	CHECK_EQ(mg_relay_register(&t, b.pk, &eb, NOW_MS, now), 0);
	CHECK_EQ(mg_relay_register(&t, c.pk, &ec, NOW_MS, now), 0);

	/* Packets: a second's worth of small ones, then no more. */
	for (int i = 0; i < MG_RELAY_RATE_PACKETS; i++)
		CHECK_EQ(mg_relay_route(&t, &ea, b.id, 1, now, &to, src), 0);
	CHECK_EQ(mg_relay_route(&t, &ea, b.id, 1, now, &to, src), -EAGAIN);
	/* C is not limited by A's flood. */
	CHECK_EQ(mg_relay_route(&t, &ec, b.id, 1, now, &to, src), 0);
	/* One ms refills MG_RELAY_RATE_PACKETS / 1000 packets. */
	for (int i = 0; i < MG_RELAY_RATE_PACKETS / 1000; i++)
		CHECK_EQ(mg_relay_route(&t, &ea, b.id, 1, now + 1, &to, src), 0);
	CHECK_EQ(mg_relay_route(&t, &ea, b.id, 1, now + 1, &to, src), -EAGAIN);
	/* Renewing the registration does not reset the bucket. */
	CHECK_EQ(mg_relay_register(&t, a.pk, &ea, NOW_MS + 1, now + 1), 0);
	CHECK_EQ(mg_relay_route(&t, &ea, b.id, 1, now + 1, &to, src), -EAGAIN);

	/* Bytes: B sends full-sized datagrams until its byte budget ends,
	 * well before its packet budget. */
	int sent = 0;
	while (mg_relay_route(&t, &eb, a.id, big, now, &to, src) == 0)
		sent++;
	CHECK_EQ(sent, MG_RELAY_RATE_BYTES / big);
	CHECK_EQ(mg_relay_route(&t, &eb, a.id, big, now, &to, src), -EAGAIN);
	/* A second later everything is back, and no more than a second's. */
	now += 10 * MG_RELAY_BURST_MS;
	sent = 0;
	while (mg_relay_route(&t, &eb, a.id, big, now, &to, src) == 0)
		sent++;
	CHECK_EQ(sent, MG_RELAY_RATE_BYTES / big);
	for (int i = 0; i < MG_RELAY_RATE_PACKETS; i++)
		CHECK_EQ(mg_relay_route(&t, &ea, b.id, 1, now, &to, src), 0);
	CHECK_EQ(mg_relay_route(&t, &ea, b.id, 1, now, &to, src), -EAGAIN);
	/* A clock that goes back refills nothing. */
	CHECK_EQ(mg_relay_route(&t, &ea, b.id, 1, now - 500, &to, src), -EAGAIN);
	mg_relay_table_free(&t);
	mg_test_pass("mesh_relay_rate");
	return 0;
}
