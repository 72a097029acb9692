/* Drives mg_cert_decode and mg_cert_verify with arbitrary bytes. Whatever
 * the decoder accepts must encode back to exactly the same bytes (one
 * encoding per value), and verifying it, alone or as its own issuer, must
 * refuse it without crashing (no input can carry the harness's authority
 * signature). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/primitives.h"
#include "mesh/cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t sk[MG_ED25519_SECRET_LEN], pk[MG_ED25519_PUB_LEN];
	static const uint8_t seed[MG_ED25519_SEED_LEN] = { 1 };
	uint8_t out[MG_CERT_MAX_LEN];
	struct mg_cert c;
	int n;

	if (mg_crypto_init() < 0)
		abort();
	mg_ed25519_from_seed(sk, pk, seed);
	if (mg_cert_decode(&c, data, size) < 0)
		return 0;
	n = mg_cert_encode(out, sizeof(out), &c);
	if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0)
		abort();
	if (mg_cert_verify(&c, NULL, pk, c.mesh_id, c.not_before, NULL) == 0)
		abort();
	if (mg_cert_verify(&c, &c, pk, c.mesh_id, c.not_after, NULL) == 0)
		abort();
	(void)mg_cert_needs_renewal(&c, c.not_after);
	return 0;
}
