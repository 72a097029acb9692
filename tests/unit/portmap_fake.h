/* A fake gateway for the port mapper tests: one fake backend per protocol
 * that records the op it was given, answered by the test with
 * fake_reply(); and a fake clock the test moves by hand. No sockets, no
 * sleeps: the mapper's own loop timer is never run, the test calls
 * mg_portmap_tick() after moving the clock. */
#ifndef MG_TEST_PORTMAP_FAKE_H
#define MG_TEST_PORTMAP_FAKE_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nat/portmap.h"
#include "nat/portmap_backend.h"
#include "util/clock.h"

#define SEC UINT64_C(1000000000)

struct fake {
	int proto;
	bool open;
	struct mg_portmap_op *op;  /* in flight */
	unsigned submitted[4];	   /* by opcode */
	struct mg_portmap_op last; /* copy of the last request */
};

static struct fake fakes[MG_PORTMAP_PROTO_COUNT];
static uint64_t fake_now = 1000 * SEC;

static uint64_t fake_monotonic(const struct mg_clock *c)
{
	(void)c;
	return fake_now;
}

static void fake_wall(const struct mg_clock *c, struct timespec *ts)
{
	(void)c;
	ts->tv_sec = (time_t)(1700000000 + fake_now / SEC);
	ts->tv_nsec = 0;
}

static const struct mg_clock fake_clock = { fake_monotonic, fake_wall };

static int fake_open(void **state, const struct mg_portmap_backend_config *config, int proto)
{
	(void)config;
	fakes[proto].proto = proto;
	fakes[proto].open = true;
	fakes[proto].op = NULL;
	*state = &fakes[proto];
	return 0;
}

static int fake_submit(void *state, struct mg_portmap_op *op)
{
	struct fake *f = state;
	CHECK(f->op == NULL); /* one op at a time */
	f->op = op;
	f->submitted[op->code]++;
	f->last = *op;
	return 0;
}

static void fake_cancel(void *state)
{
	((struct fake *)state)->op = NULL;
}

static void fake_close(void *state, void (*cb)(void *arg), void *arg)
{
	struct fake *f = state;
	f->op = NULL;
	f->open = false;
	cb(arg);
}

#define FAKE_OPEN(name, proto)                                                        \
	static int name(void **state, const struct mg_portmap_backend_config *config) \
	{                                                                             \
		return fake_open(state, config, proto);                               \
	}
FAKE_OPEN(fake_open_natpmp, MG_PORTMAP_NATPMP)
FAKE_OPEN(fake_open_pcp, MG_PORTMAP_PCP)
FAKE_OPEN(fake_open_upnp, MG_PORTMAP_UPNP)

static const struct mg_portmap_backend fake_backends[MG_PORTMAP_PROTO_COUNT] = {
	{ MG_PORTMAP_NATPMP, fake_open_natpmp, fake_submit, fake_cancel, fake_close },
	{ MG_PORTMAP_PCP, fake_open_pcp, fake_submit, fake_cancel, fake_close },
	{ MG_PORTMAP_UPNP, fake_open_upnp, fake_submit, fake_cancel, fake_close },
};

/* The op in flight at proto must be code. */
static inline struct mg_portmap_op *fake_pending(int proto, enum mg_portmap_opcode code)
{
	struct mg_portmap_op *op = fakes[proto].op;
	if (!op || op->code != code) {
		fprintf(stderr, "fake %d: expected op %d in flight, have %d\n", proto, code,
			op ? (int)op->code : -1);
		exit(1);
	}
	return op;
}

/* Answers the op in flight at proto. */
static inline void fake_reply(int proto, enum mg_portmap_opcode code, int status, uint32_t epoch,
			      const char *ext_addr, uint16_t port, uint32_t lifetime)
{
	struct mg_portmap_op *op = fake_pending(proto, code);
	fakes[proto].op = NULL;
	op->status = status;
	op->has_epoch = proto != MG_PORTMAP_UPNP;
	op->epoch = epoch;
	if (ext_addr)
		inet_pton(AF_INET, ext_addr, &op->external_addr);
	op->mapped_port = port;
	op->granted_s = lifetime;
	op->done(op);
}

/* Events the mapper reported. */
struct events {
	unsigned count[4];
	enum mg_portmap_event last;
	struct mg_portmap_status status;
};

static struct events events;

static void record_event(struct mg_portmap *pm, enum mg_portmap_event ev,
			 const struct mg_portmap_status *st, void *arg)
{
	(void)pm;
	(void)arg;
	events.count[ev]++;
	events.last = ev;
	events.status = *st;
}

/* A config with the fakes, the fake clock, a fixed gateway and a fresh
 * state directory (returned in dir, PATH_MAX bytes). */
static inline struct mg_portmap_config fake_config(char *dir)
{
	struct mg_portmap_config c = { 0 };
	strcpy(dir, "/tmp/mg-portmap-test.XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	c.state_dir = dir;
	inet_pton(AF_INET, "10.0.0.1", &c.gateway);
	c.lifetime_s = 120;
	c.check_interval_ms = 30000;
	c.retry_ms = 60000;
	c.clock = &fake_clock;
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++)
		c.backends[p] = &fake_backends[p];
	return c;
}

static inline void remove_dir(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/portmap-51820", dir);
	unlink(path);
	rmdir(dir);
}

static inline bool journal_exists(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/portmap-51820", dir);
	return access(path, F_OK) == 0;
}

static inline void fake_advance(uint64_t ns)
{
	fake_now += ns;
}

static inline void closed(void *arg)
{
	*(bool *)arg = true;
}

#endif
