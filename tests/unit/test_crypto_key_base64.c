/* Keys in base64 as wg prints them: exactly 44 characters of the standard
 * alphabet ending in one '='. Anything else is rejected and leaves the
 * destination untouched. */
#include <errno.h>

#include "check.h"
#include "crypto/primitives.h"

static const char *const rejects[] = {
	"",
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",	  /* 43: padding missing */
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==",  /* 45 */
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", /* trailing newline */
	" AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",  /* leading space */
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A",	  /* 44, no '=' */
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",	  /* 44, only 31 bytes */
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",	  /* unused tail bits set */
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd*h8=",	  /* not in the alphabet */
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd-h8=",	  /* URL-safe alphabet */
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd_h8=",	  /* URL-safe alphabet */
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx dHh8=",	  /* space inside */
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh=8",	  /* '=' misplaced */
};

int main(void)
{
	uint8_t key[32], got[32], canary[32];
	char text[MG_KEY_BASE64_LEN + 1];
	size_t i;
	int round;

	CHECK_EQ(mg_crypto_init(), 0);
	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	mg_key_to_base64(text, key);
	CHECK(strcmp(text, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=") == 0);
	CHECK_EQ(mg_key_from_base64(got, text), 0);
	CHECK_MEM(got, key, 32);

	for (round = 0; round < 100; round++) {
		mg_random_bytes(key, sizeof(key));
		mg_key_to_base64(text, key);
		CHECK_EQ(strlen(text), MG_KEY_BASE64_LEN);
		CHECK_EQ(text[43], '=');
		CHECK_EQ(mg_key_from_base64(got, text), 0);
		CHECK_MEM(got, key, 32);
	}

	memset(canary, 0x5A, sizeof(canary));
	for (i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		memcpy(got, canary, sizeof(got));
		if (mg_key_from_base64(got, rejects[i]) != -EINVAL) {
			fprintf(stderr, "accepted \"%s\"\n", rejects[i]);
			return 1;
		}
		CHECK_MEM(got, canary, 32);
	}
	mg_test_pass("test_crypto_key_base64");
	return 0;
}
