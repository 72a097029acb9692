/* Constant-time comparison, zero test and wipe. */
#include "check.h"
#include "crypto/primitives.h"

int main(void)
{
	uint8_t a[32], b[32];

	CHECK_EQ(mg_crypto_init(), 0);
	memset(a, 0x11, sizeof(a));
	memcpy(b, a, sizeof(b));
	CHECK(mg_equal(a, b, sizeof(a)));
	b[31] ^= 0x80;
	CHECK(!mg_equal(a, b, sizeof(a)));
	CHECK(mg_equal(a, b, 31));

	CHECK(!mg_is_zero(a, sizeof(a)));
	mg_wipe(a, sizeof(a));
	CHECK(mg_is_zero(a, sizeof(a)));
	a[17] = 1;
	CHECK(!mg_is_zero(a, sizeof(a)));
	mg_test_pass("test_crypto_memory");
	return 0;
}
