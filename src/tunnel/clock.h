/* The two clocks of the protocol, replaceable in tests. Every protocol timer
 * reads the monotonic clock, which keeps counting across suspend
 * (CLOCK_BOOTTIME) so that keys expire on time after a laptop wakes. TAI64N
 * timestamps read the wall clock, which keeps rising across restarts, so a
 * peer never sees our new initiations as replays of old ones. */
#ifndef MG_TUNNEL_CLOCK_H
#define MG_TUNNEL_CLOCK_H

#include <stdint.h>
#include <time.h>

struct mg_clock {
	uint64_t (*monotonic_ns)(const struct mg_clock *c);
	void (*wall)(const struct mg_clock *c, struct timespec *ts);
};

/* CLOCK_BOOTTIME and CLOCK_REALTIME. */
extern const struct mg_clock mg_clock_system;

static inline uint64_t mg_clock_now(const struct mg_clock *c)
{
	return c->monotonic_ns(c);
}

#endif
