/* Public keys of small order make every shared secret zero; mg_x25519 must
 * say so, since the handshake aborts on it. These are the keys the kernel's
 * netns.sh gives peers, expecting no packets at all. */
#include "check.h"
#include "crypto/primitives.h"
#include "low_order_keys.h"

int main(void)
{
	uint8_t priv[32], pub[32], out[32];
	size_t i;

	CHECK_EQ(mg_crypto_init(), 0);
	mg_x25519_generate(priv, pub);
	for (i = 0; i < N_LOW; i++) {
		CHECK_EQ(mg_key_from_base64(pub, low_order[i]), 0);
		CHECK(!mg_x25519(out, priv, pub));
	}
	mg_test_pass("test_crypto_x25519_low_order");
	return 0;
}
