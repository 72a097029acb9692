/* The WireGuard KDF against wireguard-go's device/kdf_test.go: KDF1, KDF2
 * and KDF3 of each input must be prefixes of one another. */
#include "check.h"
#include "crypto/blake2s.h"

static const struct {
	const char *key_hex;
	const char *in_hex;
	const char *t_hex[3];
} vectors[] = {
	{ "746573742d6b6579",
	  "746573742d696e707574",
	  { "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
	    "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
	    "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24" } },
	{ "776972656775617264",
	  "776972656775617264",
	  { "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
	    "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
	    "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160" } },
	{ "",
	  "",
	  { "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
	    "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
	    "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e" } },
};

static void check_vector(size_t v)
{
	uint8_t key[32], in[32], want[3][32], t1[32], t2[32], t3[32];
	size_t keylen = mg_test_unhex(key, sizeof(key), vectors[v].key_hex);
	size_t inlen = mg_test_unhex(in, sizeof(in), vectors[v].in_hex);
	int i;

	for (i = 0; i < 3; i++)
		mg_test_unhex(want[i], 32, vectors[v].t_hex[i]);

	mg_kdf(t1, NULL, NULL, key, keylen, in, inlen);
	CHECK_MEM(t1, want[0], 32);
	memset(t1, 0, 32);
	mg_kdf(t1, t2, NULL, key, keylen, in, inlen);
	CHECK_MEM(t1, want[0], 32);
	CHECK_MEM(t2, want[1], 32);
	memset(t1, 0, 32);
	memset(t2, 0, 32);
	mg_kdf(t1, t2, t3, key, keylen, in, inlen);
	CHECK_MEM(t1, want[0], 32);
	CHECK_MEM(t2, want[1], 32);
	CHECK_MEM(t3, want[2], 32);
}

/* The handshake writes the chaining key over its own input:
 * kdf(ck, k, NULL, ck, ...). */
static void check_aliasing(void)
{
	uint8_t ck[32], want[2][32], k[32];

	mg_test_unhex(want[0], 32, vectors[0].t_hex[0]);
	mg_test_unhex(want[1], 32, vectors[0].t_hex[1]);
	memset(ck, 0, sizeof(ck));
	memcpy(ck, "test-key", 8);
	mg_kdf(ck, k, NULL, ck, 8, (const uint8_t *)"test-input", 10);
	CHECK_MEM(ck, want[0], 32);
	CHECK_MEM(k, want[1], 32);
}

int main(void)
{
	size_t v;

	for (v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++)
		check_vector(v);
	check_aliasing();
	mg_test_pass("test_crypto_kdf");
	return 0;
}
