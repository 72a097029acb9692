/* Revocations: the member is dropped (the lead hears of it), its name is
 * free, and its keys stay out forever: the same certificate, a new one with
 * the same keys, or one sharing either key is refused, while the member
 * may return with new keys. An issuer revokes only what it certified, and
 * may not revoke another issuer; revoking an issuer drops it and every
 * member it certified. Forged or foreign revocations are refused, a
 * revocation from the future too. */
#include "mesh_dir_fixture.h"

static void keys_stay_out(struct mg_directory *d, const struct fixture *f, struct fx_mem *m)
{
	struct fx_mem again = *m, other;

	CHECK_EQ(mg_directory_add(d, m->item, m->len, T0, NULL), -MG_MESH_EREVOKED);
	again.cert.serial = 1000; /* a fresh certificate, the same keys */
	again.cert.not_before = T0 + 10;
	fx_mem_sign(&again, f->auth_sk);
	CHECK_EQ(mg_directory_add(d, again.item, again.len, T0, NULL), -MG_MESH_EREVOKED);
	/* New member key, the revoked WireGuard key. */
	fx_mem_new(&other, f, "charlie", f->auth_sk, 1001);
	memcpy(other.cert.wg_key, m->cert.wg_key, 32);
	fx_mem_sign(&other, f->auth_sk);
	CHECK_EQ(mg_directory_add(d, other.item, other.len, T0, NULL), -MG_MESH_EREVOKED);
	/* The old member key with a new WireGuard key. */
	mg_random_bytes(again.cert.wg_key, 32);
	again.cert.serial = 1002;
	fx_mem_sign(&again, f->auth_sk);
	CHECK_EQ(mg_directory_add(d, again.item, again.len, T0 + 99999, NULL), -MG_MESH_EREVOKED);
	CHECK(mg_directory_key_revoked(d, m->pk));
	/* Back with new keys and the old name. */
	fx_mem_new(&other, f, m->cert.name, f->auth_sk, 1003);
	CHECK_EQ(mg_directory_add(d, other.item, other.len, T0, NULL), 1);
}

static void issuer_rules(struct mg_directory *d, const struct fixture *f, struct events *e)
{
	struct fx_mem x, y;
	uint8_t item[MG_DIR_ITEM_MAX];
	size_t n;
	int removed;

	fx_mem_new(&x, f, "xray", f->issuer_sk, 50);
	fx_mem_new(&y, f, "yankee", f->auth_sk, 51);
	CHECK_EQ(mg_directory_add(d, x.item, x.len, T0, NULL), 1);
	CHECK_EQ(mg_directory_add(d, y.item, y.len, T0, NULL), 1);
	/* Not its own certificate: refused, and nothing changes. */
	n = fx_revoke(item, f, &y.cert, f->issuer_sk, T0);
	CHECK_EQ(mg_directory_add(d, item, n, T0, NULL), -MG_MESH_ENOTISSUER);
	n = fx_revoke(item, f, &f->issuer, f->issuer_sk, T0);
	CHECK_EQ(mg_directory_add(d, item, n, T0, NULL), -MG_MESH_ENOTISSUER);
	CHECK(mg_directory_find(d, y.pk) != NULL);
	/* Its own: accepted. */
	n = fx_revoke(item, f, &x.cert, f->issuer_sk, T0);
	CHECK_EQ(mg_directory_add(d, item, n, T0, NULL), 1);
	CHECK(mg_directory_find(d, x.pk) == NULL);

	/* The authority revokes the issuer: it and its members go. */
	fx_mem_new(&x, f, "xray2", f->issuer_sk, 52);
	CHECK_EQ(mg_directory_add(d, x.item, x.len, T0, NULL), 1);
	removed = e->removed;
	n = fx_revoke(item, f, &f->issuer, f->auth_sk, T0);
	CHECK_EQ(mg_directory_add(d, item, n, T0, NULL), 1);
	CHECK_EQ(mg_directory_issuer_count(d), 0);
	CHECK(mg_directory_find(d, x.pk) == NULL);
	CHECK(e->removed > removed);
	CHECK(mg_directory_find(d, y.pk) != NULL);
	n = fx_issuer_item(item, f);
	CHECK_EQ(mg_directory_add(d, item, n, T0, NULL), -MG_MESH_EREVOKED);
}

int main(void)
{
	struct fixture f, other;
	struct mg_directory d;
	struct events e;
	struct fx_mem a, b;
	uint8_t item[MG_DIR_ITEM_MAX];
	size_t n;

	fx_init(&f);
	fx_dir(&d, &f, &e);
	n = fx_issuer_item(item, &f);
	CHECK_EQ(mg_directory_add(&d, item, n, T0, NULL), 1);
	fx_mem_new(&a, &f, "alpha", f.auth_sk, 10); /* the issuer has serial 1 */
	fx_mem_new(&b, &f, "bravo", f.auth_sk, 11);
	CHECK_EQ(mg_directory_add(&d, a.item, a.len, T0, NULL), 1);
	CHECK_EQ(mg_directory_add(&d, b.item, b.len, T0, NULL), 1);

	n = fx_revoke(item, &f, &a.cert, f.auth_sk, T0);
	item[n - 1] ^= 1;
	CHECK_EQ(mg_directory_add(&d, item, n, T0, NULL), -MG_MESH_ESIGNATURE);
	item[n - 1] ^= 1;
	CHECK_EQ(mg_directory_add(&d, item, n, T0 - 601, NULL), -MG_MESH_ENOTYET);
	fx_init(&other);
	memcpy(item + 1, other.mesh_id, MG_MESH_ID_LEN);
	CHECK_EQ(mg_directory_add(&d, item, n, T0, NULL), -MG_MESH_EWRONGMESH);
	n = fx_revoke(item, &f, &a.cert, f.auth_sk, T0);
	CHECK(mg_directory_name_taken(&d, "alpha"));
	CHECK_EQ(mg_directory_add(&d, item, n, T0, NULL), 1);
	CHECK_EQ(e.removed, 1);
	CHECK_MEM(e.last, a.pk, 32);
	CHECK(mg_directory_find(&d, a.pk) == NULL);
	CHECK(!mg_directory_name_taken(&d, "alpha"));
	CHECK_EQ(mg_directory_add(&d, item, n, T0, NULL), 0);
	CHECK_EQ(mg_directory_tomb_count(&d), 1);

	keys_stay_out(&d, &f, &a);
	issuer_rules(&d, &f, &e);
	mg_directory_free(&d);
	mg_test_pass("mesh_directory_revoke");
	return 0;
}
