/* Interface, address, route and policy-rule configuration over rtnetlink:
 * the steps wg-quick performs with ip(8), without running it.
 *
 * Every request waits for the kernel's acknowledgement and returns 0 or the
 * kernel's -errno. Adds are exclusive (-EEXIST when already present) so that a
 * caller can record each successful add and, on exit, delete exactly those
 * with the same arguments or struct; a delete of something absent fails
 * (-ENODEV, -EADDRNOTAVAIL, -ESRCH, -ENOENT) without touching anything else.
 * Changing anything needs CAP_NET_ADMIN in the network namespace. */
#ifndef MG_TUNNEL_NETLINK_H
#define MG_TUNNEL_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "util/ipaddr.h"

/* One NETLINK_ROUTE socket. Requests on one handle must not run concurrently. */
struct mg_netlink {
	int fd;
	uint32_t seq;
};

int mg_netlink_open(struct mg_netlink *nl);
void mg_netlink_close(struct mg_netlink *nl);

int mg_netlink_link_set_up(struct mg_netlink *nl, unsigned int ifindex, bool up);
int mg_netlink_link_set_mtu(struct mg_netlink *nl, unsigned int ifindex, uint32_t mtu);
int mg_netlink_link_delete(struct mg_netlink *nl, unsigned int ifindex);

/* What the kernel says about a link (RTM_NEWLINK); mtu is 0 and name and
 * kind are "" when absent. */
struct mg_netlink_link {
	unsigned int ifindex;
	uint32_t mtu;
	unsigned short type; /* ARPHRD_* */
	unsigned int flags;  /* IFF_* */
	char name[16];	     /* IFNAMSIZ */
	char kind[16];	     /* IFLA_INFO_KIND: "veth", "tun", "wireguard"... */
};

/* "ip link show dev IFINDEX": the link as it is now. -ENODEV when gone. */
int mg_netlink_link_get(struct mg_netlink *nl, unsigned int ifindex, struct mg_netlink_link *out);

/* Opens nl to listen for link changes (RTMGRP_LINK) of its network
 * namespace, non-blocking, for an event loop to poll nl->fd. Make no requests
 * on it: their answers would be mixed with the notifications. */
int mg_netlink_open_link_events(struct mg_netlink *nl);

typedef void (*mg_netlink_link_fn)(const struct mg_netlink_link *link, void *ctx);

/* "ip link show": every link of the namespace, to fn (link valid during the
 * call), on a request handle. 0 or -errno. */
int mg_netlink_link_dump(struct mg_netlink *nl, mg_netlink_link_fn fn, void *ctx);

/* Hands every queued RTM_NEWLINK notification to fn, without blocking; link is
 * valid only during the call. 0 once drained. -ENOBUFS when the socket's
 * buffer overflowed and notifications were lost: the caller re-reads what it
 * follows with mg_netlink_link_get (on another handle) and calls this again. */
int mg_netlink_link_events(struct mg_netlink *nl, mg_netlink_link_fn fn, void *ctx);

/* Opens nl to listen for address and route changes (IPv4 and IPv6) of its
 * network namespace, non-blocking, for an event loop to poll nl->fd. */
int mg_netlink_open_addr_events(struct mg_netlink *nl);
/* Drains the queued notifications without blocking; *changed is true when
 * one was about an interface other than ignore_ifindex (0: none ignored),
 * or when some were lost (-ENOBUFS). 0 once drained. */
int mg_netlink_addr_events(struct mg_netlink *nl, unsigned int ignore_ifindex, bool *changed);

/* p's address is the interface's own, p's cidr the on-link prefix (as in
 * "ip addr add 10.0.0.1/24"). IPv6 addresses skip duplicate address detection,
 * so they are usable as soon as the call returns. */
int mg_netlink_addr_add(struct mg_netlink *nl, unsigned int ifindex, const struct mg_prefix *p);
int mg_netlink_addr_delete(struct mg_netlink *nl, unsigned int ifindex, const struct mg_prefix *p);

/* "ip route add DST dev IFINDEX table TABLE": a directly connected route. */
struct mg_netlink_route {
	struct mg_prefix dst;
	unsigned int ifindex;
	uint32_t table; /* 0: the main table */
};

int mg_netlink_route_add(struct mg_netlink *nl, const struct mg_netlink_route *r);
int mg_netlink_route_delete(struct mg_netlink *nl, const struct mg_netlink_route *r);

/* Asks the kernel which interface a packet to dst (port ignored) carrying
 * fwmark (0: none) leaves through, as "ip route get DST mark M" does; used to
 * check that endpoints are not routed into the tunnel itself. -ENETUNREACH
 * when no route matches. */
int mg_netlink_route_lookup(struct mg_netlink *nl, const struct mg_endpoint *dst, uint32_t fwmark,
			    unsigned int *ifindex_out);

/* The two rules wg-quick adds per family when a peer's allowed IPs include a
 * default route, with the tunnel's default route placed in table T and its
 * UDP socket marked M:
 *   "not fwmark M lookup T": everything except the tunnel's own UDP uses T;
 *   "lookup main suppress_prefixlength 0": but more specific routes in main
 *   (the LAN, other VPNs) still win over the tunnel's default route. */
enum mg_netlink_rule_kind {
	MG_NETLINK_RULE_NOT_FWMARK,
	MG_NETLINK_RULE_SUPPRESS_DEFAULT,
};

struct mg_netlink_rule {
	uint8_t family; /* AF_INET or AF_INET6 */
	enum mg_netlink_rule_kind kind;
	uint32_t fwmark;   /* NOT_FWMARK only */
	uint32_t table;	   /* NOT_FWMARK only; SUPPRESS_DEFAULT looks up main */
	uint32_t priority; /* 0 on add: the kernel picks, as for wg-quick */
};

/* When r->priority is 0 the kernel picks one less than the priority of the
 * first rule after "lookup local" (32765, then 32764, ...), as for "ip rule
 * add" without "priority"; the choice is written back to r so that the delete
 * matches this rule and not an identical one added by someone else. */
int mg_netlink_rule_add(struct mg_netlink *nl, struct mg_netlink_rule *r);
int mg_netlink_rule_delete(struct mg_netlink *nl, const struct mg_netlink_rule *r);

#endif
