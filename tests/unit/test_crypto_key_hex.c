/* Keys in hex for the UAPI: 64 lower-case digits out; either case in;
 * wrong lengths and trailing junk rejected with the key untouched. */
#include <errno.h>

#include "check.h"
#include "crypto/primitives.h"

static const char *const rejects[] = {
	"",
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",   /* 63 */
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0", /* 65 */
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",
	" 00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	"0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e:f",
};

int main(void)
{
	uint8_t key[32], got[32], canary[32];
	char text[MG_KEY_HEX_LEN + 1];
	size_t i;
	int round;

	CHECK_EQ(mg_crypto_init(), 0);
	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 0x11 + 0x0A);
	mg_key_to_hex(text, key);
	for (i = 0; i < MG_KEY_HEX_LEN; i++)
		CHECK((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f'));
	CHECK_EQ(text[MG_KEY_HEX_LEN], '\0');
	CHECK_EQ(mg_key_from_hex(got, text), 0);
	CHECK_MEM(got, key, 32);

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	mg_key_to_hex(text, key);
	CHECK(strcmp(text, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f") ==
	      0);
	CHECK_EQ(mg_key_from_hex(
			 got, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"),
		 0);
	CHECK_MEM(got, key, 32);

	for (round = 0; round < 100; round++) {
		mg_random_bytes(key, sizeof(key));
		mg_key_to_hex(text, key);
		CHECK_EQ(mg_key_from_hex(got, text), 0);
		CHECK_MEM(got, key, 32);
	}

	memset(canary, 0x5A, sizeof(canary));
	for (i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		memcpy(got, canary, sizeof(got));
		if (mg_key_from_hex(got, rejects[i]) != -EINVAL) {
			fprintf(stderr, "accepted \"%s\"\n", rejects[i]);
			return 1;
		}
		CHECK_MEM(got, canary, 32);
	}
	mg_test_pass("test_crypto_key_hex");
	return 0;
}
