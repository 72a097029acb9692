/* The join exchange (issue 11): a joiner holding an invite token (token.h)
 * proves it knows the token's secret to the inviter, which admits it and
 * answers with what a member needs (certificate, directory). Pure protocol:
 * no sockets, no files, no clock; the caller passes datagrams and the time.
 *
 * Four control messages (ctl.h header, types MG_CTL_JOIN_*). eJ, eI are
 * X25519 ephemeral public keys of the joiner and the inviter, nJ, nI random
 * nonces, all fresh per exchange (eI, nI per challenge).
 *
 * HELLO, J -> I, exactly MG_JOIN_HELLO_LEN bytes:
 *
 *   off  len  field
 *     0    4  header, type MG_CTL_JOIN_HELLO
 *     4   16  invite id (from the token)
 *    20   32  eJ
 *    52   16  nJ
 *    68  568  zeros, so that a hello is as long as the longest CHALLENGE
 *             (MG_JOIN_CHALLENGE_MAX): a spoofed source gets no amplification
 *
 * CHALLENGE, I -> J, 135 + c bytes (c = certificate length):
 *
 *   off  len  field
 *     0    4  header, type MG_CTL_JOIN_CHALLENGE
 *     4    1  status: MG_JOIN_OK, or a refusal MG_JOIN_UNKNOWN, _USED_UP,
 *             _EXPIRED (then eI and nI are all zeros)
 *     5   16  invite id, as in the hello
 *    21   32  eI
 *    53   16  nI
 *    69    2  c, 0..MG_JOIN_CERT_MAX
 *    71    c  the inviter's issuer certificate (cert.h), if it has one
 *  71+c   64  Ed25519 signature by the inviter's member key over
 *             "mg-join-challenge-v1" || H
 *
 * The inviter sends its issuer certificate in every challenge when it holds
 * one (so a refusal can be checked too); the joiner uses it only when the
 * token names an issuer as its signer, and otherwise ignores it (the
 * signature covers it all the same).
 *
 * REQUEST, J -> I, 261 + m bytes (m = name length):
 *
 *   off  len  field
 *     0    4  header, type MG_CTL_JOIN_REQUEST
 *     4   16  invite id   } in clear so the inviter finds the pending
 *    20   32  eJ          } session; authenticated as associated data
 *    52   32  eI          }
 *    84  ...  ChaCha20-Poly1305 with k, counter 0, ad = bytes 0..83, of:
 *               0   32  new WireGuard public key (X25519)
 *              32   32  new member public key (Ed25519)
 *              64  1+m  requested name, m = 0 (take the pinned one) or 1..63
 *            65+m   32  proof
 *            97+m   64  possession: Ed25519 by the new member key over
 *                       "mg-join-request-v1" || H || wg key || member key
 *             ...   16  tag
 *
 * RESULT, I -> J:
 *
 *   off  len  field
 *     0    4  header, type MG_CTL_JOIN_RESULT
 *     4   16  invite id   } as in the request
 *    20   32  eJ          }
 *    52   32  eI          }
 *    84    1  status: MG_JOIN_OK, _USED_UP, _EXPIRED, _NAME_TAKEN,
 *             _INTERNAL (sealed form) or _REFUSED (signed form)
 *    85  ...  sealed form: ChaCha20-Poly1305 with k, counter 1, ad = bytes
 *             0..84, of the payload (MG_JOIN_OK: 0..MG_JOIN_PAYLOAD_MAX
 *             bytes, opaque here; any other status: empty), then the tag.
 *             signed form: 64 bytes, Ed25519 by the inviter's member key
 *             over "mg-join-refused-v1" || H. The inviter refuses so when a
 *             request does not open under k (wrong secret, tampered) or its
 *             proof, possession or name is wrong: it has no key to seal with.
 *
 * Key schedule (BLAKE2s, crypto/blake2s.h):
 *   T  = invite id || eJ || nJ || eI || nI || status || c (2 bytes) || cert
 *   H  = BLAKE2s-256("mg-join-v1" || T)               the transcript hash
 *   dh = X25519(eJ, eI) (all zeros, a low-order key: the message is dropped)
 *   k  = KDF1(H, dh || secret)        HKDF over HMAC-BLAKE2s, as WireGuard
 *   proof = BLAKE2s-256 keyed with the secret of
 *           "mg-join-proof-v1" || H || wg key || member key
 *
 * Security argument.
 *   Inviter authenticated: the token (signed by the authority, or by an
 *   issuer whose certificate the challenge brings and the joiner checks with
 *   mg_token_verify) vouches for the inviter's member key; it signs H, which
 *   holds the joiner's fresh eJ and nJ, so a challenge, refusals included,
 *   can be neither forged nor replayed from another exchange. Refusals in a
 *   RESULT are sealed with k or signed over H, so they are authenticated
 *   too.
 *   Joiner authenticated: only a holder of the secret can derive k, so a
 *   request that opens came from one (the proof, checked in constant time,
 *   says it again independently of the AEAD); the possession signature
 *   binds the new member key to this exchange.
 *   The secret never travels: it only keys the KDF and the MAC. It has 256
 *   bits, so a captured exchange gives no handle for guessing it.
 *   No replay: eI and nI are fresh per challenge and in H, hence in k; a
 *   captured request finds no session under a new challenge (eI differs),
 *   and altered to name the new eI it does not open.
 *   Confidentiality: the new keys, name and the payload travel under k; an
 *   eavesdropper without the secret learns only the invite id and that a
 *   join happened. No forward secrecy is claimed against a later leak of the
 *   secret together with an ephemeral key; against a leak of the secret
 *   alone, k stays secret (X25519 of two fresh ephemeral keys).
 *   No amplification: the only answer to a party not yet known (CHALLENGE)
 *   is never longer than the HELLO; a RESULT goes only to a source that
 *   echoed eI, which was sent to that source alone.
 *   Once admitted, a session answers retransmitted requests with the cached
 *   RESULT: the policy's admit (which records the use durably) runs once per
 *   session, so one exchange never consumes two uses.
 *
 * Rate-limiting control messages per source is the caller's job, before
 * mg_join_server_input (each HELLO costs an X25519 pair and a signature). */
#ifndef MG_MESH_JOIN_H
#define MG_MESH_JOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/primitives.h"
#include "mesh/cert.h"
#include "mesh/ctl.h"
#include "mesh/mesh.h"
#include "mesh/token.h"

#define MG_JOIN_NONCE_LEN 16
#define MG_JOIN_HASH_LEN  32
/* The longest issuer certificate: no addresses or routes, the longest name,
 * eight of the longest groups. */
#define MG_JOIN_CERT_MAX                                    \
	(MG_CERT_FIXED_LEN + 1 + MG_MESH_NAME_MAX + 1 + 1 + \
	 MG_MESH_GROUPS_MAX * (1 + MG_MESH_GROUP_MAX) + 1 + MG_ED25519_SIG_LEN)
#define MG_JOIN_HELLO_BODY    68
#define MG_JOIN_CHALLENGE_MIN (71 + MG_ED25519_SIG_LEN)
#define MG_JOIN_CHALLENGE_MAX (MG_JOIN_CHALLENGE_MIN + MG_JOIN_CERT_MAX)
#define MG_JOIN_HELLO_LEN     MG_JOIN_CHALLENGE_MAX
#define MG_JOIN_REQUEST_CLEAR 84
#define MG_JOIN_REQUEST_MIN   (MG_JOIN_REQUEST_CLEAR + 161 + MG_AEAD_TAG_LEN)
#define MG_JOIN_REQUEST_MAX   (MG_JOIN_REQUEST_MIN + MG_MESH_NAME_MAX)
#define MG_JOIN_RESULT_CLEAR  85
#define MG_JOIN_REFUSED_LEN   (MG_JOIN_RESULT_CLEAR + MG_ED25519_SIG_LEN)
/* The most payload a RESULT can carry: the datagram stays <= MG_CTL_MAX_LEN. */
#define MG_JOIN_PAYLOAD_MAX  (MG_CTL_MAX_LEN - MG_JOIN_RESULT_CLEAR - MG_AEAD_TAG_LEN)
#define MG_JOIN_FROM_MAX     32 /* bytes of a source id */
#define MG_JOIN_SESSIONS_MAX 64
#define MG_JOIN_SESSION_TTL  30 /* seconds a pending session lives */

_Static_assert(MG_JOIN_CERT_MAX == 501, "longest issuer certificate");
_Static_assert(MG_JOIN_HELLO_LEN == 636, "hello as long as the longest challenge");
_Static_assert(MG_JOIN_REQUEST_MAX == 324, "request layout");
_Static_assert(MG_JOIN_PAYLOAD_MAX == 1099, "result fits MG_CTL_MAX_LEN");

/* Status of a CHALLENGE or RESULT. */
enum mg_join_status {
	MG_JOIN_OK = 0,
	MG_JOIN_UNKNOWN = 1,	/* no such invite (challenge) */
	MG_JOIN_USED_UP = 2,	/* no uses left (challenge, result) */
	MG_JOIN_EXPIRED = 3,	/* past its expiry (challenge, result) */
	MG_JOIN_NAME_TAKEN = 4, /* the name is another member's (result) */
	MG_JOIN_REFUSED = 5,	/* request did not open or prove (result) */
	MG_JOIN_INTERNAL = 6,	/* the inviter failed, try again (result) */
};

/* A short phrase for a user ("invite used up"). */
const char *mg_join_status_str(int status);

/* ---- joiner ---- */

enum mg_join_client_state {
	MG_JOIN_CLIENT_HELLO,	/* hello sent, waiting for the challenge */
	MG_JOIN_CLIENT_REQUEST, /* request sent, waiting for the result */
	MG_JOIN_CLIENT_DONE,	/* admitted: payload holds the result */
	MG_JOIN_CLIENT_FAILED,	/* refused by the inviter: status says why */
};

/* Caller-owned; holds secrets until the exchange ends (DONE or FAILED),
 * which wipes them; mg_join_client_wipe wipes everything. */
struct mg_join_client {
	enum mg_join_client_state state;
	struct mg_token token;
	uint8_t e_priv[MG_KEY_LEN], e_pub[MG_KEY_LEN], nonce[MG_JOIN_NONCE_LEN];
	uint8_t ei[MG_KEY_LEN];
	uint8_t wg_pub[MG_KEY_LEN];
	uint8_t member_sk[MG_ED25519_SECRET_LEN];
	char name[MG_MESH_NAME_MAX + 1];
	uint8_t h[MG_JOIN_HASH_LEN], k[MG_KEY_LEN];
	uint8_t request[MG_JOIN_REQUEST_MAX];
	size_t request_len;
	int status; /* enum mg_join_status, once DONE or FAILED */
	uint8_t payload[MG_JOIN_PAYLOAD_MAX];
	size_t payload_len;
};

/* Starts an exchange: copies t (decoded; the client checks its signature
 * chain itself when the challenge comes, with the issuer certificate if an
 * issuer signed it), the new WireGuard public key, the new member secret
 * key and the requested name ("" = the token's pinned one, or the
 * inviter's choice); draws eJ and nJ. 0, or -MG_MESH_EMALFORMED for an
 * invalid name. */
int mg_join_client_init(struct mg_join_client *c, const struct mg_token *t,
			const uint8_t wg_pub[MG_KEY_LEN],
			const uint8_t member_sk[MG_ED25519_SECRET_LEN], const char *name)
	__attribute__((warn_unused_result));

/* The HELLO into out (room for MG_JOIN_HELLO_LEN); the same bytes each
 * call, to retransmit until a challenge comes. Its length. */
size_t mg_join_client_hello(const struct mg_join_client *c, uint8_t *out);

/* The REQUEST into out (room for MG_JOIN_REQUEST_MAX), the same bytes each
 * call, to retransmit until the result comes: its length, or 0 before a
 * challenge was accepted or after the end. */
size_t mg_join_client_request(const struct mg_join_client *c, uint8_t *out);

#define MG_JOIN_DONE 1

/* Takes a datagram from the inviter, at wall-clock time now (Unix seconds,
 * for the token and certificate checks). out has room for MG_CTL_MAX_LEN.
 *   0             a CHALLENGE was accepted: send out[0..*outlen), the
 *                 REQUEST (also from mg_join_client_request)
 *   MG_JOIN_DONE  a RESULT admitted us: c->payload[0..c->payload_len)
 *   -ECONNREFUSED the inviter refused, authenticated; c->status says why
 *   -ENOMSG       not for this exchange or not now (another invite id or
 *                 session, a message of another type, a duplicate)
 *   -MG_MESH_EMALFORMED, -MG_MESH_EVERSION    malformed
 *   -MG_MESH_ESIGNATURE                       bad signature or tag: forged
 *                                             or tampered
 *   the token chain's error (mg_token_verify: expired, wrong mesh, ...)
 * Every error but -ECONNREFUSED leaves c as it was: the caller drops the
 * datagram and keeps waiting (an injected datagram cannot end the exchange);
 * *outlen is 0 except after a return of 0. */
int mg_join_client_input(struct mg_join_client *c, const uint8_t *buf, size_t len, uint64_t now,
			 uint8_t *out, size_t *outlen) __attribute__((warn_unused_result));

void mg_join_client_wipe(struct mg_join_client *c);

/* ---- inviter ---- */

/* An invitation as the inviter's store holds it. */
struct mg_join_invite {
	uint8_t secret[MG_TOKEN_SECRET_LEN];
	uint64_t expiry; /* Unix seconds */
	uint16_t uses_left;
	char name[MG_MESH_NAME_MAX + 1]; /* pinned name, "" if none */
	uint8_t n_groups;
	char groups[MG_MESH_GROUPS_MAX][MG_MESH_GROUP_MAX + 1];
	uint8_t n_routes; /* subnet routes the new member may advertise */
	struct mg_prefix routes[MG_CERT_ROUTES_MAX];
};

/* What a joiner asks for, once its request opened and proved: borrowed
 * during the admit call only. */
struct mg_join_request {
	uint8_t invite_id[MG_TOKEN_INVITE_ID_LEN];
	const struct mg_join_invite *invite; /* as lookup gave it at the hello */
	uint8_t wg_key[MG_KEY_LEN];
	uint8_t member_key[MG_ED25519_PUB_LEN];
	char name[MG_MESH_NAME_MAX + 1]; /* "" = the pinned name or the inviter's choice */
};

/* The inviter's policy, implemented by its caller.
 * lookup: fills out for invite id; 0, -ENOENT (unknown), -EUSERS (used
 *   up), -EKEYEXPIRED; any other error drops the hello unanswered.
 * admit: decides, records the use durably before returning MG_JOIN_OK
 *   (it is called once per session), and writes the payload for the joiner
 *   into payload (cap = MG_JOIN_PAYLOAD_MAX), its length in *len. Returns
 *   an enum mg_join_status: OK, USED_UP, EXPIRED, NAME_TAKEN, INTERNAL
 *   (anything else, or *len > cap, is sent as INTERNAL). */
struct mg_join_policy {
	int (*lookup)(void *ctx, const uint8_t id[MG_TOKEN_INVITE_ID_LEN],
		      struct mg_join_invite *out);
	int (*admit)(void *ctx, const struct mg_join_request *req, uint8_t *payload, size_t cap,
		     size_t *len);
	void *ctx;
};

struct mg_join_session; /* join.c's */

/* Caller-owned. The session table (MG_JOIN_SESSIONS_MAX entries) is
 * allocated once by init; input never allocates. A HELLO that lookup admits
 * opens a session (a refusal opens none); the same HELLO again (same source,
 * invite id, eJ, nJ) gets the same CHALLENGE without a lookup. A pending
 * session lives MG_JOIN_SESSION_TTL seconds; admit runs at most once per
 * session, and an admitted session answers retransmitted requests (that
 * open under k) with its cached RESULT for MG_JOIN_SESSION_TTL seconds more.
 * When the table is full, the oldest pending session gives way, an admitted
 * one only when none is pending. */
struct mg_join_server {
	struct mg_join_policy policy;
	uint8_t member_sk[MG_ED25519_SECRET_LEN];
	uint8_t member_pk[MG_ED25519_PUB_LEN];
	uint8_t cert[MG_JOIN_CERT_MAX];
	size_t cert_len;
	struct mg_join_session *sessions;
	uint64_t made; /* sessions made so far: their age order, for eviction */
};

/* member_sk: the inviter's member key (copied; the tokens it vouches for
 * name its public half). cert: its issuer certificate's bytes (copied), or
 * NULL/0 when it holds none. 0; -MG_MESH_ETOOBIG for a certificate longer
 * than MG_JOIN_CERT_MAX; -ENOMEM. */
int mg_join_server_init(struct mg_join_server *s, const struct mg_join_policy *policy,
			const uint8_t member_sk[MG_ED25519_SECRET_LEN], const uint8_t *cert,
			size_t cert_len) __attribute__((warn_unused_result));

/* Wipes the keys and every session and frees the table. */
void mg_join_server_free(struct mg_join_server *s);

/* Takes a datagram from the source named by from[0..fromlen) (opaque, at
 * most MG_JOIN_FROM_MAX bytes, e.g. family, address and port: sessions of
 * different sources never mix) at time now (Unix seconds: session ages and
 * invite expiry). out has room for MG_CTL_MAX_LEN.
 *   0   send out[0..*outlen) back to the source (*outlen may be 0: nothing)
 *   <0  dropped, nothing to send: -MG_MESH_EMALFORMED, -MG_MESH_EVERSION,
 *       -ENOMSG (no such session, or not a message the inviter takes),
 *       -MG_MESH_ESIGNATURE (a retransmitted request that does not open),
 *       lookup's other errors, -EINVAL (fromlen). */
int mg_join_server_input(struct mg_join_server *s, const uint8_t *from, size_t fromlen,
			 const uint8_t *buf, size_t len, uint64_t now, uint8_t *out, size_t *outlen)
	__attribute__((warn_unused_result));

/* Sessions alive at now (pending or admitted), at most MG_JOIN_SESSIONS_MAX. */
size_t mg_join_server_sessions(const struct mg_join_server *s, uint64_t now);

#endif
