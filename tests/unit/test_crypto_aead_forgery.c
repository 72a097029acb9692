/* mg_aead_open refuses anything altered: any flipped bit of ciphertext or
 * tag, different associated data, another counter, or input shorter than a
 * tag. Sealing in place round-trips. */
#include "check.h"
#include "crypto/primitives.h"

#define LEN 40

int main(void)
{
	uint8_t key[32], ad[8] = "header!", msg[LEN], sealed[LEN + 16], bad[LEN + 16], out[LEN];
	uint8_t inplace[LEN + 16];
	size_t bit;

	CHECK_EQ(mg_crypto_init(), 0);
	mg_random_bytes(key, sizeof(key));
	mg_random_bytes(msg, sizeof(msg));
	CHECK(mg_aead_seal(sealed, msg, LEN, ad, sizeof(ad), 7, key));
	CHECK(mg_aead_open(out, sealed, sizeof(sealed), ad, sizeof(ad), 7, key));
	CHECK_MEM(out, msg, LEN);

	for (bit = 0; bit < 8 * sizeof(sealed); bit++) {
		memcpy(bad, sealed, sizeof(bad));
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CHECK(!mg_aead_open(out, bad, sizeof(bad), ad, sizeof(ad), 7, key));
	}
	ad[0] ^= 1;
	CHECK(!mg_aead_open(out, sealed, sizeof(sealed), ad, sizeof(ad), 7, key));
	ad[0] ^= 1;
	CHECK(!mg_aead_open(out, sealed, sizeof(sealed), ad, sizeof(ad), 8, key));
	CHECK(!mg_aead_open(out, sealed, 15, ad, sizeof(ad), 7, key));

	/* An empty plaintext is a bare tag, as in a keepalive or enc_empty. */
	CHECK(mg_aead_seal(bad, NULL, 0, NULL, 0, 0, key));
	CHECK(mg_aead_open(out, bad, 16, NULL, 0, 0, key));
	bad[3] ^= 0x10;
	CHECK(!mg_aead_open(out, bad, 16, NULL, 0, 0, key));

	memcpy(inplace, msg, LEN);
	CHECK(mg_aead_seal(inplace, inplace, LEN, ad, sizeof(ad), 7, key));
	CHECK_MEM(inplace, sealed, sizeof(sealed));
	CHECK(mg_aead_open(inplace, inplace, sizeof(inplace), ad, sizeof(ad), 7, key));
	CHECK_MEM(inplace, msg, LEN);

	mg_test_pass("test_crypto_aead_forgery");
	return 0;
}
