/* Expiry: a certificate stays until ten minutes past its not_after, then
 * mg_directory_expire drops it (the lead hears of it) and its name is free;
 * when an issuer's certificate expires, the members it certified go with
 * it. */
#include "mesh_dir_fixture.h"

int main(void)
{
	struct fixture f;
	struct mg_directory d;
	struct events e;
	struct fx_mem a, b, c;
	uint8_t item[MG_DIR_ITEM_MAX];
	size_t n;

	fx_init(&f);
	fx_dir(&d, &f, &e);
	n = fx_issuer_item(item, &f);
	CHECK_EQ(mg_directory_add(&d, item, n, T0, NULL), 1);
	fx_mem_new(&a, &f, "alpha", f.auth_sk, 10);
	a.cert.not_after = T0 + 3600;
	fx_mem_sign(&a, f.auth_sk);
	fx_mem_new(&b, &f, "bravo", f.auth_sk, 11);
	b.cert.not_after = f.issuer.not_after + 7200;
	fx_mem_sign(&b, f.auth_sk);
	fx_mem_new(&c, &f, "charlie", f.issuer_sk, 12);
	CHECK_EQ(mg_directory_add(&d, a.item, a.len, T0, NULL), 1);
	CHECK_EQ(mg_directory_add(&d, b.item, b.len, T0, NULL), 1);
	CHECK_EQ(mg_directory_add(&d, c.item, c.len, T0, NULL), 1);

	CHECK_EQ(mg_directory_expire(&d, T0 + 3600 + 600), 0);
	CHECK(mg_directory_name_taken(&d, "alpha"));
	CHECK_EQ(mg_directory_expire(&d, T0 + 3600 + 601), 1);
	CHECK_EQ(e.removed, 1);
	CHECK_MEM(e.last, a.pk, 32);
	CHECK(!mg_directory_name_taken(&d, "alpha"));
	CHECK_EQ(mg_directory_add(&d, a.item, a.len, T0 + 3600 + 601, NULL), -MG_MESH_EEXPIRED);

	/* The issuer expires: charlie goes, bravo (the authority's) stays. */
	CHECK_EQ(mg_directory_expire(&d, f.issuer.not_after + 601), 1);
	CHECK_EQ(mg_directory_issuer_count(&d), 0);
	CHECK(mg_directory_find(&d, c.pk) == NULL);
	CHECK(mg_directory_find(&d, b.pk) != NULL);
	CHECK_EQ(mg_directory_item_count(&d), 1);
	mg_directory_free(&d);
	CHECK_EQ(d.bytes, 0);
	mg_test_pass("mesh_directory_expire");
	return 0;
}
