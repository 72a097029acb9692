/* Feeding input in pieces gives the same digest as one call, whatever the
 * split: the last block must stay buffered until final sets its flag. */
#include "check.h"
#include "crypto/blake2s.h"

static void split_hash(uint8_t out[32], const uint8_t *in, size_t len, size_t cut,
		       const uint8_t *key, size_t keylen)
{
	struct mg_blake2s_state s;

	mg_blake2s_init(&s, 32, key, keylen);
	mg_blake2s_update(&s, in, cut);
	mg_blake2s_update(&s, NULL, 0);
	mg_blake2s_update(&s, in + cut, len - cut);
	mg_blake2s_final(&s, out);
}

static void bytewise_hash(uint8_t out[32], const uint8_t *in, size_t len)
{
	struct mg_blake2s_state s;
	size_t i;

	mg_blake2s_init(&s, 32, NULL, 0);
	for (i = 0; i < len; i++)
		mg_blake2s_update(&s, in + i, 1);
	mg_blake2s_final(&s, out);
}

int main(void)
{
	uint8_t in[200], key[32], whole[32], parts[32];
	size_t len, cut;

	for (len = 0; len < sizeof(in); len++)
		in[len] = (uint8_t)(len * 7 + 3);
	for (len = 0; len < sizeof(key); len++)
		key[len] = (uint8_t)(0xF0 - len);

	for (len = 0; len <= sizeof(in); len++) {
		mg_blake2s(whole, 32, in, len, NULL, 0);
		bytewise_hash(parts, in, len);
		CHECK_MEM(parts, whole, 32);
		for (cut = 0; cut <= len; cut++) {
			split_hash(parts, in, len, cut, NULL, 0);
			CHECK_MEM(parts, whole, 32);
		}
		mg_blake2s(whole, 32, in, len, key, sizeof(key));
		for (cut = 0; cut <= len; cut += 13) {
			split_hash(parts, in, len, cut, key, sizeof(key));
			CHECK_MEM(parts, whole, 32);
		}
	}
	mg_test_pass("test_crypto_blake2s_streaming");
	return 0;
}
