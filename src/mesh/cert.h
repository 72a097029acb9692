/* Membership and issuer certificates (see mesh.h for the key roles).
 *
 * A certificate binds a name to a member's two public keys and says what the
 * member may use: overlay addresses, groups, routes it may advertise (part
 * 2). The authority signs issuer certificates; the authority or an issuer
 * signs member certificates. Anyone holding the authority's public key can
 * verify any chain offline; a chain is at most authority -> issuer -> member.
 *
 * Wire format, version 1 (big-endian; at most MG_CERT_MAX_LEN bytes):
 *
 *   off  len  field
 *     0    1  format version = 1 (any other: refused)
 *     1    1  role: 1 member, 2 issuer (any other: refused)
 *     2    8  serial, unique per signer (revocations name signer + serial)
 *    10   16  mesh id
 *    26    8  not before, Unix seconds  } not_before <= not_after,
 *    34    8  not after (expiry)        } both < MG_MESH_TIME_MAX
 *    42   32  WireGuard public key (X25519). For an issuer: the WireGuard
 *             key of the member that holds the issuer key.
 *    74   32  Ed25519 key: the member key (role member) or the issuer's
 *             signing key (role issuer)
 *   106    8  signer key id (mesh.h): the authority's, or an issuer's
 *   114  1+n  name, n = 1..63 of [A-Za-z0-9._-] (an issuer's is the name of
 *             the member that holds it)
 *        1+.. addresses: count 0..4, each family (4|6), prefix length, 4|16
 *             address bytes, no host bits past the length; an issuer has 0
 *        1+.. groups: count 0..8, each 1+n, n = 1..31
 *        1+.. routes it may advertise: count 0..16, prefixes as addresses;
 *             an issuer has 0
 *         64  Ed25519 signature by the signer over "mg-cert-v1" || every
 *             byte above
 *
 * Nothing may follow the signature. Each value has exactly one encoding (no
 * host bits, counts and lengths exact), so a certificate's bytes can be
 * compared and hashed as its identity.
 *
 * Revocation is the next slice's: verification takes an optional hook that
 * gossip's revocation list will implement (by signer key id and serial, and
 * by member key, so a revoked key stays out under a new certificate). */
#ifndef MG_MESH_CERT_H
#define MG_MESH_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/primitives.h"
#include "mesh/mesh.h"
#include "util/ipaddr.h"

#define MG_CERT_VERSION	      1
#define MG_CERT_ROLE_MEMBER   1
#define MG_CERT_ROLE_ISSUER   2
#define MG_CERT_ADDRESSES_MAX 4
#define MG_CERT_ROUTES_MAX    16
#define MG_CERT_FIXED_LEN     114
#define MG_CERT_MAX_LEN	      1024
#define MG_CERT_LIFETIME      (365 * 24 * 3600) /* default: one year */
#define MG_CERT_RENEW_BEFORE  (30 * 24 * 3600)	/* an issuer renews below this */

struct mg_cert {
	uint8_t role;
	uint64_t serial;
	uint8_t mesh_id[MG_MESH_ID_LEN];
	uint64_t not_before, not_after;
	uint8_t wg_key[MG_KEY_LEN];
	uint8_t key[MG_ED25519_PUB_LEN];
	uint8_t signer_id[MG_MESH_KEY_ID_LEN];
	char name[MG_MESH_NAME_MAX + 1];
	uint8_t n_addresses, n_groups, n_routes;
	struct mg_prefix addresses[MG_CERT_ADDRESSES_MAX];
	char groups[MG_MESH_GROUPS_MAX][MG_MESH_GROUP_MAX + 1];
	struct mg_prefix routes[MG_CERT_ROUTES_MAX];
	uint8_t signature[MG_ED25519_SIG_LEN];
};

/* The revocation hook: true when c (or its key) is revoked. NULL in a
 * verify call means nothing is revoked yet. */
struct mg_cert_revocations {
	bool (*is_revoked)(void *ctx, const struct mg_cert *c);
	void *ctx;
};

/* Sets signer_id from sk's public key and signs; c's fields must be valid
 * (mg_cert_encode checks them). sk is borrowed and not kept. 0, or the
 * encoder's error. */
int mg_cert_sign(struct mg_cert *c, const uint8_t sk[MG_ED25519_SECRET_LEN]);

/* Writes the whole certificate, signature included, into out (room for
 * MG_CERT_MAX_LEN is always enough). The length, or -MG_MESH_EMALFORMED for
 * an invalid field, -MG_MESH_ETOOBIG when out is too small. */
int mg_cert_encode(uint8_t *out, size_t outlen, const struct mg_cert *c);

/* Strict: unknown version -MG_MESH_EVERSION; any bad length, count, field,
 * or trailing byte -MG_MESH_EMALFORMED. Never reads past in + len. Checks no
 * signature (mg_cert_verify does). */
int mg_cert_decode(struct mg_cert *c, const uint8_t *in, size_t len)
	__attribute__((warn_unused_result));

/* Verifies a member certificate's chain at wall-clock time now (Unix
 * seconds): signed by the authority (issuer NULL), or by issuer, an issuer
 * certificate that the authority signed. Every certificate must be for
 * mesh_id, inside its validity window give or take MG_MESH_SKEW, and not
 * revoked (rev may be NULL). 0, or -MG_MESH_ESIGNATURE, -MG_MESH_EWRONGMESH,
 * -MG_MESH_ENOTISSUER (issuer lacks the role, or leaf is not a member),
 * -MG_MESH_EEXPIRED, -MG_MESH_ENOTYET, -MG_MESH_EREVOKED. */
int mg_cert_verify(const struct mg_cert *leaf, const struct mg_cert *issuer,
		   const uint8_t authority[MG_ED25519_PUB_LEN],
		   const uint8_t mesh_id[MG_MESH_ID_LEN], uint64_t now,
		   const struct mg_cert_revocations *rev) __attribute__((warn_unused_result));

/* An issuer certificate alone: issuer role, signed by the authority, valid
 * at now, for mesh_id, not revoked. Same errors as mg_cert_verify. */
int mg_cert_verify_issuer(const struct mg_cert *issuer, const uint8_t authority[MG_ED25519_PUB_LEN],
			  const uint8_t mesh_id[MG_MESH_ID_LEN], uint64_t now,
			  const struct mg_cert_revocations *rev)
	__attribute__((warn_unused_result));

/* True when fewer than MG_CERT_RENEW_BEFORE seconds are left at now. */
bool mg_cert_needs_renewal(const struct mg_cert *c, uint64_t now);

#endif
