#include "cli/iface.h"
#include "tunnel/messages.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(char *err, size_t errlen, int ret, const char *what, const char *detail)
{
	snprintf(err, errlen, "%s%s%s: %s", what, detail ? " " : "", detail ? detail : "",
		 strerror(-ret));
	return ret;
}

static int add_addresses(struct mg_iface *i, const struct mg_config *c, char *err, size_t errlen)
{
	char buf[MG_PREFIX_STRLEN];

	for (size_t k = 0; k < c->addresses_len; k++) {
		int ret = mg_netlink_addr_add(&i->nl, i->ifindex, &c->addresses[k]);
		if (ret < 0 && ret != -EEXIST) {
			mg_prefix_format(buf, sizeof(buf), &c->addresses[k]);
			return fail(err, errlen, ret, "cannot add address", buf);
		}
	}
	return 0;
}

/* Lets the kernel's reverse-path filter accept replies to marked packets,
 * as wg-quick does for an IPv4 default route. */
static void enable_src_valid_mark(void)
{
	int fd = open("/proc/sys/net/ipv4/conf/all/src_valid_mark", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1\n", 2) < 0)
		fprintf(stderr, "warning: cannot set net.ipv4.conf.all.src_valid_mark\n");
	close(fd);
}

/* wg-quick's default route: the route goes in table T, and two rules send
 * everything but the tunnel's own (marked) UDP there, while more specific
 * routes of the main table still win. */
static int add_default_route(struct mg_iface *i, const struct mg_prefix *p, char *err,
			     size_t errlen)
{
	struct mg_netlink_route r = { .dst = *p, .ifindex = i->ifindex, .table = i->fwmark };
	struct mg_netlink_rule rules[2] = {
		{ .family = p->family,
		  .kind = MG_NETLINK_RULE_NOT_FWMARK,
		  .fwmark = i->fwmark,
		  .table = i->fwmark },
		{ .family = p->family, .kind = MG_NETLINK_RULE_SUPPRESS_DEFAULT },
	};
	int ret = mg_netlink_route_add(&i->nl, &r);

	if (ret < 0 && ret != -EEXIST)
		return fail(err, errlen, ret, "cannot add the default route", NULL);
	for (int k = 0; k < 2; k++) {
		ret = mg_netlink_rule_add(&i->nl, &rules[k]);
		if (ret < 0)
			return fail(err, errlen, ret, "cannot add a policy rule", NULL);
		i->rules[i->rule_count++] = rules[k];
	}
	if (p->family == AF_INET)
		enable_src_valid_mark();
	return 0;
}

static int add_routes(struct mg_iface *i, const struct mg_config *c, char *err, size_t errlen)
{
	char buf[MG_PREFIX_STRLEN];
	bool v4_default_done = false, v6_default_done = false;

	for (size_t k = 0; k < c->peers_len; k++) {
		for (size_t j = 0; j < c->peers[k].allowed_ips_len; j++) {
			const struct mg_prefix *p = &c->peers[k].allowed_ips[j];
			struct mg_netlink_route r = { .dst = *p, .ifindex = i->ifindex };
			bool *done = p->family == AF_INET ? &v4_default_done : &v6_default_done;
			int ret;

			if (p->cidr == 0) {
				if (*done)
					continue;
				*done = true;
				ret = add_default_route(i, p, err, errlen);
				if (ret < 0)
					return ret;
				continue;
			}
			ret = mg_netlink_route_add(&i->nl, &r);
			if (ret < 0 && ret != -EEXIST) {
				mg_prefix_format(buf, sizeof(buf), p);
				return fail(err, errlen, ret, "cannot add route to", buf);
			}
		}
	}
	return 0;
}

int mg_iface_configure(struct mg_iface *i, const char *ifname, const struct mg_config *c, char *err,
		       size_t errlen)
{
	int ret;

	memset(i, 0, sizeof(*i));
	i->nl.fd = -1;
	i->mtu = c && (c->flags & MG_CONFIG_HAS_MTU) ? c->mtu : MG_DEFAULT_MTU;
	i->fwmark = c ? mg_config_fwmark(c) : 0;
	ret = mg_netlink_open(&i->nl);
	if (ret < 0)
		return fail(err, errlen, ret, "cannot open rtnetlink", NULL);
	i->ifindex = if_nametoindex(ifname);
	if (!i->ifindex) {
		ret = -errno;
		fail(err, errlen, ret, "no interface", ifname);
		goto undo;
	}
	ret = mg_netlink_link_set_mtu(&i->nl, i->ifindex, i->mtu);
	if (ret < 0) {
		fail(err, errlen, ret, "cannot set the MTU of", ifname);
		goto undo;
	}
	if (!c)
		return 0;
	ret = add_addresses(i, c, err, errlen);
	if (ret == 0)
		ret = mg_netlink_link_set_up(&i->nl, i->ifindex, true);
	if (ret == 0)
		ret = add_routes(i, c, err, errlen);
	if (ret == 0)
		return 0;
	if (!err[0])
		fail(err, errlen, ret, "cannot bring up", ifname);
undo:
	mg_iface_teardown(i);
	return ret;
}

void mg_iface_teardown(struct mg_iface *i)
{
	while (i->rule_count)
		mg_netlink_rule_delete(&i->nl, &i->rules[--i->rule_count]);
	if (i->ifindex)
		mg_netlink_link_delete(&i->nl, i->ifindex);
	i->ifindex = 0;
	if (i->nl.fd >= 0)
		mg_netlink_close(&i->nl);
	i->nl.fd = -1;
}
