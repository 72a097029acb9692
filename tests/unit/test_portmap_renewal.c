/* The mapper renews at half the granted lifetime with the same nonce and
 * external port, retries a failed renewal at halving intervals, reports
 * LOST when the lease runs out, and probes again after retry_ms. Fake
 * gateway, fake clock. */
#include "portmap_fake.h"

#define NATPMP MG_PORTMAP_NATPMP

static uint64_t gw_start = 1000 * SEC;

/* The gateway's epoch: seconds since it started. */
static uint32_t epoch(void)
{
	return (uint32_t)(100 + (fake_now - gw_start) / SEC);
}

static unsigned fail_renewals_until_lost(struct mg_portmap *pm)
{
	unsigned attempts = 0;

	for (int i = 0; i < 400 && events.count[MG_PORTMAP_LOST] == 0; i++) {
		fake_advance(SEC / 2);
		mg_portmap_tick(pm);
		if (fakes[NATPMP].op) {
			fake_reply(NATPMP, MG_PORTMAP_OP_MAP, -ETIMEDOUT, 0, NULL, 0, 0);
			attempts++;
		}
	}
	return attempts;
}

int main(void)
{
	char dir[64];
	uv_loop_t loop;
	struct mg_portmap *pm;
	struct mg_portmap_config c = fake_config(dir);
	uint8_t nonce[MG_PCP_NONCE_LEN];
	bool done = false;

	CHECK_EQ(uv_loop_init(&loop), 0);
	c.protocols = MG_PORTMAP_BIT(NATPMP);
	c.check_interval_ms = 1000000; /* no restart checks in this test */
	CHECK_EQ(mg_portmap_start(&pm, &loop, &c, 51820, record_event, NULL), 0);
	CHECK(fakes[MG_PORTMAP_PCP].open == false); /* forced: only NAT-PMP */

	fake_reply(NATPMP, MG_PORTMAP_OP_PROBE, 0, epoch(), "198.51.100.1", 0, 0);
	struct mg_portmap_op *op = fake_pending(NATPMP, MG_PORTMAP_OP_MAP);
	CHECK_EQ(op->internal_port, 51820);
	CHECK_EQ(op->external_port, 51820); /* asks for the same port outside */
	CHECK_EQ(op->lifetime_s, 120);
	memcpy(nonce, op->nonce, sizeof(nonce));
	fake_reply(NATPMP, MG_PORTMAP_OP_MAP, 0, epoch(), "198.51.100.1", 40000, 120);
	CHECK_EQ(events.count[MG_PORTMAP_MAPPED], 1);
	CHECK_EQ(events.status.proto, NATPMP);
	CHECK_EQ(ntohs(events.status.external.sin_port), 40000);
	CHECK_EQ(events.status.lifetime_s, 120);
	CHECK(journal_exists(dir));

	/* Nothing before half the lifetime, a renewal at it. */
	fake_advance(59 * SEC);
	mg_portmap_tick(pm);
	CHECK(fakes[NATPMP].op == NULL);
	fake_advance(1 * SEC);
	mg_portmap_tick(pm);
	op = fake_pending(NATPMP, MG_PORTMAP_OP_MAP);
	CHECK_EQ(op->external_port, 40000);
	CHECK_MEM(op->nonce, nonce, sizeof(nonce));
	fake_reply(NATPMP, MG_PORTMAP_OP_MAP, 0, epoch(), "198.51.100.1", 40000, 120);
	CHECK_EQ(events.count[MG_PORTMAP_RENEWED], 1);
	CHECK_EQ(events.count[MG_PORTMAP_MAPPED], 1);

	/* A granted lifetime shorter than asked moves the next renewal. */
	fake_advance(60 * SEC);
	mg_portmap_tick(pm);
	fake_reply(NATPMP, MG_PORTMAP_OP_MAP, 0, epoch(), "198.51.100.1", 40000, 20);
	CHECK_EQ(events.count[MG_PORTMAP_RENEWED], 2);
	fake_advance(10 * SEC);
	mg_portmap_tick(pm);
	fake_reply(NATPMP, MG_PORTMAP_OP_MAP, 0, epoch(), "198.51.100.1", 40000, 120);
	CHECK_EQ(events.count[MG_PORTMAP_RENEWED], 3);

	/* Renewals that fail are retried, more often as the end nears, and
	 * the mapping is LOST when the lease runs out. */
	uint64_t granted_at = fake_now;
	fake_advance(60 * SEC);
	unsigned attempts = fail_renewals_until_lost(pm);
	CHECK(attempts >= 6);
	CHECK_EQ(events.count[MG_PORTMAP_LOST], 1);
	CHECK(fake_now >= granted_at + 120 * SEC && fake_now <= granted_at + 121 * SEC);
	CHECK_EQ(ntohs(events.status.external.sin_port), 40000);
	CHECK(journal_exists(dir)); /* it may still exist: deleted on close */
	CHECK(!mg_portmap_current(pm, &events.status));

	/* retry_ms later the mapper probes and maps again. */
	fake_advance(59 * SEC);
	mg_portmap_tick(pm);
	CHECK(fakes[NATPMP].op == NULL);
	fake_advance(1 * SEC);
	mg_portmap_tick(pm);
	fake_reply(NATPMP, MG_PORTMAP_OP_PROBE, 0, epoch(), "198.51.100.1", 0, 0);
	fake_reply(NATPMP, MG_PORTMAP_OP_MAP, 0, epoch(), "198.51.100.1", 40001, 120);
	CHECK_EQ(events.count[MG_PORTMAP_MAPPED], 2);
	CHECK(mg_portmap_current(pm, &events.status));
	CHECK_EQ(ntohs(events.status.external.sin_port), 40001);

	/* Clean exit deletes it and empties the journal. */
	mg_portmap_close(pm, closed, &done);
	op = fake_pending(NATPMP, MG_PORTMAP_OP_DELETE);
	CHECK_EQ(op->internal_port, 51820);
	fake_reply(NATPMP, MG_PORTMAP_OP_DELETE, 0, epoch(), NULL, 0, 0);
	CHECK(!journal_exists(dir));
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(done);
	CHECK_EQ(uv_loop_close(&loop), 0);
	remove_dir(dir);
	mg_test_pass("portmap_renewal");
	return 0;
}
