/* Invite tokens: one printable line that lets a fresh machine join a mesh.
 *
 * Text: "mg1" followed by the binary token in URL-safe base64 without
 * padding (RFC 4648 section 5), at most MG_TOKEN_TEXT_MAX = 512 characters.
 * Base64 of n bytes is never 4k + 1 characters long, so the longest token is
 * 3 + 508 = 511 characters, 381 bytes (MG_TOKEN_BIN_MAX).
 *
 * Binary, version 1 (big-endian):
 *
 *   off  len  field
 *     0    1  format version = 1 (any other: refused)
 *     1   16  mesh id
 *    17   32  authority public key (Ed25519): the joiner's trust root
 *    49    8  signer key id (mesh.h): the authority's own, or an issuer's
 *    57   16  invite id (random; the inviter's record of uses is keyed by it)
 *    73    8  expiry, Unix seconds, < MG_MESH_TIME_MAX
 *    81    2  uses allowed, >= 1
 *    83   32  the inviter's member key (Ed25519)
 *   115   32  secret (random)
 *   147  1+n  pinned name, n = 0 (not pinned) or 1..63
 *        1+.. groups: count 0..8, each 1+n, n = 1..31
 *        1+.. inviter's candidate endpoints, best first: count 1..8, each
 *             4, addr[4], port[2]  |  6, addr[16], port[2]  |
 *             'h', 1+n host name (n = 1..253, [A-Za-z0-9.-]), port[2]
 *         64  Ed25519 signature over "mg-invite-v1" || every byte above
 *
 * Nothing may follow the signature. The signature covers the secret too:
 * the signature never leaves the token (the join exchange sends neither), so
 * nothing is gained by leaving the secret out, and this way any change to
 * any byte of a token is refused by the joiner as a bad signature: at once
 * when the authority signed it, after the inviter's first answer (which
 * brings the issuer's certificate) when an issuer did.
 *
 * Who signed: the authority (signer id = key id of the authority key in the
 * token), checked at decode time; or an issuer, whose certificate does not
 * fit in 381 bytes and so comes from the inviter as the first step of the
 * join. The joiner then verifies that certificate against the authority key
 * in the token (issuer role, mesh id, validity), that its key has the signer
 * id, and the token's signature under it, before it sends anything that
 * depends on the secret. Either way the token's signature vouches for the
 * inviter's member key, which then authenticates the inviter's side of the
 * exchange. The token itself is the trust root: whoever hands it over
 * vouches for the authority key in it.
 *
 * The join exchange (next slice; on the WireGuard port, control messages):
 *   J -> I  hello: invite id, joiner ephemeral X25519 key eJ, nonce nJ
 *   I -> J  challenge: ephemeral eI, nonce nI, the issuer certificate if an
 *           issuer signed the token, and a signature by the inviter's member
 *           key over the transcript (invite id, eJ, nJ, eI, nI). The joiner
 *           checks it against the token: the inviter is authenticated and
 *           the challenge is fresh.
 *   J -> I  request, sealed with k = KDF(X25519(eJ, eI), transcript hash,
 *           secret): the new WireGuard and member public keys, the name,
 *           proof = keyed BLAKE2s(secret, transcript || both new keys), and a
 *           signature by the new member key over the transcript (possession).
 *   I -> J  after checking the proof in constant time and recording the use
 *           durably (fsync before anything leaves): the certificate and the
 *           member directory, sealed with k.
 * The secret never travels, in clear or otherwise: it only keys a MAC and
 * the session key. Nothing is replayable: eI and nI are fresh per attempt,
 * so an old proof or request fails under a new challenge. The secret has
 * 256 bits, so offline guessing from a captured exchange is hopeless and no
 * PAKE is needed.
 *
 * Size: the fixed part, three counts and the signature take 214 bytes; a
 * pinned name and groups share the rest with the endpoints. mg_token_seal
 * drops endpoints from the end (the worst) until the text fits, and reports
 * how many it dropped so that `invite` can name them. */
#ifndef MG_MESH_TOKEN_H
#define MG_MESH_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/primitives.h"
#include "mesh/cert.h"
#include "mesh/mesh.h"

#define MG_TOKEN_VERSION       1
#define MG_TOKEN_PREFIX	       "mg1"
#define MG_TOKEN_PREFIX_LEN    3
#define MG_TOKEN_TEXT_MAX      512
#define MG_TOKEN_BIN_MAX       381
#define MG_TOKEN_FIXED_LEN     147
#define MG_TOKEN_INVITE_ID_LEN 16
#define MG_TOKEN_SECRET_LEN    32
#define MG_TOKEN_ENDPOINTS_MAX 8
#define MG_TOKEN_HOST_MAX      253
#define MG_TOKEN_EP_HOST       'h'

/* An endpoint as the joiner will try it: a numeric address (family AF_INET
 * or AF_INET6) or a host name it resolves itself (family 0). */
struct mg_token_endpoint {
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
	char host[MG_TOKEN_HOST_MAX + 1];
};

/* Holds the secret: wipe with mg_token_wipe when done. */
struct mg_token {
	uint8_t mesh_id[MG_MESH_ID_LEN];
	uint8_t authority[MG_ED25519_PUB_LEN];
	uint8_t signer_id[MG_MESH_KEY_ID_LEN];
	uint8_t invite_id[MG_TOKEN_INVITE_ID_LEN];
	uint64_t expiry;
	uint16_t uses;
	uint8_t inviter_key[MG_ED25519_PUB_LEN];
	uint8_t secret[MG_TOKEN_SECRET_LEN];
	char name[MG_MESH_NAME_MAX + 1]; /* "" when not pinned */
	uint8_t n_groups, n_endpoints;
	char groups[MG_MESH_GROUPS_MAX][MG_MESH_GROUP_MAX + 1];
	struct mg_token_endpoint endpoints[MG_TOKEN_ENDPOINTS_MAX];
	uint8_t signature[MG_ED25519_SIG_LEN];
};

void mg_token_wipe(struct mg_token *t);

/* Signs t with sk (the authority's or an issuer's key; sets signer_id) and
 * writes its text into out[MG_TOKEN_TEXT_MAX + 1]. When the text would be
 * longer than MG_TOKEN_TEXT_MAX, drops endpoints from the end of t until it
 * fits (t->n_endpoints shrinks; the dropped ones stay in the array after
 * it) and sets *dropped to their number. 0; -MG_MESH_EMALFORMED for an
 * invalid field; -MG_MESH_ETOOBIG when even one endpoint does not fit. sk is
 * borrowed; the signed bytes, which hold the secret, are wiped. */
int mg_token_seal(char out[MG_TOKEN_TEXT_MAX + 1], struct mg_token *t,
		  const uint8_t sk[MG_ED25519_SECRET_LEN], size_t *dropped)
	__attribute__((warn_unused_result));

/* The text of an already signed token, as it is. 0, -MG_MESH_EMALFORMED, or
 * -MG_MESH_ETOOBIG. */
int mg_token_encode(char out[MG_TOKEN_TEXT_MAX + 1], const struct mg_token *t);

/* Parses text of len characters (surrounding white space is the caller's
 * to trim). Strict: -MG_MESH_EPREFIX without "mg1"; -MG_MESH_EMALFORMED for
 * longer than MG_TOKEN_TEXT_MAX, bad base64 or any bad field or trailing
 * byte; -MG_MESH_EVERSION. Checks no signature. On error t is zeroed. */
int mg_token_decode(struct mg_token *t, const char *text, size_t len)
	__attribute__((warn_unused_result));

/* Verifies t at wall-clock time now against the authority key inside it:
 * signed by that authority (issuer NULL), or by issuer, a certificate that
 * mg_cert_verify_issuer accepts for t's mesh, whose key has t's signer id.
 * Expiry allows MG_MESH_SKEW. 0, -MG_MESH_ESIGNATURE, -MG_MESH_EEXPIRED, or
 * the issuer certificate's error. rev as in mg_cert_verify. */
int mg_token_verify(const struct mg_token *t, const struct mg_cert *issuer, uint64_t now,
		    const struct mg_cert_revocations *rev) __attribute__((warn_unused_result));

/* True when t is signed by the authority itself and needs no issuer
 * certificate from the inviter. */
bool mg_token_signed_by_authority(const struct mg_token *t);

#endif
