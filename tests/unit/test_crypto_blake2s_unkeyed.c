/* BLAKE2s-256 without a key: RFC 7693 Appendix B and two short inputs. */
#include "check.h"
#include "crypto/blake2s.h"

static const struct {
	const char *in_hex;
	const char *digest_hex;
} vectors[] = {
	{ "616263", "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982" },
	{ "", "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9" },
	{ "00", "e34d74dbaf4ff4c6abd871cc220451d2ea2648846c7757fbaac82fe51ad64bea" },
};

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		uint8_t in[8], want[32], got[32];
		size_t inlen = mg_test_unhex(in, sizeof(in), vectors[i].in_hex);

		CHECK_EQ(mg_test_unhex(want, sizeof(want), vectors[i].digest_hex), 32);
		mg_blake2s(got, sizeof(got), in, inlen, NULL, 0);
		CHECK_MEM(got, want, 32);
	}
	mg_test_pass("test_crypto_blake2s_unkeyed");
	return 0;
}
