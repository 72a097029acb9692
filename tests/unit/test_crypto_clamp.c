/* Clamping clears the low 3 bits of byte 0 and sets bits 254/clears 255.
 * As netns.sh checks through wg, a clamped key whose base64 was edited to
 * start with '/' (bits 7..2 of byte 0 all set) reads back starting with '+'
 * (bit 2 cleared), the rest unchanged. */
#include "check.h"
#include "crypto/primitives.h"

int main(void)
{
	uint8_t key[32], pub[32], ones[32], zeros[32];
	char text[MG_KEY_BASE64_LEN + 1], edited[MG_KEY_BASE64_LEN + 1];
	int round;

	CHECK_EQ(mg_crypto_init(), 0);
	memset(ones, 0xFF, sizeof(ones));
	mg_x25519_clamp(ones);
	CHECK_EQ(ones[0], 0xF8);
	CHECK_EQ(ones[31], 0x7F);
	CHECK_EQ(ones[15], 0xFF);
	memset(zeros, 0, sizeof(zeros));
	mg_x25519_clamp(zeros);
	CHECK_EQ(zeros[0], 0x00);
	CHECK_EQ(zeros[31], 0x40);

	for (round = 0; round < 50; round++) {
		mg_x25519_generate(key, pub);
		mg_key_to_base64(text, key);
		memcpy(edited, text, sizeof(edited));
		edited[0] = '/';
		CHECK_EQ(mg_key_from_base64(key, edited), 0);
		CHECK_EQ(key[0] & 7, 4);
		mg_x25519_clamp(key);
		CHECK_EQ(key[0] & 7, 0);
		mg_key_to_base64(text, key);
		CHECK_EQ(text[0], '+');
		CHECK(strcmp(text + 1, edited + 1) == 0);
		/* Clamping twice changes nothing. */
		memcpy(ones, key, 32);
		mg_x25519_clamp(key);
		CHECK_MEM(key, ones, 32);
	}
	mg_test_pass("test_crypto_clamp");
	return 0;
}
