/* Offline transactions on a state directory (state.h): `init` and `invite`,
 * plus what the daemon reuses of them (address allocation, endpoint
 * gathering). Each returns 0 or -errno and, on error, a one-line message
 * for the user in err (what was wrong, the path or input quoted); the API
 * layer maps the errno to an exit code.
 *
 * init, in DIR (created 0700 when missing), under its lock:
 *   mesh id        16 random bytes
 *   authority.key  new Ed25519 key
 *   wireguard.key, member.key   the first member's keys
 *   issuer.key     new Ed25519 key, and issuer.cert: role issuer, signed by
 *                  the authority, MG_CERT_LIFETIME, bound to the member's
 *                  WireGuard key and name
 *   member.cert    role member, signed by the authority, name p->node or
 *                  the host name, one IPv4 /32 and one IPv6 /128 from the
 *                  prefixes (mg_mesh_pick_addresses), no groups or routes
 *   mesh.json      written last: its presence is what "DIR holds a mesh"
 *                  means, so an init cut short can simply be run again.
 * Default prefixes: a random /16 inside 100.64.0.0/10 and a random /48
 * inside fd00::/8, each overlapping no local address or route (getifaddrs,
 * /proc/net/route, /proc/net/ipv6_route). Catch-all routes (v4 shorter than
 * /8, any /0) are ignored: they overlap everything.
 *
 * invite: writes the invite record durably first, then seals the token
 * (token.h) with the authority key when DIR holds one, else the issuer key;
 * the inviter key in it is this member's member key. Endpoints, best
 * first: mesh.json's --endpoint values, this host's global interface
 * addresses with the listen port, then the caller's extra ones (the daemon
 * adds STUN-observed and port-mapped ones). */
#ifndef MG_MESH_ADMIN_H
#define MG_MESH_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mesh/state.h"
#include "mesh/token.h"
#include "util/ipaddr.h"

#define MG_MESH_NAME_DEFAULT "meshguard"
#define MG_INVITE_EXPIRES    (24 * 3600) /* default: one day */
#define MG_MESH_PREFIX4_LEN  16
#define MG_MESH_PREFIX6_LEN  48
#define MG_MESH_AVOID_MAX    256 /* local prefixes considered */

struct mg_mesh_init_params {
	const char *mesh_name;	      /* NULL: MG_MESH_NAME_DEFAULT */
	const char *node;	      /* NULL: the host name (up to its first dot) */
	const char *prefix4;	      /* "a.b.c.d/n", n 8..30; NULL: chosen */
	const char *prefix6;	      /* n 32..64; NULL: chosen */
	uint16_t listen_port;	      /* 0: MG_MESH_LISTEN_PORT */
	const char *const *endpoints; /* --endpoint HOST:PORT values */
	size_t n_endpoints;
	uint64_t now; /* Unix seconds: certificates start here */
};

/* A node's name into out[MG_MESH_NAME_MAX + 1]: given, or the host name up
 * to its first dot. -EINVAL (with a message) when it is not a valid name. */
int mg_mesh_node_name(char *out, const char *given, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* -EEXIST when DIR already holds a mesh.json (which stays untouched);
 * -EINVAL for a bad parameter; -EWOULDBLOCK when DIR is locked; state
 * errors. */
int mg_mesh_admin_init(const char *dir, const struct mg_mesh_init_params *p, char *err,
		       size_t errlen) __attribute__((warn_unused_result));

/* Chooses prefixes overlapping none of avoid[n]: a random /16 of
 * 100.64.0.0/10 (-ENOSPC when all 64 overlap) and a random /48 of fd00::/8
 * (-ENOSPC after 64 tries). */
int mg_mesh_choose_prefixes(const struct mg_prefix *avoid, size_t n, struct mg_prefix *out4,
			    struct mg_prefix *out6) __attribute__((warn_unused_result));
/* This host's addresses (as their subnets) and routes, catch-alls left out:
 * up to cap into out, *n set. 0 even when /proc is unreadable (less to
 * avoid); -errno only when getifaddrs fails. */
int mg_mesh_local_prefixes(struct mg_prefix *out, size_t cap, size_t *n);
/* The subnets of this host's interface addresses alone (no routes). */
int mg_mesh_local_subnets(struct mg_prefix *out, size_t cap, size_t *n);
/* True when a and b share an address. */
bool mg_mesh_prefix_overlap(const struct mg_prefix *a, const struct mg_prefix *b);

/* A new member's addresses: a /32 in prefix4 and a /128 in prefix6, starting
 * at a position derived from the WireGuard key (so a retry picks the same)
 * and probing upward past every address taken(ctx, addr) reports, the
 * network and broadcast addresses (v4) and the all-zero and all-one host
 * parts (v6). taken may be NULL. -ENOSPC when the IPv4 prefix is full or
 * 65536 IPv6 probes all failed. */
int mg_mesh_pick_addresses(const struct mg_prefix *prefix4, const struct mg_prefix *prefix6,
			   const uint8_t wg_pub[MG_KEY_LEN],
			   bool (*taken)(void *ctx, const struct mg_prefix *addr), void *ctx,
			   struct mg_prefix *out4, struct mg_prefix *out6)
	__attribute__((warn_unused_result));

/* This host's addresses fit to be candidates (candidate.h: no loopback,
 * link-local, unspecified or multicast ones, none of a tunnel interface)
 * with port, IPv4 first: up to cap into out. */
int mg_mesh_local_endpoints(uint16_t port, struct mg_token_endpoint *out, size_t cap, size_t *n);
/* An invite's endpoints, best first and without repeats: c's --endpoint
 * values, then the local ones with c's listen port (none inside the mesh's
 * own prefixes: a running daemon's overlay addresses lead nowhere for a
 * joiner), then extra[n_extra]. Up to cap into out, *n set; *left_out
 * counts what did not fit. 0, or getifaddrs' -errno, in which case out
 * still holds the others. */
int mg_mesh_gather_endpoints(const struct mg_mesh_config *c, const struct mg_token_endpoint *extra,
			     size_t n_extra, struct mg_token_endpoint *out, size_t cap, size_t *n,
			     size_t *left_out);

struct mg_mesh_invite_params {
	const char *name;	   /* pinned node name; NULL: the joiner's choice */
	uint64_t expires;	   /* seconds from now; 0: MG_INVITE_EXPIRES */
	uint16_t uses;		   /* 0: 1 */
	const char *const *groups; /* at most MG_MESH_GROUPS_MAX */
	size_t n_groups;
	const char *const *routes; /* subnet routes the member may advertise */
	size_t n_routes;	   /* at most MG_CERT_ROUTES_MAX */
	uint64_t now;
	bool issuer_only; /* sign with the issuer key even where the authority's is */
};

/* Makes an invitation in an open, locked state (the daemon's): the record,
 * then the token text in out. *dropped: endpoints that did not fit in the
 * token (or past MG_TOKEN_ENDPOINTS_MAX). -EINVAL (parameter), -EPERM (no
 * authority or issuer key here), -EADDRNOTAVAIL (no endpoint at all),
 * -ENOLCK (st not locked), state errors. */
int mg_mesh_admin_invite_locked(struct mg_state *st, const struct mg_mesh_invite_params *p,
				const struct mg_token_endpoint *extra, size_t n_extra,
				char out[MG_TOKEN_TEXT_MAX + 1], size_t *dropped, char *err,
				size_t errlen) __attribute__((warn_unused_result));
/* The same standalone: opens and locks dir for the transaction
 * (-EWOULDBLOCK when a daemon holds it: ask the daemon instead). */
int mg_mesh_admin_invite(const char *dir, const struct mg_mesh_invite_params *p,
			 const struct mg_token_endpoint *extra, size_t n_extra,
			 char out[MG_TOKEN_TEXT_MAX + 1], size_t *dropped, char *err, size_t errlen)
	__attribute__((warn_unused_result));

#endif
