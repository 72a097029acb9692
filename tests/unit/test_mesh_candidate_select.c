/* Which of a host's addresses a member announces (candidate.h): a table of
 * interface addresses as mg_cand_local reports them, with their links. Out:
 * loopback interfaces and addresses, link-local ones, interfaces that are
 * down, tunnels (by rtnetlink kind: wireguard, tun and tap, vxlan, gre...;
 * by hardware type: ARPHRD_NONE, IP-in-IP; by IFF_POINTOPOINT when the kind
 * is unknown), the mesh's own overlay addresses and an underlay address
 * inside a mesh prefix. In: Ethernet-like links and PPP (a DSL uplink),
 * IPv4 first, each once, with the port, at most cap of them. */
#include <net/if_arp.h>

#include "check.h"
#include "mesh/candidate.h"

#define UP  (IFF_UP | IFF_RUNNING)
#define PTP (IFF_POINTOPOINT | IFF_NOARP)

struct link_row {
	const char *kind;
	unsigned short type;
	unsigned int flags;
	bool tunnel;
};

static const struct link_row links[] = {
	{ "wireguard", ARPHRD_NONE, UP | PTP, true },
	{ "tun", ARPHRD_NONE, UP | PTP, true },		   /* TUN: OpenVPN, another mesh */
	{ "tun", ARPHRD_ETHER, UP | IFF_BROADCAST, true }, /* TAP: ZeroTier, OpenVPN tap */
	{ "vxlan", ARPHRD_ETHER, UP | IFF_BROADCAST, true },
	{ "gretap", ARPHRD_ETHER, UP | IFF_BROADCAST, true },
	{ "gre", ARPHRD_IPGRE, UP | PTP, true },
	{ "ipip", ARPHRD_TUNNEL, UP | PTP, true },
	{ "sit", ARPHRD_SIT, UP | PTP, true },
	{ "ip6tnl", ARPHRD_TUNNEL6, UP | PTP, true },
	{ "", ARPHRD_NONE, UP, true },	     /* a kind rtnetlink did not name */
	{ "", ARPHRD_VOID, UP | PTP, true }, /* no rtnetlink: getifaddrs' flags */
	{ "", ARPHRD_PPP, UP | PTP, false }, /* pppd's link: the uplink */
	{ "veth", ARPHRD_ETHER, UP | IFF_BROADCAST, false },
	{ "", ARPHRD_ETHER, UP | IFF_BROADCAST, false }, /* a physical NIC */
	{ "bridge", ARPHRD_ETHER, UP | IFF_BROADCAST, false },
	{ "dummy", ARPHRD_ETHER, UP | IFF_NOARP, false },
	{ "", ARPHRD_VOID, UP | IFF_BROADCAST, false },
};

static struct mg_cand_addr addr(const char *ifname, const char *kind, unsigned short type,
				unsigned int flags, const char *ip)
{
	struct mg_cand_addr a = { .type = type, .flags = flags };
	char text[64];

	snprintf(text, sizeof(text), strchr(ip, ':') ? "[%s]:0" : "%s:0", ip);
	CHECK_EQ(mg_endpoint_parse(&a.ep, text), 0);
	snprintf(a.ifname, sizeof(a.ifname), "%s", ifname);
	snprintf(a.kind, sizeof(a.kind), "%s", kind);
	return a;
}

static struct mg_prefix pfx(const char *s)
{
	struct mg_prefix p;

	CHECK_EQ(mg_prefix_parse(&p, s, false), 0);
	return p;
}

static void expect(const struct mg_endpoint *ep, const char *want)
{
	char text[MG_ENDPOINT_STRLEN];

	mg_endpoint_format(text, sizeof(text), ep);
	if (strcmp(text, want) != 0) {
		fprintf(stderr, "got %s, expected %s\n", text, want);
		exit(1);
	}
}

int main(void)
{
	const struct mg_prefix mesh[] = { pfx("100.77.0.0/16"), pfx("fd12:3456:789a::/48") };
	const struct mg_cand_addr host[] = {
		addr("lo", "", ARPHRD_LOOPBACK, UP | IFF_LOOPBACK, "127.0.0.1"),
		addr("lo", "", ARPHRD_LOOPBACK, UP | IFF_LOOPBACK, "192.0.2.53"), /* anycast */
		addr("lo", "", ARPHRD_LOOPBACK, UP | IFF_LOOPBACK, "::1"),
		addr("eth0", "", ARPHRD_ETHER, UP | IFF_BROADCAST, "fe80::1"),
		addr("eth0", "", ARPHRD_ETHER, UP | IFF_BROADCAST, "2001:db8::5"),
		addr("eth0", "", ARPHRD_ETHER, UP | IFF_BROADCAST, "10.1.0.2"),
		addr("eth0:1", "", ARPHRD_ETHER, UP | IFF_BROADCAST, "10.1.0.2"), /* again */
		addr("eth1", "", ARPHRD_ETHER, IFF_BROADCAST, "10.7.0.2"),	  /* down */
		addr("eth2", "", ARPHRD_ETHER, UP | IFF_BROADCAST, "169.254.3.4"),
		addr("wg0", "wireguard", ARPHRD_NONE, UP | PTP, "10.9.0.1"),
		addr("wg0", "wireguard", ARPHRD_NONE, UP | PTP, "fd99::1"),
		addr("tun0", "tun", ARPHRD_NONE, UP | PTP, "198.51.100.7"),
		addr("ztabc", "tun", ARPHRD_ETHER, UP | IFF_BROADCAST, "172.23.0.9"),
		addr("mg-lab", "tun", ARPHRD_NONE, UP | PTP, "100.77.0.1"), /* our overlay */
		addr("mg-lab", "tun", ARPHRD_NONE, UP | PTP, "fd12:3456:789a::1"),
		addr("dsl", "veth", ARPHRD_ETHER, UP | IFF_BROADCAST, "100.77.9.9"), /* in mesh */
		addr("ppp0", "", ARPHRD_PPP, UP | PTP, "203.0.113.77"),
	};
	const size_t n = sizeof(host) / sizeof(host[0]);
	struct mg_endpoint out[8];
	size_t got;

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (mg_cand_tunnel_link(links[i].kind, links[i].type, links[i].flags) !=
		    links[i].tunnel) {
			fprintf(stderr, "link row %zu (kind \"%s\", type %u): expected %s\n", i,
				links[i].kind, links[i].type,
				links[i].tunnel ? "a tunnel" : "no tunnel");
			return 1;
		}
	}
	CHECK_EQ(mg_cand_check_local(&host[0], mesh, 2), MG_CAND_LOOPBACK);
	CHECK_EQ(mg_cand_check_local(&host[1], mesh, 2), MG_CAND_LOOPBACK);
	CHECK_EQ(mg_cand_check_local(&host[3], mesh, 2), MG_CAND_LINK_LOCAL);
	CHECK_EQ(mg_cand_check_local(&host[7], mesh, 2), MG_CAND_DOWN);
	CHECK_EQ(mg_cand_check_local(&host[8], mesh, 2), MG_CAND_LINK_LOCAL);
	CHECK_EQ(mg_cand_check_local(&host[9], mesh, 2), MG_CAND_TUNNEL);
	CHECK_EQ(mg_cand_check_local(&host[12], mesh, 2), MG_CAND_TUNNEL);
	CHECK_EQ(mg_cand_check_local(&host[13], mesh, 2), MG_CAND_TUNNEL);
	CHECK_EQ(mg_cand_check_local(&host[15], mesh, 2), MG_CAND_MESH);

	got = mg_cand_select(host, n, 51820, mesh, 2, out, 8);
	CHECK_EQ(got, 3);
	expect(&out[0], "10.1.0.2:51820");
	expect(&out[1], "203.0.113.77:51820");
	expect(&out[2], "[2001:db8::5]:51820");
	for (size_t i = 0; i < got; i++)
		CHECK(!mg_endpoint_has_local(&out[i]));

	/* cap bounds the output; IPv4 still comes first. */
	got = mg_cand_select(host, n, 7, mesh, 2, out, 1);
	CHECK_EQ(got, 1);
	expect(&out[0], "10.1.0.2:7");
	mg_test_pass("mesh_candidate_select");
	return 0;
}
