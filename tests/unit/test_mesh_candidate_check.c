/* The address rules for candidates (candidate.h), ours and announced ones:
 * loopback, link-local, unspecified, multicast, broadcast and v4-mapped
 * addresses are refused, and so is every address inside a prefix routed
 * into the mesh (its own prefixes, whether an overlay address or an underlay
 * one that lies there, and members' subnet routes), at any prefix length;
 * the rest, private ranges included, pass. */
#include "check.h"
#include "mesh/candidate.h"

struct row {
	const char *ep;
	enum mg_cand_verdict want;
};

static const struct row rows[] = {
	{ "203.0.113.5:51820", MG_CAND_OK },
	{ "10.1.0.2:51820", MG_CAND_OK },   /* private: a LAN candidate */
	{ "100.78.0.1:51820", MG_CAND_OK }, /* CGNAT space, outside the mesh's /16 */
	{ "[2001:db8::5]:51820", MG_CAND_OK },
	{ "[fd12:3456:789b::1]:51820", MG_CAND_OK }, /* the next /48 */
	{ "127.0.0.1:51820", MG_CAND_LOOPBACK },
	{ "127.8.9.10:51820", MG_CAND_LOOPBACK },
	{ "[::1]:51820", MG_CAND_LOOPBACK },
	{ "169.254.10.20:51820", MG_CAND_LINK_LOCAL },
	{ "[fe80::1]:51820", MG_CAND_LINK_LOCAL },
	{ "[febf::1]:51820", MG_CAND_LINK_LOCAL },
	{ "0.0.0.0:51820", MG_CAND_UNUSABLE },
	{ "224.0.0.251:51820", MG_CAND_UNUSABLE },
	{ "255.255.255.255:51820", MG_CAND_UNUSABLE },
	{ "[::]:51820", MG_CAND_UNUSABLE },
	{ "[ff02::1]:51820", MG_CAND_UNUSABLE },
	{ "[::ffff:203.0.113.5]:51820", MG_CAND_UNUSABLE },
	/* Inside the mesh's prefixes: an overlay address, and underlay ones
	 * that happen to lie there. */
	{ "100.77.0.1:51820", MG_CAND_MESH },
	{ "100.77.255.254:51820", MG_CAND_MESH },
	{ "[fd12:3456:789a::1]:51820", MG_CAND_MESH },
	{ "[fd12:3456:789a:ffff::9]:51820", MG_CAND_MESH },
	/* Inside a member's subnet route (a /20: bits cut inside a byte). */
	{ "192.168.16.1:51820", MG_CAND_MESH },
	{ "192.168.31.255:51820", MG_CAND_MESH },
	{ "192.168.32.1:51820", MG_CAND_OK },
	{ "192.168.15.255:51820", MG_CAND_OK },
};

static struct mg_prefix pfx(const char *s)
{
	struct mg_prefix p;

	CHECK_EQ(mg_prefix_parse(&p, s, false), 0);
	return p;
}

int main(void)
{
	const struct mg_prefix routed[] = { pfx("100.77.0.0/16"), pfx("fd12:3456:789a::/48"),
					    pfx("192.168.16.0/20") };
	struct mg_endpoint ep;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		CHECK_EQ(mg_endpoint_parse(&ep, rows[i].ep), 0);
		if (mg_cand_check(&ep, routed, 3) != rows[i].want) {
			fprintf(stderr, "%s: %s, expected %s\n", rows[i].ep,
				mg_cand_verdict_name(mg_cand_check(&ep, routed, 3)),
				mg_cand_verdict_name(rows[i].want));
			return 1;
		}
	}
	/* With no routed prefixes only the address kinds count. */
	CHECK_EQ(mg_endpoint_parse(&ep, "100.77.0.1:51820"), 0);
	CHECK_EQ(mg_cand_check(&ep, NULL, 0), MG_CAND_OK);
	/* An endpoint of no family is never a candidate. */
	memset(&ep, 0, sizeof(ep));
	CHECK_EQ(mg_cand_check(&ep, routed, 3), MG_CAND_UNUSABLE);
	mg_test_pass("mesh_candidate_check");
	return 0;
}
