/* X25519 against RFC 7748 section 6.1: both public keys and the shared
 * secret from each side; and a fresh key pair agrees with itself. */
#include "check.h"
#include "crypto/primitives.h"

static void unhex32(uint8_t out[32], const char *hex)
{
	CHECK_EQ(mg_test_unhex(out, 32, hex), 32);
}

int main(void)
{
	uint8_t a[32], b[32], pub_a[32], pub_b[32], k[32], got[32];
	uint8_t priv1[32], pub1[32], priv2[32], pub2[32], s1[32], s2[32];

	CHECK_EQ(mg_crypto_init(), 0);
	unhex32(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex32(pub_a, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	unhex32(b, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	unhex32(pub_b, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	unhex32(k, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");

	mg_x25519_public(got, a);
	CHECK_MEM(got, pub_a, 32);
	mg_x25519_public(got, b);
	CHECK_MEM(got, pub_b, 32);
	CHECK(mg_x25519(got, a, pub_b));
	CHECK_MEM(got, k, 32);
	CHECK(mg_x25519(got, b, pub_a));
	CHECK_MEM(got, k, 32);

	/* Generated keys come out clamped and usable. */
	mg_x25519_generate(priv1, pub1);
	mg_x25519_generate(priv2, pub2);
	CHECK_EQ(priv1[0] & 7, 0);
	CHECK_EQ(priv1[31] & 0xC0, 0x40);
	CHECK(memcmp(priv1, priv2, 32) != 0);
	mg_x25519_public(got, priv1);
	CHECK_MEM(got, pub1, 32);
	CHECK(mg_x25519(s1, priv1, pub2));
	CHECK(mg_x25519(s2, priv2, pub1));
	CHECK_MEM(s1, s2, 32);

	mg_test_pass("test_crypto_x25519");
	return 0;
}
