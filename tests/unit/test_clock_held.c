/* A held clock stands still between mg_clock_hold and mg_clock_release and
 * reads its base clock otherwise; the wall clock always comes from the base.
 * The base here advances by 1 ms on every read, so a read that reached it
 * shows. */
#include "util/clock.h"

#include "check.h"

static uint64_t base_reads;

static uint64_t ticking_ns(const struct mg_clock *c)
{
	(void)c;
	return ++base_reads * 1000000u;
}

static void fixed_wall(const struct mg_clock *c, struct timespec *ts)
{
	(void)c;
	ts->tv_sec = 1700000000;
	ts->tv_nsec = 42;
}

static const struct mg_clock ticking = { .monotonic_ns = ticking_ns, .wall = fixed_wall };

int main(void)
{
	struct mg_held_clock h;
	struct timespec ts;
	uint64_t t;

	mg_held_clock_init(&h, &ticking);
	/* Not held: every read reaches the base. */
	CHECK_EQ(mg_clock_now(&h.clock), 1000000);
	CHECK_EQ(mg_clock_now(&h.clock), 2000000);

	/* Held: one base read at the hold, then the same time however often
	 * it is asked. */
	mg_clock_hold(&h);
	CHECK_EQ(base_reads, 3);
	t = mg_clock_now(&h.clock);
	CHECK_EQ(t, 3000000);
	for (int i = 0; i < 1000; i++)
		CHECK_EQ(mg_clock_now(&h.clock), t);
	CHECK_EQ(base_reads, 3);

	/* Released: time moves again. */
	mg_clock_release(&h);
	CHECK_EQ(mg_clock_now(&h.clock), 4000000);

	/* A second hold takes the time anew. */
	mg_clock_hold(&h);
	CHECK_EQ(mg_clock_now(&h.clock), 5000000);
	mg_clock_release(&h);

	h.clock.wall(&h.clock, &ts);
	CHECK_EQ(ts.tv_sec, 1700000000);
	CHECK_EQ(ts.tv_nsec, 42);
	return 0;
}
