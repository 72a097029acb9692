/* An issuer renews by itself what it signed when fewer than 30 days are
 * left (mesh/renew.h): the member gets a later certificate with the same
 * keys, name and addresses, which the directory takes in place of the old
 * one; nothing else is renewed (more time left, another signer), and once
 * renewed nothing is due again. */
#include "mesh/renew.h"
#include "mesh_fixture.h"

struct sink {
	struct mg_directory *d;
	uint64_t now;
	int renewed_events;
};

static void on_change(void *ctx, enum mg_dir_event ev, const struct mg_dir_member *m)
{
	struct sink *s = ctx;

	(void)m;
	if (ev == MG_DIR_MEMBER_RENEWED)
		s->renewed_events++;
}

static void emit(void *ctx, const uint8_t *item, size_t len)
{
	struct sink *s = ctx;

	CHECK_EQ(mg_directory_add(s->d, item, len, s->now, NULL), 1);
}

static void add_cert(struct mg_directory *d, const struct mg_cert *c, uint64_t now)
{
	uint8_t item[MG_DIR_ITEM_MAX];
	int len = mg_dir_cert_item(item, sizeof(item), c);

	CHECK(len > 0);
	CHECK_EQ(mg_directory_add(d, item, (size_t)len, now, NULL), 1);
}

int main(void)
{
	struct fixture f;
	struct mg_directory d;
	struct mg_cert soon, later, other;
	struct sink s = { .d = &d };
	const struct mg_dir_member *m;
	uint64_t now;

	fx_init(&f);
	CHECK_EQ(mg_directory_init(&d, f.mesh_id, f.auth_pk, on_change, &s), 0);
	add_cert(&d, &f.issuer, T0);
	fx_member(&soon, &f, "soon");
	CHECK_EQ(mg_cert_sign(&soon, f.issuer_sk), 0);
	fx_member(&later, &f, "later");
	later.not_after = T0 + 2 * MG_CERT_LIFETIME;
	CHECK_EQ(mg_cert_sign(&later, f.issuer_sk), 0);
	fx_member(&other, &f, "other"); /* the authority's to renew */
	CHECK_EQ(mg_cert_sign(&other, f.auth_sk), 0);
	add_cert(&d, &soon, T0);
	add_cert(&d, &later, T0);
	add_cert(&d, &other, T0);

	/* Before the window: nothing is due. */
	now = T0 + MG_CERT_LIFETIME - MG_CERT_RENEW_BEFORE - 60;
	s.now = now;
	CHECK_EQ(mg_renew_due(&d, &f.issuer, f.issuer_sk, now, emit, &s), 0);

	/* Inside it: only "soon" (the issuer's, and short of time). */
	now = T0 + MG_CERT_LIFETIME - MG_CERT_RENEW_BEFORE + 60;
	s.now = now;
	CHECK_EQ(mg_renew_due(&d, &f.issuer, f.issuer_sk, now, emit, &s), 1);
	CHECK_EQ(s.renewed_events, 1);
	m = mg_directory_find(&d, soon.key);
	CHECK(m != NULL);
	CHECK_EQ(m->cert.not_before, now);
	CHECK_EQ(m->cert.not_after, now + MG_CERT_LIFETIME);
	CHECK(m->cert.serial != soon.serial);
	CHECK_MEM(m->cert.wg_key, soon.wg_key, MG_KEY_LEN);
	CHECK(!strcmp(m->cert.name, "soon"));
	CHECK_MEM(&m->cert.addresses[0], &soon.addresses[0], sizeof(soon.addresses[0]));
	CHECK_EQ(mg_cert_verify(&m->cert, &f.issuer, f.auth_pk, f.mesh_id, now, NULL), 0);
	m = mg_directory_find(&d, other.key);
	CHECK_EQ(m->cert.not_after, other.not_after);

	/* Renewed once: not due again. */
	CHECK_EQ(mg_renew_due(&d, &f.issuer, f.issuer_sk, now + 3600, emit, &s), 0);
	mg_directory_free(&d);
	mg_test_pass("mesh_renew");
	return 0;
}
