/* This host's candidates as the kernel reports them (candidate.h), in a
 * private network namespace: a TUN and a TAP device with global-looking
 * addresses are recognised as tunnels by rtnetlink's link kind ("tun" for
 * both; the TAP looks like Ethernet otherwise), so neither address is a
 * candidate; lo's addresses are loopback. The link dump names each link
 * with its kind and hardware type. */
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "check.h"
#include "mesh/candidate.h"
#include "netns.h"
#include "tunnel/tun.h"

struct seen {
	const char *name;
	struct mg_netlink_link link;
	bool found;
};

static void on_link(const struct mg_netlink_link *l, void *ctx)
{
	struct seen *s = ctx;

	if (!strcmp(l->name, s->name)) {
		s->link = *l;
		s->found = true;
	}
}

static int open_tap(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	CHECK(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	CHECK(ioctl(fd, TUNSETIFF, &ifr) == 0);
	return fd;
}

static void configure(struct mg_netlink *nl, const char *name, const char *addr)
{
	unsigned ifindex = if_nametoindex(name);
	struct mg_prefix p;

	CHECK(ifindex != 0);
	CHECK_EQ(mg_prefix_parse(&p, addr, false), 0);
	CHECK_EQ(mg_netlink_addr_add(nl, ifindex, &p), 0);
	CHECK_EQ(mg_netlink_link_set_up(nl, ifindex, true), 0);
}

static const struct mg_cand_addr *find(const struct mg_cand_addr *a, size_t n, const char *ip)
{
	char text[MG_ENDPOINT_STRLEN];

	for (size_t i = 0; i < n; i++) {
		mg_endpoint_format(text, sizeof(text), &a[i].ep);
		if (!strncmp(text, ip, strlen(ip)) && text[strlen(ip)] == ':')
			return &a[i];
	}
	return NULL;
}

int main(void)
{
	struct mg_cand_addr a[MG_CAND_LOCAL_MAX];
	struct mg_endpoint eps[8];
	struct seen tap = { .name = "mgcap0" }, tun = { .name = "mgcun0" };
	const struct mg_cand_addr *x;
	char tun_name[IFNAMSIZ];
	struct mg_netlink nl;
	int tun_fd, tap_fd;
	size_t n;

	enter_netns();
	CHECK_EQ(mg_netlink_open(&nl), 0);
	CHECK_EQ(mg_tun_open("mgcun0", tun_name, &tun_fd), 0);
	tap_fd = open_tap("mgcap0");
	configure(&nl, "mgcun0", "198.51.100.7/24");
	configure(&nl, "mgcap0", "172.23.0.9/24");

	CHECK_EQ(mg_netlink_link_dump(&nl, on_link, &tun), 0);
	CHECK_EQ(mg_netlink_link_dump(&nl, on_link, &tap), 0);
	CHECK(tun.found && tap.found);
	CHECK(!strcmp(tun.link.kind, "tun"));
	CHECK(!strcmp(tap.link.kind, "tun"));
	CHECK_EQ(tun.link.type, ARPHRD_NONE);
	CHECK_EQ(tap.link.type, ARPHRD_ETHER);
	CHECK(tap.link.flags & IFF_UP);
	CHECK_EQ(tap.link.ifindex, if_nametoindex("mgcap0"));

	CHECK_EQ(mg_cand_local(a, MG_CAND_LOCAL_MAX, &n), 0);
	CHECK((x = find(a, n, "198.51.100.7")) != NULL);
	CHECK(!strcmp(x->kind, "tun"));
	CHECK_EQ(mg_cand_check_local(x, NULL, 0), MG_CAND_TUNNEL);
	CHECK((x = find(a, n, "172.23.0.9")) != NULL);
	CHECK(!strcmp(x->kind, "tun"));
	CHECK_EQ(x->type, ARPHRD_ETHER);
	CHECK_EQ(mg_cand_check_local(x, NULL, 0), MG_CAND_TUNNEL);
	CHECK((x = find(a, n, "127.0.0.1")) != NULL);
	CHECK_EQ(mg_cand_check_local(x, NULL, 0), MG_CAND_LOOPBACK);

	CHECK_EQ(mg_cand_local_endpoints(51820, NULL, 0, eps, 8, &n), 0);
	CHECK_EQ(n, 0);

	close(tap_fd);
	close(tun_fd);
	mg_netlink_close(&nl);
	mg_test_pass("mesh_candidate_local");
	return 0;
}
