/* Ed25519 against RFC 8032 section 7.1, tests 1-3: the public key from the
 * seed, the signature, verification; a flipped bit in the message, the
 * signature or the key is refused; a fresh key pair signs and verifies. */
#include "check.h"
#include "crypto/primitives.h"

struct vector {
	const char *seed, *pub, *msg, *sig;
};

static const struct vector vectors[] = {
	/* TEST 1: the empty message. */
	{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
	  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
	  "1cf9b46bd25bf5f0595bbe24655141438e7a100b" },
	/* TEST 2 */
	{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
	  "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	/* TEST 3 */
	{ "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
	  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760"
	  "984dc6594a7c15e9716ed28dc027beceea1ec40a" },
};

static void check_vector(const struct vector *v)
{
	uint8_t seed[32], pub[32], sig[64], msg[2] = { 0 }, sk[64], gotpub[32], gotsig[64];
	size_t msglen = mg_test_unhex(msg, sizeof(msg), v->msg);

	CHECK_EQ(mg_test_unhex(seed, 32, v->seed), 32);
	CHECK_EQ(mg_test_unhex(pub, 32, v->pub), 32);
	CHECK_EQ(mg_test_unhex(sig, 64, v->sig), 64);
	mg_ed25519_from_seed(sk, gotpub, seed);
	CHECK_MEM(gotpub, pub, 32);
	mg_ed25519_public(gotpub, sk);
	CHECK_MEM(gotpub, pub, 32);
	mg_ed25519_sign(gotsig, msg, msglen, sk);
	CHECK_MEM(gotsig, sig, 64);
	CHECK(mg_ed25519_verify(sig, msg, msglen, pub));

	sig[63] ^= 0x01;
	CHECK(!mg_ed25519_verify(sig, msg, msglen, pub));
	sig[63] ^= 0x01;
	pub[0] ^= 0x01;
	CHECK(!mg_ed25519_verify(sig, msg, msglen, pub));
	pub[0] ^= 0x01;
	if (msglen) {
		msg[0] ^= 0x80;
		CHECK(!mg_ed25519_verify(sig, msg, msglen, pub));
	} else {
		CHECK(!mg_ed25519_verify(sig, msg, 1, pub));
	}
	mg_wipe(sk, MG_ED25519_SECRET_LEN);
	CHECK(mg_is_zero(sk, sizeof(sk)));
}

int main(void)
{
	uint8_t sk[64], pk[64], sig[64];
	static const uint8_t hello[] = "hello";

	CHECK_EQ(mg_crypto_init(), 0);
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		check_vector(&vectors[i]);

	mg_ed25519_generate(sk, pk);
	mg_ed25519_sign(sig, hello, 5, sk);
	CHECK(mg_ed25519_verify(sig, hello, 5, pk));
	CHECK(!mg_ed25519_verify(sig, hello, 4, pk));
	mg_wipe(sk, MG_ED25519_SECRET_LEN);
	mg_test_pass("crypto_ed25519");
	return 0;
}
