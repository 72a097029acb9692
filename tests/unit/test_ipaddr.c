/* Prefix and endpoint parsing and formatting: accepted forms, their canonical
 * text, and junk that must be refused with -EINVAL. */
#include <arpa/inet.h>
#include <errno.h>

#include "check.h"
#include "util/ipaddr.h"

struct prefix_case {
	const char *in;
	bool mask;
	int ret;
	const char *out; /* canonical form, when ret == 0 */
};

static const struct prefix_case prefix_cases[] = {
	{ "10.0.0.1/24", false, 0, "10.0.0.1/24" },
	{ "10.0.0.1/24", true, 0, "10.0.0.0/24" },
	{ "10.0.0.1", true, 0, "10.0.0.1/32" },
	{ "0.0.0.0/0", true, 0, "0.0.0.0/0" },
	{ "255.255.255.255/1", true, 0, "128.0.0.0/1" },
	{ "192.168.77.200/20", true, 0, "192.168.64.0/20" },
	{ "10.0.0.1/08", true, 0, "10.0.0.0/8" },
	{ "fd00::1/64", true, 0, "fd00::/64" },
	{ "fd00::1/64", false, 0, "fd00::1/64" },
	{ "FD00:0:0:0::1", true, 0, "fd00::1/128" },
	{ "::/0", true, 0, "::/0" },
	{ "::ffff:1.2.3.4/128", true, 0, "::ffff:1.2.3.4/128" },
	{ "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff/33", true, 0, "2001:db8:8000::/33" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128", true, 0,
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" },
	{ "10.0.0.1/33", true, -EINVAL, NULL },
	{ "fd00::/129", true, -EINVAL, NULL },
	{ "10.0.0.1/", true, -EINVAL, NULL },
	{ "1.2.3.4/08x", true, -EINVAL, NULL },
	{ "1.2.3.4/-1", true, -EINVAL, NULL },
	{ "1.2.3.4/+8", true, -EINVAL, NULL },
	{ "1.2.3.4/0x8", true, -EINVAL, NULL },
	{ "1.2.3.4/0008", true, -EINVAL, NULL },
	{ "1.2.3.4/24/8", true, -EINVAL, NULL },
	{ "1.2.3.4 /24", true, -EINVAL, NULL },
	{ "1.2.3.4/ 24", true, -EINVAL, NULL },
	{ " 1.2.3.4/24", true, -EINVAL, NULL },
	{ "1.2.3.4/24 ", true, -EINVAL, NULL },
	{ "1.2.3/24", true, -EINVAL, NULL },
	{ "1.2.3.256", true, -EINVAL, NULL },
	{ "01.2.3.4", true, -EINVAL, NULL },
	{ "fe80::1%2/64", true, -EINVAL, NULL },
	{ "fd00:::1/64", true, -EINVAL, NULL },
	{ "/24", true, -EINVAL, NULL },
	{ "", true, -EINVAL, NULL },
	{ "example.com/24", true, -EINVAL, NULL },
	{ "0000:0000:0000:0000:0000:0000:0000:0000000000000/0", true, -EINVAL, NULL },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/1280000", true, -EINVAL, NULL },
};

static void test_prefix_table(void)
{
	for (size_t i = 0; i < sizeof(prefix_cases) / sizeof(prefix_cases[0]); i++) {
		const struct prefix_case *c = &prefix_cases[i];
		struct mg_prefix p, again;
		char buf[MG_PREFIX_STRLEN];
		int ret = mg_prefix_parse(&p, c->in, c->mask);

		if (ret != c->ret)
			fprintf(stderr, "case %zu: \"%s\"\n", i, c->in);
		CHECK_EQ(ret, c->ret);
		if (ret)
			continue;
		mg_prefix_format(buf, sizeof(buf), &p);
		if (strcmp(buf, c->out))
			fprintf(stderr, "case %zu: \"%s\" -> \"%s\"\n", i, c->in, buf);
		CHECK(!strcmp(buf, c->out));
		CHECK_EQ(mg_prefix_parse(&again, buf, false), 0);
		CHECK_MEM(&again, &p, sizeof(p));
	}
}

static void test_prefix_mask(void)
{
	struct mg_prefix p;

	CHECK_EQ(mg_prefix_parse(&p, "255.255.255.255/32", false), 0);
	for (int cidr = 32; cidr >= 0; cidr--) {
		p.cidr = (uint8_t)cidr;
		mg_prefix_mask(&p);
		uint32_t want = cidr ? htonl(~UINT32_C(0) << (32 - cidr)) : 0, got;
		memcpy(&got, p.addr, 4);
		CHECK_EQ(got, want);
	}
	CHECK_EQ(mg_prefix_parse(&p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/71", true), 0);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(p.addr[i], 0xff);
	CHECK_EQ(p.addr[8], 0xfe);
	for (int i = 9; i < 16; i++)
		CHECK_EQ(p.addr[i], 0);
}

/* A failed parse leaves nothing half-filled behind. */
static void test_prefix_failure_clears(void)
{
	struct mg_prefix p, zero;

	memset(&zero, 0, sizeof(zero));
	memset(&p, 0xa5, sizeof(p));
	CHECK_EQ(mg_prefix_parse(&p, "10.0.0.1/33", true), -EINVAL);
	CHECK_MEM(&p, &zero, sizeof(p));
}

static void test_prefix_overlong(void)
{
	char s[256];
	struct mg_prefix p;

	memset(s, '0', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	CHECK_EQ(mg_prefix_parse(&p, s, true), -EINVAL);
	memcpy(s, "::", 2);
	CHECK_EQ(mg_prefix_parse(&p, s, true), -EINVAL);
}

struct endpoint_case {
	const char *in;
	int ret;
	const char *out;
};

static const struct endpoint_case endpoint_cases[] = {
	{ "1.2.3.4:51820", 0, "1.2.3.4:51820" },
	{ "0.0.0.0:0", 0, "0.0.0.0:0" },
	{ "255.255.255.255:65535", 0, "255.255.255.255:65535" },
	{ "1.2.3.4:00080", 0, "1.2.3.4:80" },
	{ "[fd00::1]:51820", 0, "[fd00::1]:51820" },
	{ "[FD00:0::1]:1", 0, "[fd00::1]:1" },
	{ "[::ffff:1.2.3.4]:7", 0, "[::ffff:1.2.3.4]:7" },
	{ "[::]:65535", 0, "[::]:65535" },
	{ "1.2.3.4:65536", -EINVAL, NULL },
	{ "1.2.3.4:000080", -EINVAL, NULL },
	{ "1.2.3.4:", -EINVAL, NULL },
	{ "1.2.3.4", -EINVAL, NULL },
	{ "1.2.3.4:-1", -EINVAL, NULL },
	{ "1.2.3.4:+1", -EINVAL, NULL },
	{ "1.2.3.4:0x10", -EINVAL, NULL },
	{ "1.2.3.4:80 ", -EINVAL, NULL },
	{ "1.2.3.4: 80", -EINVAL, NULL },
	{ " 1.2.3.4:80", -EINVAL, NULL },
	{ "1.2.3.4:80:80", -EINVAL, NULL },
	{ "1.2.3.4:http", -EINVAL, NULL },
	{ "example.com:80", -EINVAL, NULL },
	{ ":80", -EINVAL, NULL },
	{ "fd00::1:80", -EINVAL, NULL },
	{ "[fd00::1]", -EINVAL, NULL },
	{ "[fd00::1]:", -EINVAL, NULL },
	{ "[fd00::1]80", -EINVAL, NULL },
	{ "[fd00::1:80", -EINVAL, NULL },
	{ "[1.2.3.4]:80", -EINVAL, NULL },
	{ "[]:80", -EINVAL, NULL },
	{ "[fe80::1%2]:1", -EINVAL, NULL },
	{ "[fe80::1%eth0]:1", -EINVAL, NULL },
	{ "", -EINVAL, NULL },
};

static void test_endpoint_table(void)
{
	for (size_t i = 0; i < sizeof(endpoint_cases) / sizeof(endpoint_cases[0]); i++) {
		const struct endpoint_case *c = &endpoint_cases[i];
		struct mg_endpoint ep, again;
		char buf[MG_ENDPOINT_STRLEN];
		int ret = mg_endpoint_parse(&ep, c->in);

		if (ret != c->ret)
			fprintf(stderr, "case %zu: \"%s\"\n", i, c->in);
		CHECK_EQ(ret, c->ret);
		if (ret)
			continue;
		mg_endpoint_format(buf, sizeof(buf), &ep);
		if (strcmp(buf, c->out))
			fprintf(stderr, "case %zu: \"%s\" -> \"%s\"\n", i, c->in, buf);
		CHECK(!strcmp(buf, c->out));
		CHECK_EQ(mg_endpoint_parse(&again, buf), 0);
		CHECK(mg_endpoint_equal(&ep, &again));
	}
}

static void test_endpoint_fields(void)
{
	struct mg_endpoint ep;

	CHECK_EQ(mg_endpoint_parse(&ep, "10.1.2.3:51820"), 0);
	CHECK_EQ(ep.sa.sa_family, AF_INET);
	CHECK_EQ(ntohs(ep.in4.sin_port), 51820);
	CHECK_EQ(ntohl(ep.in4.sin_addr.s_addr), 0x0a010203);
	CHECK_EQ(mg_endpoint_len(&ep), sizeof(struct sockaddr_in));

	CHECK_EQ(mg_endpoint_parse(&ep, "[fd00::2]:1"), 0);
	CHECK_EQ(ep.sa.sa_family, AF_INET6);
	CHECK_EQ(ntohs(ep.in6.sin6_port), 1);
	CHECK_EQ(ep.in6.sin6_addr.s6_addr[0], 0xfd);
	CHECK_EQ(ep.in6.sin6_addr.s6_addr[15], 2);
	CHECK_EQ(ep.in6.sin6_scope_id, 0);
	CHECK_EQ(mg_endpoint_len(&ep), sizeof(struct sockaddr_in6));

	memset(&ep, 0, sizeof(ep));
	CHECK_EQ(mg_endpoint_len(&ep), 0);
	CHECK_EQ(mg_endpoint_parse(&ep, "junk"), -EINVAL);
	CHECK_EQ(ep.sa.sa_family, AF_UNSPEC);
}

/* A scope id can arrive on a received datagram: printed, but part of the
 * endpoint's identity. */
static void test_endpoint_scope(void)
{
	struct mg_endpoint a, b;
	char buf[MG_ENDPOINT_STRLEN];

	CHECK_EQ(mg_endpoint_parse(&a, "[fe80::1]:51820"), 0);
	b = a;
	b.in6.sin6_scope_id = 3;
	CHECK(!mg_endpoint_equal(&a, &b));
	mg_endpoint_format(buf, sizeof(buf), &b);
	CHECK(!strcmp(buf, "[fe80::1%3]:51820"));
	b.in6.sin6_scope_id = 0;
	b.in6.sin6_flowinfo = htonl(7);
	CHECK(mg_endpoint_equal(&a, &b));
}

static void test_endpoint_equal(void)
{
	struct mg_endpoint a, b, none1, none2;

	memset(&none1, 0, sizeof(none1));
	memset(&none2, 0xff, sizeof(none2));
	none2.sa.sa_family = AF_UNSPEC;
	CHECK(mg_endpoint_equal(&none1, &none2));

	CHECK_EQ(mg_endpoint_parse(&a, "1.2.3.4:1"), 0);
	CHECK_EQ(mg_endpoint_parse(&b, "1.2.3.4:1"), 0);
	/* The socket is ours, not the remote's: part of the path, kept by
	 * clear_local, not a source address. */
	b.local.sock = 3;
	CHECK(mg_endpoint_equal_remote(&a, &b));
	CHECK(!mg_endpoint_equal_local(&a, &b));
	CHECK(!mg_endpoint_equal(&a, &b));
	CHECK(!mg_endpoint_has_local(&b));
	b.local.in4.s_addr = htonl(0x0a000001);
	mg_endpoint_clear_local(&b);
	CHECK(!mg_endpoint_has_local(&b));
	CHECK_EQ(b.local.sock, 3);
	CHECK_EQ(mg_endpoint_parse(&b, "1.2.3.4:2"), 0);
	CHECK(!mg_endpoint_equal(&a, &b));
	CHECK_EQ(mg_endpoint_parse(&b, "1.2.3.5:1"), 0);
	CHECK(!mg_endpoint_equal(&a, &b));
	CHECK_EQ(mg_endpoint_parse(&b, "[::ffff:1.2.3.4]:1"), 0);
	CHECK(!mg_endpoint_equal(&a, &b));
	CHECK(!mg_endpoint_equal(&a, &none1));
	CHECK_EQ(mg_endpoint_parse(&b, "1.2.3.4:1"), 0);
	CHECK(mg_endpoint_equal(&a, &b));
}

/* Short buffers truncate and stay NUL-terminated. */
static void test_format_truncates(void)
{
	struct mg_prefix p;
	struct mg_endpoint ep;
	char buf[8];

	memset(buf, 'x', sizeof(buf));
	CHECK_EQ(mg_prefix_parse(&p, "192.168.100.100/32", true), 0);
	mg_prefix_format(buf, sizeof(buf), &p);
	CHECK(!strcmp(buf, "192.168"));
	CHECK_EQ(mg_endpoint_parse(&ep, "[fd00::1]:51820"), 0);
	mg_endpoint_format(buf, sizeof(buf), &ep);
	CHECK(!strcmp(buf, "[fd00::"));
	mg_endpoint_format(buf, 0, &ep);
	CHECK_EQ(buf[0], '[');
}

int main(void)
{
	test_prefix_table();
	test_prefix_mask();
	test_prefix_failure_clears();
	test_prefix_overlong();
	test_endpoint_table();
	test_endpoint_fields();
	test_endpoint_scope();
	test_endpoint_equal();
	test_format_truncates();
	mg_test_pass("ipaddr");
	return 0;
}
