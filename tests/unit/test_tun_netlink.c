/* TUN device and rtnetlink configuration, in a private network namespace:
 * the wg-quick sequence (MTU, addresses, up, routes, default-route rules)
 * checked by reading state back and by routing a real packet into the TUN. */
#include "check.h"
#include "tunnel/netlink.h"
#include "tunnel/tun.h"
#include "netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define TABLE  51820
#define FWMARK 51820

static struct mg_netlink nl;
static char ifname[IFNAMSIZ];
static unsigned int ifindex;
static int tun_fd;

static struct mg_prefix prefix(const char *s)
{
	struct mg_prefix p;

	CHECK_EQ(mg_prefix_parse(&p, s, false), 0);
	return p;
}

static struct mg_endpoint endpoint(const char *s)
{
	struct mg_endpoint ep;

	CHECK_EQ(mg_endpoint_parse(&ep, s), 0);
	return ep;
}

static void test_open_and_adopt(void)
{
	char name[IFNAMSIZ], other[IFNAMSIZ];
	int fd, dupfd;
	bool no_pi = false;

	CHECK_EQ(mg_tun_open("mgt0", ifname, &tun_fd), 0);
	CHECK(strcmp(ifname, "mgt0") == 0);
	ifindex = if_nametoindex("mgt0");
	CHECK(ifindex != 0);
	CHECK(fcntl(tun_fd, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(tun_fd, F_GETFD) & FD_CLOEXEC);

	CHECK_EQ(mg_tun_open("", other, &fd), 0);
	CHECK(strncmp(other, "tun", 3) == 0);
	CHECK(if_nametoindex(other) != 0);
	close(fd);
	CHECK_EQ(mg_tun_open("this-name-is-too-long", other, &fd), -ENAMETOOLONG);

	/* dup() clears close-on-exec; adopting must set it again. */
	dupfd = dup(tun_fd);
	CHECK_EQ(mg_tun_adopt(dupfd, name, &no_pi), 0);
	CHECK(strcmp(name, "mgt0") == 0);
	CHECK(no_pi);
	CHECK(fcntl(dupfd, F_GETFD) & FD_CLOEXEC);
	close(dupfd);

	fd = open("/dev/net/tun", O_RDWR);
	CHECK_EQ(mg_tun_adopt(fd, name, &no_pi), -EBADFD);
	close(fd);
	fd = open("/dev/null", O_RDWR);
	CHECK_EQ(mg_tun_adopt(fd, name, &no_pi), -ENOTTY);
	close(fd);
}

static void test_link(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	strcpy(ifr.ifr_name, ifname);
	CHECK_EQ(mg_netlink_link_set_mtu(&nl, ifindex, 1420), 0);
	CHECK_EQ(ioctl(s, SIOCGIFMTU, &ifr), 0);
	CHECK_EQ(ifr.ifr_mtu, 1420);

	CHECK_EQ(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	CHECK(!(ifr.ifr_flags & IFF_UP));
	CHECK_EQ(mg_netlink_link_set_up(&nl, ifindex, true), 0);
	CHECK_EQ(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	CHECK(ifr.ifr_flags & IFF_UP);
	close(s);

	CHECK_EQ(mg_netlink_link_set_mtu(&nl, 999999, 1420), -ENODEV);
}

static const void *sa_addr(const struct sockaddr *sa, uint8_t family)
{
	if (family == AF_INET)
		return &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	return &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
}

/* Counts ifname's addresses equal to want, with want's prefix as netmask. */
static int count_addr(const struct mg_prefix *want)
{
	struct mg_prefix mask = { .family = want->family, .cidr = want->cidr };
	size_t len = want->family == AF_INET ? 4 : 16;
	struct ifaddrs *ifas, *i;
	int n = 0;

	memset(mask.addr, 0xff, len);
	mg_prefix_mask(&mask);
	CHECK_EQ(getifaddrs(&ifas), 0);
	for (i = ifas; i; i = i->ifa_next) {
		if (!i->ifa_addr || !i->ifa_netmask || strcmp(i->ifa_name, ifname) != 0 ||
		    i->ifa_addr->sa_family != want->family)
			continue;
		n += !memcmp(sa_addr(i->ifa_addr, want->family), want->addr, len) &&
		     !memcmp(sa_addr(i->ifa_netmask, want->family), mask.addr, len);
	}
	freeifaddrs(ifas);
	return n;
}

static void test_addresses(void)
{
	struct mg_prefix v4 = prefix("10.77.0.1/24"), v6 = prefix("fd77::1/64");
	struct mg_prefix bad = { .family = AF_INET, .cidr = 33 };

	CHECK_EQ(mg_netlink_addr_add(&nl, ifindex, &v4), 0);
	CHECK_EQ(mg_netlink_addr_add(&nl, ifindex, &v6), 0);
	CHECK_EQ(count_addr(&v4), 1);
	CHECK_EQ(count_addr(&v6), 1);
	CHECK_EQ(mg_netlink_addr_add(&nl, ifindex, &v4), -EEXIST);
	CHECK_EQ(mg_netlink_addr_add(&nl, ifindex, &v6), -EEXIST);
	CHECK_EQ(mg_netlink_addr_add(&nl, ifindex, &bad), -EINVAL);
	bad.family = AF_UNIX;
	CHECK_EQ(mg_netlink_addr_add(&nl, ifindex, &bad), -EAFNOSUPPORT);
}

/* Waits up to a second for an IPv4 UDP packet to dst:port on the TUN and
 * returns its payload length, copied to payload. Other packets (IPv6 router
 * solicitations and the like) are skipped. */
static int read_udp4(const char *dst, uint16_t port, const char *src, uint8_t *payload)
{
	uint8_t pkt[2048];
	struct in_addr want_dst, want_src;
	struct pollfd pfd = { .fd = tun_fd, .events = POLLIN };

	inet_pton(AF_INET, dst, &want_dst);
	inet_pton(AF_INET, src, &want_src);
	while (poll(&pfd, 1, 1000) == 1) {
		ssize_t n = read(tun_fd, pkt, sizeof(pkt));
		if (n < 28 || pkt[0] >> 4 != 4 || pkt[9] != IPPROTO_UDP)
			continue;
		size_t ihl = (pkt[0] & 15) * 4u;
		if (memcmp(pkt + 16, &want_dst, 4) || (pkt[ihl + 2] << 8 | pkt[ihl + 3]) != port)
			continue;
		CHECK_MEM(pkt + 12, &want_src, 4);
		memcpy(payload, pkt + ihl + 8, (size_t)n - ihl - 8);
		return (int)((size_t)n - ihl - 8);
	}
	return -1;
}

static void send_udp4(const char *to, uint16_t port, const char *msg)
{
	struct mg_endpoint ep = endpoint(to);
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	ep.in4.sin_port = htons(port);
	CHECK(sendto(s, msg, strlen(msg), 0, &ep.sa, sizeof(ep.in4)) == (ssize_t)strlen(msg));
	close(s);
}

static void test_route_into_tun(void)
{
	struct mg_netlink_route r = { .dst = prefix("10.78.0.0/16"), .ifindex = ifindex };
	uint8_t payload[2048];

	CHECK_EQ(mg_netlink_route_add(&nl, &r), 0);
	CHECK_EQ(mg_netlink_route_add(&nl, &r), -EEXIST);
	send_udp4("10.78.0.5:0", 5555, "into the tunnel");
	CHECK_EQ(read_udp4("10.78.0.5", 5555, "10.77.0.1", payload), 15);
	CHECK_MEM(payload, "into the tunnel", 15);
	CHECK_EQ(mg_netlink_route_delete(&nl, &r), 0);
	CHECK_EQ(mg_netlink_route_delete(&nl, &r), -ESRCH);
}

static unsigned int lookup(const char *dst, uint32_t mark)
{
	struct mg_endpoint ep = endpoint(dst);
	unsigned int oif = 12345;
	int ret = mg_netlink_route_lookup(&nl, &ep, mark, &oif);

	return ret == 0 ? oif : (unsigned int)ret;
}

static struct mg_netlink_rule rules[4];
static struct mg_netlink_route defaults[2] = {
	{ .table = TABLE },
	{ .table = TABLE },
};

/* wg-quick's order: the fwmark rule first, then the suppressing rule, which
 * so gets the lower number and is consulted first. */
static void add_default_route(int i, uint8_t family)
{
	defaults[i].dst = prefix(family == AF_INET ? "0.0.0.0/0" : "::/0");
	defaults[i].ifindex = ifindex;
	CHECK_EQ(mg_netlink_route_add(&nl, &defaults[i]), 0);

	rules[2 * i] = (struct mg_netlink_rule){ .family = family,
						 .kind = MG_NETLINK_RULE_NOT_FWMARK,
						 .fwmark = FWMARK,
						 .table = TABLE };
	rules[2 * i + 1] = (struct mg_netlink_rule){ .family = family,
						     .kind = MG_NETLINK_RULE_SUPPRESS_DEFAULT };
	CHECK_EQ(mg_netlink_rule_add(&nl, &rules[2 * i]), 0);
	CHECK_EQ(mg_netlink_rule_add(&nl, &rules[2 * i + 1]), 0);
	CHECK_EQ(rules[2 * i].priority, 32765);
	CHECK_EQ(rules[2 * i + 1].priority, 32764);
	CHECK_EQ(mg_netlink_rule_add(&nl, &rules[2 * i]), -EEXIST);
}

static void test_default_route_rules(void)
{
	unsigned int lo = if_nametoindex("lo");
	struct mg_netlink_route main_default = { .dst = prefix("0.0.0.0/0"), .ifindex = lo };
	struct mg_netlink_route main_lan = { .dst = prefix("10.79.0.0/16"), .ifindex = lo };
	struct mg_netlink_rule bad = { .family = AF_INET, .kind = MG_NETLINK_RULE_NOT_FWMARK };

	CHECK_EQ(lookup("192.0.2.1:0", 0), (unsigned int)-ENETUNREACH);
	add_default_route(0, AF_INET);
	add_default_route(1, AF_INET6);
	CHECK_EQ(mg_netlink_rule_add(&nl, &bad), -EINVAL);

	/* Unmarked traffic goes into the tunnel, marked traffic (the tunnel's
	 * own UDP) follows main, which has no default route yet. */
	CHECK_EQ(lookup("192.0.2.1:0", 0), ifindex);
	CHECK_EQ(lookup("192.0.2.1:0", FWMARK), (unsigned int)-ENETUNREACH);
	CHECK_EQ(lookup("[2001:db8::1]:0", 0), ifindex);
	CHECK_EQ(lookup("[2001:db8::1]:0", FWMARK), (unsigned int)-ENETUNREACH);

	/* main's default route is suppressed for unmarked traffic, its more
	 * specific routes are not. */
	CHECK_EQ(mg_netlink_route_add(&nl, &main_default), 0);
	CHECK_EQ(mg_netlink_route_add(&nl, &main_lan), 0);
	CHECK_EQ(lookup("192.0.2.1:0", 0), ifindex);
	CHECK_EQ(lookup("192.0.2.1:0", FWMARK), lo);
	CHECK_EQ(lookup("10.79.0.5:0", 0), lo);

	send_udp4("192.0.2.1:0", 7777, "default");
	uint8_t payload[2048];
	CHECK_EQ(read_udp4("192.0.2.1", 7777, "10.77.0.1", payload), 7);

	CHECK_EQ(mg_netlink_route_delete(&nl, &main_lan), 0);
	CHECK_EQ(mg_netlink_route_delete(&nl, &main_default), 0);
}

/* Deletes exactly what was added, then finds each already gone. */
static void test_delete(void)
{
	struct mg_prefix v4 = prefix("10.77.0.1/24"), v6 = prefix("fd77::1/64");

	for (int i = 0; i < 4; i++) {
		CHECK_EQ(mg_netlink_rule_delete(&nl, &rules[i]), 0);
		CHECK_EQ(mg_netlink_rule_delete(&nl, &rules[i]), -ENOENT);
	}
	CHECK_EQ(lookup("192.0.2.1:0", 0), (unsigned int)-ENETUNREACH);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(mg_netlink_route_delete(&nl, &defaults[i]), 0);
		CHECK_EQ(mg_netlink_route_delete(&nl, &defaults[i]), -ESRCH);
	}
	CHECK_EQ(mg_netlink_addr_delete(&nl, ifindex, &v4), 0);
	CHECK_EQ(mg_netlink_addr_delete(&nl, ifindex, &v6), 0);
	CHECK_EQ(count_addr(&v4), 0);
	CHECK_EQ(count_addr(&v6), 0);
	CHECK_EQ(mg_netlink_addr_delete(&nl, ifindex, &v4), -EADDRNOTAVAIL);
	CHECK_EQ(mg_netlink_addr_delete(&nl, ifindex, &v6), -EADDRNOTAVAIL);

	CHECK_EQ(mg_netlink_link_set_up(&nl, ifindex, false), 0);
	CHECK_EQ(mg_netlink_link_delete(&nl, ifindex), 0);
	CHECK_EQ(if_nametoindex("mgt0"), 0);
	CHECK_EQ(mg_netlink_link_delete(&nl, ifindex), -ENODEV);
	CHECK_EQ(mg_netlink_link_set_mtu(&nl, ifindex, 1420), -ENODEV);
	close(tun_fd);
}

int main(void)
{
	enter_netns();
	CHECK_EQ(mg_netlink_open(&nl), 0);
	test_open_and_adopt();
	test_link();
	test_addresses();
	test_route_into_tun();
	test_default_route_rules();
	test_delete();
	mg_netlink_close(&nl);
	mg_test_pass("tun_netlink");
	return 0;
}
