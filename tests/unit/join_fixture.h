/* The join tests' world: a mesh (mesh_fixture.h), an inviter member with
 * a token it vouches for, its policy as counting fakes, and one joiner; the
 * datagrams go through memory, the clock is the fixture's T0. */
#ifndef MG_TEST_JOIN_FIXTURE_H
#define MG_TEST_JOIN_FIXTURE_H

#include "mesh/join.h"
#include "mesh_fixture.h"

#define JFX_FROM     "192.0.2.7:51820"
#define JFX_FROM_LEN (sizeof(JFX_FROM) - 1)

struct jfx {
	struct fixture f;
	uint8_t inviter_sk[64], inviter_pk[32];
	struct mg_token token;	      /* as the joiner decoded it */
	struct mg_join_invite invite; /* the inviter's record of it */
	int lookup_err;		      /* lookup returns this when not 0 */
	int admit_status;	      /* admit returns this */
	int lookups, admits;
	struct mg_join_request last; /* admit's argument, invite pointer cleared */
	uint8_t wg_pub[32], member_sk[64], member_pk[32];
	struct mg_join_server server;
	struct mg_join_client client;
};

static int jfx_lookup(void *ctx, const uint8_t id[MG_TOKEN_INVITE_ID_LEN],
		      struct mg_join_invite *out)
{
	struct jfx *j = ctx;

	j->lookups++;
	if (j->lookup_err)
		return j->lookup_err;
	if (memcmp(id, j->token.invite_id, MG_TOKEN_INVITE_ID_LEN) != 0)
		return -ENOENT;
	*out = j->invite;
	return 0;
}

/* The payload the fake admit writes for a name. */
static inline size_t jfx_payload(uint8_t *p, const char *name)
{
	return (size_t)sprintf((char *)p, "certificate for '%s'", name[0] ? name : "(pinned)");
}

static int jfx_admit(void *ctx, const struct mg_join_request *req, uint8_t *payload, size_t cap,
		     size_t *len)
{
	struct jfx *j = ctx;

	j->admits++;
	CHECK_EQ(cap, MG_JOIN_PAYLOAD_MAX);
	CHECK(req->invite != NULL);
	CHECK_MEM(req->invite->secret, j->invite.secret, 32);
	j->last = *req;
	j->last.invite = NULL;
	if (j->admit_status != MG_JOIN_OK)
		return j->admit_status;
	*len = jfx_payload(payload, req->name);
	return MG_JOIN_OK;
}

/* Everything fresh; the token signed by an issuer (whose certificate the
 * inviter then holds) or by the authority. The joiner asks for name. */
static inline void jfx_init(struct jfx *j, bool by_issuer, const char *name)
{
	struct mg_join_policy policy = { jfx_lookup, jfx_admit, j };
	char text[MG_TOKEN_TEXT_MAX + 1];
	uint8_t cert[MG_CERT_MAX_LEN];
	struct mg_token t;
	size_t dropped;
	int n = 0;

	memset(j, 0, sizeof(*j));
	fx_init(&j->f);
	mg_ed25519_generate(j->inviter_sk, j->inviter_pk);
	fx_token(&t, &j->f, 2);
	memcpy(t.inviter_key, j->inviter_pk, 32);
	CHECK_EQ(mg_token_seal(text, &t, by_issuer ? j->f.issuer_sk : j->f.auth_sk, &dropped), 0);
	CHECK_EQ(mg_token_decode(&j->token, text, strlen(text)), 0);
	mg_token_wipe(&t);

	memcpy(j->invite.secret, j->token.secret, 32);
	j->invite.expiry = j->token.expiry;
	j->invite.uses_left = j->token.uses;
	strcpy(j->invite.name, j->token.name);

	if (by_issuer)
		n = mg_cert_encode(cert, sizeof(cert), &j->f.issuer);
	CHECK(n >= 0);
	CHECK_EQ(mg_join_server_init(&j->server, &policy, j->inviter_sk, cert, (size_t)n), 0);

	mg_random_bytes(j->wg_pub, 32);
	mg_ed25519_generate(j->member_sk, j->member_pk);
	CHECK_EQ(mg_join_client_init(&j->client, &j->token, j->wg_pub, j->member_sk, name), 0);
}

static inline void jfx_free(struct jfx *j)
{
	mg_join_client_wipe(&j->client);
	mg_join_server_free(&j->server);
	mg_token_wipe(&j->token);
}

/* The server's answer to buf from JFX_FROM at now: its length (0: none);
 * *err gets the return value. */
static inline size_t jfx_to_server(struct jfx *j, const uint8_t *buf, size_t len, uint64_t now,
				   uint8_t *out, int *err)
{
	size_t n = 99;

	*err = mg_join_server_input(&j->server, (const uint8_t *)JFX_FROM, JFX_FROM_LEN, buf, len,
				    now, out, &n);
	if (*err < 0)
		CHECK_EQ(n, 0);
	return n;
}

/* Hello to challenge: the challenge's length in ch. */
static inline size_t jfx_challenge(struct jfx *j, uint8_t *ch)
{
	uint8_t hello[MG_CTL_MAX_LEN];
	size_t n = mg_join_client_hello(&j->client, hello);
	int err;

	CHECK_EQ(n, MG_JOIN_HELLO_LEN);
	n = jfx_to_server(j, hello, n, T0, ch, &err);
	CHECK_EQ(err, 0);
	CHECK(n > 0);
	return n;
}

/* Challenge to request, which the client must accept. */
static inline size_t jfx_request(struct jfx *j, const uint8_t *ch, size_t chlen, uint8_t *rq)
{
	size_t n = 99;

	CHECK_EQ(mg_join_client_input(&j->client, ch, chlen, T0, rq, &n), 0);
	CHECK(n >= MG_JOIN_REQUEST_MIN && n <= MG_JOIN_REQUEST_MAX);
	return n;
}

/* The whole exchange up to the RESULT, which goes into rs: its length. */
static inline size_t jfx_result(struct jfx *j, uint8_t *rs)
{
	uint8_t ch[MG_CTL_MAX_LEN], rq[MG_CTL_MAX_LEN];
	size_t n = jfx_challenge(j, ch);
	int err;

	n = jfx_request(j, ch, n, rq);
	n = jfx_to_server(j, rq, n, T0 + 1, rs, &err);
	CHECK_EQ(err, 0);
	CHECK(n > 0);
	return n;
}

/* Feeds buf to the client; its return. */
static inline int jfx_to_client(struct jfx *j, const uint8_t *buf, size_t len, uint64_t now)
{
	uint8_t out[MG_CTL_MAX_LEN];
	size_t n = 99;
	int err = mg_join_client_input(&j->client, buf, len, now, out, &n);

	if (err != 0)
		CHECK_EQ(n, 0);
	return err;
}

#endif
