/* Subnet routes (issue 12): LAN prefixes behind members, as in site-to-site
 * meshes. A member's certificate says which prefixes it may advertise
 * (`invite --routes`); its announcement says which it forwards to now (`up
 * --advertise`; directory.h). Every other member sends traffic for such a
 * prefix to one gateway:
 *   - the live gateways of a prefix are the members announcing it whose
 *     path (path.h) is direct or relayed;
 *   - of those, one reached directly wins over one reached through a relay
 *     (a member whose direct path just died is put on a relay before
 *     anyone knows whether it is there at all), then the smallest member
 *     key, so that members pick alike and replies come back the same way;
 *   - when it dies (its path is lost: about two seconds while traffic
 *     flows) the next one takes the prefix over at the next sync.
 * Carrying a prefix means: the prefix is in that gateway's WireGuard allowed
 * IPs (cryptokey routing: inserting it for another peer moves it), and a
 * route for it points into the mesh interface (main table; removed with the
 * last gateway). A prefix that overlaps one of this host's own subnets (we
 * are on that LAN, or a gateway of it ourselves) is left alone.
 *
 * The gateway's side, forwarding and masquerading into its LAN, is the
 * node's (node_gateway.c): the mesh only decides. */
#ifndef MG_MESH_SUBNET_H
#define MG_MESH_SUBNET_H

#include <stdbool.h>
#include <stddef.h>

#include "mesh/directory.h"
#include "mesh/path.h"
#include "tunnel/device.h"
#include "tunnel/netlink.h"
#include "util/log.h"

#define MG_SUBNETS_MAX 64

struct mg_subnet {
	struct mg_prefix prefix;
	uint8_t gateway[MG_ED25519_PUB_LEN];
	bool has_gateway; /* carried now by that member's peer */
	bool routed;	  /* the kernel route is in place */
	bool seen;	  /* still advertised at this sync */
};

struct mg_subnets {
	struct mg_subnet v[MG_SUBNETS_MAX];
	size_t n;
	unsigned ifindex; /* 0: no kernel routes (no TUN of ours) */
	struct mg_netlink nl;
	bool nl_open;
	const struct mg_log *log;
};

void mg_subnets_init(struct mg_subnets *s, unsigned ifindex, const struct mg_log *log);
/* Deletes the kernel routes it added; the peers are the device's. */
void mg_subnets_free(struct mg_subnets *s);
/* Brings allowed IPs and routes in line with the directory and the paths.
 * self: our member key (our own announcements are not routes for us). */
void mg_subnets_sync(struct mg_subnets *s, const struct mg_directory *d, const struct mg_paths *ps,
		     struct mg_device *dev, const uint8_t self[MG_ED25519_PUB_LEN]);
/* The member's peer lost its allowed IPs (renewed, re-added): what it
 * carried is put back at the next sync. */
void mg_subnets_peer_reset(struct mg_subnets *s, const uint8_t key[MG_ED25519_PUB_LEN]);
/* The gateway that carries the prefix containing addr, for status; NULL. */
const struct mg_subnet *mg_subnets_find(const struct mg_subnets *s, const struct mg_prefix *p);

#endif
