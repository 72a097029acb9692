/* Candidate endpoints: the rules of candidate.h, and this host's addresses
 * with their links (getifaddrs for the addresses, an rtnetlink link dump
 * for what each link is). */
#include "mesh/candidate.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "tunnel/netlink.h"
#include "util/macros.h"

#ifndef ARPHRD_IP6GRE
#define ARPHRD_IP6GRE 823 /* linux/if_arp.h; glibc's net/if_arp.h lacks it */
#endif

const char *mg_cand_verdict_name(enum mg_cand_verdict v)
{
	static const char *const names[] = {
		[MG_CAND_OK] = "ok",
		[MG_CAND_UNUSABLE] = "unusable",
		[MG_CAND_LOOPBACK] = "loopback",
		[MG_CAND_LINK_LOCAL] = "link-local",
		[MG_CAND_MESH] = "inside a mesh prefix",
		[MG_CAND_TUNNEL] = "a tunnel's",
		[MG_CAND_DOWN] = "down",
	};

	return (unsigned)v < ARRAY_SIZE(names) ? names[v] : "?";
}

static enum mg_cand_verdict check4(const uint8_t a[4])
{
	if (a[0] == 127)
		return MG_CAND_LOOPBACK;
	if (a[0] == 169 && a[1] == 254)
		return MG_CAND_LINK_LOCAL;
	if (a[0] == 0 || a[0] >= 224) /* this network, multicast, reserved, broadcast */
		return MG_CAND_UNUSABLE;
	return MG_CAND_OK;
}

static enum mg_cand_verdict check6(const uint8_t a[16])
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t zero[15];

	if (!memcmp(a, zero, 15) && a[15] == 1)
		return MG_CAND_LOOPBACK;
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return MG_CAND_LINK_LOCAL;
	/* Unspecified, multicast, and v4-mapped: our IPv6 socket is
	 * IPv6-only. */
	if ((!memcmp(a, zero, 15) && a[15] == 0) || a[0] == 0xff || !memcmp(a, mapped, 12))
		return MG_CAND_UNUSABLE;
	return MG_CAND_OK;
}

/* addr (16 bytes, v4 in the first 4) lies inside p. */
static bool inside(const struct mg_prefix *p, int family, const uint8_t *addr)
{
	unsigned full = p->cidr / 8, rest = p->cidr % 8;

	if (p->family != family || p->cidr > (family == AF_INET ? 32 : 128))
		return false;
	if (memcmp(p->addr, addr, full) != 0)
		return false;
	return rest == 0 || ((p->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

enum mg_cand_verdict mg_cand_check(const struct mg_endpoint *ep, const struct mg_prefix *routed,
				   size_t n_routed)
{
	uint8_t addr[16] = { 0 };
	enum mg_cand_verdict v;
	int family = ep->sa.sa_family;

	if (family == AF_INET) {
		memcpy(addr, &ep->in4.sin_addr, 4);
		v = check4(addr);
	} else if (family == AF_INET6) {
		memcpy(addr, &ep->in6.sin6_addr, 16);
		v = check6(addr);
	} else {
		return MG_CAND_UNUSABLE;
	}
	for (size_t i = 0; v == MG_CAND_OK && i < n_routed; i++)
		if (inside(&routed[i], family, addr))
			v = MG_CAND_MESH;
	return v;
}

bool mg_cand_tunnel_link(const char *kind, unsigned short type, unsigned int flags)
{
	static const char *const kinds[] = { MG_CAND_TUNNEL_KINDS };

	for (size_t i = 0; kind && i < ARRAY_SIZE(kinds); i++)
		if (!strcmp(kind, kinds[i]))
			return true;
	switch (type) {
	case ARPHRD_NONE:
	case ARPHRD_TUNNEL:
	case ARPHRD_TUNNEL6:
	case ARPHRD_SIT:
	case ARPHRD_IPGRE:
	case ARPHRD_IP6GRE:
		return true;
	case ARPHRD_PPP:
		return false;
	default:
		return (flags & IFF_POINTOPOINT) != 0;
	}
}

enum mg_cand_verdict mg_cand_check_local(const struct mg_cand_addr *a,
					 const struct mg_prefix *routed, size_t n_routed)
{
	if (!(a->flags & IFF_UP))
		return MG_CAND_DOWN;
	if (a->flags & IFF_LOOPBACK)
		return MG_CAND_LOOPBACK;
	if (mg_cand_tunnel_link(a->kind, a->type, a->flags))
		return MG_CAND_TUNNEL;
	return mg_cand_check(&a->ep, routed, n_routed);
}

static size_t add(struct mg_endpoint *out, size_t n, size_t cap, const struct mg_endpoint *ep)
{
	for (size_t i = 0; i < n; i++)
		if (mg_endpoint_equal_remote(&out[i], ep))
			return n;
	if (n < cap)
		out[n++] = *ep;
	return n;
}

size_t mg_cand_select(const struct mg_cand_addr *a, size_t n, uint16_t port,
		      const struct mg_prefix *routed, size_t n_routed, struct mg_endpoint *out,
		      size_t cap)
{
	static const int families[] = { AF_INET, AF_INET6 };
	size_t n_out = 0;

	for (size_t f = 0; f < ARRAY_SIZE(families); f++) {
		for (size_t i = 0; i < n; i++) {
			struct mg_endpoint ep = a[i].ep;

			if (ep.sa.sa_family != families[f] ||
			    mg_cand_check_local(&a[i], routed, n_routed) != MG_CAND_OK)
				continue;
			memset(&ep.local, 0, sizeof(ep.local));
			if (ep.sa.sa_family == AF_INET)
				ep.in4.sin_port = htons(port);
			else
				ep.in6.sin6_port = htons(port);
			n_out = add(out, n_out, cap, &ep);
		}
	}
	return n_out;
}

/* ---- this host ---- */

struct links {
	struct mg_cand_addr *a;
	size_t n;
};

/* The link's name matches the address's interface, an IPv4 label
 * ("eth0:1") included. */
static bool same_link(const char *ifname, const char *link)
{
	size_t len = strcspn(ifname, ":");

	return strlen(link) == len && !strncmp(ifname, link, len);
}

static void take_link(const struct mg_netlink_link *l, void *ctx)
{
	struct links *s = ctx;

	for (size_t i = 0; i < s->n; i++) {
		if (!same_link(s->a[i].ifname, l->name))
			continue;
		snprintf(s->a[i].kind, sizeof(s->a[i].kind), "%s", l->kind);
		s->a[i].type = l->type;
		s->a[i].flags = l->flags;
	}
}

/* Fills in what each address's link is. Without rtnetlink the addresses
 * keep getifaddrs' flags, which still show point-to-point links. */
static void describe_links(struct mg_cand_addr *a, size_t n)
{
	struct links s = { a, n };
	struct mg_netlink nl;

	if (mg_netlink_open(&nl) < 0)
		return;
	(void)mg_netlink_link_dump(&nl, take_link, &s);
	mg_netlink_close(&nl);
}

int mg_cand_local(struct mg_cand_addr *out, size_t cap, size_t *n)
{
	struct ifaddrs *ifa, *i;

	*n = 0;
	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i && *n < cap; i = i->ifa_next) {
		struct mg_cand_addr *a = &out[*n];
		int family = i->ifa_addr ? i->ifa_addr->sa_family : AF_UNSPEC;

		if (family != AF_INET && family != AF_INET6)
			continue;
		memset(a, 0, sizeof(*a));
		memcpy(&a->ep.sa, i->ifa_addr,
		       family == AF_INET ? sizeof(a->ep.in4) : sizeof(a->ep.in6));
		snprintf(a->ifname, sizeof(a->ifname), "%s", i->ifa_name ? i->ifa_name : "");
		a->type = ARPHRD_VOID;
		a->flags = i->ifa_flags;
		(*n)++;
	}
	freeifaddrs(ifa);
	describe_links(out, *n);
	return 0;
}

int mg_cand_local_endpoints(uint16_t port, const struct mg_prefix *routed, size_t n_routed,
			    struct mg_endpoint *out, size_t cap, size_t *n)
{
	struct mg_cand_addr a[MG_CAND_LOCAL_MAX];
	size_t n_a;
	int ret = mg_cand_local(a, ARRAY_SIZE(a), &n_a);

	*n = ret < 0 ? 0 : mg_cand_select(a, n_a, port, routed, n_routed, out, cap);
	return ret;
}
