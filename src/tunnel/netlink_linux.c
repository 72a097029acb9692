/* Linux back-end of netlink.h: hand-built rtnetlink requests on a raw
 * NETLINK_ROUTE socket, one request in flight at a time. */
#include "tunnel/netlink.h"
#include "tunnel/broker.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

/* The largest request here is a header and four small attributes. */
#define REQUEST_SIZE 256
/* Answers are acks, single route or rule messages, and the datagrams of a
 * link dump, which the kernel sizes after the buffers we read with (at
 * most this, the largest we ever pass). */
#define REPLY_SIZE 8192

struct request {
	union {
		struct nlmsghdr nh;
		char buf[REQUEST_SIZE];
	};
	/* An attribute did not fit: transact refuses the request rather than
	 * send it truncated. Cannot happen with today's requests. */
	bool overflow;
};

static int open_socket(struct mg_netlink *nl, int flags, uint32_t groups)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = groups };
	int fd, ret, one = 1;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | flags, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	/* Error replies then carry only the failed request's header. */
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	nl->fd = fd;
	nl->seq = 0;
	return 0;
}

int mg_netlink_open(struct mg_netlink *nl)
{
	return open_socket(nl, 0, 0);
}

int mg_netlink_open_link_events(struct mg_netlink *nl)
{
	return open_socket(nl, SOCK_NONBLOCK, RTMGRP_LINK);
}

void mg_netlink_close(struct mg_netlink *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
}

/* Starts a request of the given type that the kernel must acknowledge and
 * returns its zeroed family header of hdrlen bytes. */
static void *start(struct request *r, uint16_t type, uint16_t flags, size_t hdrlen)
{
	memset(r, 0, sizeof(*r));
	r->nh.nlmsg_len = NLMSG_LENGTH(hdrlen);
	r->nh.nlmsg_type = type;
	r->nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	return NLMSG_DATA(&r->nh);
}

static void put(struct request *r, uint16_t type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(r->nh.nlmsg_len);
	struct rtattr *rta = (struct rtattr *)(r->buf + off);

	if (r->overflow || off + RTA_SPACE(len) > sizeof(r->buf)) {
		r->overflow = true;
		return;
	}
	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	r->nh.nlmsg_len = off + RTA_LENGTH(len);
}

static void put_u32(struct request *r, uint16_t type, uint32_t v)
{
	put(r, type, &v, sizeof(v));
}

/* Finds a 32-bit attribute in a message whose family header is hdrlen bytes. */
static bool find_u32(const struct nlmsghdr *nh, size_t hdrlen, uint16_t type, uint32_t *out)
{
	const struct rtattr *rta =
		(const void *)((const char *)NLMSG_DATA(nh) + NLMSG_ALIGN(hdrlen));
	int len = (int)nh->nlmsg_len - (int)NLMSG_SPACE(hdrlen);

	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if ((rta->rta_type & NLA_TYPE_MASK) == type && RTA_PAYLOAD(rta) == sizeof(*out)) {
			memcpy(out, RTA_DATA(rta), sizeof(*out));
			return true;
		}
	}
	return false;
}

static int ack_error(const struct nlmsghdr *nh)
{
	const struct nlmsgerr *e = NLMSG_DATA(nh);

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)) || e->error > 0)
		return -EPROTO;
	return e->error;
}

/* Reads one datagram and hands each message of it to each, which returns 1
 * to go on or a value to return. Returns 1 once all were handed over (or
 * the datagram was not the kernel's: a local process could otherwise forge
 * an ack or a notification), -EMSGSIZE when it was too big to read whole,
 * -EPROTO when malformed, or recvfrom's -errno. */
static int recv_kernel(struct mg_netlink *nl, int flags,
		       int (*each)(const struct nlmsghdr *, void *), void *arg)
{
	union {
		struct nlmsghdr nh;
		char buf[REPLY_SIZE];
	} u;
	struct sockaddr_nl from;
	socklen_t fromlen = sizeof(from);
	ssize_t n = recvfrom(nl->fd, u.buf, sizeof(u.buf), MSG_TRUNC | flags,
			     (struct sockaddr *)&from, &fromlen);

	if (n < 0)
		return -errno;
	if (from.nl_pid != 0)
		return 1;
	if ((size_t)n > sizeof(u.buf))
		return -EMSGSIZE;
	/* NLMSG_OK/NLMSG_NEXT compare signed with unsigned; walk by hand. */
	for (size_t off = 0; off + sizeof(struct nlmsghdr) <= (size_t)n;) {
		const struct nlmsghdr *nh = (const void *)(u.buf + off);
		int ret;

		if (nh->nlmsg_len < sizeof(*nh) || nh->nlmsg_len > (size_t)n - off)
			return -EPROTO;
		ret = each(nh, arg);
		if (ret != 1)
			return ret;
		off += NLMSG_ALIGN(nh->nlmsg_len);
	}
	return 1;
}

struct awaited {
	uint32_t seq;
	void (*on_reply)(const struct nlmsghdr *, void *);
	void *arg;
};

/* The ack of the awaited request ends the wait with its 0 or -errno; the
 * answers before it go to on_reply. */
static int take_answer(const struct nlmsghdr *nh, void *arg)
{
	struct awaited *w = arg;

	if (nh->nlmsg_seq != w->seq)
		return 1;
	if (nh->nlmsg_type == NLMSG_ERROR)
		return ack_error(nh);
	if (nh->nlmsg_type == NLMSG_DONE) /* a dump ends here, without an ack */
		return 0;
	if (w->on_reply)
		w->on_reply(nh, w->arg);
	return 1;
}

/* Sends r and waits for its ack; answers that come before the ack (a route
 * lookup's result, an NLM_F_ECHO copy) go to on_reply when it is set. */
static int transact(struct mg_netlink *nl, struct request *r,
		    void (*on_reply)(const struct nlmsghdr *, void *), void *arg)
{
	struct awaited w = { 0, on_reply, arg };
	int ret;

	if (r->overflow)
		return -EMSGSIZE;
	w.seq = r->nh.nlmsg_seq = ++nl->seq;
	while (send(nl->fd, r->buf, r->nh.nlmsg_len, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	do {
		ret = recv_kernel(nl, 0, take_answer, &w);
	} while (ret == 1 || ret == -EINTR);
	return ret;
}

static size_t addr_len(uint8_t family)
{
	switch (family) {
	case AF_INET:
		return 4;
	case AF_INET6:
		return 16;
	default:
		return 0;
	}
}

static int check_prefix(const struct mg_prefix *p)
{
	if (!addr_len(p->family))
		return -EAFNOSUPPORT;
	if (p->cidr > addr_len(p->family) * 8)
		return -EINVAL;
	return 0;
}

static int set_link(struct mg_netlink *nl, unsigned int ifindex, unsigned int flags,
		    unsigned int change, uint32_t mtu)
{
	struct request r;
	struct ifinfomsg *ifi = start(&r, RTM_NEWLINK, 0, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	ifi->ifi_flags = flags;
	ifi->ifi_change = change;
	if (mtu)
		put_u32(&r, IFLA_MTU, mtu);
	return transact(nl, &r, NULL, NULL);
}

int mg_netlink_link_set_up(struct mg_netlink *nl, unsigned int ifindex, bool up)
{
	if (mg_broker_active())
		return up ? mg_broker_link(MG_BROKER_LINK_UP, ifindex, 0) : -EPERM;
	return set_link(nl, ifindex, up ? IFF_UP : 0, IFF_UP, 0);
}

int mg_netlink_link_set_mtu(struct mg_netlink *nl, unsigned int ifindex, uint32_t mtu)
{
	if (mg_broker_active())
		return mg_broker_link(MG_BROKER_LINK_MTU, ifindex, mtu);
	if (mtu == 0)
		return -EINVAL;
	return set_link(nl, ifindex, 0, 0, mtu);
}

int mg_netlink_link_delete(struct mg_netlink *nl, unsigned int ifindex)
{
	if (mg_broker_active())
		return mg_broker_link(MG_BROKER_LINK_DELETE, ifindex, 0);
	struct request r;
	struct ifinfomsg *ifi = start(&r, RTM_DELLINK, 0, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	return transact(nl, &r, NULL, NULL);
}

/* A string attribute into out[size], cut and terminated. */
static void copy_string(char *out, size_t size, const struct rtattr *rta)
{
	size_t len = RTA_PAYLOAD(rta);

	if (len >= size)
		len = size - 1;
	memcpy(out, RTA_DATA(rta), len);
	out[len] = '\0';
}

/* IFLA_INFO_KIND inside IFLA_LINKINFO. */
static void find_kind(const struct rtattr *info, char *out, size_t size)
{
	const struct rtattr *rta = RTA_DATA(info);
	int len = (int)RTA_PAYLOAD(info);

	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if ((rta->rta_type & NLA_TYPE_MASK) == IFLA_INFO_KIND)
			copy_string(out, size, rta);
}

/* Fills out from an RTM_NEWLINK message; false for any other message. */
static bool parse_link(const struct nlmsghdr *nh, struct mg_netlink_link *out)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	const struct rtattr *rta;
	int len;

	if (nh->nlmsg_type != RTM_NEWLINK || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return false;
	memset(out, 0, sizeof(*out));
	out->ifindex = (unsigned int)ifi->ifi_index;
	out->type = ifi->ifi_type;
	out->flags = ifi->ifi_flags;
	rta = (const void *)((const char *)ifi + NLMSG_ALIGN(sizeof(*ifi)));
	len = (int)nh->nlmsg_len - (int)NLMSG_SPACE(sizeof(*ifi));
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		switch (rta->rta_type & NLA_TYPE_MASK) {
		case IFLA_MTU:
			if (RTA_PAYLOAD(rta) == sizeof(out->mtu))
				memcpy(&out->mtu, RTA_DATA(rta), sizeof(out->mtu));
			break;
		case IFLA_IFNAME:
			copy_string(out->name, sizeof(out->name), rta);
			break;
		case IFLA_LINKINFO:
			find_kind(rta, out->kind, sizeof(out->kind));
			break;
		}
	}
	return true;
}

static void take_link(const struct nlmsghdr *nh, void *arg)
{
	parse_link(nh, arg);
}

int mg_netlink_link_get(struct mg_netlink *nl, unsigned int ifindex, struct mg_netlink_link *out)
{
	struct request r;
	struct ifinfomsg *ifi = start(&r, RTM_GETLINK, 0, sizeof(*ifi));
	int ret;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	/* Without the statistics the answer fits REPLY_SIZE many times. */
	put_u32(&r, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	memset(out, 0, sizeof(*out));
	ret = transact(nl, &r, take_link, out);
	if (ret == 0 && out->ifindex != ifindex)
		ret = -ENODEV;
	return ret;
}

struct link_watch {
	mg_netlink_link_fn fn;
	void *ctx;
};

static void take_dumped_link(const struct nlmsghdr *nh, void *arg)
{
	struct link_watch *w = arg;
	struct mg_netlink_link link;

	if (parse_link(nh, &link))
		w->fn(&link, w->ctx);
}

int mg_netlink_link_dump(struct mg_netlink *nl, mg_netlink_link_fn fn, void *ctx)
{
	struct link_watch w = { fn, ctx };
	struct request r;
	struct ifinfomsg *ifi = start(&r, RTM_GETLINK, NLM_F_DUMP, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	put_u32(&r, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	return transact(nl, &r, take_dumped_link, &w);
}

static int take_link_event(const struct nlmsghdr *nh, void *arg)
{
	struct link_watch *w = arg;
	struct mg_netlink_link link;

	if (parse_link(nh, &link))
		w->fn(&link, w->ctx);
	return 1;
}

int mg_netlink_link_events(struct mg_netlink *nl, mg_netlink_link_fn fn, void *ctx)
{
	struct link_watch w = { fn, ctx };
	int ret;

	do {
		ret = recv_kernel(nl, MSG_DONTWAIT, take_link_event, &w);
	} while (ret == 1 || ret == -EINTR);
	if (ret == -EAGAIN || ret == -EWOULDBLOCK)
		return 0; /* drained */
	/* Too big to read whole: a notification was lost, as in an overflow. */
	return ret == -EMSGSIZE ? -ENOBUFS : ret;
}

int mg_netlink_open_addr_events(struct mg_netlink *nl)
{
	return open_socket(nl, SOCK_NONBLOCK,
			   RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE |
				   RTMGRP_IPV6_ROUTE);
}

struct addr_watch {
	unsigned int ignore;
	bool changed;
};

/* The interface an address or route notification is about (0: unknown). */
static unsigned int event_ifindex(const struct nlmsghdr *nh)
{
	if (nh->nlmsg_type == RTM_NEWADDR || nh->nlmsg_type == RTM_DELADDR) {
		const struct ifaddrmsg *ifa = NLMSG_DATA(nh);

		return nh->nlmsg_len >= NLMSG_LENGTH(sizeof(*ifa)) ? ifa->ifa_index : 0;
	}
	if (nh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg))) {
		const struct rtmsg *rt = NLMSG_DATA(nh);
		int len = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*rt)));

		for (const struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len))
			if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= sizeof(uint32_t))
				return *(const uint32_t *)RTA_DATA(a);
	}
	return 0;
}

static int take_addr_event(const struct nlmsghdr *nh, void *arg)
{
	struct addr_watch *w = arg;
	uint16_t t = nh->nlmsg_type;

	if ((t == RTM_NEWADDR || t == RTM_DELADDR || t == RTM_NEWROUTE || t == RTM_DELROUTE) &&
	    (!w->ignore || event_ifindex(nh) != w->ignore))
		w->changed = true;
	return 1;
}

int mg_netlink_addr_events(struct mg_netlink *nl, unsigned int ignore_ifindex, bool *changed)
{
	struct addr_watch w = { ignore_ifindex, false };
	int ret;

	do {
		ret = recv_kernel(nl, MSG_DONTWAIT, take_addr_event, &w);
	} while (ret == 1 || ret == -EINTR);
	*changed = w.changed;
	if (ret == -EAGAIN || ret == -EWOULDBLOCK)
		return 0;
	/* Lost or too big: something changed that we did not see whole. */
	*changed = true;
	return ret == -EMSGSIZE ? -ENOBUFS : ret;
}

static int change_addr(struct mg_netlink *nl, uint16_t type, uint16_t flags, unsigned int ifindex,
		       const struct mg_prefix *p)
{
	struct request r;
	struct ifaddrmsg *ifa;
	int ret = check_prefix(p);

	if (ret < 0)
		return ret;
	ifa = start(&r, type, flags, sizeof(*ifa));
	ifa->ifa_family = p->family;
	ifa->ifa_prefixlen = p->cidr;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	/* A tunnel has no neighbours to collide with; DAD would only hold the
	 * address back from use for about a second. */
	if (p->family == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
	put(&r, IFA_LOCAL, p->addr, addr_len(p->family));
	put(&r, IFA_ADDRESS, p->addr, addr_len(p->family));
	return transact(nl, &r, NULL, NULL);
}

int mg_netlink_addr_add(struct mg_netlink *nl, unsigned int ifindex, const struct mg_prefix *p)
{
	if (mg_broker_active())
		return mg_broker_addr(MG_BROKER_ADDR_ADD, ifindex, p);
	return change_addr(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, p);
}

int mg_netlink_addr_delete(struct mg_netlink *nl, unsigned int ifindex, const struct mg_prefix *p)
{
	if (mg_broker_active())
		return mg_broker_addr(MG_BROKER_ADDR_DEL, ifindex, p);
	return change_addr(nl, RTM_DELADDR, 0, ifindex, p);
}

/* Adds and deletes send identical attributes (scope, protocol, type, oif,
 * table), so a delete only ever matches the route its add created. */
static int change_route(struct mg_netlink *nl, uint16_t type, uint16_t flags,
			const struct mg_netlink_route *rt)
{
	uint32_t table = rt->table ? rt->table : RT_TABLE_MAIN;
	struct request r;
	struct rtmsg *rtm;
	int ret = check_prefix(&rt->dst);

	if (ret < 0)
		return ret;
	rtm = start(&r, type, flags, sizeof(*rtm));
	rtm->rtm_family = rt->dst.family;
	rtm->rtm_dst_len = rt->dst.cidr;
	rtm->rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	put(&r, RTA_DST, rt->dst.addr, addr_len(rt->dst.family));
	put_u32(&r, RTA_OIF, rt->ifindex);
	put_u32(&r, RTA_TABLE, table);
	return transact(nl, &r, NULL, NULL);
}

int mg_netlink_route_add(struct mg_netlink *nl, const struct mg_netlink_route *r)
{
	if (mg_broker_active())
		return mg_broker_route(MG_BROKER_ROUTE_ADD, r, NULL, 0);
	return change_route(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r);
}

int mg_netlink_route_delete(struct mg_netlink *nl, const struct mg_netlink_route *r)
{
	if (mg_broker_active())
		return mg_broker_route(MG_BROKER_ROUTE_DEL, r, NULL, 0);
	return change_route(nl, RTM_DELROUTE, 0, r);
}

static void take_oif(const struct nlmsghdr *nh, void *arg)
{
	if (nh->nlmsg_type == RTM_NEWROUTE)
		find_u32(nh, sizeof(struct rtmsg), RTA_OIF, arg);
}

int mg_netlink_route_lookup(struct mg_netlink *nl, const struct mg_endpoint *dst, uint32_t fwmark,
			    unsigned int *ifindex_out)
{
	const void *addr = dst->sa.sa_family == AF_INET ? (const void *)&dst->in4.sin_addr
							: (const void *)&dst->in6.sin6_addr;
	size_t alen = addr_len(dst->sa.sa_family);
	uint32_t oif = 0;
	struct request r;
	struct rtmsg *rtm;
	int ret;

	if (!alen)
		return -EAFNOSUPPORT;
	rtm = start(&r, RTM_GETROUTE, 0, sizeof(*rtm));
	rtm->rtm_family = dst->sa.sa_family;
	rtm->rtm_dst_len = alen * 8;
	put(&r, RTA_DST, addr, alen);
	if (fwmark)
		put_u32(&r, RTA_MARK, fwmark);
	ret = transact(nl, &r, take_oif, &oif);
	if (ret == 0 && oif == 0)
		ret = -ENETUNREACH;
	*ifindex_out = oif;
	return ret;
}

/* Matches what "ip rule add" sends for the two rule forms in netlink.h. */
static int change_rule(struct mg_netlink *nl, uint16_t type, uint16_t flags,
		       const struct mg_netlink_rule *rule,
		       void (*on_reply)(const struct nlmsghdr *, void *), void *arg)
{
	uint32_t table = RT_TABLE_MAIN;
	struct request r;
	struct fib_rule_hdr *frh;

	if (!addr_len(rule->family))
		return -EAFNOSUPPORT;
	frh = start(&r, type, flags, sizeof(*frh));
	frh->family = rule->family;
	frh->action = FR_ACT_TO_TBL;
	switch (rule->kind) {
	case MG_NETLINK_RULE_NOT_FWMARK:
		/* Mark 0 would match every packet, and its inverse none. */
		if (rule->fwmark == 0 || rule->table == 0)
			return -EINVAL;
		table = rule->table;
		frh->flags = FIB_RULE_INVERT;
		put_u32(&r, FRA_FWMARK, rule->fwmark);
		break;
	case MG_NETLINK_RULE_SUPPRESS_DEFAULT:
		put_u32(&r, FRA_SUPPRESS_PREFIXLEN, 0);
		break;
	default:
		return -EINVAL;
	}
	frh->table = table < 256 ? table : RT_TABLE_UNSPEC;
	put_u32(&r, FRA_TABLE, table);
	if (rule->priority)
		put_u32(&r, FRA_PRIORITY, rule->priority);
	return transact(nl, &r, on_reply, arg);
}

static void take_priority(const struct nlmsghdr *nh, void *arg)
{
	if (nh->nlmsg_type == RTM_NEWRULE)
		find_u32(nh, sizeof(struct fib_rule_hdr), FRA_PRIORITY, arg);
}

int mg_netlink_rule_add(struct mg_netlink *nl, struct mg_netlink_rule *r)
{
	if (mg_broker_active())
		return mg_broker_rule(MG_BROKER_RULE_ADD, r, &r->priority);
	uint16_t flags = NLM_F_CREATE | NLM_F_EXCL;

	/* The kernel echoes the rule it created, with the priority it chose,
	 * before the ack. */
	if (r->priority == 0)
		flags |= NLM_F_ECHO;
	return change_rule(nl, RTM_NEWRULE, flags, r, take_priority, &r->priority);
}

int mg_netlink_rule_delete(struct mg_netlink *nl, const struct mg_netlink_rule *r)
{
	if (mg_broker_active())
		return mg_broker_rule(MG_BROKER_RULE_DEL, r, NULL);
	return change_rule(nl, RTM_DELRULE, 0, r, NULL, NULL);
}
