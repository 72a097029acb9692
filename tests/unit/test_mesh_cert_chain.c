/* Chains: a member certificate signed by the authority or by a certified
 * issuer passes; refused are a certificate of another mesh, an "issuer"
 * without the issuer role, an issuer the authority did not sign, an issuer
 * certificate as the leaf, one outside its window by more than exactly ten
 * minutes (either end, for leaf and issuer), and one the revocation hook
 * names. Every single-byte change to a signed certificate is refused. */
#include "mesh_fixture.h"

static uint64_t revoked_serial;

static bool is_revoked(void *ctx, const struct mg_cert *c)
{
	(void)ctx;
	return c->serial == revoked_serial;
}

static void check_window(struct mg_cert *leaf, const struct mg_cert *iss, const struct fixture *f)
{
	const struct mg_cert *check = iss ? iss : leaf;
	uint64_t nb = check->not_before, na = check->not_after;

	CHECK_EQ(mg_cert_verify(leaf, iss, f->auth_pk, f->mesh_id, nb - 600, NULL), 0);
	CHECK_EQ(mg_cert_verify(leaf, iss, f->auth_pk, f->mesh_id, nb - 601, NULL),
		 -MG_MESH_ENOTYET);
	CHECK_EQ(mg_cert_verify(leaf, iss, f->auth_pk, f->mesh_id, na + 600, NULL), 0);
	CHECK_EQ(mg_cert_verify(leaf, iss, f->auth_pk, f->mesh_id, na + 601, NULL),
		 -MG_MESH_EEXPIRED);
}

/* Each byte changed in turn: either the decoder or the chain refuses. */
static void check_tamper(const struct mg_cert *leaf, const struct mg_cert *iss,
			 const struct fixture *f)
{
	uint8_t buf[MG_CERT_MAX_LEN];
	struct mg_cert got;
	int n = mg_cert_encode(buf, sizeof(buf), iss ? iss : leaf), verified = 0;

	CHECK(n > 0);
	for (int i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			buf[i] ^= (uint8_t)(1 << bit);
			if (mg_cert_decode(&got, buf, (size_t)n) == 0) {
				const struct mg_cert *l = iss ? leaf : &got;
				CHECK(mg_cert_verify(l, iss ? &got : NULL, f->auth_pk, f->mesh_id,
						     T0, NULL) < 0);
				verified++;
			}
			buf[i] ^= (uint8_t)(1 << bit);
		}
	}
	/* Flips in the 64 signature bytes always decode: verify really ran. */
	CHECK(verified >= 128);
}

int main(void)
{
	struct fixture f;
	struct mg_cert leaf, fake;
	struct mg_cert_revocations rev = { is_revoked, NULL };
	uint8_t other[MG_MESH_ID_LEN], sk[64], pk[32];

	fx_init(&f);
	fx_member(&leaf, &f, "bravo");
	CHECK_EQ(mg_cert_sign(&leaf, f.auth_sk), 0);
	CHECK_EQ(mg_cert_verify(&leaf, NULL, f.auth_pk, f.mesh_id, T0, NULL), 0);
	check_window(&leaf, NULL, &f);
	check_tamper(&leaf, NULL, &f);
	/* Signed by the authority, presented as if by the issuer. */
	CHECK_EQ(mg_cert_verify(&leaf, &f.issuer, f.auth_pk, f.mesh_id, T0, NULL),
		 -MG_MESH_ESIGNATURE);

	CHECK_EQ(mg_cert_sign(&leaf, f.issuer_sk), 0);
	CHECK_EQ(mg_cert_verify(&leaf, &f.issuer, f.auth_pk, f.mesh_id, T0, NULL), 0);
	CHECK_EQ(mg_cert_verify(&leaf, NULL, f.auth_pk, f.mesh_id, T0, NULL), -MG_MESH_ESIGNATURE);
	check_tamper(&leaf, NULL, &f);
	check_tamper(&leaf, &f.issuer, &f);
	/* The issuer's window bounds the chain too. */
	leaf.not_before = f.issuer.not_before - 3600;
	leaf.not_after = f.issuer.not_after + 3600;
	CHECK_EQ(mg_cert_sign(&leaf, f.issuer_sk), 0);
	check_window(&leaf, &f.issuer, &f);

	mg_random_bytes(other, sizeof(other));
	CHECK_EQ(mg_cert_verify(&leaf, &f.issuer, f.auth_pk, other, T0, NULL), -MG_MESH_EWRONGMESH);
	CHECK_EQ(mg_cert_verify(&f.issuer, NULL, f.auth_pk, f.mesh_id, T0, NULL),
		 -MG_MESH_ENOTISSUER);

	/* A member certificate the authority signed cannot act as an issuer. */
	fake = f.issuer;
	fake.role = MG_CERT_ROLE_MEMBER;
	CHECK_EQ(mg_cert_sign(&fake, f.auth_sk), 0);
	CHECK_EQ(mg_cert_verify(&leaf, &fake, f.auth_pk, f.mesh_id, T0, NULL), -MG_MESH_ENOTISSUER);
	/* An issuer certificate that another key signed. */
	mg_ed25519_generate(sk, pk);
	fake = f.issuer;
	CHECK_EQ(mg_cert_sign(&fake, sk), 0);
	CHECK_EQ(mg_cert_verify(&leaf, &fake, f.auth_pk, f.mesh_id, T0, NULL), -MG_MESH_ESIGNATURE);
	mg_wipe(sk, MG_ED25519_SECRET_LEN);

	revoked_serial = leaf.serial;
	CHECK_EQ(mg_cert_verify(&leaf, &f.issuer, f.auth_pk, f.mesh_id, T0, &rev),
		 -MG_MESH_EREVOKED);
	revoked_serial = f.issuer.serial;
	CHECK_EQ(mg_cert_verify(&leaf, &f.issuer, f.auth_pk, f.mesh_id, T0, &rev),
		 -MG_MESH_EREVOKED);
	revoked_serial = 0;
	CHECK_EQ(mg_cert_verify(&leaf, &f.issuer, f.auth_pk, f.mesh_id, T0, &rev), 0);
	mg_test_pass("mesh_cert_chain");
	return 0;
}
