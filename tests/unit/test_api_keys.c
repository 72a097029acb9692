/* The public key functions of include/meshguard.h, used as a program
 * outside the library would: RFC 7748's key pair, generated keys clamped
 * (private) or not (preshared), base64 as wg(8) prints it, and a rejected
 * encoding leaves the key untouched. */
#include "check.h"
#include "meshguard.h"

#include <errno.h>

static const char *const bad_base64[] = {
	"",
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",	  /* 43: padding missing */
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", /* trailing newline */
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",	  /* unused tail bits set */
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd-h8=",	  /* URL-safe alphabet */
};

static void check_rfc7748(void)
{
	uint8_t priv[MG_KEY_BYTES], pub[MG_KEY_BYTES], want[MG_KEY_BYTES];

	CHECK_EQ(mg_test_unhex(priv, sizeof(priv),
			       "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
		 MG_KEY_BYTES);
	CHECK_EQ(mg_test_unhex(want, sizeof(want),
			       "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"),
		 MG_KEY_BYTES);
	CHECK_EQ(mg_key_public_from_private(pub, priv), 0);
	CHECK_MEM(pub, want, MG_KEY_BYTES);
}

static void check_generated(void)
{
	uint8_t a[MG_KEY_BYTES], b[MG_KEY_BYTES], pub[MG_KEY_BYTES];
	int clamped = 0;

	CHECK_EQ(mg_key_generate_private(a), 0);
	CHECK_EQ(mg_key_generate_private(b), 0);
	CHECK(memcmp(a, b, MG_KEY_BYTES) != 0);
	CHECK_EQ(a[0] & 7, 0);
	CHECK_EQ(a[31] & 0xC0, 0x40);
	CHECK_EQ(mg_key_public_from_private(pub, a), 0);

	/* A preshared key is not clamped: among 64 of them, some are not. */
	for (int i = 0; i < 64; i++) {
		CHECK_EQ(mg_key_generate_preshared(a), 0);
		clamped += (a[0] & 7) == 0 && (a[31] & 0xC0) == 0x40;
	}
	CHECK(clamped < 64);
	mg_secret_wipe(a, sizeof(a));
	for (size_t i = 0; i < sizeof(a); i++)
		CHECK_EQ(a[i], 0);
}

static void check_base64(void)
{
	uint8_t key[MG_KEY_BYTES], got[MG_KEY_BYTES], canary[MG_KEY_BYTES];
	char text[MG_KEY_BASE64_CHARS + 1];

	for (int i = 0; i < MG_KEY_BYTES; i++)
		key[i] = (uint8_t)i;
	mg_key_encode_base64(text, key);
	CHECK(!strcmp(text, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="));
	CHECK_EQ(mg_key_decode_base64(got, text), 0);
	CHECK_MEM(got, key, MG_KEY_BYTES);

	memset(canary, 0xA5, sizeof(canary));
	for (size_t i = 0; i < sizeof(bad_base64) / sizeof(bad_base64[0]); i++) {
		memcpy(got, canary, sizeof(got));
		CHECK_EQ(mg_key_decode_base64(got, bad_base64[i]), -EINVAL);
		CHECK_MEM(got, canary, MG_KEY_BYTES);
	}
}

int main(void)
{
	check_rfc7748();
	check_generated();
	check_base64();
	mg_test_pass("test_api_keys");
	return 0;
}
