/* Certificates into the directory: a member certified by the authority is
 * new once and then known; one certified by an issuer needs the issuer's
 * certificate first (-ENOENT before); a forged, foreign, expired or
 * not-yet-valid one is refused; a renewal replaces the older certificate
 * (and the older one is "already known" after); past the member bound,
 * -ENOSPC. Lookups by member key, WireGuard key and name. */
#include "mesh_dir_fixture.h"

static void renewal(struct mg_directory *d, struct events *e, struct fx_mem *m,
		    const struct fixture *f)
{
	struct fx_mem old = *m;

	m->cert.not_before = T0 + 100;
	m->cert.n_groups = 1;
	fx_mem_sign(m, f->auth_sk);
	CHECK_EQ(mg_directory_add(d, m->item, m->len, T0, NULL), 1);
	CHECK_EQ(e->renewed, 1);
	CHECK_EQ(mg_directory_find(d, m->pk)->cert.n_groups, 1);
	CHECK_EQ(mg_directory_add(d, old.item, old.len, T0, NULL), 0);
	CHECK_EQ(mg_directory_find(d, m->pk)->cert.n_groups, 1);
	/* A new WireGuard key under the same member key: the lead sees the old
	 * peer go and the new one come. */
	mg_random_bytes(m->cert.wg_key, 32);
	m->cert.not_before = T0 + 200;
	fx_mem_sign(m, f->auth_sk);
	CHECK_EQ(mg_directory_add(d, m->item, m->len, T0, NULL), 1);
	CHECK_EQ(e->removed, 1);
	CHECK_EQ(e->added, 3);
	CHECK(mg_directory_find_wg(d, m->cert.wg_key) != NULL);
	CHECK(mg_directory_find_wg(d, old.cert.wg_key) == NULL);
}

static void refused(struct mg_directory *d, const struct fixture *f)
{
	struct fx_mem m;
	struct fixture other;
	uint8_t sk[64], pk[32];

	fx_mem_new(&m, f, "forged", f->auth_sk, 20);
	m.item[m.len - 1] ^= 1;
	CHECK_EQ(mg_directory_add(d, m.item, m.len, T0, NULL), -MG_MESH_ESIGNATURE);
	mg_ed25519_generate(sk, pk);
	fx_mem_new(&m, f, "stranger", sk, 21);
	CHECK_EQ(mg_directory_add(d, m.item, m.len, T0, NULL), -ENOENT);
	fx_init(&other);
	fx_mem_new(&m, &other, "foreign", other.auth_sk, 22);
	CHECK_EQ(mg_directory_add(d, m.item, m.len, T0, NULL), -MG_MESH_EWRONGMESH);
	fx_mem_new(&m, f, "late", f->auth_sk, 23);
	CHECK_EQ(mg_directory_add(d, m.item, m.len, m.cert.not_after + 601, NULL),
		 -MG_MESH_EEXPIRED);
	CHECK_EQ(mg_directory_add(d, m.item, m.len, T0 - 601, NULL), -MG_MESH_ENOTYET);
	CHECK_EQ(mg_directory_add(d, m.item, 1, T0, NULL), -MG_MESH_EMALFORMED);
	m.item[0] = 9;
	CHECK_EQ(mg_directory_add(d, m.item, m.len, T0, NULL), -MG_MESH_EVERSION);
	CHECK(!mg_directory_name_taken(d, "late"));
}

static void bound(const struct fixture *f)
{
	struct mg_directory d;
	struct events e;
	struct fx_mem m;

	fx_dir(&d, f, &e);
	for (int i = 0; i < MG_DIR_MEMBERS_MAX; i++) {
		char name[16];
		snprintf(name, sizeof(name), "m%d", i);
		fx_mem_new(&m, f, name, f->auth_sk, (uint64_t)i);
		CHECK_EQ(mg_directory_add(&d, m.item, m.len, T0, NULL), 1);
	}
	fx_mem_new(&m, f, "onetoomany", f->auth_sk, 99999);
	CHECK_EQ(mg_directory_add(&d, m.item, m.len, T0, NULL), -ENOSPC);
	CHECK_EQ(mg_directory_count(&d), MG_DIR_MEMBERS_MAX);
	mg_directory_free(&d);
	CHECK_EQ(d.bytes, 0);
}

int main(void)
{
	struct fixture f;
	struct mg_directory d;
	struct events e;
	struct fx_mem a, b;
	struct mg_dir_change ch;
	uint8_t item[MG_DIR_ITEM_MAX];
	size_t n;

	fx_init(&f);
	fx_dir(&d, &f, &e);
	fx_mem_new(&a, &f, "alpha", f.auth_sk, 1);
	CHECK_EQ(mg_directory_add(&d, a.item, a.len, T0, &ch), 1);
	CHECK_EQ(ch.kind, MG_DIR_CERT);
	CHECK_EQ(e.added, 1);
	CHECK_EQ(mg_directory_add(&d, a.item, a.len, T0, NULL), 0);
	CHECK_EQ(e.added, 1);

	fx_mem_new(&b, &f, "bravo", f.issuer_sk, 1);
	CHECK_EQ(mg_directory_add(&d, b.item, b.len, T0, NULL), -ENOENT);
	n = fx_issuer_item(item, &f);
	CHECK_EQ(mg_directory_add(&d, item, n, T0, NULL), 1);
	CHECK_EQ(mg_directory_issuer_count(&d), 1);
	CHECK_EQ(e.added, 1); /* an issuer is no WireGuard peer */
	CHECK_EQ(mg_directory_add(&d, b.item, b.len, T0, NULL), 1);
	CHECK_EQ(mg_directory_count(&d), 2);

	CHECK(mg_directory_find(&d, b.pk) != NULL);
	CHECK(mg_directory_find_wg(&d, b.cert.wg_key) == mg_directory_find(&d, b.pk));
	CHECK(mg_directory_find_name(&d, "alpha") == mg_directory_find(&d, a.pk));
	CHECK(mg_directory_name_taken(&d, "bravo"));
	CHECK(!mg_directory_name_taken(&d, "charlie"));
	CHECK_EQ(mg_directory_item_count(&d), 3);

	refused(&d, &f);
	renewal(&d, &e, &a, &f);
	CHECK_EQ(mg_directory_count(&d), 2);
	mg_directory_free(&d);
	CHECK_EQ(d.bytes, 0);
	bound(&f);
	mg_test_pass("mesh_directory_chain");
	return 0;
}
