/* Drives mg_token_decode and mg_token_verify with arbitrary text. Whatever
 * the decoder accepts must encode back to exactly the same text (one
 * encoding per value, so a token's text is its identity), and verifying it
 * at its expiry must not crash; what it returns is the harness's only check
 * on verify, since a fuzzer can forge no signature. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/primitives.h"
#include "mesh/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[MG_TOKEN_TEXT_MAX + 1];
	struct mg_token t;
	int err;

	if (mg_crypto_init() < 0)
		abort();
	if (mg_token_decode(&t, (const char *)data, size) < 0)
		return 0;
	if (size > MG_TOKEN_TEXT_MAX || mg_token_encode(out, &t) < 0 || strlen(out) != size ||
	    memcmp(out, data, size) != 0)
		abort();
	err = mg_token_verify(&t, NULL, t.expiry, NULL);
	if (err != 0 && err != -MG_MESH_ESIGNATURE)
		abort();
	mg_token_wipe(&t);
	return 0;
}
