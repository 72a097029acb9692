/* NAT mapping behaviour from STUN answers, table-driven: each row is the
 * answers one socket (local port 51820, local address 10.0.1.2 and
 * 2001:db8:1::2) got, and the mapping and port preservation to conclude. */
#include <errno.h>

#include "check.h"
#include "nat/natprobe.h"

#define MAX_ANSWERS 4

struct answer {
	const char *server;
	const char *mapped; /* NULL: timed out */
};

struct row {
	const char *name;
	int family;
	struct answer a[MAX_ANSWERS];
	enum mg_nat_mapping mapping;
	enum mg_nat_tristate port_preserved;
	unsigned answers, server_addresses;
	bool varies_address;
};

static const struct row rows[] = {
	{ "nothing", AF_INET, { { NULL } }, MG_NAT_MAPPING_UNKNOWN, MG_NAT_UNKNOWN, 0, 0 },
	{ "all timed out",
	  AF_INET,
	  { { "203.0.113.10:3478", NULL } },
	  MG_NAT_MAPPING_UNKNOWN,
	  MG_NAT_UNKNOWN,
	  0,
	  0 },
	{ "one server",
	  AF_INET,
	  { { "203.0.113.10:3478", "203.0.113.1:51820" } },
	  MG_NAT_MAPPING_UNKNOWN,
	  MG_NAT_YES,
	  1,
	  1 },
	{ "two addresses, one mapping",
	  AF_INET,
	  { { "203.0.113.10:3478", "203.0.113.1:51820" },
	    { "203.0.113.20:3478", "203.0.113.1:51820" } },
	  MG_NAT_MAPPING_INDEPENDENT,
	  MG_NAT_YES,
	  2,
	  2 },
	{ "two addresses, port not kept",
	  AF_INET,
	  { { "203.0.113.10:3478", "203.0.113.1:1024" },
	    { "203.0.113.20:3478", "203.0.113.1:1024" } },
	  MG_NAT_MAPPING_INDEPENDENT,
	  MG_NAT_NO,
	  2,
	  2 },
	{ "two addresses, two ports",
	  AF_INET,
	  { { "203.0.113.10:3478", "203.0.113.1:40001" },
	    { "203.0.113.20:3478", "203.0.113.1:40002" } },
	  MG_NAT_MAPPING_DEPENDENT,
	  MG_NAT_NO,
	  2,
	  2 },
	{ "kept for one, not the other",
	  AF_INET,
	  { { "203.0.113.10:3478", "203.0.113.1:51820" },
	    { "203.0.113.20:3478", "203.0.113.1:40002" } },
	  MG_NAT_MAPPING_DEPENDENT,
	  MG_NAT_NO,
	  2,
	  2 },
	{ "two addresses, two public addresses",
	  AF_INET,
	  { { "203.0.113.10:3478", "203.0.113.1:51820" },
	    { "203.0.113.20:3478", "203.0.113.2:51820" } },
	  MG_NAT_MAPPING_DEPENDENT,
	  MG_NAT_YES,
	  2,
	  2,
	  true },
	{ "one address, two ports, one mapping",
	  AF_INET,
	  { { "203.0.113.10:3478", "203.0.113.1:51820" },
	    { "203.0.113.10:3479", "203.0.113.1:51820" } },
	  MG_NAT_MAPPING_UNKNOWN,
	  MG_NAT_YES,
	  2,
	  1 },
	{ "one address, two ports, two mappings",
	  AF_INET,
	  { { "203.0.113.10:3478", "203.0.113.1:40001" },
	    { "203.0.113.10:3479", "203.0.113.1:40002" } },
	  MG_NAT_MAPPING_DEPENDENT,
	  MG_NAT_NO,
	  2,
	  1 },
	{ "failures skipped",
	  AF_INET,
	  { { "203.0.113.30:3478", NULL },
	    { "203.0.113.10:3478", "203.0.113.1:51820" },
	    { "203.0.113.20:3478", "203.0.113.1:51820" } },
	  MG_NAT_MAPPING_INDEPENDENT,
	  MG_NAT_YES,
	  2,
	  2 },
	{ "no NAT",
	  AF_INET,
	  { { "203.0.113.10:3478", "10.0.1.2:51820" }, { "203.0.113.20:3478", "10.0.1.2:51820" } },
	  MG_NAT_MAPPING_NONE,
	  MG_NAT_YES,
	  2,
	  2 },
	{ "no NAT, one server",
	  AF_INET,
	  { { "203.0.113.10:3478", "10.0.1.2:51820" } },
	  MG_NAT_MAPPING_NONE,
	  MG_NAT_YES,
	  1,
	  1 },
	{ "own address, other port",
	  AF_INET,
	  { { "203.0.113.10:3478", "10.0.1.2:2000" }, { "203.0.113.20:3478", "10.0.1.2:2000" } },
	  MG_NAT_MAPPING_INDEPENDENT,
	  MG_NAT_NO,
	  2,
	  2 },
	{ "IPv6 answers ignored for IPv4",
	  AF_INET,
	  { { "[2001:db8:9::10]:3478", "[2001:db8:1::2]:51820" },
	    { "203.0.113.10:3478", "203.0.113.1:40001" },
	    { "[2001:db8:9::20]:3478", "[2001:db8:1::2]:51820" },
	    { "203.0.113.20:3478", "203.0.113.1:40002" } },
	  MG_NAT_MAPPING_DEPENDENT,
	  MG_NAT_NO,
	  2,
	  2 },
	{ "IPv6 without NAT",
	  AF_INET6,
	  { { "[2001:db8:9::10]:3478", "[2001:db8:1::2]:51820" },
	    { "203.0.113.10:3478", "203.0.113.1:40001" },
	    { "[2001:db8:9::20]:3478", "[2001:db8:1::2]:51820" },
	    { "203.0.113.20:3478", "203.0.113.1:40002" } },
	  MG_NAT_MAPPING_NONE,
	  MG_NAT_YES,
	  2,
	  2 },
};

static struct mg_endpoint endpoint(const char *s)
{
	struct mg_endpoint ep;
	CHECK(mg_endpoint_parse(&ep, s) == 0);
	return ep;
}

static void run_row(const struct row *row)
{
	struct mg_stun_result r[MAX_ANSWERS];
	struct mg_endpoint local[2] = { endpoint("10.0.1.2:0"), endpoint("[2001:db8:1::2]:0") };
	struct mg_nat_behaviour b;
	size_t n = 0;

	memset(r, 0, sizeof(r));
	for (; n < MAX_ANSWERS && row->a[n].server; n++) {
		r[n].server = endpoint(row->a[n].server);
		if (row->a[n].mapped)
			r[n].mapped = endpoint(row->a[n].mapped);
		else
			r[n].status = -ETIMEDOUT;
	}
	mg_nat_classify(&b, row->family, 51820, r, n, local, 2);
	if (b.mapping != row->mapping || b.port_preserved != row->port_preserved ||
	    b.answers != row->answers || b.server_addresses != row->server_addresses ||
	    b.varies_address != row->varies_address) {
		fprintf(stderr,
			"%s: mapping %s port_preserved %d answers %u addresses %u varies %d\n",
			row->name, mg_nat_mapping_name(b.mapping), b.port_preserved, b.answers,
			b.server_addresses, b.varies_address);
		exit(1);
	}
	CHECK_EQ(b.family, row->family);
	if (row->answers)
		CHECK_EQ(b.public_endpoint.sa.sa_family, row->family);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run_row(&rows[i]);
	CHECK(!strcmp(mg_nat_mapping_name(MG_NAT_MAPPING_DEPENDENT), "endpoint-dependent"));
	CHECK(!strcmp(mg_nat_mapping_name(MG_NAT_MAPPING_INDEPENDENT), "endpoint-independent"));
	mg_test_pass("nat_classify");
	return 0;
}
