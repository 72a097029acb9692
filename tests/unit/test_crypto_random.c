/* Randomness wrappers: uniform values stay below the bound and reach every
 * value of a small range; buffers are filled. */
#include "check.h"
#include "crypto/primitives.h"

int main(void)
{
	unsigned seen[7] = { 0 };
	uint8_t buf[64];
	uint32_t u = 0;
	int i;

	CHECK_EQ(mg_crypto_init(), 0);
	for (i = 0; i < 7000; i++) {
		uint32_t v = mg_random_uniform(7);

		CHECK(v < 7);
		seen[v]++;
	}
	for (i = 0; i < 7; i++)
		CHECK(seen[i] > 0);
	CHECK_EQ(mg_random_uniform(1), 0);

	for (i = 0; i < 8; i++)
		u |= mg_random_u32();
	CHECK(u != 0);

	memset(buf, 0, sizeof(buf));
	mg_random_bytes(buf, sizeof(buf));
	CHECK(!mg_is_zero(buf, sizeof(buf)));
	mg_test_pass("test_crypto_random");
	return 0;
}
