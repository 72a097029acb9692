/* Cryptokey routing: which peer owns an inner IP address. A longest-prefix
 * match over IPv4 and IPv6 prefixes, each owned by exactly one peer.
 *
 * The table never dereferences a struct mg_peer; it stores the pointer as an
 * opaque key. Whoever frees a peer must first call
 * mg_allowedips_remove_by_peer, or lookups return a dangling pointer.
 *
 * Not thread-safe: the loop thread owns the table. Lookups only read, so
 * concurrent lookups are fine as long as nothing modifies the table. */
#ifndef MG_PEER_ALLOWEDIPS_H
#define MG_PEER_ALLOWEDIPS_H

#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

struct mg_peer;
struct mg_allowedips_node;
struct mg_allowedips_owner;

/* Embed in the owner and set up with mg_allowedips_init. Fields are private. */
struct mg_allowedips {
	struct mg_allowedips_node *root4;
	struct mg_allowedips_node *root6;
	/* Open-addressing hash from peer to its nodes, for remove_by_peer and
	 * walk_by_peer without scanning the trie. */
	struct mg_allowedips_owner *owners;
	size_t owners_cap; /* a power of two, or 0 */
	size_t owners_len;
	size_t count; /* prefixes that have a peer */
	/* Nodes come from 4 KiB slabs, one cache line each; freed nodes are
	 * reused but slabs go back to the heap only in mg_allowedips_free. */
	struct mg_allowedips_node *spare; /* free nodes, linked through bit[0] */
	void *slabs;			  /* linked through each one's first word */
};

void mg_allowedips_init(struct mg_allowedips *t);
/* Frees all memory; the table is empty and reusable afterwards. */
void mg_allowedips_free(struct mg_allowedips *t);

/* Routes p (host bits ignored) to peer. An existing prefix moves to peer and
 * becomes the last in its walk order, as in wireguard-go and Linux.
 * 0, -EINVAL (bad family or cidr) or -ENOMEM (the table is unchanged). */
int mg_allowedips_insert(struct mg_allowedips *t, const struct mg_prefix *p, struct mg_peer *peer);
/* Removes p only if peer owns it. 0, -EINVAL or -ENOENT. */
int mg_allowedips_remove(struct mg_allowedips *t, const struct mg_prefix *p, struct mg_peer *peer);
/* Removes every prefix of peer, in time proportional to their number. */
void mg_allowedips_remove_by_peer(struct mg_allowedips *t, struct mg_peer *peer);

/* The peer owning the longest prefix containing addr (4 bytes for AF_INET,
 * 16 for AF_INET6, network order), or NULL. Borrowed: valid until the peer's
 * prefixes are removed. No allocation, no locks: the per-packet path. */
struct mg_peer *mg_allowedips_lookup(const struct mg_allowedips *t, int family,
				     const uint8_t *addr);

/* Calls cb for each prefix of peer in the order they were inserted (the order
 * `wg show` prints them). Stops at, and returns, cb's first non-zero value.
 * cb must not modify the table. */
int mg_allowedips_walk_by_peer(const struct mg_allowedips *t, const struct mg_peer *peer,
			       int (*cb)(void *ctx, const struct mg_prefix *p), void *ctx);

/* Number of prefixes in the table. */
size_t mg_allowedips_count(const struct mg_allowedips *t);

#endif
