/* A mesh made from fixed seeds, the same in every run (Ed25519 signatures
 * are deterministic): an authority, an issuer, and members A, B and C
 * (C certified by the issuer, not in the template). The gossip fuzz harness
 * starts each input from it, and test_mesh_gossip_seeds writes its seed
 * corpus from it, so that the seeds' signatures verify in the harness.
 * Aborts on any failure (the harness has no check.h). */
#ifndef MG_TEST_MESH_SEEDED_H
#define MG_TEST_MESH_SEEDED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mesh/directory.h"
#include "mesh/gossip.h"

#define SEEDED_T0 UINT64_C(1800000000)

struct seeded_member {
	uint8_t sk[64], pk[32];
	struct mg_cert cert;
	uint8_t item[MG_DIR_ITEM_MAX];
	size_t len;
};

struct seeded {
	uint8_t mesh_id[MG_MESH_ID_LEN];
	uint8_t auth_sk[64], auth_pk[32];
	struct seeded_member issuer, a, b, c;
	struct mg_directory tmpl; /* issuer, A and B */
};

static inline void seeded_must(int ok)
{
	if (!ok)
		abort();
}

static inline void seeded_keys(uint8_t sk[64], uint8_t pk[32], uint8_t seed_byte)
{
	uint8_t seed[32];

	memset(seed, seed_byte, sizeof(seed));
	mg_ed25519_from_seed(sk, pk, seed);
}

static inline void seeded_member(struct seeded_member *m, const struct seeded *s, const char *name,
				 uint8_t seed, uint8_t role, const uint8_t *signer_sk)
{
	int n;

	memset(m, 0, sizeof(*m));
	seeded_keys(m->sk, m->pk, seed);
	m->cert.role = role;
	m->cert.serial = seed;
	memcpy(m->cert.mesh_id, s->mesh_id, MG_MESH_ID_LEN);
	m->cert.not_before = SEEDED_T0;
	m->cert.not_after = SEEDED_T0 + MG_CERT_LIFETIME;
	memset(m->cert.wg_key, seed, sizeof(m->cert.wg_key));
	memcpy(m->cert.key, m->pk, 32);
	snprintf(m->cert.name, sizeof(m->cert.name), "%s", name);
	if (role == MG_CERT_ROLE_MEMBER) {
		m->cert.n_addresses = 1;
		seeded_must(mg_prefix_parse(&m->cert.addresses[0], "100.70.0.9/32", false) == 0);
	}
	m->cert.n_groups = 1;
	strcpy(m->cert.groups[0], "servers");
	seeded_must(mg_cert_sign(&m->cert, signer_sk) == 0);
	n = mg_dir_cert_item(m->item, sizeof(m->item), &m->cert);
	seeded_must(n > 0);
	m->len = (size_t)n;
}

static inline void seeded_init(struct seeded *s)
{
	seeded_must(mg_crypto_init() == 0);
	memset(s, 0, sizeof(*s));
	memset(s->mesh_id, 0x5a, sizeof(s->mesh_id));
	seeded_keys(s->auth_sk, s->auth_pk, 1);
	seeded_member(&s->issuer, s, "alpha", 2, MG_CERT_ROLE_ISSUER, s->auth_sk);
	seeded_member(&s->a, s, "alpha", 3, MG_CERT_ROLE_MEMBER, s->auth_sk);
	seeded_member(&s->b, s, "bravo", 4, MG_CERT_ROLE_MEMBER, s->auth_sk);
	seeded_member(&s->c, s, "charlie", 5, MG_CERT_ROLE_MEMBER, s->issuer.sk);
	seeded_must(mg_directory_init(&s->tmpl, s->mesh_id, s->auth_pk, NULL, NULL) == 0);
	seeded_must(mg_directory_add(&s->tmpl, s->issuer.item, s->issuer.len, SEEDED_T0, NULL) ==
		    1);
	seeded_must(mg_directory_add(&s->tmpl, s->a.item, s->a.len, SEEDED_T0, NULL) == 1);
	seeded_must(mg_directory_add(&s->tmpl, s->b.item, s->b.len, SEEDED_T0, NULL) == 1);
}

/* An announcement by m with one IPv4 endpoint. */
static inline size_t seeded_announce(uint8_t *out, const struct seeded *s,
				     const struct seeded_member *m, uint64_t seq)
{
	struct mg_dir_announce a;
	int n;

	memset(&a, 0, sizeof(a));
	memcpy(a.mesh_id, s->mesh_id, MG_MESH_ID_LEN);
	a.seq = seq;
	a.time = SEEDED_T0;
	a.n_endpoints = 1;
	a.endpoints[0].family = AF_INET;
	memcpy(a.endpoints[0].addr, "\xc0\x00\x02\x07", 4);
	a.endpoints[0].port = 51820;
	n = mg_dir_announce_sign(out, MG_DIR_ITEM_MAX, &a, m->sk);
	seeded_must(n > 0);
	return (size_t)n;
}

#endif
