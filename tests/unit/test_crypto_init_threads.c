/* mg_crypto_init is thread-safe and idempotent: threads that start at once
 * all get 0, and each then seals and opens with its own cipher handle (one
 * per thread, closed when the thread ends); a thread that never called it
 * still gets a working cipher on first use. */
#include "check.h"
#include "crypto/primitives.h"

#include <pthread.h>

#define THREADS 8
#define LEN	64

static pthread_barrier_t start;

static bool round_trip(uint64_t counter)
{
	uint8_t key[MG_KEY_LEN], msg[LEN], sealed[LEN + MG_AEAD_TAG_LEN], out[LEN];

	mg_random_bytes(key, sizeof(key));
	mg_random_bytes(msg, sizeof(msg));
	return mg_aead_seal(sealed, msg, LEN, NULL, 0, counter, key) &&
	       mg_aead_open(out, sealed, sizeof(sealed), NULL, 0, counter, key) &&
	       !memcmp(out, msg, LEN);
}

static void *worker(void *arg)
{
	bool ok;

	pthread_barrier_wait(&start);
	ok = mg_crypto_init() == 0 && mg_crypto_init() == 0; /* again: idempotent */
	for (unsigned n = 0; ok && n < 100; n++)
		ok = round_trip(n);
	return ok ? arg : NULL;
}

static void *late_worker(void *arg)
{
	return round_trip(1) ? arg : NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	void *ret;

	CHECK_EQ(pthread_barrier_init(&start, NULL, THREADS), 0);
	for (uintptr_t i = 0; i < THREADS; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, worker, (void *)(i + 1)), 0);
	for (uintptr_t i = 0; i < THREADS; i++) {
		CHECK_EQ(pthread_join(t[i], &ret), 0);
		CHECK(ret == (void *)(i + 1));
	}
	pthread_barrier_destroy(&start);

	CHECK_EQ(pthread_create(&t[0], NULL, late_worker, (void *)1), 0);
	CHECK_EQ(pthread_join(t[0], &ret), 0);
	CHECK(ret == (void *)1);
	CHECK_EQ(mg_crypto_init(), 0);
	CHECK(round_trip(2));
	mg_test_pass("crypto_init_threads");
	return 0;
}
