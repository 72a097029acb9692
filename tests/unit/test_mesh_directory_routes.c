/* Subnet routes in announcements: a member advertises only routes its
 * certificate carries (fx_member gives 192.168.10.0/24); others are
 * refused with -EPERM, and the accepted ones come back from
 * mg_directory_routes. */
#include "mesh_dir_fixture.h"

static size_t announce_routes(uint8_t *out, const struct fixture *f, const struct fx_mem *m,
			      uint64_t seq, const char *route)
{
	struct mg_dir_announce a;
	int n;

	memset(&a, 0, sizeof(a));
	memcpy(a.mesh_id, f->mesh_id, MG_MESH_ID_LEN);
	a.seq = seq;
	a.time = T0;
	if (route) {
		a.n_routes = 1;
		CHECK_EQ(mg_prefix_parse(&a.routes[0], route, false), 0);
	}
	n = mg_dir_announce_sign(out, MG_DIR_ITEM_MAX, &a, m->sk);
	CHECK(n >= MG_DIR_ANNOUNCE_MIN && n <= MG_DIR_ANNOUNCE_MAX);
	return (size_t)n;
}

int main(void)
{
	uint8_t item[MG_DIR_ITEM_MAX];
	struct mg_prefix got[MG_CERT_ROUTES_MAX];
	struct mg_directory d;
	struct fixture f;
	struct events e;
	struct fx_mem gw;
	size_t n;

	fx_init(&f);
	fx_dir(&d, &f, &e);
	n = fx_issuer_item(item, &f);
	CHECK_EQ(mg_directory_add(&d, item, n, T0, NULL), 1);
	fx_mem_new(&gw, &f, "gw", f.issuer_sk, 3);
	CHECK_EQ(mg_directory_add(&d, gw.item, gw.len, T0, NULL), 1);

	n = announce_routes(item, &f, &gw, 1, "10.99.0.0/16"); /* not its certificate's */
	CHECK_EQ(mg_directory_add(&d, item, n, T0, NULL), -EPERM);
	n = announce_routes(item, &f, &gw, 1, "192.168.10.0/25"); /* a part is not it either */
	CHECK_EQ(mg_directory_add(&d, item, n, T0, NULL), -EPERM);
	CHECK_EQ(mg_directory_routes(mg_directory_find(&d, gw.pk), got), 0);

	n = announce_routes(item, &f, &gw, 2, "192.168.10.0/24");
	CHECK_EQ(mg_directory_add(&d, item, n, T0, NULL), 1);
	CHECK_EQ(mg_directory_routes(mg_directory_find(&d, gw.pk), got), 1);
	CHECK_EQ(got[0].cidr, 24);
	CHECK_EQ(got[0].addr[2], 10);

	/* Turned off again: a later announcement without routes. */
	n = announce_routes(item, &f, &gw, 3, NULL);
	CHECK_EQ(mg_directory_add(&d, item, n, T0, NULL), 1);
	CHECK_EQ(mg_directory_routes(mg_directory_find(&d, gw.pk), got), 0);
	mg_directory_free(&d);
	mg_test_pass("mesh_directory_routes");
	return 0;
}
