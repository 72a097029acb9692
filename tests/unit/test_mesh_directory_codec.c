/* The item decoders: what the signing helpers write decodes to the same
 * fields (revocations by the authority and by an issuer, departures,
 * announcements with 0 and 8 endpoints); every truncation, a trailing byte
 * and another kind are refused, and so are the field rules the cursor
 * cannot see (an endpoint family other than 4 or 6, port 0, nine
 * endpoints, a time at MG_MESH_TIME_MAX, a revocation's issuer certificate
 * that is a member's). The helpers refuse what would not decode. */
#include "mesh_dir_fixture.h"

typedef int decode_fn(const uint8_t *in, size_t len);

static int dec_revoke(const uint8_t *in, size_t len)
{
	struct mg_dir_revoke r;
	return mg_dir_revoke_decode(&r, in, len);
}

static int dec_depart(const uint8_t *in, size_t len)
{
	struct mg_dir_depart p;
	return mg_dir_depart_decode(&p, in, len);
}

static int dec_announce(const uint8_t *in, size_t len)
{
	struct mg_dir_announce a;
	return mg_dir_announce_decode(&a, in, len);
}

static void strict(decode_fn *dec, uint8_t *item, size_t n)
{
	uint8_t kind = item[0];

	CHECK_EQ(dec(item, n), 0);
	for (size_t l = 0; l < n; l++)
		CHECK(dec(item, l) < 0);
	item[n] = 0;
	CHECK_EQ(dec(item, n + 1), -MG_MESH_EMALFORMED);
	item[0] = (uint8_t)(kind % 4 + 1);
	CHECK_EQ(dec(item, n), -MG_MESH_EVERSION);
	item[0] = kind;
}

static void revocations(const struct fixture *f, const struct fx_mem *m)
{
	uint8_t item[MG_DIR_ITEM_MAX + 1];
	struct mg_dir_revoke r;
	size_t n = fx_revoke(item, f, &m->cert, f->auth_sk, T0);

	CHECK_EQ(n, MG_DIR_REVOKE_FIXED);
	strict(dec_revoke, item, n);
	CHECK_EQ(mg_dir_revoke_decode(&r, item, n), 0);
	CHECK_MEM(r.key, m->pk, 32);
	CHECK_MEM(r.wg_key, m->cert.wg_key, 32);
	CHECK_EQ(r.cert_serial, m->cert.serial);
	CHECK(!r.by_issuer);
	n = fx_revoke(item, f, &m->cert, f->issuer_sk, T0);
	strict(dec_revoke, item, n);
	CHECK_EQ(mg_dir_revoke_decode(&r, item, n), 0);
	CHECK(r.by_issuer);
	CHECK_MEM(r.issuer.key, f->issuer_pk, 32);
	/* A member's certificate where the issuer's goes. */
	r.issuer = m->cert;
	CHECK(mg_dir_revoke_sign(item, sizeof(item), &r, f->issuer_sk) > 0);
	CHECK_EQ(dec_revoke(item, (size_t)mg_dir_revoke_sign(item, sizeof(item), &r, f->issuer_sk)),
		 -MG_MESH_EMALFORMED);
	r.time = MG_MESH_TIME_MAX;
	CHECK_EQ(mg_dir_revoke_sign(item, sizeof(item), &r, f->auth_sk), -MG_MESH_EMALFORMED);
	r.time = T0;
	r.by_issuer = false;
	CHECK_EQ(mg_dir_revoke_sign(item, MG_DIR_REVOKE_FIXED - 1, &r, f->auth_sk),
		 -MG_MESH_ETOOBIG);
}

static void announcements(const struct fixture *f, const struct fx_mem *m)
{
	uint8_t item[MG_DIR_ITEM_MAX + 1];
	struct mg_dir_announce a;
	size_t n = fx_announce(item, f, m, 3, 8);

	strict(dec_announce, item, n);
	CHECK_EQ(mg_dir_announce_decode(&a, item, n), 0);
	CHECK_EQ(a.n_endpoints, 8);
	CHECK_EQ(a.seq, 3);
	CHECK_EQ(a.endpoints[7].family, AF_INET6);
	n = fx_announce(item, f, m, 3, 0);
	CHECK_EQ(n, MG_DIR_ANNOUNCE_MIN);
	strict(dec_announce, item, n);
	n = fx_announce(item, f, m, 3, 1);
	item[66] = 5; /* the family */
	CHECK_EQ(dec_announce(item, n), -MG_MESH_EMALFORMED);
	item[66] = 4;
	item[71] = item[72] = 0; /* the port */
	CHECK_EQ(dec_announce(item, n), -MG_MESH_EMALFORMED);
	item[65] = 9; /* the count */
	CHECK_EQ(dec_announce(item, n), -MG_MESH_EMALFORMED);
	memset(&a, 0, sizeof(a));
	a.n_endpoints = 9;
	CHECK_EQ(mg_dir_announce_sign(item, sizeof(item), &a, m->sk), -MG_MESH_EMALFORMED);
	a.n_endpoints = 1;
	a.endpoints[0].family = AF_INET;
	CHECK_EQ(mg_dir_announce_sign(item, sizeof(item), &a, m->sk), -MG_MESH_EMALFORMED);
}

int main(void)
{
	struct fixture f;
	struct fx_mem m;
	struct mg_dir_depart p;
	uint8_t item[MG_DIR_ITEM_MAX + 1];
	size_t n;

	fx_init(&f);
	fx_mem_new(&m, &f, "alpha", f.auth_sk, 10);
	revocations(&f, &m);
	announcements(&f, &m);
	n = fx_depart(item, &f, &m, T0);
	CHECK_EQ(n, MG_DIR_DEPART_FIXED + m.len - 1);
	strict(dec_depart, item, n);
	CHECK_EQ(mg_dir_depart_decode(&p, item, n), 0);
	CHECK_MEM(p.cert.key, m.pk, 32);
	CHECK_EQ(p.time, T0);
	item[26] ^= 1; /* the certificate's length */
	CHECK_EQ(dec_depart(item, n), -MG_MESH_EMALFORMED);
	mg_test_pass("mesh_directory_codec");
	return 0;
}
