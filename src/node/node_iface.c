/* The kernel's side of a node's interface: its MTU, followed through link
 * notifications, and what mg_node_configure_interface applies (addresses,
 * MTU, link up, a route per prefix, and for a default route wg-quick's
 * fwmark rules), all through rtnetlink, never by running ip(8). With a TUN
 * fd from elsewhere the caller's apply_interface does the kernel side. */
#include "node/node.h"
#include "tunnel/broker.h"

#include "tunnel/messages.h"
#include "util/macros.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- the MTU ---- */

static void on_link(const struct mg_netlink_link *link, void *ctx)
{
	struct mg_node *n = ctx;
	struct mg_device *dev = &n->engine.dev;

	if (link->ifindex != n->ifindex || !link->mtu || link->mtu == dev->mtu)
		return;
	mg_log(&n->log, MG_LOG_INFO, "interface %s: MTU %u", n->ifname, link->mtu);
	dev->mtu = link->mtu;
}

/* Asks on a handle of its own: answers on n->links would mix with the
 * notifications. */
static int read_mtu(struct mg_node *n)
{
	struct mg_netlink nl;
	struct mg_netlink_link link;
	int ret = mg_netlink_open(&nl);

	if (ret < 0)
		return ret;
	ret = mg_netlink_link_get(&nl, n->ifindex, &link);
	mg_netlink_close(&nl);
	if (ret == 0)
		on_link(&link, n);
	return ret;
}

static void on_links_readable(uv_poll_t *h, int status, int events)
{
	struct mg_node *n = container_of(h, struct mg_node, links_poll);
	(void)events;

	if (status < 0) {
		mg_log(&n->log, MG_LOG_ERROR, "link notifications failed (%s): MTU of %s stays %u",
		       uv_strerror(status), n->ifname, n->engine.dev.mtu);
		uv_poll_stop(h);
		return;
	}
	/* After lost notifications the current MTU is what counts, whatever
	 * happened in between. */
	if (mg_netlink_link_events(&n->links, on_link, n) < 0)
		read_mtu(n);
}

/* Subscribes before reading the MTU, so that no change falls in between. */
int mg_node_watch_mtu(struct mg_node *n)
{
	int ret = mg_netlink_open_link_events(&n->links);

	if (ret < 0)
		return ret;
	ret = uv_poll_init(n->loop, &n->links_poll, n->links.fd);
	if (ret < 0)
		return ret;
	n->watching_links = true;
	ret = uv_poll_start(&n->links_poll, UV_READABLE, on_links_readable);
	if (ret == 0)
		ret = read_mtu(n);
	return ret;
}

/* The netlink socket itself is closed with the node, once libuv has let go
 * of the handle. */
void mg_node_unwatch_mtu(struct mg_node *n)
{
	if (n->watching_links)
		uv_close((uv_handle_t *)&n->links_poll, NULL);
	n->watching_links = false;
}

int mg_node_link_set_mtu(struct mg_node *n, uint32_t mtu)
{
	struct mg_netlink nl;
	int ret;

	if (!n->ifindex)
		return -ENODEV;
	ret = mg_netlink_open(&nl);
	if (ret < 0)
		return ret;
	ret = mg_netlink_link_set_mtu(&nl, n->ifindex, mtu);
	mg_netlink_close(&nl);
	if (ret == 0)
		n->engine.dev.mtu = mtu;
	return ret;
}

/* ---- configure_interface through rtnetlink ---- */

struct plan {
	struct mg_netlink nl;
	unsigned ifindex;
	uint32_t table, fwmark;
	bool rules;
};

static int fail(struct mg_node *n, int ret, const char *what, const char *detail)
{
	mg_log(&n->log, MG_LOG_ERROR, "%s: %s%s%s: %s", n->ifname, what, detail ? " " : "",
	       detail ? detail : "", strerror(-ret));
	return ret;
}

/* Parses every prefix before anything changes. */
static int check_prefixes(struct mg_node *n, const char *const *list, size_t len, const char *what)
{
	struct mg_prefix p;

	if (len && !list)
		return -EINVAL;
	for (size_t k = 0; k < len; k++) {
		if (!list[k] || mg_prefix_parse(&p, list[k], false) < 0) {
			mg_log(&n->log, MG_LOG_ERROR,
			       "%s: %s \"%s\" is not a prefix (expected 10.0.0.1/24 or "
			       "fd00::1/64)",
			       n->ifname, what, list[k] ? list[k] : "(null)");
			return -EINVAL;
		}
	}
	return 0;
}

static int add_addresses(struct mg_node *n, struct plan *pl, const struct mg_interface_config *c)
{
	for (size_t k = 0; k < c->addresses_len; k++) {
		struct mg_prefix p;
		int ret;

		mg_prefix_parse(&p, c->addresses[k], false);
		ret = mg_netlink_addr_add(&pl->nl, pl->ifindex, &p);
		if (ret < 0 && ret != -EEXIST)
			return fail(n, ret, "cannot add address", c->addresses[k]);
	}
	return 0;
}

/* Lets the kernel's reverse-path filter accept replies to marked packets,
 * as wg-quick does for an IPv4 default route. */
static void enable_src_valid_mark(struct mg_node *n)
{
	if (mg_node_sysctl_on(MG_BROKER_SRC_VALID_MARK) < 0)
		mg_log(&n->log, MG_LOG_ERROR, "cannot set net.ipv4.conf.all.src_valid_mark");
}

/* wg-quick's default route: the route goes in table T, and two rules send
 * everything but the tunnel's own (marked) UDP there, while more specific
 * routes of the main table still win. */
static int add_default_route(struct mg_node *n, struct plan *pl, const struct mg_prefix *p)
{
	struct mg_netlink_route r = { .dst = *p, .ifindex = pl->ifindex, .table = pl->table };
	struct mg_netlink_rule rules[2] = {
		{ .family = p->family,
		  .kind = MG_NETLINK_RULE_NOT_FWMARK,
		  .fwmark = pl->fwmark,
		  .table = pl->table },
		{ .family = p->family, .kind = MG_NETLINK_RULE_SUPPRESS_DEFAULT },
	};
	int ret = mg_netlink_route_add(&pl->nl, &r);

	if (ret < 0 && ret != -EEXIST)
		return fail(n, ret, "cannot add the default route", NULL);
	for (int k = 0; k < 2 && n->iface.rule_count < MG_NODE_MAX_RULES; k++) {
		ret = mg_netlink_rule_add(&pl->nl, &rules[k]);
		if (ret < 0)
			return fail(n, ret, "cannot add a policy rule", NULL);
		n->iface.rules[n->iface.rule_count++] = rules[k];
	}
	if (p->family == AF_INET)
		enable_src_valid_mark(n);
	return 0;
}

static int add_routes(struct mg_node *n, struct plan *pl, const struct mg_interface_config *c)
{
	bool default_done[2] = { false, false };

	for (size_t k = 0; k < c->routes_len; k++) {
		struct mg_prefix p;
		struct mg_netlink_route r = { .ifindex = pl->ifindex };
		bool *done;
		int ret;

		mg_prefix_parse(&p, c->routes[k], true);
		done = &default_done[p.family == AF_INET6];
		if (p.cidr == 0 && pl->rules) {
			if (*done)
				continue;
			*done = true;
			ret = add_default_route(n, pl, &p);
			if (ret < 0)
				return ret;
			continue;
		}
		/* As wg-quick: only default routes go to the tunnel's table;
		 * the others are plain routes of the main table. */
		r.dst = p;
		r.table = 0;
		ret = mg_netlink_route_add(&pl->nl, &r);
		if (ret < 0 && ret != -EEXIST)
			return fail(n, ret, "cannot add route to", c->routes[k]);
	}
	return 0;
}

static int apply_netlink(struct mg_node *n, struct plan *pl, const struct mg_interface_config *c)
{
	int ret;

	if (c->mtu) {
		ret = mg_netlink_link_set_mtu(&pl->nl, pl->ifindex, c->mtu);
		if (ret < 0)
			return fail(n, ret, "cannot set the MTU", NULL);
		n->engine.dev.mtu = c->mtu;
	}
	ret = add_addresses(n, pl, c);
	if (ret == 0) {
		ret = mg_netlink_link_set_up(&pl->nl, pl->ifindex, true);
		if (ret < 0)
			fail(n, ret, "cannot bring up the link", NULL);
	}
	if (ret == 0)
		ret = add_routes(n, pl, c);
	return ret;
}

static int configure_tun(struct mg_node *n, const struct mg_interface_config *c)
{
	struct plan pl = {
		.ifindex = n->ifindex,
		.table = c->table ? c->table : MG_NODE_DEFAULT_TABLE,
		.rules = c->full_tunnel_rules,
	};
	int ret;

	pl.fwmark = c->fwmark ? c->fwmark : pl.table;
	if (!pl.ifindex)
		return fail(n, -ENODEV, "no interface", NULL);
	ret = mg_netlink_open(&pl.nl);
	if (ret < 0)
		return fail(n, ret, "cannot open rtnetlink", NULL);
	/* The tunnel's own UDP must carry the mark the rules let through. */
	if (pl.rules)
		ret = mg_engine_set_fwmark(&n->engine, pl.fwmark);
	n->iface.applied = true;
	if (ret == 0)
		ret = apply_netlink(n, &pl, c);
	mg_netlink_close(&pl.nl);
	return ret;
}

int mg_node_configure_interface(struct mg_node *n, const struct mg_interface_config *config)
{
	struct mg_interface_config c;
	int ret;

	if (n->config.packet_io == MG_PACKET_IO_CALLER)
		return -ENOTSUP;
	if (n->closing)
		return -ECANCELED;
	memset(&c, 0, sizeof(c));
	if (!config || config->size < offsetof(struct mg_interface_config, addresses))
		return -EINVAL;
	memcpy(&c, config, config->size < sizeof(c) ? config->size : sizeof(c));
	if ((c.mtu && (c.mtu < MG_MTU_MIN || c.mtu > MG_MTU_MAX)) ||
	    check_prefixes(n, c.addresses, c.addresses_len, "address") < 0 ||
	    check_prefixes(n, c.routes, c.routes_len, "route") < 0)
		return -EINVAL;
	mg_node_iface_undo(n);
	if (n->config.packet_io == MG_PACKET_IO_TUN_FD) {
		if (!n->config.apply_interface)
			return -ENOTSUP;
		ret = n->config.apply_interface(n->config.user, n->ifname, &c);
		n->iface.applied = ret == 0;
		if (ret == 0 && c.mtu)
			n->engine.dev.mtu = c.mtu;
		return ret;
	}
	ret = configure_tun(n, &c);
	if (ret < 0)
		mg_node_iface_undo(n);
	return ret;
}

/* Rules go; addresses and routes go with the link, which the node removes
 * when it created it (closing its fd alone would do it too, but later). */
void mg_node_iface_undo(struct mg_node *n)
{
	struct mg_netlink nl;

	if (n->config.packet_io == MG_PACKET_IO_TUN_FD) {
		if (n->iface.applied && n->config.apply_interface)
			n->config.apply_interface(n->config.user, n->ifname, NULL);
		n->iface.applied = false;
		return;
	}
	if (!n->iface.applied && !(n->closing && n->tun_created))
		return;
	if (mg_netlink_open(&nl) < 0)
		return;
	while (n->iface.rule_count)
		mg_netlink_rule_delete(&nl, &n->iface.rules[--n->iface.rule_count]);
	if (n->closing && n->tun_created && n->ifindex)
		mg_netlink_link_delete(&nl, n->ifindex);
	mg_netlink_close(&nl);
	n->iface.applied = false;
}
