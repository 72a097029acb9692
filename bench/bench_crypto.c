/* Crypto ceilings of the tunnel, on one core:
 *   - libsodium's ChaCha20-Poly1305 (IETF) seal and open of 1420-byte and
 *     64-byte packets: the "AEAD limit" issue 4 states its targets against;
 *   - the same for meshguard's own mg_aead_* (libgcrypt's ChaCha20-Poly1305,
 *     through a reused cipher context), the limit the tunnel really has on
 *     one core whatever its I/O does;
 *   - X25519 scalar multiplications per second (a handshake costs about
 *     four on each side);
 *   - complete Noise IKpsk2 handshakes per second between two real
 *     struct mg_device on an in-memory wire with a fake clock: each round
 *     wipes both peers' sessions, moves the clock past REKEY_TIMEOUT and
 *     sends one packet, which makes the initiator start a handshake; the
 *     initiation, the response and the staged packet then cross the wire.
 *
 * Usage: bench_crypto [--json] [--seconds S]   (S per figure, default 1)
 * Prints a table, or one JSON object with --json. */
#include <arpa/inet.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/macros.h"
#include "crypto/primitives.h"
#include "tunnel/device.h"
#include "util/log.h"

#include "../tests/unit/wire.h"

static double seconds_per_figure = 1.0;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- AEAD ---- */

struct aead_result {
	double pps;  /* packets per second */
	double gbps; /* plaintext bits per second / 1e9 */
};

/* One ChaCha20-Poly1305 under test, with WireGuard's nonce (4 zero bytes,
 * then the 64-bit counter) and no additional data, as data packets use it. */
struct aead_impl {
	void (*seal)(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
		     const uint8_t *key);
	bool (*open)(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
		     const uint8_t *key);
};

static void sodium_nonce(uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES],
			 uint64_t counter)
{
	memset(nonce, 0, 4);
	memcpy(nonce + 4, &counter, 8); /* little-endian on every target we build */
}

static void sodium_seal(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
			const uint8_t *key)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

	sodium_nonce(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt(dst, NULL, src, len, NULL, 0, NULL, nonce, key);
}

static bool sodium_open(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
			const uint8_t *key)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

	sodium_nonce(nonce, counter);
	return crypto_aead_chacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, len, NULL, 0, nonce,
							 key) == 0;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_crypto: %s\n", what);
	exit(1);
}

static void meshguard_seal(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
			   const uint8_t *key)
{
	if (!mg_aead_seal(dst, src, len, NULL, 0, counter, key))
		die("mg_aead_seal failed");
}

static bool meshguard_open(uint8_t *dst, const uint8_t *src, size_t len, uint64_t counter,
			   const uint8_t *key)
{
	return mg_aead_open(dst, src, len, NULL, 0, counter, key);
}

/* libsodium's, the "AEAD limit" the benchmark's targets are stated against. */
static const struct aead_impl libsodium_aead = { sodium_seal, sodium_open };
/* What the tunnel runs: mg_aead_* (libgcrypt's). */
static const struct aead_impl meshguard_aead = { meshguard_seal, meshguard_open };

static struct aead_result aead_seal(const struct aead_impl *impl, size_t len)
{
	static uint8_t src[2048], dst[2048 + MG_AEAD_TAG_LEN];
	uint8_t key[MG_KEY_LEN];
	uint64_t counter = 0, n = 0;
	double t0, t;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(src, sizeof(src));
	t0 = now_s();
	do {
		for (int i = 0; i < 1024; i++)
			impl->seal(dst, src, len, counter++, key);
		n += 1024;
		t = now_s() - t0;
	} while (t < seconds_per_figure);
	return (struct aead_result){ .pps = (double)n / t,
				     .gbps = (double)n * (double)len * 8 / t / 1e9 };
}

static struct aead_result aead_open(const struct aead_impl *impl, size_t len)
{
	enum {
		NCT = 64
	};
	static uint8_t src[2048], dst[2048];
	static uint8_t ct[NCT][2048 + MG_AEAD_TAG_LEN];
	uint8_t key[MG_KEY_LEN];
	uint64_t n = 0, bad = 0;
	double t0, t;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(src, sizeof(src));
	for (uint64_t i = 0; i < NCT; i++)
		impl->seal(ct[i], src, len, i, key);
	t0 = now_s();
	do {
		for (int i = 0; i < 1024; i++)
			bad += !impl->open(dst, ct[i % NCT], len + MG_AEAD_TAG_LEN,
					   (uint64_t)(i % NCT), key);
		n += 1024;
		t = now_s() - t0;
	} while (t < seconds_per_figure);
	if (bad) {
		fprintf(stderr, "bench_crypto: %llu packets failed to open\n",
			(unsigned long long)bad);
		exit(1);
	}
	return (struct aead_result){ .pps = (double)n / t,
				     .gbps = (double)n * (double)len * 8 / t / 1e9 };
}

/* ---- X25519 ---- */

static double x25519_per_second(void)
{
	uint8_t priv[32], pub[32], peer_priv[32], peer_pub[32], out[32];
	uint64_t n = 0;
	double t0, t;

	mg_x25519_generate(priv, pub);
	mg_x25519_generate(peer_priv, peer_pub);
	t0 = now_s();
	do {
		for (int i = 0; i < 64; i++) {
			if (!mg_x25519(out, priv, peer_pub)) {
				fprintf(stderr, "bench_crypto: x25519 failed\n");
				exit(1);
			}
			priv[0] ^= out[1]; /* a chain, so no call can be skipped */
		}
		n += 64;
		t = now_s() - t0;
	} while (t < seconds_per_figure);
	return (double)n / t;
}

/* ---- handshakes: two devices on the tests' in-memory wire ---- */

/* Moves the fake clocks without running timers. */
static void advance_clock(struct wire *w, uint64_t ns)
{
	w->clock.mono += ns;
	w->clock.wall.tv_sec += (time_t)(ns / MG_NSEC_PER_SEC);
	w->clock.wall.tv_nsec += (long)(ns % MG_NSEC_PER_SEC);
	if (w->clock.wall.tv_nsec >= 1000000000L) {
		w->clock.wall.tv_nsec -= 1000000000L;
		w->clock.wall.tv_sec++;
	}
}

/* Completed handshakes per wall-clock second; the initiator alternates. */
static double handshakes_per_second(uint64_t *count)
{
	static struct wire w;
	struct mg_peer *peers[2];
	uint64_t rounds = 0;
	double t0, t;

	wire_init(&w, 2);
	wire_pair(&w, 0, 1, &peers[0], &peers[1]);
	t0 = now_s();
	do {
		for (int i = 0; i < 16; i++, rounds++) {
			int a = (int)(rounds & 1);
			unsigned before = w.nodes[1 - a].delivered;

			/* Past REKEY_TIMEOUT (an initiation may be sent again) and
			 * far from the under-load threshold of the fake second. */
			advance_clock(&w, REKEY_TIMEOUT + MG_NSEC_PER_SEC);
			mg_device_zero_keys(peers[0]);
			mg_device_zero_keys(peers[1]);
			wire_send_ip(&w, a, 1 - a, 64);
			wire_pump(&w);
			if (w.nodes[1 - a].delivered != before + 1)
				die("a handshake round did not deliver its packet");
		}
		t = now_s() - t0;
	} while (t < seconds_per_figure);
	for (int i = 0; i < 2; i++)
		if (w.nodes[i].dev.stats.handshakes_completed != rounds)
			die("handshakes_completed does not match the rounds run");
	if (w.dropped)
		die("the wire dropped datagrams");
	*count = rounds;
	wire_free(&w);
	return (double)rounds / t;
}

static void print_aead(const char *who, const struct aead_result *seal1420,
		       const struct aead_result *seal64, const struct aead_result *open1420,
		       const struct aead_result *open64)
{
	const struct {
		const char *what;
		const struct aead_result *r;
	} rows[] = { { "seal, 1420 B", seal1420 },
		     { "seal, 64 B", seal64 },
		     { "open, 1420 B", open1420 },
		     { "open, 64 B", open64 } };
	char label[64];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		snprintf(label, sizeof(label), "ChaCha20-Poly1305 %s, %s", who, rows[i].what);
		printf("%-50s %14.3f %14.0f\n", label, rows[i].r->gbps, rows[i].r->pps);
	}
}

int main(int argc, char **argv)
{
	bool json = false;
	uint64_t hs_count;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds_per_figure = atof(argv[++i]);
			if (seconds_per_figure <= 0)
				die("--seconds needs a positive number");
		} else {
			fprintf(stderr, "usage: %s [--json] [--seconds S]\n", argv[0]);
			return 2;
		}
	}
	if (mg_crypto_init() != 0)
		die("mg_crypto_init failed");
	mg_log_default()->threshold = MG_LOG_ERROR; /* one "handshake completed" line per round */

	struct aead_result seal1420 = aead_seal(&libsodium_aead, 1420);
	struct aead_result seal64 = aead_seal(&libsodium_aead, 64);
	struct aead_result open1420 = aead_open(&libsodium_aead, 1420);
	struct aead_result open64 = aead_open(&libsodium_aead, 64);
	struct aead_result mg_seal1420 = aead_seal(&meshguard_aead, 1420);
	struct aead_result mg_seal64 = aead_seal(&meshguard_aead, 64);
	struct aead_result mg_open1420 = aead_open(&meshguard_aead, 1420);
	struct aead_result mg_open64 = aead_open(&meshguard_aead, 64);
	double x25519 = x25519_per_second();
	double hs = handshakes_per_second(&hs_count);

	if (json) {
		printf("{\"aead_seal_1420_gbps\": %.3f, \"aead_seal_1420_pps\": %.0f, "
		       "\"aead_seal_64_gbps\": %.3f, \"aead_seal_64_pps\": %.0f, "
		       "\"aead_open_1420_gbps\": %.3f, \"aead_open_1420_pps\": %.0f, "
		       "\"aead_open_64_gbps\": %.3f, \"aead_open_64_pps\": %.0f, "
		       "\"mg_aead_seal_1420_gbps\": %.3f, \"mg_aead_seal_1420_pps\": %.0f, "
		       "\"mg_aead_seal_64_gbps\": %.3f, \"mg_aead_seal_64_pps\": %.0f, "
		       "\"mg_aead_open_1420_gbps\": %.3f, \"mg_aead_open_1420_pps\": %.0f, "
		       "\"mg_aead_open_64_gbps\": %.3f, \"mg_aead_open_64_pps\": %.0f, "
		       "\"x25519_per_s\": %.0f, \"handshakes_per_s\": %.0f, "
		       "\"handshakes_counted\": %llu, \"seconds_per_figure\": %g}\n",
		       seal1420.gbps, seal1420.pps, seal64.gbps, seal64.pps, open1420.gbps,
		       open1420.pps, open64.gbps, open64.pps, mg_seal1420.gbps, mg_seal1420.pps,
		       mg_seal64.gbps, mg_seal64.pps, mg_open1420.gbps, mg_open1420.pps,
		       mg_open64.gbps, mg_open64.pps, x25519, hs, (unsigned long long)hs_count,
		       seconds_per_figure);
		return 0;
	}
	printf("%-50s %14s %14s\n", "one core", "Gbit/s", "per second");
	print_aead("libsodium", &seal1420, &seal64, &open1420, &open64);
	print_aead("meshguard (libgcrypt)", &mg_seal1420, &mg_seal64, &mg_open1420, &mg_open64);
	printf("%-50s %14s %14.0f\n", "X25519 scalar multiplications", "-", x25519);
	printf("%-50s %14s %14.0f\n", "Noise IKpsk2 handshakes (both sides)", "-", hs);
	return 0;
}
