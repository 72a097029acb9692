/* A gateway that restarted is noticed and the mapping re-created: NAT-PMP
 * and PCP by their epoch going back (in a restart check or in a renewal's
 * answer), UPnP by the mapping being gone. An epoch that keeps pace
 * changes nothing. Fake gateway, fake clock. */
#include "portmap_fake.h"

static uint64_t gw_start;

static uint32_t epoch(void)
{
	return (uint32_t)(500 + (fake_now - gw_start) / SEC);
}

static struct mg_portmap *map_with(uv_loop_t *loop, struct mg_portmap_config *c, int proto,
				   uint8_t nonce[MG_PCP_NONCE_LEN])
{
	struct mg_portmap *pm;

	memset(&events, 0, sizeof(events));
	c->protocols = MG_PORTMAP_BIT(proto);
	CHECK_EQ(mg_portmap_start(&pm, loop, c, 51820, record_event, NULL), 0);
	fake_reply(proto, MG_PORTMAP_OP_PROBE, 0, epoch(), "198.51.100.1", 0, 0);
	memcpy(nonce, fake_pending(proto, MG_PORTMAP_OP_MAP)->nonce, MG_PCP_NONCE_LEN);
	fake_reply(proto, MG_PORTMAP_OP_MAP, 0, epoch(), "198.51.100.1", 40000, 120);
	CHECK_EQ(events.count[MG_PORTMAP_MAPPED], 1);
	return pm;
}

static void close_it(uv_loop_t *loop, struct mg_portmap *pm, int proto)
{
	bool done = false;

	mg_portmap_close(pm, closed, &done);
	fake_reply(proto, MG_PORTMAP_OP_DELETE, 0, epoch(), NULL, 0, 0);
	uv_run(loop, UV_RUN_DEFAULT);
	CHECK(done);
}

/* Restart seen by the periodic check. */
static void check_finds_restart(uv_loop_t *loop, struct mg_portmap_config *c, int proto)
{
	uint8_t nonce[MG_PCP_NONCE_LEN];
	gw_start = fake_now;
	c->check_interval_ms = 20000; /* checks at 20 s, 40 s; renewal at 60 s */
	struct mg_portmap *pm = map_with(loop, c, proto, nonce);

	/* A check that finds everything in order. */
	fake_advance(20 * SEC);
	mg_portmap_tick(pm);
	fake_reply(proto, MG_PORTMAP_OP_CHECK, 0, epoch(), "198.51.100.1", 0, 0);
	CHECK(fakes[proto].op == NULL);
	CHECK_EQ(events.count[MG_PORTMAP_MAPPED], 1);

	/* The gateway restarts; the next check notices and re-creates. */
	fake_advance(10 * SEC);
	gw_start = fake_now;
	fake_advance(10 * SEC);
	mg_portmap_tick(pm);
	struct mg_portmap_op *op = fake_pending(proto, MG_PORTMAP_OP_CHECK);
	CHECK_EQ(op->external_port, 40000);
	if (proto == MG_PORTMAP_UPNP)
		fake_reply(proto, MG_PORTMAP_OP_CHECK, -ENOENT, 0, NULL, 0, 0);
	else
		fake_reply(proto, MG_PORTMAP_OP_CHECK, 0, epoch(), "198.51.100.1", 0, 0);
	op = fake_pending(proto, MG_PORTMAP_OP_MAP);
	CHECK_EQ(op->external_port, 40000); /* the same port asked for again */
	CHECK_MEM(op->nonce, nonce, MG_PCP_NONCE_LEN);
	fake_reply(proto, MG_PORTMAP_OP_MAP, 0, epoch(), "198.51.100.1", 40000, 120);
	CHECK_EQ(events.count[MG_PORTMAP_MAPPED], 2); /* re-created */
	CHECK_EQ(events.count[MG_PORTMAP_RENEWED], 0);
	CHECK_EQ(events.status.proto, proto);
	c->check_interval_ms = 30000;
	close_it(loop, pm, proto);
}

/* Restart seen in the answer to a renewal: that renewal re-created it. */
static void renewal_finds_restart(uv_loop_t *loop, struct mg_portmap_config *c, int proto)
{
	uint8_t nonce[MG_PCP_NONCE_LEN];
	gw_start = fake_now;
	c->check_interval_ms = 1000000;
	struct mg_portmap *pm = map_with(loop, c, proto, nonce);

	fake_advance(60 * SEC);
	mg_portmap_tick(pm);
	fake_reply(proto, MG_PORTMAP_OP_MAP, 0, epoch(), "198.51.100.1", 40000, 120);
	CHECK_EQ(events.count[MG_PORTMAP_RENEWED], 1);
	fake_advance(50 * SEC);
	gw_start = fake_now;
	fake_advance(10 * SEC);
	mg_portmap_tick(pm);
	fake_reply(proto, MG_PORTMAP_OP_MAP, 0, epoch(), "198.51.100.1", 40002, 120);
	CHECK_EQ(events.count[MG_PORTMAP_RENEWED], 1);
	CHECK_EQ(events.count[MG_PORTMAP_MAPPED], 2);
	CHECK_EQ(ntohs(events.status.external.sin_port), 40002);
	c->check_interval_ms = 30000;
	close_it(loop, pm, proto);
}

/* A re-creation the gateway refuses loses the mapping. */
static void recreate_refused(uv_loop_t *loop, struct mg_portmap_config *c)
{
	uint8_t nonce[MG_PCP_NONCE_LEN];
	int proto = MG_PORTMAP_UPNP;
	gw_start = fake_now;
	struct mg_portmap *pm = map_with(loop, c, proto, nonce);

	fake_advance(30 * SEC);
	mg_portmap_tick(pm);
	fake_reply(proto, MG_PORTMAP_OP_CHECK, -ENOENT, 0, NULL, 0, 0);
	fake_reply(proto, MG_PORTMAP_OP_MAP, -EADDRINUSE, 0, NULL, 0, 0);
	CHECK_EQ(events.count[MG_PORTMAP_LOST], 1);
	CHECK_EQ(events.status.error, -EADDRINUSE);
	close_it(loop, pm, proto);
}

int main(void)
{
	char dir[64];
	uv_loop_t loop;
	struct mg_portmap_config c = fake_config(dir);

	CHECK_EQ(uv_loop_init(&loop), 0);
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		check_finds_restart(&loop, &c, p);
		CHECK(!journal_exists(dir));
	}
	renewal_finds_restart(&loop, &c, MG_PORTMAP_NATPMP);
	renewal_finds_restart(&loop, &c, MG_PORTMAP_PCP);
	recreate_refused(&loop, &c);
	CHECK_EQ(uv_loop_close(&loop), 0);
	remove_dir(dir);
	mg_test_pass("portmap_restart");
	return 0;
}
