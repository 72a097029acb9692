/* What a new member receives when the inviter admits it: the payload of the
 * join exchange's RESULT (join.h), sealed there. Enough to start: the mesh's
 * name and prefixes, the new member's certificate and the items it needs to
 * reach the inviter; gossip brings the rest of the directory once the new
 * member runs.
 *
 * Format, version 1 (big-endian; at most MG_JOIN_PAYLOAD_MAX bytes):
 *
 *   off  len  field
 *     0    1  format version = 1
 *     1  1+n  mesh name (mesh.h string)
 *        2+.. IPv4 prefix, IPv6 prefix (mesh.h prefix encoding)
 *          1  item count, 1..16
 *        2+n  each: length, a directory item (directory.h). The first is
 *             the new member's certificate; then the signer's issuer
 *             certificate, the inviter's certificate and its announcement,
 *             then what else fits.
 * Nothing may follow. Items are verified by the directory that loads them. */
#ifndef MG_MESH_BOOTSTRAP_H
#define MG_MESH_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#include "mesh/mesh.h"
#include "util/ipaddr.h"

#define MG_BOOTSTRAP_VERSION   1
#define MG_BOOTSTRAP_ITEMS_MAX 16

struct mg_bootstrap {
	char mesh_name[MG_MESH_NAME_MAX + 1];
	struct mg_prefix prefix4, prefix6;
	uint8_t n_items;
	const uint8_t *items[MG_BOOTSTRAP_ITEMS_MAX]; /* into the decoded buffer */
	uint16_t item_len[MG_BOOTSTRAP_ITEMS_MAX];
};

struct mg_bootstrap_writer {
	struct mg_mesh_buf b;
	uint8_t *count;
};

/* Starts a payload in out[cap] with the mesh fields; items follow with
 * mg_bootstrap_add; the length written is cap - w->b.left. */
void mg_bootstrap_start(struct mg_bootstrap_writer *w, uint8_t *out, size_t cap,
			const char *mesh_name, const struct mg_prefix *p4,
			const struct mg_prefix *p6);
/* Appends one item if it fits: 0, or -MG_MESH_ETOOBIG and w unchanged. */
int mg_bootstrap_add(struct mg_bootstrap_writer *w, const uint8_t *item, size_t len);
/* Strict: 0, -MG_MESH_EVERSION, -MG_MESH_EMALFORMED. The items point into in. */
int mg_bootstrap_decode(struct mg_bootstrap *bs, const uint8_t *in, size_t len)
	__attribute__((warn_unused_result));

#endif
