/* Every allowed protocol is probed at once and the first that answers maps
 * the port; if it refuses, the next that answered does; when none can,
 * FAILED is reported and the mapper probes again after retry_ms. */
#include "portmap_fake.h"

#define NATPMP MG_PORTMAP_NATPMP
#define PCP    MG_PORTMAP_PCP
#define UPNP   MG_PORTMAP_UPNP

static void fallback(uv_loop_t *loop, struct mg_portmap_config *c)
{
	struct mg_portmap *pm;
	bool done = false;

	memset(&events, 0, sizeof(events));
	c->protocols = 0; /* all */
	CHECK_EQ(mg_portmap_start(&pm, loop, c, 51820, record_event, NULL), 0);
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++)
		fake_pending(p, MG_PORTMAP_OP_PROBE);

	/* PCP answers first: it maps. NAT-PMP answers while that runs. */
	fake_reply(PCP, MG_PORTMAP_OP_PROBE, 0, 7, NULL, 0, 0);
	fake_pending(PCP, MG_PORTMAP_OP_MAP);
	fake_reply(NATPMP, MG_PORTMAP_OP_PROBE, 0, 7, "198.51.100.1", 0, 0);
	CHECK(fakes[NATPMP].op == NULL);
	/* PCP refuses: NAT-PMP, which answered next, maps. */
	fake_reply(PCP, MG_PORTMAP_OP_MAP, -EACCES, 7, NULL, 0, 0);
	fake_pending(NATPMP, MG_PORTMAP_OP_MAP);
	fake_reply(NATPMP, MG_PORTMAP_OP_MAP, 0, 7, "198.51.100.1", 51820, 120);
	CHECK_EQ(events.count[MG_PORTMAP_MAPPED], 1);
	CHECK_EQ(events.status.proto, NATPMP);
	/* UPnP's late answer changes nothing. */
	fake_reply(UPNP, MG_PORTMAP_OP_PROBE, 0, 0, "198.51.100.1", 0, 0);
	CHECK(fakes[UPNP].op == NULL);
	CHECK_EQ(events.count[MG_PORTMAP_MAPPED], 1);

	mg_portmap_close(pm, closed, &done);
	fake_reply(NATPMP, MG_PORTMAP_OP_DELETE, 0, 8, NULL, 0, 0);
	uv_run(loop, UV_RUN_DEFAULT);
	CHECK(done);
}

static void none_answers(uv_loop_t *loop, struct mg_portmap_config *c)
{
	struct mg_portmap *pm;
	bool done = false;

	memset(&events, 0, sizeof(events));
	c->protocols = MG_PORTMAP_BIT(PCP) | MG_PORTMAP_BIT(UPNP);
	CHECK_EQ(mg_portmap_start(&pm, loop, c, 51820, record_event, NULL), 0);
	CHECK(fakes[NATPMP].op == NULL);
	fake_reply(PCP, MG_PORTMAP_OP_PROBE, -ETIMEDOUT, 0, NULL, 0, 0);
	CHECK_EQ(events.count[MG_PORTMAP_FAILED], 0); /* UPnP still asked */
	fake_reply(UPNP, MG_PORTMAP_OP_PROBE, -EPROTONOSUPPORT, 0, NULL, 0, 0);
	CHECK_EQ(events.count[MG_PORTMAP_FAILED], 1);
	CHECK_EQ(events.status.error, -EPROTONOSUPPORT);

	/* Probed again retry_ms later; now UPnP answers and maps. */
	fake_advance(59 * SEC);
	mg_portmap_tick(pm);
	CHECK(fakes[UPNP].op == NULL);
	fake_advance(1 * SEC);
	mg_portmap_tick(pm);
	fake_reply(PCP, MG_PORTMAP_OP_PROBE, -ETIMEDOUT, 0, NULL, 0, 0);
	fake_reply(UPNP, MG_PORTMAP_OP_PROBE, 0, 0, "198.51.100.1", 0, 0);
	fake_reply(UPNP, MG_PORTMAP_OP_MAP, 0, 0, "198.51.100.1", 51820, 120);
	CHECK_EQ(events.count[MG_PORTMAP_MAPPED], 1);
	CHECK_EQ(events.status.proto, UPNP);

	mg_portmap_close(pm, closed, &done);
	fake_reply(UPNP, MG_PORTMAP_OP_DELETE, 0, 0, NULL, 0, 0);
	uv_run(loop, UV_RUN_DEFAULT);
	CHECK(done);
}

int main(void)
{
	char dir[64];
	uv_loop_t loop;
	struct mg_portmap_config c = fake_config(dir);

	CHECK_EQ(uv_loop_init(&loop), 0);
	fallback(&loop, &c);
	none_answers(&loop, &c);
	CHECK(!journal_exists(dir));
	CHECK_EQ(uv_loop_close(&loop), 0);
	remove_dir(dir);
	mg_test_pass("portmap_probe_order");
	return 0;
}
