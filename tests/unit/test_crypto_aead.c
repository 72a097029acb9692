/* ChaCha20-Poly1305 known answers. RFC 8439 section 2.8.2 uses the nonce
 * 07000000 || 4041424344454647, which WireGuard's 00000000 || u64le(counter)
 * cannot express; so the RFC vector checks libsodium itself, and the same
 * inputs under nonce 00000000 || 4041424344454647 (counter
 * 0x4746454443424140) check our nonce layout. That second ciphertext is from
 * Python's cryptography package (OpenSSL), independent of libsodium. */
#include <sodium.h>

#include "check.h"
#include "crypto/primitives.h"

static const char plaintext[] = "Ladies and Gentlemen of the class of '99: If I could offer you "
				"only one tip for the future, sunscreen would be it.";
#define PT_LEN (sizeof(plaintext) - 1)

static const char rfc_sealed_hex[] =
	"d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
	"3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
	"92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
	"3ff4def08e4b7a9de576d26586cec64b6116"
	"1ae10b594f09e26a7e902ecbd0600691";

static const char wg_sealed_hex[] =
	"a479cb54628946d6f4042a8e384ef4bd2fbc7330b8be55eb2d8dc18aaa51d66a"
	"8ec1f8d3619a258db0ac56956015b7b4937e9b8e6aa957b3dc0214d803d77660"
	"aabc913092971da8f207171ce7843608162e2e759d8efc25d8d0936990af63c8"
	"20ba87e8a955b5c8274ef7d10f6fafd04647"
	"2dbf189b668bd430aef9147e99cb6c89";

int main(void)
{
	uint8_t key[32], ad[12], nonce[12], want[PT_LEN + 16], got[PT_LEN + 16], back[PT_LEN];
	size_t i;

	CHECK_EQ(mg_crypto_init(), 0);
	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x80 + i);
	mg_test_unhex(ad, sizeof(ad), "50515253c0c1c2c3c4c5c6c7");
	CHECK_EQ(PT_LEN, 114);

	mg_test_unhex(nonce, sizeof(nonce), "070000004041424344454647");
	CHECK_EQ(mg_test_unhex(want, sizeof(want), rfc_sealed_hex), PT_LEN + 16);
	crypto_aead_chacha20poly1305_ietf_encrypt(got, NULL, (const uint8_t *)plaintext, PT_LEN, ad,
						  sizeof(ad), NULL, nonce, key);
	CHECK_MEM(got, want, PT_LEN + 16);

	CHECK_EQ(mg_test_unhex(want, sizeof(want), wg_sealed_hex), PT_LEN + 16);
	CHECK(mg_aead_seal(got, (const uint8_t *)plaintext, PT_LEN, ad, sizeof(ad),
			   UINT64_C(0x4746454443424140), key));
	CHECK_MEM(got, want, PT_LEN + 16);
	CHECK(mg_aead_open(back, got, sizeof(got), ad, sizeof(ad), UINT64_C(0x4746454443424140),
			   key));
	CHECK_MEM(back, plaintext, PT_LEN);

	mg_test_pass("test_crypto_aead");
	return 0;
}
