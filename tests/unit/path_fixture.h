/* Members and endpoints for the probe and relay tests: three members with
 * fresh member keys, endpoints from text, and a fixed wall clock. */
#ifndef MG_TEST_PATH_FIXTURE_H
#define MG_TEST_PATH_FIXTURE_H

#include <string.h>

#include "check.h"
#include "crypto/primitives.h"
#include "mesh/probe.h"
#include "mesh/relay.h"
#include "util/ipaddr.h"

#define NOW_MS UINT64_C(1800000000000) /* the fixture's wall clock, ms */

struct member {
	uint8_t sk[MG_ED25519_SECRET_LEN], pk[MG_ED25519_PUB_LEN];
	uint8_t id[MG_MESH_KEY_ID_LEN];
};

static inline void px_member(struct member *m)
{
	mg_ed25519_generate(m->sk, m->pk);
	mg_mesh_key_id(m->id, m->pk);
}

static inline void px_init(struct member *a, struct member *b, struct member *c)
{
	CHECK_EQ(mg_crypto_init(), 0);
	px_member(a);
	px_member(b);
	px_member(c);
}

static inline struct mg_endpoint px_ep(const char *s)
{
	struct mg_endpoint e;

	CHECK_EQ(mg_endpoint_parse(&e, s), 0);
	return e;
}

#endif
