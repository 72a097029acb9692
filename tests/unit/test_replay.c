/* The anti-replay window (RFC 6479 as WireGuard sizes it), driven by the
 * rows of the kernel's selftest/counter.c: in order, duplicates, out of order
 * within the window, just outside it, far jumps and the REJECT_AFTER_MESSAGES
 * limit. A row is a counter and whether mg_replay_accept must take it. */
#include "check.h"
#include "tunnel/messages.h"
#include "tunnel/replay.h"

#define LIM (MG_REPLAY_WINDOW + 1)
#define RAM REJECT_AFTER_MESSAGES

struct row {
	uint64_t counter;
	bool accept;
};

static const struct row kernel_rows[] = {
	{ 0, true },
	{ 1, true },
	{ 1, false },
	{ 9, true },
	{ 8, true },
	{ 7, true },
	{ 7, false },
	{ LIM, true },
	{ LIM - 1, true },
	{ LIM - 1, false },
	{ LIM - 2, true },
	{ 2, true },
	{ 2, false },
	{ LIM + 16, true },
	{ 3, false },
	{ LIM + 16, false },
	{ LIM * 4, true },
	{ LIM * 4 - (LIM - 1), true },
	{ 10, false },
	{ LIM * 4 - LIM, false },
	{ LIM * 4 - (LIM + 1), false },
	{ LIM * 4 - (LIM - 2), true },
	{ LIM * 4 + 1 - LIM, false },
	{ 0, false },
	{ RAM, false },
	{ RAM - 1, true },
	{ RAM, false },
	{ RAM - 1, false },
	{ RAM - 2, true },
	{ RAM + 1, false },
	{ RAM + 2, false },
	{ RAM - 2, false },
	{ RAM - 3, true },
	{ 0, false },
};

/* Far jumps: a jump past the whole ring clears it, and what was seen before
 * the jump is now outside the window. */
static const struct row jump_rows[] = {
	{ 5, true },
	{ 100000, true },
	{ 5, false },
	{ 100000 - MG_REPLAY_WINDOW, true },
	{ 100000 - MG_REPLAY_WINDOW - 1, false },
	{ 99999, true },
	{ UINT64_C(1) << 40, true },
	{ 100000, false },
	{ (UINT64_C(1) << 40) - 1, true },
	{ (UINT64_C(1) << 40) - MG_REPLAY_WINDOW, true },
	{ (UINT64_C(1) << 40) - MG_REPLAY_WINDOW - 1, false },
	{ UINT64_MAX, false },
	{ UINT64_MAX - 1, false },
	{ (UINT64_C(1) << 40) + 1, true },
};

static void run_rows(const char *name, const struct row *rows, size_t n)
{
	struct mg_replay r;

	mg_replay_init(&r);
	for (size_t i = 0; i < n; i++) {
		bool got = mg_replay_accept(&r, rows[i].counter);
		if (got != rows[i].accept) {
			fprintf(stderr, "%s row %zu: counter %llu: got %s, want %s\n", name, i + 1,
				(unsigned long long)rows[i].counter, got ? "accept" : "reject",
				rows[i].accept ? "accept" : "reject");
			exit(1);
		}
	}
}

/* The kernel's bulk runs: a full window in either order, then the edges. */
static void bulk(void)
{
	struct mg_replay r;
	uint64_t i;

	mg_replay_init(&r);
	for (i = 1; i <= MG_REPLAY_WINDOW; i++)
		CHECK(mg_replay_accept(&r, i));
	CHECK(mg_replay_accept(&r, 0));
	CHECK(!mg_replay_accept(&r, 0));

	mg_replay_init(&r);
	for (i = 2; i <= MG_REPLAY_WINDOW + 1; i++)
		CHECK(mg_replay_accept(&r, i));
	CHECK(mg_replay_accept(&r, 1));
	CHECK(!mg_replay_accept(&r, 0));

	mg_replay_init(&r);
	for (i = MG_REPLAY_WINDOW + 1; i-- > 0;)
		CHECK(mg_replay_accept(&r, i));

	mg_replay_init(&r);
	for (i = MG_REPLAY_WINDOW + 2; i-- > 1;)
		CHECK(mg_replay_accept(&r, i));
	CHECK(!mg_replay_accept(&r, 0));

	mg_replay_init(&r);
	for (i = MG_REPLAY_WINDOW + 1; i-- > 1;)
		CHECK(mg_replay_accept(&r, i));
	CHECK(mg_replay_accept(&r, MG_REPLAY_WINDOW + 1));
	CHECK(!mg_replay_accept(&r, 0));

	mg_replay_init(&r);
	for (i = MG_REPLAY_WINDOW + 1; i-- > 1;)
		CHECK(mg_replay_accept(&r, i));
	CHECK(mg_replay_accept(&r, 0));
	CHECK(mg_replay_accept(&r, MG_REPLAY_WINDOW + 1));
}

/* Every counter of a long in-order run is taken once, and each one stays
 * rejected while it is inside the window. */
static void in_order_then_duplicates(void)
{
	struct mg_replay r;

	mg_replay_init(&r);
	for (uint64_t i = 0; i < 3 * MG_REPLAY_BITS_TOTAL; i++) {
		CHECK(mg_replay_accept(&r, i));
		if (i >= 64)
			CHECK(!mg_replay_accept(&r, i - 64));
	}
	for (uint64_t back = 0; back < MG_REPLAY_WINDOW + 64; back++)
		CHECK(!mg_replay_accept(&r, 3 * MG_REPLAY_BITS_TOTAL - 1 - back));
}

int main(void)
{
	_Static_assert(MG_REPLAY_WINDOW == 8128, "8192 - BITS_PER_LONG, as the kernel");
	run_rows("kernel", kernel_rows, sizeof(kernel_rows) / sizeof(kernel_rows[0]));
	run_rows("jump", jump_rows, sizeof(jump_rows) / sizeof(jump_rows[0]));
	bulk();
	in_order_then_duplicates();

	/* The limit itself (wireguard.md, "Timers and limits"): the kernel's
	 * U64_MAX - COUNTER_WINDOW_SIZE - 1 or wireguard-go's 2^64 - 2^13 - 1. */
	if (REJECT_AFTER_MESSAGES != UINT64_MAX - MG_REPLAY_WINDOW - 1 &&
	    REJECT_AFTER_MESSAGES != UINT64_MAX - 8192) {
		fprintf(stderr,
			"REJECT_AFTER_MESSAGES is UINT64_MAX - %llu; the kernel uses UINT64_MAX - "
			"8129 (U64_MAX - COUNTER_WINDOW_SIZE - 1), wireguard-go UINT64_MAX - "
			"8192\n",
			(unsigned long long)(UINT64_MAX - REJECT_AFTER_MESSAGES));
		return 1;
	}
	mg_test_pass("replay");
	return 0;
}
