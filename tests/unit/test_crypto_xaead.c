/* XChaCha20-Poly1305 against draft-irtf-cfrg-xchacha-03 A.3.1 (full
 * ciphertext and tag; also recomputed with an independent HChaCha20 over
 * OpenSSL's ChaCha20-Poly1305), and a flipped bit fails to open. */
#include "check.h"
#include "crypto/primitives.h"

static const char plaintext[] = "Ladies and Gentlemen of the class of '99: If I could offer you "
				"only one tip for the future, sunscreen would be it.";
#define PT_LEN (sizeof(plaintext) - 1)

static const char sealed_hex[] = "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
				 "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
				 "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
				 "21f9664c97637da9768812f615c68b13b52e"
				 "c0875924c1c7987947deafd8780acf49";

int main(void)
{
	uint8_t key[32], nonce[24], ad[12], want[PT_LEN + 16], got[PT_LEN + 16], back[PT_LEN];
	size_t i;

	CHECK_EQ(mg_crypto_init(), 0);
	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x80 + i);
	for (i = 0; i < 24; i++)
		nonce[i] = (uint8_t)(0x40 + i);
	mg_test_unhex(ad, sizeof(ad), "50515253c0c1c2c3c4c5c6c7");
	CHECK_EQ(mg_test_unhex(want, sizeof(want), sealed_hex), PT_LEN + 16);

	mg_xaead_seal(got, (const uint8_t *)plaintext, PT_LEN, ad, sizeof(ad), nonce, key);
	CHECK_MEM(got, want, sizeof(want));
	CHECK(mg_xaead_open(back, got, sizeof(got), ad, sizeof(ad), nonce, key));
	CHECK_MEM(back, plaintext, PT_LEN);

	got[PT_LEN + 5] ^= 0x01;
	CHECK(!mg_xaead_open(back, got, sizeof(got), ad, sizeof(ad), nonce, key));
	got[PT_LEN + 5] ^= 0x01;
	got[0] ^= 0x80;
	CHECK(!mg_xaead_open(back, got, sizeof(got), ad, sizeof(ad), nonce, key));
	got[0] ^= 0x80;
	nonce[23] ^= 1;
	CHECK(!mg_xaead_open(back, got, sizeof(got), ad, sizeof(ad), nonce, key));

	mg_test_pass("test_crypto_xaead");
	return 0;
}
