#include "util/clock.h"
#include "util/time.h"

#include "util/macros.h"

static uint64_t system_monotonic_ns(const struct mg_clock *c)
{
	struct timespec ts;
	(void)c;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * MG_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void system_wall(const struct mg_clock *c, struct timespec *ts)
{
	(void)c;
	clock_gettime(CLOCK_REALTIME, ts);
}

const struct mg_clock mg_clock_system = {
	.monotonic_ns = system_monotonic_ns,
	.wall = system_wall,
};

static uint64_t held_monotonic_ns(const struct mg_clock *c)
{
	const struct mg_held_clock *h = container_of(c, const struct mg_held_clock, clock);

	return h->held ? h->held : mg_clock_now(h->base);
}

static void held_wall(const struct mg_clock *c, struct timespec *ts)
{
	const struct mg_held_clock *h = container_of(c, const struct mg_held_clock, clock);

	h->base->wall(h->base, ts);
}

void mg_held_clock_init(struct mg_held_clock *c, const struct mg_clock *base)
{
	c->clock.monotonic_ns = held_monotonic_ns;
	c->clock.wall = held_wall;
	c->base = base;
	c->held = 0;
}
