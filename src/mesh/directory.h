/* The member directory: what every member knows about the mesh, built only
 * from self-verifying items, so that any member can pass on any item and no
 * member has to be trusted for it (see mesh.h for the key roles).
 *
 * Items. Every item starts with its kind; every signature covers a context
 * string and then every byte before the signature, and every item names the
 * mesh id, so that nothing signed for one purpose or mesh passes for
 * another. Integers are big-endian; each value has one encoding, so an
 * item's bytes are its identity.
 *
 * CERT (kind 1): a member or issuer certificate, cert.h's bytes as they are.
 *   off  len  field
 *     0    1  kind = 1
 *     1    n  certificate, n <= MG_CERT_MAX_LEN (its own signature inside)
 * An issuer certificate is accepted after mg_cert_verify_issuer; a member
 * certificate after mg_cert_verify against the authority or an issuer
 * certificate already in the directory whose key has the signer id (an
 * unknown issuer is -ENOENT: gossip sends issuers first, and anti-entropy
 * brings the rest later). Refused, besides: either key or the
 * (signer id, serial) revoked or departed (-MG_MESH_EREVOKED). For a key
 * already known, the certificate with the later not_before wins (then the
 * later not_after, then the greater id); the other is "already known".
 *
 * REVOKE (kind 2), 179 bytes and the issuer's certificate if any:
 *   off  len  field
 *     0    1  kind = 2
 *     1   16  mesh id
 *    17   32  revoked Ed25519 key: a member key, or an issuer's signing key
 *    49   32  revoked WireGuard key, or 32 zero bytes for none (revoking an
 *             issuer key while its holder stays a member)
 *    81    8  the revoked certificate's signer key id  } that certificate
 *    89    8  the revoked certificate's serial         } is refused too
 *    97    8  time of revocation, Unix seconds, < MG_MESH_TIME_MAX
 *   105    8  signer key id: the authority's, or an issuer's
 *   113    2  n: 0 when the authority signs; else the length of
 *   115    n  the signing issuer's certificate (cert.h bytes)
 *      +  64  Ed25519 signature over "mg-revoke-v1" || every byte above
 * The authority may revoke anything. An issuer may revoke what it
 * certified (the revoked certificate's signer id is its own; it is trusted
 * for the keys it names, as for those it certifies), but not an issuer key.
 * Its certificate travels with the revocation and is checked against the
 * authority at the revocation's time, so that the revocation stays
 * verifiable after that certificate expires: every directory, even one
 * that joins years later, can hold the same tombstones. A revocation by an
 * issuer whose key is revoked is refused (known limit: a member that never
 * saw one made before that cannot take it). A revocation is never undone:
 * both keys are refused forever after, under any certificate, and the
 * member's name becomes free. Revoking an issuer drops the issuer and every
 * member it certified (they must come back under another signer).
 *
 * DEPART (kind 3), 91 bytes and the certificate:
 *   off  len  field
 *     0    1  kind = 3
 *     1   16  mesh id
 *    17    8  time, Unix seconds, < MG_MESH_TIME_MAX
 *    25    2  n, the certificate's length, <= MG_DIR_DEPART_CERT_MAX
 *    27    n  the departing member's certificate (cert.h bytes)
 *      +  64  signature by that certificate's member key over
 *             "mg-depart-v1" || every byte above
 * The certificate makes the departure verifiable by a member that never
 * saw the departing one (one that joined later, or loads it from the state
 * file), so that every directory can hold the same tombstones and
 * anti-entropy ends; and it keeps anyone from filling the revoked set with
 * keys of their own. It must be signed by the authority or a known issuer
 * and valid at the departure's time (not at now: the tombstone outlives the
 * certificate). The member is dropped and both its keys are refused from
 * then on, as after a revocation.
 *
 * ANNOUNCE (kind 4), 131..571 bytes:
 *   off  len  field
 *     0    1  kind = 4
 *     1   16  mesh id
 *    17   32  member key
 *    49    8  sequence number: an announcement with a sequence <= the one
 *             known is "already known" (no replay of old endpoints)
 *    57    8  time, Unix seconds, < MG_MESH_TIME_MAX
 *    65    1  candidate endpoint count, 0..8, best first, each:
 *               family 4 | 6 (1), address 4 | 16, port (2, not 0)
 *    ..    1  subnet route count, 0..16: the routes this member forwards to
 *             now (`up --advertise`), each a prefix (mesh.h encoding), every
 *             one among the routes its certificate carries
 *    ..   64  signature by the member key over "mg-announce-v1" || all above
 * Accepted only for a member in the directory, and only with routes its
 * certificate allows (else -EPERM). The lead makes the endpoints its
 * WireGuard endpoints for the member, and sends traffic for the routes to
 * one live member advertising them.
 *
 * Every item's time must not lie ahead of now by more than MG_MESH_SKEW.
 * Items are checked in this order: framing (-MG_MESH_EMALFORMED), kind and
 * version (-MG_MESH_EVERSION), mesh (-MG_MESH_EWRONGMESH), already stored
 * (0: no signature is verified twice), then signature and the rules above.
 *
 * Item id: the first MG_DIR_ID_LEN bytes of BLAKE2s-256("mg-item-v1" ||
 * item). Gossip names items by id. Finding two items with one id takes about
 * 2^32 signatures by one member; its only effect is that anti-entropy may
 * not repair those two items.
 *
 * What the directory holds: live members (certificate, latest
 * announcement), issuer certificates, and the tombstones (revocations and
 * departures, kept forever: they are what keeps a key out). Bounded:
 * MG_DIR_MEMBERS_MAX members, MG_DIR_ISSUERS_MAX issuers,
 * MG_DIR_TOMBS_MAX tombstones; past these, -ENOSPC.
 *
 * Names: unique per mesh by the issuers' care, not by the directory (two
 * issuers offline at once could certify one name twice, and refusing the
 * second would make members disagree by arrival order). Both are kept;
 * mg_directory_find_name returns the one with the earliest not_before (then
 * the smaller member key) everywhere alike.
 *
 * Blob (the state file's copy; every item is verified again at load):
 *   off  len  field
 *     0    4  "mgd1"
 *     4   16  mesh id
 *    20   32  authority public key
 *    52    4  item count
 *    56   ..  items, each: length (2), item; issuers first, then
 *             tombstones, member certificates, announcements
 *    ..   32  BLAKE2s-256 of every byte before it: a flipped bit that would
 *             only make an item look unsigned-yet (a changed signer id is
 *             "signer unknown", which load must skip) is caught here
 * mg_directory_load refuses the whole blob when its framing is bad or any
 * item is malformed, for another mesh or badly signed; items that have
 * since expired, lost their signer or member, or are not valid yet (the
 * clock went back) are skipped.
 *
 * Changes are reported through the callback given at init, synchronously,
 * from inside add and expire: the lead adds and removes WireGuard peers from
 * them. The member passed is borrowed for the call only (on REMOVED it is
 * freed right after); the callback must not call back into the directory.
 *
 * Not thread-safe: one owner (the lead's loop) calls everything. */
#ifndef MG_MESH_DIRECTORY_H
#define MG_MESH_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/primitives.h"
#include "mesh/cert.h"
#include "mesh/mesh.h"

enum mg_dir_kind {
	MG_DIR_CERT = 1,
	MG_DIR_REVOKE = 2,
	MG_DIR_DEPART = 3,
	MG_DIR_ANNOUNCE = 4,
};

#define MG_DIR_ID_LEN	    8
#define MG_DIR_ITEM_MAX	    (1 + MG_CERT_MAX_LEN) /* the longest item: a certificate */
#define MG_DIR_REVOKE_FIXED 179
#define MG_DIR_DEPART_FIXED 91
#define MG_DIR_DEPART_CERT_MAX \
	(MG_DIR_ITEM_MAX -     \
	 MG_DIR_DEPART_FIXED) /* every valid certificate fits: at most 861 bytes */
#define MG_DIR_ANNOUNCE_MIN  131
#define MG_DIR_ANNOUNCE_MAX  571
#define MG_DIR_ENDPOINTS_MAX 8
#define MG_DIR_MEMBERS_MAX   4096
#define MG_DIR_ISSUERS_MAX   64
#define MG_DIR_TOMBS_MAX     8192
#define MG_DIR_BLOB_HEADER   56
#define MG_DIR_BLOB_TRAILER  32

/* Anti-entropy buckets: an item's bucket is its id's first byte >> 1. */
#define MG_DIR_BUCKETS 128

struct mg_dir_endpoint {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint16_t port;
};

struct mg_dir_revoke {
	uint8_t mesh_id[MG_MESH_ID_LEN];
	uint8_t key[MG_ED25519_PUB_LEN];
	uint8_t wg_key[MG_KEY_LEN]; /* all zero: none */
	uint8_t cert_signer_id[MG_MESH_KEY_ID_LEN];
	uint64_t cert_serial;
	uint64_t time;
	uint8_t signer_id[MG_MESH_KEY_ID_LEN];
	bool by_issuer;	       /* else by the authority */
	struct mg_cert issuer; /* when by_issuer */
	uint8_t signature[MG_ED25519_SIG_LEN];
};

struct mg_dir_depart {
	uint8_t mesh_id[MG_MESH_ID_LEN];
	uint64_t time;
	struct mg_cert cert; /* the departing member's */
	uint8_t signature[MG_ED25519_SIG_LEN];
};

struct mg_dir_announce {
	uint8_t mesh_id[MG_MESH_ID_LEN];
	uint8_t key[MG_ED25519_PUB_LEN];
	uint64_t seq, time;
	uint8_t n_endpoints;
	struct mg_dir_endpoint endpoints[MG_DIR_ENDPOINTS_MAX];
	uint8_t n_routes;
	struct mg_prefix routes[MG_CERT_ROUTES_MAX];
	uint8_t signature[MG_ED25519_SIG_LEN];
};

/* One stored item; owned by the directory, never changed once stored. */
struct mg_dir_item {
	uint8_t id[MG_DIR_ID_LEN];
	uint16_t len;
	uint8_t bytes[];
};

/* A live member, borrowed from the directory: valid until the member is
 * removed (the REMOVED callback is the last sight of it) or the directory
 * freed. */
struct mg_dir_member {
	struct mg_cert cert;		     /* decoded, verified */
	const struct mg_dir_item *cert_item; /* its bytes, kind byte first */
	const struct mg_dir_item *announce;  /* NULL until one arrives */
	uint64_t announce_seq;
	/* Owned by gossip (its replay window for this member's datagrams):
	 * zero when the member is added. */
	uint64_t rx_counter, rx_window;
};

enum mg_dir_event {
	MG_DIR_MEMBER_ADDED = 1,
	MG_DIR_MEMBER_REMOVED, /* revoked, departed, expired, issuer gone */
	MG_DIR_MEMBER_RENEWED, /* a new certificate, same member key */
	MG_DIR_ENDPOINTS_CHANGED,
};

typedef void mg_dir_change_cb(void *ctx, enum mg_dir_event ev, const struct mg_dir_member *m);

/* What an add did, for gossip (the id of the item, to spread it). */
struct mg_dir_change {
	uint8_t kind;
	uint8_t id[MG_DIR_ID_LEN];
};

struct mg_dir_index {
	void **v;
	size_t n, cap;
};

struct mg_directory {
	uint8_t mesh_id[MG_MESH_ID_LEN];
	uint8_t authority[MG_ED25519_PUB_LEN];
	uint8_t authority_id[MG_MESH_KEY_ID_LEN];
	mg_dir_change_cb *change;
	void *change_ctx;
	/* Sorted indexes (binary search; insertion moves pointers). */
	struct mg_dir_index items;	  /* every stored item, by id */
	struct mg_dir_index members;	  /* struct mg_dir_member, by member key */
	struct mg_dir_index members_wg;	  /* the same, by WireGuard key */
	struct mg_dir_index issuers;	  /* struct mg_dir_member (role issuer), by key */
	struct mg_dir_index tombs;	  /* tombstones, by Ed25519 key */
	struct mg_dir_index tombs_wg;	  /* the same, by WireGuard key (none: absent) */
	struct mg_dir_index tombs_serial; /* the same, by signer id || serial */
	uint64_t buckets[MG_DIR_BUCKETS]; /* XOR of the ids in each bucket */
	size_t bytes;			  /* allocated by the directory, for the bench */
};

/* change may be NULL. 0. */
int mg_directory_init(struct mg_directory *d, const uint8_t mesh_id[MG_MESH_ID_LEN],
		      const uint8_t authority[MG_ED25519_PUB_LEN], mg_dir_change_cb *change,
		      void *ctx);
/* Frees everything; reports nothing. */
void mg_directory_free(struct mg_directory *d);
/* dst (not initialised) becomes a copy of src with no callback and nothing
 * verified again: for a simulation's thousand members. 0 or -ENOMEM. */
int mg_directory_copy(struct mg_directory *dst, const struct mg_directory *src);

/* Verifies item at now (Unix seconds) and applies it: 1 new information, 0
 * already known or older than what is known, or a negative error:
 * MG_MESH_E* as above, -ENOENT (the signer, or the member an announcement
 * or departure names, is not in the directory), -ENOSPC (a bound), -ENOMEM. change may be NULL; on 1 it says
 * what was stored. */
int mg_directory_add(struct mg_directory *d, const uint8_t *item, size_t len, uint64_t now,
		     struct mg_dir_change *change) __attribute__((warn_unused_result));

/* Drops certificates expired at now (beyond MG_MESH_SKEW), and the members
 * of an issuer that is gone. The number of members removed. */
size_t mg_directory_expire(struct mg_directory *d, uint64_t now);

/* Lookups; borrowed results (see struct mg_dir_member), NULL when absent. */
const struct mg_dir_member *mg_directory_find(const struct mg_directory *d,
					      const uint8_t key[MG_ED25519_PUB_LEN]);
const struct mg_dir_member *mg_directory_find_wg(const struct mg_directory *d,
						 const uint8_t wg_key[MG_KEY_LEN]);
const struct mg_dir_member *mg_directory_find_name(const struct mg_directory *d, const char *name);
bool mg_directory_name_taken(const struct mg_directory *d, const char *name);
/* The issuer certificate whose key has signer_id, NULL when unknown. */
const struct mg_dir_member *mg_directory_issuer(const struct mg_directory *d,
						const uint8_t signer_id[MG_MESH_KEY_ID_LEN]);
/* True for a key revoked or departed: refused forever. */
bool mg_directory_key_revoked(const struct mg_directory *d, const uint8_t key[MG_ED25519_PUB_LEN]);

/* Live members, in member-key order: i < mg_directory_count(d). The order
 * changes when members come and go. */
size_t mg_directory_count(const struct mg_directory *d);
const struct mg_dir_member *mg_directory_member(const struct mg_directory *d, size_t i);
size_t mg_directory_issuer_count(const struct mg_directory *d);
size_t mg_directory_tomb_count(const struct mg_directory *d);
/* The subnet routes m's latest announcement advertises into out; their
 * number. */
size_t mg_directory_routes(const struct mg_dir_member *m, struct mg_prefix out[MG_CERT_ROUTES_MAX]);
/* The endpoints of m's latest announcement into out; their number. */
size_t mg_directory_endpoints(const struct mg_dir_member *m,
			      struct mg_dir_endpoint out[MG_DIR_ENDPOINTS_MAX]);

/* Items by id, and the ids of one anti-entropy bucket (sorted). */
size_t mg_directory_item_count(const struct mg_directory *d);
const struct mg_dir_item *mg_directory_item(const struct mg_directory *d,
					    const uint8_t id[MG_DIR_ID_LEN]);
/* The items of bucket b: *first is the index of the first in id order,
 * returns how many; mg_directory_item_at(d, *first + k) gives each. */
size_t mg_directory_bucket(const struct mg_directory *d, unsigned b, size_t *first);
const struct mg_dir_item *mg_directory_item_at(const struct mg_directory *d, size_t i);
void mg_dir_item_id(uint8_t id[MG_DIR_ID_LEN], const uint8_t *item, size_t len);
/* 0 issuer certificate, 1 member certificate, 2 revocation or departure,
 * 3 announcement: the order in which items can be applied. */
int mg_dir_item_rank(const struct mg_dir_item *it);

/* The blob: mg_directory_encoded_len bytes; mg_directory_encode writes them
 * (-MG_MESH_ETOOBIG when outlen is short). mg_directory_load applies a
 * blob to d, normally just initialised: the number of items stored, or an
 * error (see above), after which d is empty. */
size_t mg_directory_encoded_len(const struct mg_directory *d);
int mg_directory_encode(const struct mg_directory *d, uint8_t *out, size_t outlen);
int mg_directory_load(struct mg_directory *d, const uint8_t *blob, size_t len, uint64_t now)
	__attribute__((warn_unused_result));

/* Strict, bounded decoders of one item of each kind (signatures unchecked):
 * 0, -MG_MESH_EMALFORMED, -MG_MESH_EVERSION (another kind). */
int mg_dir_revoke_decode(struct mg_dir_revoke *r, const uint8_t *in, size_t len)
	__attribute__((warn_unused_result));
int mg_dir_depart_decode(struct mg_dir_depart *p, const uint8_t *in, size_t len)
	__attribute__((warn_unused_result));
int mg_dir_announce_decode(struct mg_dir_announce *a, const uint8_t *in, size_t len)
	__attribute__((warn_unused_result));

/* Signing helpers: fill the signature (and the signer id) with sk and
 * write the item into out; its length, or -MG_MESH_EMALFORMED (a field out
 * of range), -MG_MESH_ETOOBIG (out too short). sk is borrowed. The item of
 * a certificate is its kind byte and mg_cert_encode's bytes. */
int mg_dir_cert_item(uint8_t *out, size_t outlen, const struct mg_cert *c);
int mg_dir_revoke_sign(uint8_t *out, size_t outlen, struct mg_dir_revoke *r,
		       const uint8_t sk[MG_ED25519_SECRET_LEN]);
int mg_dir_depart_sign(uint8_t *out, size_t outlen, struct mg_dir_depart *p,
		       const uint8_t sk[MG_ED25519_SECRET_LEN]);
int mg_dir_announce_sign(uint8_t *out, size_t outlen, struct mg_dir_announce *a,
			 const uint8_t sk[MG_ED25519_SECRET_LEN]);

#endif
