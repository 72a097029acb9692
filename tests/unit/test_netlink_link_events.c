/* Following a link's MTU over rtnetlink, in a private network namespace: the
 * current value from mg_netlink_link_get, and each change as a notification
 * on a link-events handle, as the daemon follows its TUN's MTU. */
#include "check.h"
#include "tunnel/netlink.h"
#include "tunnel/tun.h"
#include "netns.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

struct seen {
	unsigned int ifindex;
	uint32_t mtu;
	unsigned count;
};

static void on_link(const struct mg_netlink_link *link, void *ctx)
{
	struct seen *s = ctx;

	if (link->ifindex != s->ifindex)
		return;
	s->mtu = link->mtu;
	s->count++;
}

/* Waits up to a second for notifications about s->ifindex. */
static void drain(struct mg_netlink *events, struct seen *s)
{
	struct pollfd p = { .fd = events->fd, .events = POLLIN };
	unsigned before = s->count;

	while (s->count == before) {
		CHECK(poll(&p, 1, 10000) == 1); /* readiness, not speed */
		CHECK_EQ(mg_netlink_link_events(events, on_link, s), 0);
	}
}

int main(void)
{
	struct mg_netlink nl, events;
	struct mg_netlink_link link;
	char ifname[IFNAMSIZ];
	struct seen s = { 0 };
	int tun_fd;

	enter_netns();
	CHECK_EQ(mg_netlink_open(&nl), 0);
	CHECK_EQ(mg_tun_open("mgt0", ifname, &tun_fd), 0);
	s.ifindex = if_nametoindex(ifname);
	CHECK(s.ifindex != 0);
	CHECK_EQ(mg_netlink_link_set_mtu(&nl, s.ifindex, 1420), 0);

	CHECK_EQ(mg_netlink_link_get(&nl, s.ifindex, &link), 0);
	CHECK_EQ(link.ifindex, s.ifindex);
	CHECK_EQ(link.mtu, 1420);
	CHECK_EQ(mg_netlink_link_get(&nl, 99999, &link), -ENODEV);

	/* Nothing queued yet: returns at once. */
	CHECK_EQ(mg_netlink_open_link_events(&events), 0);
	CHECK_EQ(mg_netlink_link_events(&events, on_link, &s), 0);
	CHECK_EQ(s.count, 0);

	CHECK_EQ(mg_netlink_link_set_mtu(&nl, s.ifindex, 1280), 0);
	drain(&events, &s);
	CHECK_EQ(s.mtu, 1280);
	CHECK_EQ(mg_netlink_link_set_mtu(&nl, s.ifindex, 1300), 0);
	drain(&events, &s);
	CHECK_EQ(s.mtu, 1300);
	CHECK_EQ(mg_netlink_link_get(&nl, s.ifindex, &link), 0);
	CHECK_EQ(link.mtu, 1300);

	mg_netlink_close(&events);
	mg_netlink_close(&nl);
	close(tun_fd);
	return 0;
}
