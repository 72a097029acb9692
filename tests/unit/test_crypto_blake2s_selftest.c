/* RFC 7693 Appendix E: one hash over unkeyed and keyed digests of every
 * outlen in {16, 20, 28, 32} and inlen in {0, 3, 64, 65, 255, 1024}. It
 * covers short digests, keys, and inputs on and around block boundaries. */
#include "check.h"
#include "crypto/blake2s.h"

/* The appendix's deterministic input: a Fibonacci-like sequence from seed. */
static void sequence(uint8_t *out, size_t len, uint32_t seed)
{
	uint32_t a = 0xDEAD4BAD * seed, b = 1, t;
	size_t i;

	for (i = 0; i < len; i++) {
		t = a + b;
		a = b;
		b = t;
		out[i] = (uint8_t)(t >> 24);
	}
}

int main(void)
{
	static const size_t outlens[] = { 16, 20, 28, 32 };
	static const size_t inlens[] = { 0, 3, 64, 65, 255, 1024 };
	uint8_t in[1024], key[32], md[32], want[32];
	struct mg_blake2s_state grand;
	size_t i, j;

	mg_blake2s_init(&grand, 32, NULL, 0);
	for (i = 0; i < 4; i++) {
		size_t outlen = outlens[i];

		for (j = 0; j < 6; j++) {
			size_t inlen = inlens[j];

			sequence(in, inlen, (uint32_t)inlen);
			mg_blake2s(md, outlen, in, inlen, NULL, 0);
			mg_blake2s_update(&grand, md, outlen);

			sequence(key, outlen, (uint32_t)outlen);
			mg_blake2s(md, outlen, in, inlen, key, outlen);
			mg_blake2s_update(&grand, md, outlen);
		}
	}
	mg_blake2s_final(&grand, md);

	mg_test_unhex(want, sizeof(want),
		      "6a411f08ce25adcdfb02aba641451cec53c598b24f4fc787fbdc88797f4c1dfe");
	CHECK_MEM(md, want, 32);
	mg_test_pass("test_crypto_blake2s_selftest");
	return 0;
}
