/* The two clocks of the protocol, replaceable in tests. Every protocol timer
 * reads the monotonic clock, which keeps counting across suspend
 * (CLOCK_BOOTTIME) so that keys expire on time after a laptop wakes. TAI64N
 * timestamps read the wall clock, which keeps rising across restarts, so a
 * peer never sees our new initiations as replays of old ones. */
#ifndef MG_UTIL_CLOCK_H
#define MG_UTIL_CLOCK_H

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

/* A clock that can stand still: between mg_clock_hold() and
 * mg_clock_release() its monotonic time is the time of the hold, so a batch
 * of packets handled in one wake-up reads the real clock once instead of a
 * few times per packet (the protocol's timers count in seconds; the kernel's
 * WireGuard uses jiffies). Otherwise, and for the wall clock, it reads base. */
struct mg_held_clock {
	struct mg_clock clock; /* what the device is given */
	const struct mg_clock *base;
	uint64_t held; /* 0: not held */
};

void mg_held_clock_init(struct mg_held_clock *c, const struct mg_clock *base);

static inline void mg_clock_hold(struct mg_held_clock *c)
{
	c->held = mg_clock_now(c->base);
}

static inline void mg_clock_release(struct mg_held_clock *c)
{
	c->held = 0;
}

#endif
