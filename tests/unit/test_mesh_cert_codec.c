/* Certificates encode and decode to the same value, at the fixed offsets of
 * cert.h, at their largest and with nothing optional; the decoder refuses an
 * unknown version, every truncation, a trailing byte, host bits, an issuer
 * with addresses, and lengths past their bounds; renewal starts below 30
 * days. With a directory argument, also writes the fuzz seed corpus there. */
#include "mesh_fixture.h"

static size_t roundtrip(const struct mg_cert *c, uint8_t *buf)
{
	struct mg_cert got;
	int n = mg_cert_encode(buf, MG_CERT_MAX_LEN, c);

	CHECK(n > 0);
	CHECK_EQ(mg_cert_decode(&got, buf, (size_t)n), 0);
	CHECK(memcmp(&got, c, sizeof(got)) == 0);
	return (size_t)n;
}

static void largest(struct mg_cert *c, const struct fixture *f)
{
	fx_member(c, f, "");
	memset(c->name, 'n', MG_MESH_NAME_MAX);
	c->n_addresses = MG_CERT_ADDRESSES_MAX;
	for (size_t i = 0; i < MG_CERT_ADDRESSES_MAX; i++)
		fx_prefix(&c->addresses[i], AF_INET6, "fd00::1/128");
	c->n_groups = MG_MESH_GROUPS_MAX;
	for (size_t i = 0; i < MG_MESH_GROUPS_MAX; i++)
		memset(c->groups[i], 'g', MG_MESH_GROUP_MAX);
	c->n_routes = MG_CERT_ROUTES_MAX;
	for (size_t i = 0; i < MG_CERT_ROUTES_MAX; i++)
		fx_prefix(&c->routes[i], AF_INET6, "2001:db8::/32");
}

static void check_strict(const uint8_t *buf, size_t n)
{
	uint8_t bad[MG_CERT_MAX_LEN + 1];
	struct mg_cert c;

	for (size_t len = 0; len < n; len++)
		CHECK_EQ(mg_cert_decode(&c, buf, len), -MG_MESH_EMALFORMED);
	memcpy(bad, buf, n);
	bad[n] = 0;
	CHECK_EQ(mg_cert_decode(&c, bad, n + 1), -MG_MESH_EMALFORMED);
	bad[0] = 2;
	CHECK_EQ(mg_cert_decode(&c, bad, n), -MG_MESH_EVERSION);
	memcpy(bad, buf, n);
	bad[1] = 3; /* role */
	CHECK_EQ(mg_cert_decode(&c, bad, n), -MG_MESH_EMALFORMED);
	memcpy(bad, buf, n);
	bad[MG_CERT_FIXED_LEN] = 0; /* empty name */
	CHECK_EQ(mg_cert_decode(&c, bad, n), -MG_MESH_EMALFORMED);
	memcpy(bad, buf, n);
	bad[MG_CERT_FIXED_LEN + 3] = 0; /* a NUL inside the name (found by fuzzing) */
	CHECK_EQ(mg_cert_decode(&c, bad, n), -MG_MESH_EMALFORMED);
}

int main(int argc, char **argv)
{
	struct fixture f;
	struct mg_cert c, got;
	uint8_t buf[MG_CERT_MAX_LEN];
	size_t n;

	fx_init(&f);
	fx_member(&c, &f, "bravo");
	CHECK_EQ(mg_cert_sign(&c, f.issuer_sk), 0);
	n = roundtrip(&c, buf);
	if (argc > 1)
		fx_write_seed(argv[1], "member_by_issuer", buf, n);
	/* The fixed offsets of cert.h. */
	CHECK_EQ(buf[0], 1);
	CHECK_EQ(buf[1], MG_CERT_ROLE_MEMBER);
	CHECK_MEM(buf + 10, f.mesh_id, 16);
	CHECK_MEM(buf + 42, c.wg_key, 32);
	CHECK_MEM(buf + 74, c.key, 32);
	CHECK_MEM(buf + 106, c.signer_id, 8);
	CHECK_EQ(buf[114], 5);
	CHECK_MEM(buf + n - 64, c.signature, 64);
	check_strict(buf, n);

	/* A host bit past the prefix length of the first address. */
	CHECK_EQ(buf[MG_CERT_FIXED_LEN + 1 + 5 + 1], 4);
	buf[MG_CERT_FIXED_LEN + 1 + 5 + 1 + 1] = 24;
	CHECK_EQ(mg_cert_decode(&got, buf, n), -MG_MESH_EMALFORMED);

	n = roundtrip(&f.issuer, buf);
	if (argc > 1)
		fx_write_seed(argv[1], "issuer", buf, n);
	f.issuer.n_addresses = 1; /* an issuer holds no addresses */
	fx_prefix(&f.issuer.addresses[0], AF_INET, "100.70.0.1/32");
	CHECK_EQ(mg_cert_encode(buf, sizeof(buf), &f.issuer), -MG_MESH_EMALFORMED);

	largest(&c, &f);
	CHECK_EQ(mg_cert_sign(&c, f.auth_sk), 0);
	n = roundtrip(&c, buf);
	CHECK(n <= MG_CERT_MAX_LEN);
	if (argc > 1)
		fx_write_seed(argv[1], "largest", buf, n);
	CHECK_EQ(mg_cert_encode(buf, n - 1, &c), -MG_MESH_ETOOBIG);
	c.n_groups = MG_MESH_GROUPS_MAX + 1;
	CHECK_EQ(mg_cert_sign(&c, f.auth_sk), -MG_MESH_EMALFORMED);

	fx_member(&c, &f, "x");
	c.n_addresses = c.n_groups = c.n_routes = 0;
	memset(c.addresses, 0, sizeof(c.addresses));
	memset(c.groups, 0, sizeof(c.groups));
	memset(c.routes, 0, sizeof(c.routes));
	CHECK_EQ(mg_cert_sign(&c, f.auth_sk), 0);
	n = roundtrip(&c, buf);
	if (argc > 1)
		fx_write_seed(argv[1], "smallest", buf, n);

	CHECK(!mg_cert_needs_renewal(&c, c.not_after - MG_CERT_RENEW_BEFORE));
	CHECK(mg_cert_needs_renewal(&c, c.not_after - MG_CERT_RENEW_BEFORE + 1));
	CHECK(mg_cert_needs_renewal(&c, c.not_after + 1));
	mg_test_pass("mesh_cert_codec");
	return 0;
}
