/* The state file's blob: a directory with an issuer, members, an
 * announcement, a revocation and a departure encodes and loads back into the
 * same items (same digest buckets, same lookups), with the change callback
 * reporting the members loaded. Refused as a whole, leaving the directory
 * empty: every single-bit change anywhere, truncation at any length, a
 * trailing byte, another mesh or authority, and a blob whose checksum was
 * recomputed over a forged item. Items that have expired since are
 * skipped. */
#include "crypto/blake2s.h"
#include "mesh_dir_fixture.h"

static uint8_t blob[64 * 1024], copy[64 * 1024];

static void refused(const struct fixture *f, const uint8_t *b, size_t len, int err)
{
	struct mg_directory d;
	struct events e;

	fx_dir(&d, f, &e);
	CHECK_EQ(mg_directory_load(&d, b, len, T0), err);
	CHECK_EQ(mg_directory_item_count(&d), 0);
	CHECK_EQ(mg_directory_count(&d), 0);
	mg_directory_free(&d);
}

static void corrupt(const struct fixture *f, size_t len)
{
	struct fixture other;

	for (size_t i = 0; i < len; i++) {
		memcpy(copy, blob, len);
		copy[i] ^= (uint8_t)(1 << (i % 8));
		refused(f, copy, len, -MG_MESH_EMALFORMED);
	}
	for (size_t l = 0; l < len; l += 7)
		refused(f, blob, l, -MG_MESH_EMALFORMED);
	memcpy(copy, blob, len);
	copy[len] = 0;
	refused(f, copy, len + 1, -MG_MESH_EMALFORMED);
	/* A forged signature inside, with a checksum to match. */
	memcpy(copy, blob, len);
	copy[len - 40] ^= 1;
	mg_blake2s(copy + len - 32, 32, copy, len - 32, NULL, 0);
	refused(f, copy, len, -MG_MESH_ESIGNATURE);
	fx_init(&other);
	refused(&other, blob, len, -MG_MESH_EWRONGMESH);
}

int main(void)
{
	struct fixture f;
	struct mg_directory d, back;
	struct events e, e2;
	struct fx_mem m[4];
	uint8_t item[MG_DIR_ITEM_MAX];
	size_t n;
	int len;

	fx_init(&f);
	fx_dir(&d, &f, &e);
	n = fx_issuer_item(item, &f);
	CHECK_EQ(mg_directory_add(&d, item, n, T0, NULL), 1);
	for (int i = 0; i < 4; i++) {
		char name[8];
		snprintf(name, sizeof(name), "m%d", i);
		fx_mem_new(&m[i], &f, name, i % 2 ? f.issuer_sk : f.auth_sk, 10 + (uint64_t)i);
		CHECK_EQ(mg_directory_add(&d, m[i].item, m[i].len, T0, NULL), 1);
	}
	n = fx_announce(item, &f, &m[0], 3, 2);
	CHECK_EQ(mg_directory_add(&d, item, n, T0, NULL), 1);
	n = fx_revoke(item, &f, &m[1].cert, f.issuer_sk, T0);
	CHECK_EQ(mg_directory_add(&d, item, n, T0, NULL), 1);
	n = fx_depart(item, &f, &m[2], T0);
	CHECK_EQ(mg_directory_add(&d, item, n, T0, NULL), 1);

	len = mg_directory_encode(&d, blob, sizeof(blob));
	CHECK_EQ(len, (int)mg_directory_encoded_len(&d));
	CHECK_EQ(mg_directory_encode(&d, blob, (size_t)len - 1), -MG_MESH_ETOOBIG);
	fx_dir(&back, &f, &e2);
	CHECK_EQ(mg_directory_load(&back, blob, (size_t)len, T0), 6);
	CHECK_EQ(e2.added, 2);
	CHECK_EQ(mg_directory_item_count(&back), mg_directory_item_count(&d));
	CHECK_MEM(back.buckets, d.buckets, sizeof(d.buckets));
	CHECK(mg_directory_key_revoked(&back, m[1].pk));
	CHECK(mg_directory_key_revoked(&back, m[2].pk));
	CHECK_EQ(mg_directory_endpoints(mg_directory_find(&back, m[0].pk),
					(struct mg_dir_endpoint[MG_DIR_ENDPOINTS_MAX]){ 0 }),
		 2);
	mg_directory_free(&back);

	/* Years later: the certificates are skipped, the tombstones stay. */
	fx_dir(&back, &f, &e2);
	CHECK_EQ(mg_directory_load(&back, blob, (size_t)len, T0 + 2 * MG_CERT_LIFETIME), 2);
	CHECK_EQ(mg_directory_tomb_count(&back), 2);
	CHECK_EQ(mg_directory_count(&back), 0);
	mg_directory_free(&back);

	corrupt(&f, (size_t)len);
	mg_directory_free(&d);
	mg_test_pass("mesh_directory_blob");
	return 0;
}
