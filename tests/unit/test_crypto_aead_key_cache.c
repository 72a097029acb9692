/* mg_aead_* keep the last key they were given and set a key only when it
 * changes. Whatever the order of keys, every packet must still seal and open
 * exactly as libsodium's ChaCha20-Poly1305 does, also after mg_aead_forget
 * erased the kept key, and forgetting a key that is not kept changes
 * nothing. */
#include <sodium.h>

#include "check.h"
#include "crypto/primitives.h"

#define LEN 100

static uint8_t keys[3][MG_KEY_LEN];

static void sodium_seal(uint8_t *out, const uint8_t *msg, uint64_t counter, const uint8_t *key)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = { 0 };

	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, msg, LEN, NULL, 0, NULL, nonce, key);
}

/* Seals with mg_aead_seal under key k and checks against libsodium, then
 * opens it again. */
static void check_packet(int k, uint64_t counter)
{
	uint8_t msg[LEN], got[LEN + MG_AEAD_TAG_LEN], want[LEN + MG_AEAD_TAG_LEN], back[LEN];

	for (int i = 0; i < LEN; i++)
		msg[i] = (uint8_t)(i * 7 + k + counter);
	CHECK(mg_aead_seal(got, msg, LEN, NULL, 0, counter, keys[k]));
	sodium_seal(want, msg, counter, keys[k]);
	CHECK(memcmp(got, want, sizeof(got)) == 0);
	CHECK(mg_aead_open(back, got, sizeof(got), NULL, 0, counter, keys[k]));
	CHECK(memcmp(back, msg, LEN) == 0);
	/* The wrong key never opens it, whichever key is kept. */
	CHECK(!mg_aead_open(back, got, sizeof(got), NULL, 0, counter, keys[(k + 1) % 3]));
}

int main(void)
{
	static const int order[] = { 0, 0, 1, 0, 1, 1, 2, 0, 2, 2, 1 };

	CHECK(mg_crypto_init() == 0);
	for (int k = 0; k < 3; k++)
		randombytes_buf(keys[k], MG_KEY_LEN);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		check_packet(order[i], i);

	/* Forget keys in turn: each still works after, whether it was the
	 * kept one or not. */
	mg_aead_forget(keys[2]);
	check_packet(2, 100);
	mg_aead_forget(keys[0]); /* not the kept one: nothing happens */
	check_packet(1, 101);
	mg_aead_forget(keys[1]);
	check_packet(1, 102);
	mg_aead_forget(keys[1]);
	mg_aead_forget(keys[1]); /* twice: harmless */
	check_packet(0, 103);
	return 0;
}
