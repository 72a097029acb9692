/* Announcements and departures. An announcement counts only for a member
 * in the directory, only with a sequence above the one known (the same or
 * an older sequence, even with other endpoints, is "already known": no
 * replay of old endpoints), not from the future, and only under the
 * member's own key; each accepted one tells the lead. A departure under the
 * member's own key drops it and keeps both its keys out; one signed by
 * another key, or from the future, is refused; one for a member never seen
 * here is kept (its certificate proves it), years later too. */
#include "mesh_dir_fixture.h"

static void announcements(struct mg_directory *d, struct events *e, const struct fixture *f,
			  const struct fx_mem *a, const struct fx_mem *stranger)
{
	uint8_t item[MG_DIR_ITEM_MAX];
	struct mg_dir_endpoint ep[MG_DIR_ENDPOINTS_MAX];
	size_t n;

	n = fx_announce(item, f, stranger, 1, 1);
	CHECK_EQ(mg_directory_add(d, item, n, T0, NULL), -ENOENT);
	n = fx_announce(item, f, a, 5, 8);
	/* Four IPv4 and four IPv6 endpoints, then a zero route count. */
	CHECK_EQ(n, 66 + 4 * 7 + 4 * 19 + 1 + 64);
	CHECK_EQ(mg_directory_add(d, item, n, T0, NULL), 1);
	CHECK_EQ(e->endpoints, 1);
	CHECK_EQ(mg_directory_endpoints(mg_directory_find(d, a->pk), ep), 8);
	CHECK_EQ(ep[1].family, AF_INET6);
	CHECK_EQ(ep[1].port, 51820 + 1 + 5);
	n = fx_announce(item, f, a, 5, 2); /* same sequence, other endpoints */
	CHECK_EQ(mg_directory_add(d, item, n, T0, NULL), 0);
	n = fx_announce(item, f, a, 4, 1);
	CHECK_EQ(mg_directory_add(d, item, n, T0, NULL), 0);
	CHECK_EQ(mg_directory_endpoints(mg_directory_find(d, a->pk), ep), 8);
	n = fx_announce(item, f, a, 6, 0);
	item[n - 1] ^= 0x80;
	CHECK_EQ(mg_directory_add(d, item, n, T0, NULL), -MG_MESH_ESIGNATURE);
	item[n - 1] ^= 0x80;
	CHECK_EQ(mg_directory_add(d, item, n, T0 - 601, NULL), -MG_MESH_ENOTYET);
	CHECK_EQ(mg_directory_add(d, item, n, T0, NULL), 1);
	CHECK_EQ(mg_directory_endpoints(mg_directory_find(d, a->pk), ep), 0);
	CHECK_EQ(e->endpoints, 2);
	/* The replaced announcement is no longer an item. */
	CHECK_EQ(mg_directory_item_count(d), 3);
}

static void departure(struct mg_directory *d, struct events *e, const struct fixture *f,
		      const struct fx_mem *b, const struct fx_mem *stranger)
{
	struct fx_mem again = *b, forger = *stranger;
	uint8_t item[MG_DIR_ITEM_MAX];
	size_t n;

	/* Bravo's departure signed by another key. */
	memcpy(forger.sk, stranger->sk, 64);
	forger.cert = b->cert;
	n = fx_depart(item, f, &forger, T0);
	CHECK_EQ(mg_directory_add(d, item, n, T0, NULL), -MG_MESH_ESIGNATURE);
	n = fx_depart(item, f, b, T0 + 601);
	CHECK_EQ(mg_directory_add(d, item, n, T0, NULL), -MG_MESH_ENOTYET);
	n = fx_depart(item, f, b, T0);
	CHECK_EQ(mg_directory_add(d, item, n, T0, NULL), 1);
	CHECK_EQ(e->removed, 1);
	CHECK(mg_directory_find(d, b->pk) == NULL);
	CHECK(!mg_directory_name_taken(d, "bravo"));
	CHECK_EQ(mg_directory_add(d, item, n, T0, NULL), 0);
	CHECK_EQ(mg_directory_add(d, b->item, b->len, T0, NULL), -MG_MESH_EREVOKED);
	again.cert.serial = 77;
	again.cert.not_before = T0 + 5;
	fx_mem_sign(&again, f->auth_sk);
	CHECK_EQ(mg_directory_add(d, again.item, again.len, T0, NULL), -MG_MESH_EREVOKED);
	n = fx_announce(item, f, b, 9, 1);
	CHECK_EQ(mg_directory_add(d, item, n, T0, NULL), -ENOENT);
	/* A member this directory never saw: its certificate proves the
	 * departure, which is kept (years later too), and its keys stay out. */
	n = fx_depart(item, f, stranger, T0);
	CHECK_EQ(mg_directory_add(d, item, n, T0 + 3 * MG_CERT_LIFETIME, NULL), 1);
	CHECK_EQ(mg_directory_add(d, stranger->item, stranger->len, T0, NULL), -MG_MESH_EREVOKED);
	CHECK_EQ(e->removed, 1);
	CHECK_EQ(mg_directory_tomb_count(d), 2);
}

int main(void)
{
	struct fixture f;
	struct mg_directory d;
	struct events e;
	struct fx_mem a, b, stranger;

	fx_init(&f);
	fx_dir(&d, &f, &e);
	fx_mem_new(&a, &f, "alpha", f.auth_sk, 1);
	fx_mem_new(&b, &f, "bravo", f.auth_sk, 2);
	fx_mem_new(&stranger, &f, "stranger", f.auth_sk, 3);
	CHECK_EQ(mg_directory_add(&d, a.item, a.len, T0, NULL), 1);
	CHECK_EQ(mg_directory_add(&d, b.item, b.len, T0, NULL), 1);
	announcements(&d, &e, &f, &a, &stranger);
	departure(&d, &e, &f, &b, &stranger);
	mg_directory_free(&d);
	mg_test_pass("mesh_directory_announce");
	return 0;
}
