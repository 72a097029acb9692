/* The mesh's trust model and what its formats share (issue 11, part 1).
 *
 * Key roles. No key serves two protocols.
 *   authority  Ed25519, made by `init`, kept in the state directory (0600)
 *              of one host and used only by commands run there (`init`,
 *              `invite`, `revoke`); no daemon ever loads it. It signs issuer
 *              certificates, member certificates and invitations.
 *   issuer     Ed25519, certified by the authority (a certificate with the
 *              issuer role): may sign member certificates and invitations
 *              while the authority stays offline. It cannot certify another
 *              issuer (chains are at most authority -> issuer -> member), and
 *              it is revoked like a member. `init` makes the first member an
 *              issuer; the issuer key lives beside that member's keys.
 *   member     two keys: the WireGuard key (X25519, used only by WireGuard)
 *              and the member key (Ed25519) for everything else: the join
 *              exchange, announcements, gossip, probes.
 *
 * Signatures are Ed25519 over a context string followed by the encoded bytes
 * before the signature ("mg-cert-v1", "mg-invite-v1", without a NUL), so that
 * an issuer's signature on an invitation can never pass for one on a
 * certificate, nor the reverse.
 *
 * A key id is the first 8 bytes of BLAKE2s-256("mg-key-id" || public key).
 * It only names the signer, so that an encoding need not carry 32 bytes for
 * it; trust always comes from verifying the signature with the full key.
 *
 * Times are Unix seconds (UTC) as unsigned 64-bit integers below
 * MG_MESH_TIME_MAX, so that adding the skew can never overflow. Every check
 * against a clock allows MG_MESH_SKEW seconds either way.
 *
 * All integers on the wire are big-endian. Strings are a length byte and
 * that many bytes, no NUL; decoded into NUL-terminated arrays. */
#ifndef MG_MESH_MESH_H
#define MG_MESH_MESH_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/primitives.h"
#include "meshguard.h"
#include "util/ipaddr.h"

#define MG_MESH_ID_LEN	   16
#define MG_MESH_KEY_ID_LEN 8
#define MG_MESH_SKEW	   600 /* seconds of clock skew tolerated */
#define MG_MESH_TIME_MAX   (UINT64_C(1) << 40)

/* Node names: 1-63 of [A-Za-z0-9._-], unique in a mesh. Groups: 1-31 of
 * the same characters, at most 8 per certificate or invitation. */
#define MG_MESH_NAME_MAX   63
#define MG_MESH_GROUP_MAX  31
#define MG_MESH_GROUPS_MAX 8

/* Errors of the decoders and verifiers, as -errno; mg_mesh_strerror names
 * them for a user. */
#define MG_MESH_EMALFORMED EINVAL	   /* a length, field or trailing byte */
#define MG_MESH_EVERSION   EPROTONOSUPPORT /* unknown format version */
#define MG_MESH_EPREFIX	   EPROTO	   /* text that is not an mg1 token */
#define MG_MESH_ESIGNATURE EKEYREJECTED	   /* bad signature or unknown signer */
#define MG_MESH_EEXPIRED   EKEYEXPIRED
#define MG_MESH_ENOTYET	   ETIME /* not valid yet */
#define MG_MESH_EWRONGMESH EXDEV /* for another mesh */
#define MG_MESH_ENOTISSUER EPERM /* signed by a certificate without the right */
#define MG_MESH_EREVOKED   EKEYREVOKED
#define MG_MESH_ETOOBIG	   EMSGSIZE /* does not fit its size limit */

/* A short lower-case phrase for an error above ("expired", "bad
 * signature"); strerror's for any other. */
const char *mg_mesh_strerror(int err);

/* One line for the user in msg[msglen] (msg may be NULL). */
void mg_mesh_msg(char *msg, size_t msglen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same, passing r on: the mesh calls' results (meshguard.h) with their
 * line. */
enum mg_mesh_result mg_mesh_say(char *msg, size_t msglen, enum mg_mesh_result r, const char *fmt,
				...) __attribute__((format(printf, 4, 5)));

/* The wall clock in Unix milliseconds: the mesh's times (certificates,
 * announcements, probes) are wall-clock times every member shares. */
uint64_t mg_mesh_wall_ms(void);

void mg_mesh_key_id(uint8_t id[MG_MESH_KEY_ID_LEN], const uint8_t pub[MG_ED25519_PUB_LEN]);

/* 0 when now lies in [not_before - skew, not_after + skew]; else
 * -MG_MESH_ENOTYET or -MG_MESH_EEXPIRED. */
int mg_mesh_check_time(uint64_t not_before, uint64_t not_after, uint64_t now)
	__attribute__((warn_unused_result));

bool mg_mesh_name_valid(const char *s, size_t max);

/* Bounded cursors over a caller's buffer, shared by the certificate and
 * token codecs. A reader that would run past its end, or a writer past its
 * room, sets bad and stays put; the codec checks bad once at the end. */
struct mg_mesh_buf {
	uint8_t *p;
	const uint8_t *r;
	size_t left;
	bool bad;
};

void mg_mesh_put(struct mg_mesh_buf *b, const void *src, size_t len);
void mg_mesh_put_u8(struct mg_mesh_buf *b, uint8_t v);
void mg_mesh_put_u16(struct mg_mesh_buf *b, uint16_t v);
void mg_mesh_put_u64(struct mg_mesh_buf *b, uint64_t v);
void mg_mesh_put_str(struct mg_mesh_buf *b, const char *s);
/* Family byte (4 or 6), prefix length, then 4 or 16 address bytes. */
void mg_mesh_put_prefix(struct mg_mesh_buf *b, const struct mg_prefix *p);

void mg_mesh_get(struct mg_mesh_buf *b, void *dst, size_t len);
uint8_t mg_mesh_get_u8(struct mg_mesh_buf *b);
uint16_t mg_mesh_get_u16(struct mg_mesh_buf *b);
uint64_t mg_mesh_get_u64(struct mg_mesh_buf *b);
/* A name or group of 1..max valid characters into out[max + 1]. */
void mg_mesh_get_str(struct mg_mesh_buf *b, char *out, size_t max);
/* Refuses host bits past the prefix length, so each value has one encoding. */
void mg_mesh_get_prefix(struct mg_mesh_buf *b, struct mg_prefix *p);

#endif
