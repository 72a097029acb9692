/* What `meshguard up` does to the kernel's network configuration, and undoes
 * on exit, all through rtnetlink: MTU, addresses, link up, a route per
 * allowed IP, and for a default route wg-quick's fwmark policy rules. */
#ifndef MG_CLI_IFACE_H
#define MG_CLI_IFACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/wgquick.h"
#include "tunnel/netlink.h"

#define MG_IFACE_MAX_RULES 4

struct mg_iface {
	struct mg_netlink nl;
	unsigned int ifindex;
	uint32_t mtu;
	/* The mark for the tunnel's own UDP when a default route goes into the
	 * tunnel (0: none needed). */
	uint32_t fwmark;
	struct mg_netlink_rule rules[MG_IFACE_MAX_RULES];
	unsigned rule_count;
};

/* Applies c to the interface ifname; with c NULL only the default MTU, as
 * wireguard-go does. On failure writes what failed to err and undoes what it
 * did. */
int mg_iface_configure(struct mg_iface *i, const char *ifname, const struct mg_config *c, char *err,
		       size_t errlen);
/* Removes the policy rules and the link. */
void mg_iface_teardown(struct mg_iface *i);

#endif
