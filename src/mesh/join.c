/* The join exchange: transcript, keys, both sides' messages (design and
 * wire format in join.h). */
#include "mesh/join.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/blake2s.h"

static const char ctx_transcript[] = "mg-join-v1";
static const char ctx_challenge[] = "mg-join-challenge-v1";
static const char ctx_request[] = "mg-join-request-v1";
static const char ctx_refused[] = "mg-join-refused-v1";
static const char ctx_proof[] = "mg-join-proof-v1";

#define ID_LEN	  MG_TOKEN_INVITE_ID_LEN
#define SIG_LEN	  MG_ED25519_SIG_LEN
#define PLAIN_MAX (MG_JOIN_REQUEST_MAX - MG_JOIN_REQUEST_CLEAR - MG_AEAD_TAG_LEN)

/* Offsets of join.h's tables. */
#define CH_STATUS  4
#define CH_ID	   5
#define CH_EI	   21
#define CH_NI	   53
#define CH_CERTLEN 69
#define CH_CERT	   71
#define RQ_ID	   4
#define RQ_EJ	   20
#define RQ_EI	   52
#define RS_STATUS  84

const char *mg_join_status_str(int status)
{
	switch (status) {
	case MG_JOIN_OK:
		return "admitted";
	case MG_JOIN_UNKNOWN:
		return "unknown invite";
	case MG_JOIN_USED_UP:
		return "invite used up";
	case MG_JOIN_EXPIRED:
		return "invite expired";
	case MG_JOIN_NAME_TAKEN:
		return "name taken";
	case MG_JOIN_REFUSED:
		return "refused (wrong secret or bad request)";
	case MG_JOIN_INTERNAL:
		return "inviter failed, try again";
	default:
		return "unknown status";
	}
}

/* ---- shared: transcript, keys, signatures ---- */

/* T of join.h, as both sides hold it. */
struct transcript {
	const uint8_t *id, *ej, *nj, *ei, *ni;
	uint8_t status;
	const uint8_t *cert;
	size_t cert_len;
};

static void transcript_hash(uint8_t h[MG_JOIN_HASH_LEN], const struct transcript *t)
{
	struct mg_blake2s_state s;
	uint8_t clen[2] = { (uint8_t)(t->cert_len >> 8), (uint8_t)t->cert_len };

	mg_blake2s_init(&s, MG_JOIN_HASH_LEN, NULL, 0);
	mg_blake2s_update(&s, (const uint8_t *)ctx_transcript, sizeof(ctx_transcript) - 1);
	mg_blake2s_update(&s, t->id, ID_LEN);
	mg_blake2s_update(&s, t->ej, MG_KEY_LEN);
	mg_blake2s_update(&s, t->nj, MG_JOIN_NONCE_LEN);
	mg_blake2s_update(&s, t->ei, MG_KEY_LEN);
	mg_blake2s_update(&s, t->ni, MG_JOIN_NONCE_LEN);
	mg_blake2s_update(&s, &t->status, 1);
	mg_blake2s_update(&s, clen, sizeof(clen));
	mg_blake2s_update(&s, t->cert, t->cert_len);
	mg_blake2s_final(&s, h);
}

/* The signed message: ctx || h || keys (the two new public keys, or none). */
static size_t signed_msg(uint8_t *msg, const char *ctx, const uint8_t h[MG_JOIN_HASH_LEN],
			 const uint8_t *keys, size_t keys_len)
{
	size_t n = strlen(ctx);

	memcpy(msg, ctx, n);
	memcpy(msg + n, h, MG_JOIN_HASH_LEN);
	if (keys_len)
		memcpy(msg + n + MG_JOIN_HASH_LEN, keys, keys_len);
	return n + MG_JOIN_HASH_LEN + keys_len;
}

#define MSG_MAX (32 + MG_JOIN_HASH_LEN + 2 * MG_KEY_LEN)

static void sign(uint8_t sig[SIG_LEN], const char *ctx, const uint8_t h[MG_JOIN_HASH_LEN],
		 const uint8_t *keys, size_t keys_len, const uint8_t sk[MG_ED25519_SECRET_LEN])
{
	uint8_t msg[MSG_MAX];

	mg_ed25519_sign(sig, msg, signed_msg(msg, ctx, h, keys, keys_len), sk);
}

static bool verify(const uint8_t sig[SIG_LEN], const char *ctx, const uint8_t h[MG_JOIN_HASH_LEN],
		   const uint8_t *keys, size_t keys_len, const uint8_t pk[MG_ED25519_PUB_LEN])
{
	uint8_t msg[MSG_MAX];

	return mg_ed25519_verify(sig, msg, signed_msg(msg, ctx, h, keys, keys_len), pk);
}

/* k = KDF1(H, dh || secret); false for a low-order peer key. */
static bool derive_key(uint8_t k[MG_KEY_LEN], const uint8_t h[MG_JOIN_HASH_LEN],
		       const uint8_t priv[MG_KEY_LEN], const uint8_t pub[MG_KEY_LEN],
		       const uint8_t secret[MG_TOKEN_SECRET_LEN])
{
	uint8_t in[MG_KEY_LEN + MG_TOKEN_SECRET_LEN];
	bool ok = mg_x25519(in, priv, pub);

	if (ok) {
		memcpy(in + MG_KEY_LEN, secret, MG_TOKEN_SECRET_LEN);
		mg_kdf(k, NULL, NULL, h, MG_JOIN_HASH_LEN, in, sizeof(in));
	}
	mg_wipe(in, sizeof(in));
	return ok;
}

/* keys: the new WireGuard key then the new member key. */
static void make_proof(uint8_t proof[MG_BLAKE2S_HASH_LEN],
		       const uint8_t secret[MG_TOKEN_SECRET_LEN], const uint8_t h[MG_JOIN_HASH_LEN],
		       const uint8_t keys[2 * MG_KEY_LEN])
{
	struct mg_blake2s_state s;

	mg_blake2s_init(&s, MG_BLAKE2S_HASH_LEN, secret, MG_TOKEN_SECRET_LEN);
	mg_blake2s_update(&s, (const uint8_t *)ctx_proof, sizeof(ctx_proof) - 1);
	mg_blake2s_update(&s, h, MG_JOIN_HASH_LEN);
	mg_blake2s_update(&s, keys, 2 * MG_KEY_LEN);
	mg_blake2s_final(&s, proof);
}

static size_t put_challenge(uint8_t *out, const struct transcript *t, const uint8_t sig[SIG_LEN])
{
	struct mg_mesh_buf b;

	mg_ctl_start(&b, out, MG_CTL_JOIN_CHALLENGE);
	mg_mesh_put_u8(&b, t->status);
	mg_mesh_put(&b, t->id, ID_LEN);
	mg_mesh_put(&b, t->ei, MG_KEY_LEN);
	mg_mesh_put(&b, t->ni, MG_JOIN_NONCE_LEN);
	mg_mesh_put_u16(&b, (uint16_t)t->cert_len);
	mg_mesh_put(&b, t->cert, t->cert_len);
	mg_mesh_put(&b, sig, SIG_LEN);
	/* At most MG_JOIN_CHALLENGE_MAX < MG_CTL_MAX_LEN: always fits. */
	return (size_t)mg_ctl_finish(&b, out);
}

/* The clear part shared by REQUEST and RESULT: header, id, eJ, eI. */
static void put_session_ids(struct mg_mesh_buf *b, uint8_t *out, uint8_t type, const uint8_t *id,
			    const uint8_t *ej, const uint8_t *ei)
{
	mg_ctl_start(b, out, type);
	mg_mesh_put(b, id, ID_LEN);
	mg_mesh_put(b, ej, MG_KEY_LEN);
	mg_mesh_put(b, ei, MG_KEY_LEN);
}

/* A RESULT refusing in the signed form (the inviter has no usable k). */
static size_t put_refused(uint8_t *out, const uint8_t *id, const uint8_t *ej, const uint8_t *ei,
			  const uint8_t h[MG_JOIN_HASH_LEN],
			  const uint8_t sk[MG_ED25519_SECRET_LEN])
{
	struct mg_mesh_buf b;
	uint8_t sig[SIG_LEN];

	sign(sig, ctx_refused, h, NULL, 0, sk);
	put_session_ids(&b, out, MG_CTL_JOIN_RESULT, id, ej, ei);
	mg_mesh_put_u8(&b, MG_JOIN_REFUSED);
	mg_mesh_put(&b, sig, SIG_LEN);
	return (size_t)mg_ctl_finish(&b, out);
}

static bool challenge_status(int st)
{
	return st == MG_JOIN_OK || st == MG_JOIN_UNKNOWN || st == MG_JOIN_USED_UP ||
	       st == MG_JOIN_EXPIRED;
}

static bool result_status(int st)
{
	return st == MG_JOIN_OK || (st >= MG_JOIN_USED_UP && st <= MG_JOIN_INTERNAL);
}

/* ---- joiner ---- */

int mg_join_client_init(struct mg_join_client *c, const struct mg_token *t,
			const uint8_t wg_pub[MG_KEY_LEN],
			const uint8_t member_sk[MG_ED25519_SECRET_LEN], const char *name)
{
	size_t n = strnlen(name, MG_MESH_NAME_MAX + 1);

	memset(c, 0, sizeof(*c));
	if (n > MG_MESH_NAME_MAX || (n > 0 && !mg_mesh_name_valid(name, MG_MESH_NAME_MAX)))
		return -MG_MESH_EMALFORMED;
	c->state = MG_JOIN_CLIENT_HELLO;
	c->token = *t;
	memcpy(c->wg_pub, wg_pub, MG_KEY_LEN);
	memcpy(c->member_sk, member_sk, MG_ED25519_SECRET_LEN);
	memcpy(c->name, name, n);
	mg_x25519_generate(c->e_priv, c->e_pub);
	mg_random_bytes(c->nonce, sizeof(c->nonce));
	return 0;
}

size_t mg_join_client_hello(const struct mg_join_client *c, uint8_t *out)
{
	struct mg_mesh_buf b;

	mg_ctl_start(&b, out, MG_CTL_JOIN_HELLO);
	mg_mesh_put(&b, c->token.invite_id, ID_LEN);
	mg_mesh_put(&b, c->e_pub, MG_KEY_LEN);
	mg_mesh_put(&b, c->nonce, MG_JOIN_NONCE_LEN);
	memset(b.p, 0, MG_JOIN_HELLO_LEN - MG_JOIN_HELLO_BODY);
	return MG_JOIN_HELLO_LEN;
}

size_t mg_join_client_request(const struct mg_join_client *c, uint8_t *out)
{
	if (c->state != MG_JOIN_CLIENT_REQUEST)
		return 0;
	memcpy(out, c->request, c->request_len);
	return c->request_len;
}

/* Ends the exchange: keeps the status and payload, wipes every secret. */
static void client_finish(struct mg_join_client *c, int status)
{
	mg_aead_forget(c->k);
	mg_wipe(c->k, sizeof(c->k));
	mg_wipe(c->e_priv, sizeof(c->e_priv));
	mg_wipe(c->member_sk, sizeof(c->member_sk));
	mg_wipe(c->request, sizeof(c->request));
	c->request_len = 0;
	mg_token_wipe(&c->token);
	c->status = status;
	c->state = status == MG_JOIN_OK ? MG_JOIN_CLIENT_DONE : MG_JOIN_CLIENT_FAILED;
}

void mg_join_client_wipe(struct mg_join_client *c)
{
	mg_aead_forget(c->k);
	mg_wipe(c, sizeof(*c));
}

/* The token's signature chain: under the authority in it, or under the
 * issuer certificate the challenge brought. */
static int check_chain(const struct mg_join_client *c, const struct transcript *t, uint64_t when)
{
	struct mg_cert issuer;
	int err;

	if (mg_token_signed_by_authority(&c->token))
		return mg_token_verify(&c->token, NULL, when, NULL);
	if (t->cert_len == 0)
		return -MG_MESH_ESIGNATURE;
	err = mg_cert_decode(&issuer, t->cert, t->cert_len);
	if (err < 0)
		return err;
	return mg_token_verify(&c->token, &issuer, when, NULL);
}

/* Layout of a CHALLENGE into t (ej, nj left to the caller). */
static int parse_challenge(struct transcript *t, const uint8_t *buf, size_t len)
{
	if (len < MG_JOIN_CHALLENGE_MIN)
		return -MG_MESH_EMALFORMED;
	t->status = buf[CH_STATUS];
	t->id = buf + CH_ID;
	t->ei = buf + CH_EI;
	t->ni = buf + CH_NI;
	t->cert_len = (size_t)buf[CH_CERTLEN] << 8 | buf[CH_CERTLEN + 1];
	t->cert = buf + CH_CERT;
	if (t->cert_len > MG_JOIN_CERT_MAX || len != MG_JOIN_CHALLENGE_MIN + t->cert_len)
		return -MG_MESH_EMALFORMED;
	if (!challenge_status(t->status))
		return -MG_MESH_EMALFORMED;
	/* A refusal has no session: no eI, nI (one encoding for it). */
	if (t->status != MG_JOIN_OK &&
	    !(mg_is_zero(t->ei, MG_KEY_LEN) && mg_is_zero(t->ni, MG_JOIN_NONCE_LEN)))
		return -MG_MESH_EMALFORMED;
	return 0;
}

/* The REQUEST for an accepted challenge into c->request, sealed with c->k. */
static int build_request(struct mg_join_client *c)
{
	uint8_t plain[PLAIN_MAX], keys[2 * MG_KEY_LEN], proof[MG_BLAKE2S_HASH_LEN], sig[SIG_LEN];
	struct mg_mesh_buf b = { .p = plain, .left = sizeof(plain) };
	size_t n;
	bool ok;

	memcpy(keys, c->wg_pub, MG_KEY_LEN);
	mg_ed25519_public(keys + MG_KEY_LEN, c->member_sk);
	make_proof(proof, c->token.secret, c->h, keys);
	sign(sig, ctx_request, c->h, keys, sizeof(keys), c->member_sk);
	mg_mesh_put(&b, keys, sizeof(keys));
	mg_mesh_put_str(&b, c->name);
	mg_mesh_put(&b, proof, sizeof(proof));
	mg_mesh_put(&b, sig, sizeof(sig));
	n = (size_t)(b.p - plain);

	put_session_ids(&b, c->request, MG_CTL_JOIN_REQUEST, c->token.invite_id, c->e_pub, c->ei);
	ok = mg_aead_seal(c->request + MG_JOIN_REQUEST_CLEAR, plain, n, c->request,
			  MG_JOIN_REQUEST_CLEAR, 0, c->k);
	c->request_len = MG_JOIN_REQUEST_CLEAR + n + MG_AEAD_TAG_LEN;
	mg_wipe(plain, sizeof(plain));
	mg_wipe(proof, sizeof(proof));
	return ok ? 0 : -ENOMEM;
}

/* Verified challenge, status OK: derive k and make the request. c changes
 * only on success. */
static int accept_challenge(struct mg_join_client *c, const struct transcript *t,
			    const uint8_t h[MG_JOIN_HASH_LEN], uint8_t *out, size_t *outlen)
{
	uint8_t k[MG_KEY_LEN];
	int err;

	if (!derive_key(k, h, c->e_priv, t->ei, c->token.secret))
		return -MG_MESH_EMALFORMED;
	memcpy(c->k, k, MG_KEY_LEN);
	memcpy(c->h, h, MG_JOIN_HASH_LEN);
	memcpy(c->ei, t->ei, MG_KEY_LEN);
	mg_wipe(k, sizeof(k));
	err = build_request(c);
	if (err < 0) {
		mg_wipe(c->k, sizeof(c->k));
		return err;
	}
	c->state = MG_JOIN_CLIENT_REQUEST;
	*outlen = mg_join_client_request(c, out);
	return 0;
}

static int client_challenge(struct mg_join_client *c, const uint8_t *buf, size_t len, uint64_t now,
			    uint8_t *out, size_t *outlen)
{
	struct transcript t;
	uint8_t h[MG_JOIN_HASH_LEN];
	int err;

	if (c->state != MG_JOIN_CLIENT_HELLO)
		return -ENOMSG;
	err = parse_challenge(&t, buf, len);
	if (err < 0)
		return err;
	if (memcmp(t.id, c->token.invite_id, ID_LEN) != 0)
		return -ENOMSG;
	t.ej = c->e_pub;
	t.nj = c->nonce;
	transcript_hash(h, &t);
	if (!verify(buf + len - SIG_LEN, ctx_challenge, h, NULL, 0, c->token.inviter_key))
		return -MG_MESH_ESIGNATURE;
	/* A refusal may well come after the token expired: its chain is
	 * checked as it stood then. */
	err = check_chain(c, &t,
			  t.status == MG_JOIN_OK || now < c->token.expiry ? now : c->token.expiry);
	if (err < 0)
		return err;
	if (t.status != MG_JOIN_OK) {
		client_finish(c, t.status);
		return -ECONNREFUSED;
	}
	return accept_challenge(c, &t, h, out, outlen);
}

static int client_result(struct mg_join_client *c, const uint8_t *buf, size_t len)
{
	int status;
	size_t n;

	if (c->state != MG_JOIN_CLIENT_REQUEST)
		return -ENOMSG;
	if (len < MG_JOIN_RESULT_CLEAR + MG_AEAD_TAG_LEN)
		return -MG_MESH_EMALFORMED;
	if (memcmp(buf + RQ_ID, c->token.invite_id, ID_LEN) != 0 ||
	    memcmp(buf + RQ_EJ, c->e_pub, MG_KEY_LEN) != 0 ||
	    memcmp(buf + RQ_EI, c->ei, MG_KEY_LEN) != 0)
		return -ENOMSG;
	status = buf[RS_STATUS];
	if (!result_status(status))
		return -MG_MESH_EMALFORMED;
	if (status == MG_JOIN_REFUSED) {
		if (len != MG_JOIN_REFUSED_LEN)
			return -MG_MESH_EMALFORMED;
		if (!verify(buf + MG_JOIN_RESULT_CLEAR, ctx_refused, c->h, NULL, 0,
			    c->token.inviter_key))
			return -MG_MESH_ESIGNATURE;
		client_finish(c, status);
		return -ECONNREFUSED;
	}
	n = len - MG_JOIN_RESULT_CLEAR - MG_AEAD_TAG_LEN;
	if (status != MG_JOIN_OK && n != 0)
		return -MG_MESH_EMALFORMED;
	if (!mg_aead_open(c->payload, buf + MG_JOIN_RESULT_CLEAR, len - MG_JOIN_RESULT_CLEAR, buf,
			  MG_JOIN_RESULT_CLEAR, 1, c->k)) {
		mg_wipe(c->payload, n);
		return -MG_MESH_ESIGNATURE;
	}
	c->payload_len = n;
	client_finish(c, status);
	return status == MG_JOIN_OK ? MG_JOIN_DONE : -ECONNREFUSED;
}

int mg_join_client_input(struct mg_join_client *c, const uint8_t *buf, size_t len, uint64_t now,
			 uint8_t *out, size_t *outlen)
{
	int type = mg_ctl_parse_header(buf, len);

	*outlen = 0;
	if (type < 0)
		return type;
	if (type == MG_CTL_JOIN_CHALLENGE)
		return client_challenge(c, buf, len, now, out, outlen);
	if (type == MG_CTL_JOIN_RESULT)
		return client_result(c, buf, len);
	return -ENOMSG;
}

/* ---- inviter ---- */

enum session_state {
	SESSION_FREE,
	SESSION_PENDING,
	SESSION_ADMITTED
};

/* One challenged hello. Pending: waits for the request. Admitted: admit
 * ran; result holds the RESULT it made, resent to retransmitted requests. */
struct mg_join_session {
	enum session_state state;
	uint64_t seq, expires; /* seq: the server's count when made */
	uint8_t from[MG_JOIN_FROM_MAX];
	size_t fromlen;
	uint8_t id[ID_LEN], ej[MG_KEY_LEN], nj[MG_JOIN_NONCE_LEN];
	uint8_t ei[MG_KEY_LEN], ni[MG_JOIN_NONCE_LEN];
	uint8_t h[MG_JOIN_HASH_LEN], k[MG_KEY_LEN], sig[SIG_LEN];
	struct mg_join_invite invite;
	uint8_t result[MG_CTL_MAX_LEN];
	size_t result_len;
};

int mg_join_server_init(struct mg_join_server *s, const struct mg_join_policy *policy,
			const uint8_t member_sk[MG_ED25519_SECRET_LEN], const uint8_t *cert,
			size_t cert_len)
{
	memset(s, 0, sizeof(*s));
	if (cert_len > MG_JOIN_CERT_MAX)
		return -MG_MESH_ETOOBIG;
	s->sessions = calloc(MG_JOIN_SESSIONS_MAX, sizeof(*s->sessions));
	if (!s->sessions)
		return -ENOMEM;
	s->policy = *policy;
	memcpy(s->member_sk, member_sk, MG_ED25519_SECRET_LEN);
	mg_ed25519_public(s->member_pk, member_sk);
	if (cert_len)
		memcpy(s->cert, cert, cert_len);
	s->cert_len = cert_len;
	return 0;
}

static void session_clear(struct mg_join_session *ss)
{
	mg_aead_forget(ss->k);
	mg_wipe(ss, sizeof(*ss));
}

void mg_join_server_free(struct mg_join_server *s)
{
	if (s->sessions) {
		for (size_t i = 0; i < MG_JOIN_SESSIONS_MAX; i++)
			session_clear(&s->sessions[i]);
		free(s->sessions);
	}
	mg_wipe(s, sizeof(*s));
}

static bool session_alive(const struct mg_join_session *ss, uint64_t now)
{
	return ss->state != SESSION_FREE && now < ss->expires;
}

size_t mg_join_server_sessions(const struct mg_join_server *s, uint64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < MG_JOIN_SESSIONS_MAX; i++)
		n += session_alive(&s->sessions[i], now);
	return n;
}

static bool same_source(const struct mg_join_session *ss, const uint8_t *from, size_t fromlen)
{
	return ss->fromlen == fromlen && memcmp(ss->from, from, fromlen) == 0;
}

/* The live session of this source for (id, eJ, and nJ or eI). */
static struct mg_join_session *session_find(struct mg_join_server *s, const uint8_t *from,
					    size_t fromlen, const uint8_t *id, const uint8_t *ej,
					    const uint8_t *nj, const uint8_t *ei, uint64_t now)
{
	for (size_t i = 0; i < MG_JOIN_SESSIONS_MAX; i++) {
		struct mg_join_session *ss = &s->sessions[i];
		if (!session_alive(ss, now) || !same_source(ss, from, fromlen) ||
		    memcmp(ss->id, id, ID_LEN) != 0 || memcmp(ss->ej, ej, MG_KEY_LEN) != 0)
			continue;
		if (nj && memcmp(ss->nj, nj, MG_JOIN_NONCE_LEN) == 0)
			return ss;
		if (ei && memcmp(ss->ei, ei, MG_KEY_LEN) == 0)
			return ss;
	}
	return NULL;
}

/* A slot for a new session, wiped: a dead one, else the oldest pending one;
 * admitted sessions (whose use is spent) go last, so that a flood of hellos
 * does not cost an admitted joiner its result. */
static struct mg_join_session *session_slot(struct mg_join_server *s, uint64_t now)
{
	struct mg_join_session *victim = NULL;

	for (size_t i = 0; i < MG_JOIN_SESSIONS_MAX; i++) {
		struct mg_join_session *ss = &s->sessions[i];
		if (!session_alive(ss, now)) {
			victim = ss;
			break;
		}
		if (!victim || (ss->state == SESSION_PENDING && victim->state != SESSION_PENDING) ||
		    (ss->state == victim->state && ss->seq < victim->seq))
			victim = ss;
	}
	session_clear(victim);
	return victim;
}

static void session_transcript(struct transcript *t, const struct mg_join_server *s,
			       const struct mg_join_session *ss)
{
	*t = (struct transcript){ .id = ss->id,
				  .ej = ss->ej,
				  .nj = ss->nj,
				  .ei = ss->ei,
				  .ni = ss->ni,
				  .status = MG_JOIN_OK,
				  .cert = s->cert,
				  .cert_len = s->cert_len };
}

/* The lookup's answer as a challenge status; < 0 drops the hello. */
static int invite_status(int err, const struct mg_join_invite *inv, uint64_t now)
{
	switch (err) {
	case 0:
		if (inv->uses_left == 0)
			return MG_JOIN_USED_UP;
		return now > inv->expiry ? MG_JOIN_EXPIRED : MG_JOIN_OK;
	case -ENOENT:
		return MG_JOIN_UNKNOWN;
	case -EUSERS:
		return MG_JOIN_USED_UP;
	case -EKEYEXPIRED:
		return MG_JOIN_EXPIRED;
	default:
		return err < 0 ? err : -EIO;
	}
}

/* A signed refusal: no session, nothing kept (the same bytes each time,
 * Ed25519 being deterministic). */
static size_t refuse_hello(const struct mg_join_server *s, const uint8_t *hello, uint8_t status,
			   uint8_t *out)
{
	static const uint8_t zeros[MG_KEY_LEN];
	struct transcript t = { .id = hello + 4,
				.ej = hello + 20,
				.nj = hello + 52,
				.ei = zeros,
				.ni = zeros,
				.status = status,
				.cert = s->cert,
				.cert_len = s->cert_len };
	uint8_t h[MG_JOIN_HASH_LEN], sig[SIG_LEN];

	transcript_hash(h, &t);
	sign(sig, ctx_challenge, h, NULL, 0, s->member_sk);
	return put_challenge(out, &t, sig);
}

/* A new pending session for an admissible hello; inv moves into it. */
static int open_session(struct mg_join_server *s, const uint8_t *from, size_t fromlen,
			const uint8_t *hello, struct mg_join_invite *inv, uint64_t now,
			uint8_t *out, size_t *outlen)
{
	struct mg_join_session *ss = session_slot(s, now);
	uint8_t priv[MG_KEY_LEN];
	struct transcript t;
	bool ok;

	memcpy(ss->from, from, fromlen);
	ss->fromlen = fromlen;
	memcpy(ss->id, hello + 4, ID_LEN);
	memcpy(ss->ej, hello + 20, MG_KEY_LEN);
	memcpy(ss->nj, hello + 52, MG_JOIN_NONCE_LEN);
	mg_x25519_generate(priv, ss->ei);
	mg_random_bytes(ss->ni, sizeof(ss->ni));
	session_transcript(&t, s, ss);
	transcript_hash(ss->h, &t);
	ok = derive_key(ss->k, ss->h, priv, ss->ej, inv->secret);
	mg_wipe(priv, sizeof(priv));
	if (!ok) {
		session_clear(ss);
		return -MG_MESH_EMALFORMED; /* a low-order eJ */
	}
	sign(ss->sig, ctx_challenge, ss->h, NULL, 0, s->member_sk);
	ss->invite = *inv;
	ss->state = SESSION_PENDING;
	ss->seq = s->made++;
	ss->expires = now + MG_JOIN_SESSION_TTL;
	*outlen = put_challenge(out, &t, ss->sig);
	return 0;
}

static int server_hello(struct mg_join_server *s, const uint8_t *from, size_t fromlen,
			const uint8_t *buf, size_t len, uint64_t now, uint8_t *out, size_t *outlen)
{
	struct mg_join_session *ss;
	struct mg_join_invite inv;
	struct transcript t;
	int st;

	if (len != MG_JOIN_HELLO_LEN ||
	    !mg_is_zero(buf + MG_JOIN_HELLO_BODY, len - MG_JOIN_HELLO_BODY))
		return -MG_MESH_EMALFORMED;
	ss = session_find(s, from, fromlen, buf + 4, buf + 20, buf + 52, NULL, now);
	if (ss) {
		session_transcript(&t, s, ss);
		*outlen = put_challenge(out, &t, ss->sig);
		return 0;
	}
	memset(&inv, 0, sizeof(inv));
	st = invite_status(s->policy.lookup(s->policy.ctx, buf + 4, &inv), &inv, now);
	if (st == MG_JOIN_OK)
		st = open_session(s, from, fromlen, buf, &inv, now, out, outlen);
	else if (st > 0)
		*outlen = refuse_hello(s, buf, (uint8_t)st, out);
	mg_wipe(&inv, sizeof(inv));
	return st < 0 ? st : 0;
}

/* Plaintext of a request into r, proof and sig; strict. */
static bool parse_plain(struct mg_join_request *r, uint8_t proof[MG_BLAKE2S_HASH_LEN],
			uint8_t sig[SIG_LEN], const uint8_t *p, size_t n)
{
	struct mg_mesh_buf b = { .r = p, .left = n };

	mg_mesh_get(&b, r->wg_key, MG_KEY_LEN);
	mg_mesh_get(&b, r->member_key, MG_ED25519_PUB_LEN);
	if (b.left > 0 && b.r[0] == 0) {
		mg_mesh_get_u8(&b); /* no name: the inviter chooses */
		r->name[0] = '\0';
	} else {
		mg_mesh_get_str(&b, r->name, MG_MESH_NAME_MAX);
	}
	mg_mesh_get(&b, proof, MG_BLAKE2S_HASH_LEN);
	mg_mesh_get(&b, sig, SIG_LEN);
	return !b.bad && b.left == 0;
}

/* True when the opened request proves the secret and the new member key. */
static bool request_valid(const struct mg_join_session *ss, struct mg_join_request *r,
			  const uint8_t *plain, size_t n)
{
	uint8_t proof[MG_BLAKE2S_HASH_LEN], want[MG_BLAKE2S_HASH_LEN], sig[SIG_LEN];
	uint8_t keys[2 * MG_KEY_LEN];
	bool ok = false;

	if (!parse_plain(r, proof, sig, plain, n))
		goto out;
	memcpy(keys, r->wg_key, MG_KEY_LEN);
	memcpy(keys + MG_KEY_LEN, r->member_key, MG_KEY_LEN);
	make_proof(want, ss->invite.secret, ss->h, keys);
	ok = mg_equal(proof, want, sizeof(want)) &&
	     verify(sig, ctx_request, ss->h, keys, sizeof(keys), r->member_key);
out:
	mg_wipe(want, sizeof(want));
	return ok;
}

/* Runs the policy's admit (once per session) and seals its answer, which
 * the session keeps for retransmitted requests. */
static int admit(struct mg_join_server *s, struct mg_join_session *ss,
		 const struct mg_join_request *r, uint64_t now, uint8_t *out, size_t *outlen)
{
	uint8_t *payload = out + MG_JOIN_RESULT_CLEAR;
	struct mg_mesh_buf b;
	size_t n = 0;
	int st = s->policy.admit(s->policy.ctx, r, payload, MG_JOIN_PAYLOAD_MAX, &n);

	if (!result_status(st) || st == MG_JOIN_REFUSED ||
	    (st == MG_JOIN_OK && n > MG_JOIN_PAYLOAD_MAX))
		st = MG_JOIN_INTERNAL;
	if (st != MG_JOIN_OK)
		n = 0;
	put_session_ids(&b, out, MG_CTL_JOIN_RESULT, ss->id, ss->ej, ss->ei);
	mg_mesh_put_u8(&b, (uint8_t)st);
	/* Admitted from here on whatever happens: admit must not run twice. */
	ss->state = SESSION_ADMITTED;
	ss->expires = now + MG_JOIN_SESSION_TTL;
	if (!mg_aead_seal(payload, payload, n, out, MG_JOIN_RESULT_CLEAR, 1, ss->k))
		return -ENOMEM; /* nothing cached: retransmits go unanswered */
	ss->result_len = MG_JOIN_RESULT_CLEAR + n + MG_AEAD_TAG_LEN;
	memcpy(ss->result, out, ss->result_len);
	*outlen = ss->result_len;
	return 0;
}

static int server_request(struct mg_join_server *s, const uint8_t *from, size_t fromlen,
			  const uint8_t *buf, size_t len, uint64_t now, uint8_t *out,
			  size_t *outlen)
{
	struct mg_join_session *ss;
	struct mg_join_request r;
	uint8_t plain[PLAIN_MAX];
	size_t n;
	int err = 0;

	if (len < MG_JOIN_REQUEST_MIN || len > MG_JOIN_REQUEST_MAX)
		return -MG_MESH_EMALFORMED;
	n = len - MG_JOIN_REQUEST_CLEAR - MG_AEAD_TAG_LEN;
	ss = session_find(s, from, fromlen, buf + RQ_ID, buf + RQ_EJ, NULL, buf + RQ_EI, now);
	if (!ss)
		return -ENOMSG;
	memset(&r, 0, sizeof(r));
	if (!mg_aead_open(plain, buf + MG_JOIN_REQUEST_CLEAR, len - MG_JOIN_REQUEST_CLEAR, buf,
			  MG_JOIN_REQUEST_CLEAR, 0, ss->k)) {
		if (ss->state == SESSION_ADMITTED)
			return -MG_MESH_ESIGNATURE;
		*outlen = put_refused(out, ss->id, ss->ej, ss->ei, ss->h, s->member_sk);
		return 0;
	}
	if (ss->state == SESSION_ADMITTED) {
		memcpy(out, ss->result, ss->result_len);
		*outlen = ss->result_len;
	} else if (!request_valid(ss, &r, plain, n)) {
		*outlen = put_refused(out, ss->id, ss->ej, ss->ei, ss->h, s->member_sk);
	} else {
		memcpy(r.invite_id, ss->id, ID_LEN);
		r.invite = &ss->invite;
		err = admit(s, ss, &r, now, out, outlen);
		/* The proof is checked for good: the secret has no more use here. */
		mg_wipe(ss->invite.secret, sizeof(ss->invite.secret));
	}
	mg_wipe(plain, sizeof(plain));
	return err;
}

int mg_join_server_input(struct mg_join_server *s, const uint8_t *from, size_t fromlen,
			 const uint8_t *buf, size_t len, uint64_t now, uint8_t *out, size_t *outlen)
{
	int type;

	*outlen = 0;
	if (fromlen > MG_JOIN_FROM_MAX)
		return -EINVAL;
	type = mg_ctl_parse_header(buf, len);
	if (type < 0)
		return type;
	if (type == MG_CTL_JOIN_HELLO)
		return server_hello(s, from, fromlen, buf, len, now, out, outlen);
	if (type == MG_CTL_JOIN_REQUEST)
		return server_request(s, from, fromlen, buf, len, now, out, outlen);
	return -ENOMSG;
}
