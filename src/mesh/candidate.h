/* Candidate endpoints (issue 12): which endpoints a member announces, and
 * which announced ones another member may send to.
 *
 * A member announces, best first: the mesh's numeric --endpoint values, the
 * endpoint its gateway maps for it (NAT-PMP, PCP or UPnP: reachable from
 * anywhere, whatever the NAT's mapping), the endpoint members see it at
 * (STUN), then its interface addresses, IPv4 first, each with the WireGuard
 * port. Never:
 *   - loopback addresses, or any address of a loopback interface;
 *   - link-local ones (an IPv6 one needs a scope the announcement cannot
 *     carry), unspecified, multicast, broadcast and v4-mapped ones;
 *   - addresses inside a prefix routed into the mesh: the mesh's prefixes
 *     (our own overlay addresses, but also an underlay address that happens
 *     to lie there: a LAN or a carrier-grade NAT inside 100.64.0.0/10) and
 *     other members' subnet routes. A member routes those into its mesh
 *     interface, so a datagram it sent there would enter the tunnel it is
 *     meant to carry: a loop;
 *   - addresses of tunnel interfaces: another WireGuard, a TUN or TAP VPN
 *     (OpenVPN, ZeroTier, another mesh), GRE, IP-in-IP, SIT, VXLAN...
 *     Reaching us through someone else's tunnel is not a path of ours, and
 *     when that tunnel runs over this mesh it loops. A link is a tunnel
 *     when rtnetlink's kind is one of MG_CAND_TUNNEL_KINDS, when its
 *     hardware type is ARPHRD_NONE (TUN, WireGuard) or a tunnel's (IPIP,
 *     SIT, GRE, IPv6 tunnels), or when it is point-to-point (IFF_POINTOPOINT)
 *     and not PPP: a PPP link (DSL) is the host's own uplink, and its address
 *     the one the internet sees.
 * The receiving member checks every candidate again before it sends
 * anything there (mg_cand_check against the prefixes it routes into its
 * mesh interface), so an announcement from an older or a misbehaving member
 * cannot make it loop; the tunnel rule is the announcer's alone (it is
 * about the announcer's interfaces). */
#ifndef MG_MESH_CANDIDATE_H
#define MG_MESH_CANDIDATE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

#define MG_CAND_LOCAL_MAX 64 /* interface addresses looked at */
/* Link kinds (IFLA_INFO_KIND) that are tunnels: "tun" covers TUN and TAP. */
#define MG_CAND_TUNNEL_KINDS                                                                 \
	"wireguard", "tun", "gre", "gretap", "ip6gre", "ip6gretap", "ipip", "sit", "ip6tnl", \
		"vti", "vti6", "xfrm", "vxlan", "geneve", "erspan", "ip6erspan", "bareudp"

enum mg_cand_verdict {
	MG_CAND_OK = 0,
	MG_CAND_UNUSABLE,   /* unspecified, multicast, broadcast, v4-mapped, no family */
	MG_CAND_LOOPBACK,   /* a loopback address, or on a loopback interface */
	MG_CAND_LINK_LOCAL, /* 169.254.0.0/16, fe80::/10 */
	MG_CAND_MESH,	    /* inside a prefix routed into the mesh */
	MG_CAND_TUNNEL,	    /* an address of a tunnel interface */
	MG_CAND_DOWN,	    /* its interface is down */
};

/* "ok", "unusable", "loopback", "link-local", "inside a mesh prefix",
 * "a tunnel's", "down". */
const char *mg_cand_verdict_name(enum mg_cand_verdict v);

/* The address checks (port ignored), for every candidate, ours or
 * announced: routed[0..n_routed) are the prefixes routed into the mesh. */
enum mg_cand_verdict mg_cand_check(const struct mg_endpoint *ep, const struct mg_prefix *routed,
				   size_t n_routed);

/* Whether a link is a tunnel (see above). kind: rtnetlink's, "" when none;
 * type: ARPHRD_*; flags: IFF_*. */
bool mg_cand_tunnel_link(const char *kind, unsigned short type, unsigned int flags);

/* One address of this host and its link. */
struct mg_cand_addr {
	struct mg_endpoint ep; /* the address, port 0 */
	char ifname[IFNAMSIZ];
	char kind[16];	     /* "" when unknown */
	unsigned short type; /* ARPHRD_*; ARPHRD_VOID when unknown */
	unsigned int flags;  /* IFF_* */
};

/* The verdict on one of our addresses: the link rules, then mg_cand_check. */
enum mg_cand_verdict mg_cand_check_local(const struct mg_cand_addr *a,
					 const struct mg_prefix *routed, size_t n_routed);

/* The addresses of a[0..n) that pass mg_cand_check_local, IPv4 first,
 * without repeats, with port: up to cap into out; their number. */
size_t mg_cand_select(const struct mg_cand_addr *a, size_t n, uint16_t port,
		      const struct mg_prefix *routed, size_t n_routed, struct mg_endpoint *out,
		      size_t cap);

/* Every address of this host (getifaddrs) with its link's kind, type and
 * flags (an rtnetlink link dump; when that fails, flags from getifaddrs
 * and no kind or type): up to cap into out, *n set. 0, or getifaddrs'
 * -errno. */
int mg_cand_local(struct mg_cand_addr *out, size_t cap, size_t *n);

/* mg_cand_local then mg_cand_select. */
int mg_cand_local_endpoints(uint16_t port, const struct mg_prefix *routed, size_t n_routed,
			    struct mg_endpoint *out, size_t cap, size_t *n);

#endif
