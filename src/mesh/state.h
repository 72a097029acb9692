/* A node's state directory: every file a member keeps between runs (issue
 * 11). One node per directory DIR (default /var/lib/meshguard; the caller
 * passes it).
 *
 * Layout (DIR 0700, every file 0600, owned by the user running meshguard):
 *
 *   lock            empty; flock(LOCK_EX) by the one writer (below)
 *   mesh.json       the mesh as this node sees it (struct mg_mesh_config)
 *   authority.key   Ed25519 authority seed; only on the host that ran init
 *   issuer.key      Ed25519 issuer seed; only on issuers
 *   issuer.cert     the issuer certificate (cert.h bytes); only on issuers
 *   member.key      Ed25519 member seed
 *   wireguard.key   X25519 WireGuard private key
 *   member.cert     this member's certificate (cert.h bytes)
 *   directory       the member directory: an opaque blob gossip writes
 *   firewall        this node's inbound rules by group (firewall.h); absent:
 *                   none
 *   invites/        0700; one record per invitation this node made, named
 *                   by the invite id in 32 lower-case hex digits
 *   .NAME.tmp       a write in progress (see below); never read
 *
 * Key files hold 32 bytes as one line of standard base64 and a newline
 * (45 bytes), as `wg genkey` prints a key: the X25519 private key, or the
 * Ed25519 seed from which the secret key (seed || public key) is derived.
 * Certificates and the directory are raw bytes.
 *
 * mesh.json, one JSON object, every member required, no other member:
 *   {"version":1, "mesh_id":"<32 hex>", "mesh_name":"<name>",
 *    "authority":"<base64 Ed25519 public key>", "prefix4":"100.x.0.0/16",
 *    "prefix6":"fdxx:xxxx:xxxx::/48", "name":"<this node's name>",
 *    "listen_port":51820, "endpoints":["HOST:PORT", ...]}
 * Names as mesh.h's; prefix4 an IPv4 prefix of length 8..30, prefix6 an
 * IPv6 one of length 32..64, neither with host bits; listen_port 1..65535;
 * endpoints 0..MG_MESH_CONFIG_ENDPOINTS_MAX of "1.2.3.4:P", "[v6]:P" or
 * "host.name:P" (the --endpoint values, which go first into every invite).
 * mg_mesh_config_format writes one canonical form that the parser reads
 * back to the same value.
 *
 * Invite record, version 1 (big-endian; mesh.h cursors):
 *
 *   off  len  field
 *     0    1  format version = 1 (any other: refused)
 *     1   16  invite id (also the file name, which must match)
 *    17   32  secret
 *    49    8  expiry, Unix seconds, < MG_MESH_TIME_MAX
 *    57    2  uses allowed, >= 1
 *    59    2  uses made, <= uses allowed
 *    61  1+n  pinned name, n = 0 (not pinned) or 1..63
 *        1+.. groups: count 0..8, each 1+n, n = 1..31
 *        1+.. routes the member may advertise (subnet routes, `invite
 *             --routes`): count 0..16, each a prefix (mesh.h encoding)
 * Nothing may follow.
 *
 * One writer. Whoever writes holds DIR/lock (flock, LOCK_EX | LOCK_NB): the
 * daemon (`up`) for its whole life, an offline command (init, invite,
 * revoke) for one transaction. A command that finds the lock taken gets
 * -EWOULDBLOCK and tells the user to run it through the daemon instead.
 * mg_state_write refuses without the lock (-ENOLCK), so no two processes can
 * interleave a read-modify-write such as consuming an invite.
 *
 * Atomic write of NAME: open DIR/.NAME.tmp (O_CREAT | O_EXCL, 0600; a stale
 * one from a crash is removed first, which is safe under the lock), write
 * all, fsync, rename over DIR/NAME, fsync the directory. After a crash at
 * any point the file is wholly old or wholly new, and once mg_state_write
 * returns 0 the new content survives a power loss. A failed write leaves the
 * old file as it was.
 *
 * Reading: a file that exists but cannot be parsed is reported with its
 * full path in err and never overwritten by the call that failed on it; a
 * file or DIR that group or others may access is refused (-EACCES) with its
 * path and the chmod that fixes it. Secrets read from DIR live in the
 * caller's buffers; every function here wipes its own copies. */
#ifndef MG_MESH_STATE_H
#define MG_MESH_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/primitives.h"
#include "mesh/mesh.h"
#include "mesh/token.h"
#include "util/ipaddr.h"

#define MG_STATE_DIR_DEFAULT "/var/lib/meshguard"
#define MG_STATE_FILE_MAX    (1 << 20) /* bound on any file read */

/* File names in DIR. */
#define MG_STATE_MESH	   "mesh.json"
#define MG_STATE_AUTHORITY "authority.key"
#define MG_STATE_ISSUER	   "issuer.key"
#define MG_STATE_ISSUER_C  "issuer.cert"
#define MG_STATE_MEMBER	   "member.key"
#define MG_STATE_WIREGUARD "wireguard.key"
#define MG_STATE_MEMBER_C  "member.cert"
#define MG_STATE_DIRECTORY "directory"
#define MG_STATE_INVITES   "invites"

/* mg_state_open flags. */
#define MG_STATE_CREATE 1u /* make DIR (0700) when missing: init, join */
#define MG_STATE_LOCK	2u /* take DIR/lock; -EWOULDBLOCK when held */

struct mg_state {
	char dir[PATH_MAX];
	int dirfd;  /* DIR, O_DIRECTORY */
	int lockfd; /* DIR/lock while locked, else -1 */
};

/* Opens DIR: checks it is a directory of mode 0700 (no group or other
 * bits) and, with MG_STATE_LOCK, takes the lock. 0; -ENOENT (no DIR and no
 * MG_STATE_CREATE), -ENOTDIR, -EACCES (mode), -EWOULDBLOCK (locked by
 * another process), or the failing call's -errno; err holds a one-line
 * message naming the path. On error st needs no close. */
int mg_state_open(struct mg_state *st, const char *dir, unsigned flags, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Releases the lock (if held) and the directory. Idempotent. */
void mg_state_close(struct mg_state *st);
bool mg_state_locked(const struct mg_state *st);

/* name is a file name of [A-Za-z0-9._-] not starting with '.', or
 * "invites/" and one (else -EINVAL). */

/* Reads the whole file into buf[cap]: 0 and *len; -ENOENT when absent,
 * -EFBIG when longer than cap, -EACCES when group or others may access it. */
int mg_state_read(struct mg_state *st, const char *name, uint8_t *buf, size_t cap, size_t *len,
		  char *err, size_t errlen) __attribute__((warn_unused_result));
/* The atomic write above; needs the lock (-ENOLCK). Makes invites/ (0700)
 * when needed. */
int mg_state_write(struct mg_state *st, const char *name, const void *buf, size_t len, char *err,
		   size_t errlen) __attribute__((warn_unused_result));
/* Removes name (and fsyncs its directory); needs the lock. 0 also when it
 * was absent. */
int mg_state_remove(struct mg_state *st, const char *name, char *err, size_t errlen);
/* 0 when name exists, -ENOENT when not. */
int mg_state_exists(struct mg_state *st, const char *name);

/* 32-byte keys as base64 lines. load: -ENOENT, -EACCES, or -EINVAL for a
 * file that is not one base64 key line (path in err). To save an Ed25519
 * key pass its secret key: the first 32 bytes, the seed, are written. The
 * text is wiped after use. */
int mg_state_key_load(struct mg_state *st, const char *name, uint8_t key[MG_KEY_LEN], char *err,
		      size_t errlen) __attribute__((warn_unused_result));
int mg_state_key_save(struct mg_state *st, const char *name, const uint8_t key[MG_KEY_LEN],
		      char *err, size_t errlen) __attribute__((warn_unused_result));
/* An Ed25519 key file: the secret key (seed || public key) from its seed. */
int mg_state_ed25519_load(struct mg_state *st, const char *name, uint8_t sk[MG_ED25519_SECRET_LEN],
			  char *err, size_t errlen) __attribute__((warn_unused_result));

/* A certificate file, decoded (signature not checked): -ENOENT, or the
 * decoder's error with the path in err. */
int mg_state_cert_load(struct mg_state *st, const char *name, struct mg_cert *c, char *err,
		       size_t errlen) __attribute__((warn_unused_result));
int mg_state_cert_save(struct mg_state *st, const char *name, const struct mg_cert *c, char *err,
		       size_t errlen) __attribute__((warn_unused_result));

/* mesh.json */
#define MG_MESH_CONFIG_VERSION	     1
#define MG_MESH_CONFIG_ENDPOINTS_MAX MG_TOKEN_ENDPOINTS_MAX
#define MG_MESH_CONFIG_ENDPOINT_MAX  (MG_TOKEN_HOST_MAX + 6) /* "host:65535" */
#define MG_MESH_CONFIG_TEXT_MAX	     4096
#define MG_MESH_LISTEN_PORT	     51820

struct mg_mesh_config {
	uint8_t mesh_id[MG_MESH_ID_LEN];
	char mesh_name[MG_MESH_NAME_MAX + 1];
	uint8_t authority[MG_ED25519_PUB_LEN];
	struct mg_prefix prefix4, prefix6;
	char name[MG_MESH_NAME_MAX + 1];
	uint16_t listen_port;
	uint8_t n_endpoints;
	char endpoints[MG_MESH_CONFIG_ENDPOINTS_MAX][MG_MESH_CONFIG_ENDPOINT_MAX + 1];
};

/* "HOST:PORT" as --endpoint takes it: numeric IPv4, [IPv6], or a host name
 * of [A-Za-z0-9.-] (1..253, as token.h carries it); port 1..65535. 0 or
 * -EINVAL. out may be NULL (check only). */
int mg_mesh_endpoint_parse(struct mg_token_endpoint *out, const char *s);

/* Strict: JSON that is not an object with exactly the members above, each
 * of its type and valid, -MG_MESH_EMALFORMED; version other than 1
 * -MG_MESH_EVERSION. Never reads past text + len (no NUL needed). */
int mg_mesh_config_parse(struct mg_mesh_config *c, const char *text, size_t len)
	__attribute__((warn_unused_result));
/* The canonical text and a newline into out[cap]: its length, or
 * -MG_MESH_EMALFORMED (invalid field), -MG_MESH_ETOOBIG. */
int mg_mesh_config_format(char *out, size_t cap, const struct mg_mesh_config *c);
/* -ENOENT (no mesh here), or a parse error with the path in err. */
int mg_state_config_load(struct mg_state *st, struct mg_mesh_config *c, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* dir's configuration, read without the lock (it is replaced atomically):
 * mg_state_open then mg_state_config_load, with their errors. */
int mg_state_config_read(const char *dir, struct mg_mesh_config *c, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int mg_state_config_save(struct mg_state *st, const struct mg_mesh_config *c, char *err,
			 size_t errlen) __attribute__((warn_unused_result));

/* Invite records. Hold the secret: wipe with mg_invite_record_wipe. */
#define MG_INVITE_RECORD_VERSION 1
#define MG_INVITE_RECORD_MAX_LEN 512
#define MG_INVITE_ID_HEX_LEN	 (2 * MG_TOKEN_INVITE_ID_LEN)

struct mg_invite_record {
	uint8_t id[MG_TOKEN_INVITE_ID_LEN];
	uint8_t secret[MG_TOKEN_SECRET_LEN];
	uint64_t expiry;
	uint16_t uses;			 /* allowed */
	uint16_t used;			 /* made so far */
	char name[MG_MESH_NAME_MAX + 1]; /* "" when not pinned */
	uint8_t n_groups;
	char groups[MG_MESH_GROUPS_MAX][MG_MESH_GROUP_MAX + 1];
	uint8_t n_routes;
	struct mg_prefix routes[MG_CERT_ROUTES_MAX];
};

void mg_invite_record_wipe(struct mg_invite_record *r);
/* The length, -MG_MESH_EMALFORMED, or -MG_MESH_ETOOBIG. */
int mg_invite_record_encode(uint8_t *out, size_t cap, const struct mg_invite_record *r);
/* Strict as the format above: -MG_MESH_EVERSION, -MG_MESH_EMALFORMED. On
 * error r is wiped. */
int mg_invite_record_decode(struct mg_invite_record *r, const uint8_t *in, size_t len)
	__attribute__((warn_unused_result));
/* "invites/<hex id>" into name[sizeof "invites/" + 32]. */
void mg_invite_record_name(char *name, size_t cap, const uint8_t id[MG_TOKEN_INVITE_ID_LEN]);

/* Writes r durably (atomic write); needs the lock. */
int mg_state_invite_save(struct mg_state *st, const struct mg_invite_record *r, char *err,
			 size_t errlen) __attribute__((warn_unused_result));
/* -ENOENT, or a decode error with the path in err (also when the id in the
 * record is not the one asked for). */
int mg_state_invite_load(struct mg_state *st, const uint8_t id[MG_TOKEN_INVITE_ID_LEN],
			 struct mg_invite_record *r, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* One use of invitation id at now (the inviter's clock, no skew): -ENOENT
 * (unknown), -EKEYEXPIRED (now > expiry), -EUSERS (all uses made); else
 * increments the uses made and writes the record durably, and only then
 * returns 0 with the updated record in out (which may be NULL). The caller
 * sends the certificate only after 0. Needs the lock, so of two consumers
 * of the last use exactly one wins, also across a crash: the record on
 * disk is the truth. */
int mg_state_invite_consume(struct mg_state *st, const uint8_t id[MG_TOKEN_INVITE_ID_LEN],
			    uint64_t now, struct mg_invite_record *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Calls fn for each record under invites/ (in directory order; r is wiped
 * after each call). A non-zero return from fn stops the walk and is
 * returned. 0 when there is no invites/ directory. A corrupt record stops
 * the walk with its error and path. */
int mg_state_invite_list(struct mg_state *st,
			 int (*fn)(void *ctx, const struct mg_invite_record *r), void *ctx,
			 char *err, size_t errlen);

#endif
