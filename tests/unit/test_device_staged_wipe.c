/* Packets staged while a handshake is in flight hold plaintext: each
 * buffer is zero when it goes back to the allocator, whether it was sent
 * once the session came, dropped for a newer packet (the queue was full),
 * or cleared. The test's free() checks every staged buffer it is handed.
 * Under AddressSanitizer, which owns free(), only the queue's emptying is
 * checked. */
#include <stdio.h>

#include "wire.h"

#if defined(__SANITIZE_ADDRESS__)
#define NO_FREE_HOOK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define NO_FREE_HOOK 1
#endif
#endif

struct watched {
	const uint8_t *p;
	size_t len;
};

static struct watched watch[MAX_STAGED_PACKETS + 8];
static size_t n_watch;
static unsigned wiped, dirty;

#ifndef NO_FREE_HOOK
void __libc_free(void *p);

/* Every free() of the program comes here first. */
void free(void *p)
{
	for (size_t i = 0; p && i < n_watch; i++) {
		if (watch[i].p != p)
			continue;
		bool zero = true;
		for (size_t k = 0; k < watch[i].len; k++)
			zero &= watch[i].p[k] == 0;
		zero ? wiped++ : dirty++;
		watch[i] = watch[--n_watch];
		break;
	}
	__libc_free(p);
}
#endif

/* Watches every buffer now in peer's queue. */
static void watch_queue(const struct mg_peer *peer)
{
	const struct mg_staged_queue *q = &peer->staged;

	n_watch = 0;
	wiped = dirty = 0;
	for (unsigned i = 0; i < q->count; i++) {
		unsigned k = (q->head + i) % MAX_STAGED_PACKETS;
		watch[n_watch].p = q->packets[k];
		watch[n_watch].len = MG_DEVICE_HEADROOM + q->lengths[k] + MG_DEVICE_TAILROOM;
		n_watch++;
	}
}

static void expect_wiped(unsigned n, const char *what)
{
#ifdef NO_FREE_HOOK
	(void)n;
	printf("%s: not checked (a sanitizer owns free)\n", what);
#else
	if (wiped != n || dirty)
		fprintf(stderr, "%s: %u wiped, %u not, expected %u wiped\n", what, wiped, dirty, n);
	CHECK_EQ(wiped, n);
	CHECK_EQ(dirty, 0);
#endif
}

/* The queue fills (no answer comes), the oldest is dropped for each new
 * one, and the rest are cleared. */
static void dropped_and_cleared(void)
{
	struct wire w;
	struct mg_peer *pa;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, &pa, NULL);
	for (unsigned i = 0; i < MAX_STAGED_PACKETS; i++)
		wire_send_ip(&w, 0, 1, 100 + i);
	CHECK_EQ(pa->staged.count, MAX_STAGED_PACKETS);
	watch_queue(pa);
	wire_send_ip(&w, 0, 1, 1400);
	wire_send_ip(&w, 0, 1, 1400);
	CHECK_EQ(w.nodes[0].dev.stats.tx_staged_overflow, 2);
	expect_wiped(2, "dropped for newer");

	watch_queue(pa);
	mg_device_clear_staged(pa);
	CHECK_EQ(pa->staged.count, 0);
	expect_wiped(MAX_STAGED_PACKETS, "cleared");
	wire_free(&w);
}

/* The handshake completes: the staged packets leave, sealed, and their
 * buffers are wiped (a seal that failed would have left plaintext). */
static void sent(void)
{
	struct wire w;
	struct mg_peer *pa;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, &pa, NULL);
	for (unsigned i = 0; i < 5; i++)
		wire_send_ip(&w, 0, 1, 84);
	CHECK_EQ(pa->staged.count, 5);
	watch_queue(pa);
	wire_pump(&w);
	CHECK_EQ(w.nodes[1].delivered, 5);
	CHECK_EQ(pa->staged.count, 0);
	expect_wiped(5, "sent");
	wire_free(&w);
}

/* A peer removed with packets waiting. */
static void removed(void)
{
	struct wire w;
	struct mg_peer *pa;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, &pa, NULL);
	for (unsigned i = 0; i < 3; i++)
		wire_send_ip(&w, 0, 1, 200);
	watch_queue(pa);
	wire_free(&w); /* frees the peers */
	expect_wiped(3, "freed with the device");
}

int main(void)
{
	dropped_and_cleared();
	sent();
	removed();
	mg_test_pass("device_staged_wipe");
	return 0;
}
