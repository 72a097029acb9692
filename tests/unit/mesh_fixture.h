/* A small mesh for the certificate and token tests: an authority, an issuer
 * it certified, and helpers that fill certificates and tokens with valid
 * values at a fixed time. */
#ifndef MG_TEST_MESH_FIXTURE_H
#define MG_TEST_MESH_FIXTURE_H

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "mesh/cert.h"
#include "mesh/token.h"

#define T0 UINT64_C(1800000000) /* the fixture's "now" */

struct fixture {
	uint8_t mesh_id[MG_MESH_ID_LEN];
	uint8_t auth_sk[64], auth_pk[32];
	uint8_t issuer_sk[64], issuer_pk[32];
	struct mg_cert issuer;
};

static inline void fx_prefix(struct mg_prefix *p, int family, const char *s)
{
	CHECK_EQ(mg_prefix_parse(p, s, false), 0);
	CHECK_EQ(p->family, family);
}

/* A member certificate for name, not yet signed. */
static inline void fx_member(struct mg_cert *c, const struct fixture *f, const char *name)
{
	uint8_t sk[64];

	memset(c, 0, sizeof(*c));
	c->role = MG_CERT_ROLE_MEMBER;
	c->serial = 7;
	memcpy(c->mesh_id, f->mesh_id, MG_MESH_ID_LEN);
	c->not_before = T0;
	c->not_after = T0 + MG_CERT_LIFETIME;
	mg_random_bytes(c->wg_key, sizeof(c->wg_key));
	mg_ed25519_generate(sk, c->key);
	mg_wipe(sk, MG_ED25519_SECRET_LEN);
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->n_addresses = 2;
	fx_prefix(&c->addresses[0], AF_INET, "100.70.0.2/32");
	fx_prefix(&c->addresses[1], AF_INET6, "fd12:3456:789a::2/128");
	c->n_groups = 2;
	strcpy(c->groups[0], "servers");
	strcpy(c->groups[1], "ops-team");
	c->n_routes = 1;
	fx_prefix(&c->routes[0], AF_INET, "192.168.10.0/24");
}

static inline void fx_init(struct fixture *f)
{
	CHECK_EQ(mg_crypto_init(), 0);
	mg_random_bytes(f->mesh_id, sizeof(f->mesh_id));
	mg_ed25519_generate(f->auth_sk, f->auth_pk);
	mg_ed25519_generate(f->issuer_sk, f->issuer_pk);
	fx_member(&f->issuer, f, "alpha");
	f->issuer.role = MG_CERT_ROLE_ISSUER;
	f->issuer.serial = 1;
	f->issuer.n_addresses = 0;
	f->issuer.n_routes = 0;
	memset(f->issuer.addresses, 0, sizeof(f->issuer.addresses));
	memset(f->issuer.routes, 0, sizeof(f->issuer.routes));
	memcpy(f->issuer.key, f->issuer_pk, 32);
	CHECK_EQ(mg_cert_sign(&f->issuer, f->auth_sk), 0);
}

/* A token with n endpoints (IPv4, IPv6 and a host name in turn), unsigned. */
static inline void fx_token(struct mg_token *t, const struct fixture *f, size_t n)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->mesh_id, f->mesh_id, MG_MESH_ID_LEN);
	memcpy(t->authority, f->auth_pk, 32);
	mg_random_bytes(t->invite_id, sizeof(t->invite_id));
	t->expiry = T0 + 24 * 3600;
	t->uses = 1;
	mg_random_bytes(t->inviter_key, sizeof(t->inviter_key));
	mg_random_bytes(t->secret, sizeof(t->secret));
	strcpy(t->name, "bravo");
	t->n_groups = 1;
	strcpy(t->groups[0], "laptops");
	t->n_endpoints = (uint8_t)n;
	for (size_t i = 0; i < n; i++) {
		struct mg_token_endpoint *e = &t->endpoints[i];
		e->port = (uint16_t)(51820 + i);
		if (i % 3 == 0) {
			e->family = AF_INET;
			memcpy(e->addr, "\xc0\xa8\x01", 3);
			e->addr[3] = (uint8_t)i;
		} else if (i % 3 == 1) {
			e->family = AF_INET6;
			memcpy(e->addr, "\x20\x01\x0d\xb8", 4);
			e->addr[15] = (uint8_t)i;
		} else {
			snprintf(e->host, sizeof(e->host), "node%zu.example.net", i);
		}
	}
}

/* Writes len bytes to dir/name, for the fuzz seed corpus. */
static inline void fx_write_seed(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	CHECK(f != NULL);
	CHECK_EQ(fwrite(buf, 1, len, f), len);
	CHECK_EQ(fclose(f), 0);
}

#endif
