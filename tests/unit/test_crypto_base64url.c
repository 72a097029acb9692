/* URL-safe base64 without padding: RFC 4648 section 10's vectors in the
 * URL-safe alphabet, and what the decoder must refuse (padding, the standard
 * alphabet's '+' and '/', a stray character, leftover bits, too little room). */
#include <errno.h>

#include "check.h"
#include "crypto/primitives.h"

int main(void)
{
	static const struct {
		const char *bin, *text;
	} rows[] = {
		{ "", "" },
		{ "f", "Zg" },
		{ "fo", "Zm8" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg" },
		{ "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" },
	};
	static const uint8_t high[3] = { 0xfb, 0xff, 0xbf };
	char text[16];
	uint8_t bin[16];
	size_t n;

	CHECK_EQ(mg_crypto_init(), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t len = strlen(rows[i].bin);
		CHECK_EQ(mg_base64url_len(len), strlen(rows[i].text));
		mg_base64url_encode(text, (const uint8_t *)rows[i].bin, len);
		CHECK(strcmp(text, rows[i].text) == 0);
		CHECK_EQ(mg_base64url_decode(bin, sizeof(bin), &n, text, strlen(text)), 0);
		CHECK_EQ(n, len);
		CHECK_MEM(bin, rows[i].bin, len);
	}
	mg_base64url_encode(text, high, 3);
	CHECK(strcmp(text, "-_-_") == 0);
	CHECK_EQ(mg_base64url_decode(bin, sizeof(bin), &n, "+/+/", 4), -EINVAL);
	CHECK_EQ(mg_base64url_decode(bin, sizeof(bin), &n, "Zg==", 4), -EINVAL);
	CHECK_EQ(mg_base64url_decode(bin, sizeof(bin), &n, "Zm9v!", 5), -EINVAL);
	/* Outside the alphabet, though libsodium alone reads it as '_'. */
	CHECK_EQ(mg_base64url_decode(bin, sizeof(bin), &n, "Zm9\xc4", 4), -EINVAL);
	CHECK_EQ(mg_base64url_decode(bin, sizeof(bin), &n, "Zm9\0", 4), -EINVAL);
	CHECK_EQ(mg_base64url_decode(bin, sizeof(bin), &n, "Zh", 2), -EINVAL);
	CHECK_EQ(mg_base64url_decode(bin, sizeof(bin), &n, "Z", 1), -EINVAL);
	CHECK_EQ(mg_base64url_decode(bin, 5, &n, "Zm9vYmFy", 8), -EMSGSIZE);
	mg_test_pass("crypto_base64url");
	return 0;
}
