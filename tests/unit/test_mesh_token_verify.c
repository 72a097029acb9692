/* A token verifies against the authority key inside it: signed by that
 * authority, or by an issuer whose certificate the authority signed; refused
 * are an issuer-signed token without its certificate, with a certificate
 * lacking the issuer role or of another mesh, a token past its expiry by
 * more than exactly ten minutes, and every single-byte change. */
#include "mesh_fixture.h"

static void check_tamper(const char *text, const struct mg_cert *issuer)
{
	uint8_t bin[MG_TOKEN_BIN_MAX];
	char bad[MG_TOKEN_TEXT_MAX + 1] = "mg1";
	struct mg_token t;
	size_t n;
	int verified = 0;

	CHECK_EQ(mg_base64url_decode(bin, sizeof(bin), &n, text + 3, strlen(text) - 3), 0);
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			bin[i] ^= (uint8_t)(1 << bit);
			mg_base64url_encode(bad + 3, bin, n);
			if (mg_token_decode(&t, bad, strlen(bad)) == 0) {
				CHECK(mg_token_verify(&t, issuer, T0, NULL) < 0);
				verified++;
			}
			bin[i] ^= (uint8_t)(1 << bit);
		}
	}
	/* Flips in the 64 signature bytes always decode: verify really ran. */
	CHECK(verified >= 128);
	mg_token_wipe(&t);
}

int main(void)
{
	struct fixture f;
	struct mg_token t, got;
	struct mg_cert member, other;
	char text[MG_TOKEN_TEXT_MAX + 1];
	size_t dropped;

	fx_init(&f);
	fx_token(&t, &f, 4);
	CHECK_EQ(mg_token_seal(text, &t, f.auth_sk, &dropped), 0);
	CHECK_EQ(mg_token_decode(&got, text, strlen(text)), 0);
	CHECK_EQ(mg_token_verify(&got, NULL, T0, NULL), 0);
	CHECK_EQ(mg_token_verify(&got, NULL, t.expiry + 600, NULL), 0);
	CHECK_EQ(mg_token_verify(&got, NULL, t.expiry + 601, NULL), -MG_MESH_EEXPIRED);
	/* The authority signed it: an issuer's certificate does not stand in. */
	CHECK_EQ(mg_token_verify(&got, &f.issuer, T0, NULL), -MG_MESH_ESIGNATURE);
	check_tamper(text, NULL);

	CHECK_EQ(mg_token_seal(text, &t, f.issuer_sk, &dropped), 0);
	CHECK_EQ(mg_token_decode(&got, text, strlen(text)), 0);
	CHECK_EQ(mg_token_verify(&got, NULL, T0, NULL), -MG_MESH_ESIGNATURE);
	CHECK_EQ(mg_token_verify(&got, &f.issuer, T0, NULL), 0);
	CHECK_EQ(mg_token_verify(&got, &f.issuer, t.expiry + 601, NULL), -MG_MESH_EEXPIRED);
	check_tamper(text, &f.issuer);

	/* The same key certified without the issuer role. */
	member = f.issuer;
	member.role = MG_CERT_ROLE_MEMBER;
	CHECK_EQ(mg_cert_sign(&member, f.auth_sk), 0);
	CHECK_EQ(mg_token_verify(&got, &member, T0, NULL), -MG_MESH_ENOTISSUER);
	/* An issuer of another mesh under the same authority. */
	other = f.issuer;
	mg_random_bytes(other.mesh_id, sizeof(other.mesh_id));
	CHECK_EQ(mg_cert_sign(&other, f.auth_sk), 0);
	CHECK_EQ(mg_token_verify(&got, &other, T0, NULL), -MG_MESH_EWRONGMESH);
	/* An issuer certificate the token's authority did not sign. */
	other = f.issuer;
	CHECK_EQ(mg_cert_sign(&other, f.issuer_sk), 0);
	CHECK_EQ(mg_token_verify(&got, &other, T0, NULL), -MG_MESH_ESIGNATURE);

	mg_token_wipe(&t);
	mg_token_wipe(&got);
	mg_test_pass("mesh_token_verify");
	return 0;
}
