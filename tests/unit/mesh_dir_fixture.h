/* The directory tests' mesh: mesh_fixture.h's authority and issuer, members
 * with their own member keys, the items they sign, and a recorder of the
 * directory's change callback. */
#ifndef MG_TEST_MESH_DIR_FIXTURE_H
#define MG_TEST_MESH_DIR_FIXTURE_H

#include "mesh/directory.h"
#include "mesh_fixture.h"

struct events {
	int added, removed, renewed, endpoints;
	uint8_t last[32]; /* member key of the last event */
};

static inline void ev_record(void *ctx, enum mg_dir_event ev, const struct mg_dir_member *m)
{
	struct events *e = ctx;

	memcpy(e->last, m->cert.key, 32);
	if (ev == MG_DIR_MEMBER_ADDED)
		e->added++;
	else if (ev == MG_DIR_MEMBER_REMOVED)
		e->removed++;
	else if (ev == MG_DIR_MEMBER_RENEWED)
		e->renewed++;
	else
		e->endpoints++;
}

/* A member: its keys, its certificate and the certificate's item. */
struct fx_mem {
	uint8_t sk[64], pk[32];
	struct mg_cert cert;
	uint8_t item[MG_DIR_ITEM_MAX];
	size_t len;
};

/* Signs m->cert with signer_sk and writes its item. */
static inline void fx_mem_sign(struct fx_mem *m, const uint8_t *signer_sk)
{
	int n;

	CHECK_EQ(mg_cert_sign(&m->cert, signer_sk), 0);
	n = mg_dir_cert_item(m->item, sizeof(m->item), &m->cert);
	CHECK(n > 0);
	m->len = (size_t)n;
}

static inline void fx_mem_new(struct fx_mem *m, const struct fixture *f, const char *name,
			      const uint8_t *signer_sk, uint64_t serial)
{
	fx_member(&m->cert, f, name);
	mg_ed25519_generate(m->sk, m->pk);
	memcpy(m->cert.key, m->pk, 32);
	m->cert.serial = serial;
	fx_mem_sign(m, signer_sk);
}

/* The issuer's certificate as an item. */
static inline size_t fx_issuer_item(uint8_t *out, const struct fixture *f)
{
	int n = mg_dir_cert_item(out, MG_DIR_ITEM_MAX, &f->issuer);

	CHECK(n > 0);
	return (size_t)n;
}

/* A revocation of certificate c (both keys) signed by sk. */
static inline size_t fx_revoke(uint8_t *out, const struct fixture *f, const struct mg_cert *c,
			       const uint8_t *sk, uint64_t time)
{
	struct mg_dir_revoke r;
	int n;

	memset(&r, 0, sizeof(r));
	memcpy(r.mesh_id, f->mesh_id, MG_MESH_ID_LEN);
	memcpy(r.key, c->key, 32);
	if (c->role == MG_CERT_ROLE_MEMBER)
		memcpy(r.wg_key, c->wg_key, 32);
	memcpy(r.cert_signer_id, c->signer_id, MG_MESH_KEY_ID_LEN);
	r.cert_serial = c->serial;
	r.time = time;
	if (sk == f->issuer_sk) {
		r.by_issuer = true;
		r.issuer = f->issuer;
	}
	n = mg_dir_revoke_sign(out, MG_DIR_ITEM_MAX, &r, sk);
	CHECK(n >= MG_DIR_REVOKE_FIXED);
	return (size_t)n;
}

static inline size_t fx_depart(uint8_t *out, const struct fixture *f, const struct fx_mem *m,
			       uint64_t time)
{
	struct mg_dir_depart p;
	int n;

	memset(&p, 0, sizeof(p));
	memcpy(p.mesh_id, f->mesh_id, MG_MESH_ID_LEN);
	p.time = time;
	p.cert = m->cert;
	n = mg_dir_depart_sign(out, MG_DIR_ITEM_MAX, &p, m->sk);
	CHECK(n > MG_DIR_DEPART_FIXED);
	return (size_t)n;
}

/* An announcement with n endpoints, IPv4 and IPv6 in turn, port 51820 + i
 * + seq. */
static inline size_t fx_announce(uint8_t *out, const struct fixture *f, const struct fx_mem *m,
				 uint64_t seq, size_t n_ep)
{
	struct mg_dir_announce a;
	int n;

	memset(&a, 0, sizeof(a));
	memcpy(a.mesh_id, f->mesh_id, MG_MESH_ID_LEN);
	a.seq = seq;
	a.time = T0;
	a.n_endpoints = (uint8_t)n_ep;
	for (size_t i = 0; i < n_ep; i++) {
		a.endpoints[i].family = i % 2 ? AF_INET6 : AF_INET;
		a.endpoints[i].addr[0] = (uint8_t)(i + 1);
		a.endpoints[i].port = (uint16_t)(51820 + i + seq);
	}
	n = mg_dir_announce_sign(out, MG_DIR_ITEM_MAX, &a, m->sk);
	CHECK(n >= MG_DIR_ANNOUNCE_MIN && n <= MG_DIR_ANNOUNCE_MAX);
	return (size_t)n;
}

static inline void fx_dir(struct mg_directory *d, const struct fixture *f, struct events *e)
{
	memset(e, 0, sizeof(*e));
	CHECK_EQ(mg_directory_init(d, f->mesh_id, f->auth_pk, ev_record, e), 0);
}

#endif
