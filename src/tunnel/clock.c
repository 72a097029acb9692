#include "tunnel/clock.h"

static uint64_t system_monotonic_ns(const struct mg_clock *c)
{
	struct timespec ts;
	(void)c;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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
