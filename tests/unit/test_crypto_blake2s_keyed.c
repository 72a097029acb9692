/* Keyed BLAKE2s: the kernel's self-test KATs (key 00..1f, message 00..i-1)
 * and WireGuard's MAC, where outlen 16 goes into the parameter block. */
#include "check.h"
#include "crypto/blake2s.h"

static const struct {
	size_t len;
	const char *digest_hex;
} kats[] = {
	{ 0, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49" },
	{ 1, "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1" },
	{ 255, "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd" },
};

int main(void)
{
	uint8_t key[32], msg[255], got[32], want[32];
	size_t i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;

	for (i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
		mg_test_unhex(want, sizeof(want), kats[i].digest_hex);
		mg_blake2s(got, 32, msg, kats[i].len, key, sizeof(key));
		CHECK_MEM(got, want, 32);
	}

	/* MAC(k, "") with outlen 16 is not a prefix of the 32-byte digest. */
	memset(got, 0xAA, sizeof(got));
	mg_blake2s(got, 16, NULL, 0, key, sizeof(key));
	mg_test_unhex(want, sizeof(want), "9536f9b267655743dee97b8a670f9f53");
	CHECK_MEM(got, want, 16);
	CHECK_EQ(got[16], 0xAA);
	mg_blake2s(want, 32, NULL, 0, key, sizeof(key));
	CHECK(memcmp(got, want, 16) != 0);

	mg_test_pass("test_crypto_blake2s_keyed");
	return 0;
}
