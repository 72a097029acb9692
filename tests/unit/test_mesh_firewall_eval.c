/* The firewall's policy (firewall.h) on IPv4 and IPv6 packets: no rules
 * allow all; rules by group, proto and port; replies to our flows; ICMP
 * echo unless a rule names icmp; ICMP errors about our flows; hits. */
#include "check.h"

#include "mesh/firewall.h"

typedef char groups_t[MG_MESH_GROUP_MAX + 1];

static const uint8_t us4[4] = { 100, 64, 0, 1 }, them4[4] = { 100, 64, 0, 2 };
static const uint8_t us6[16] = { 0xfd, 1, [15] = 1 }, them6[16] = { 0xfd, 1, [15] = 2 };

/* An IPv4 or IPv6 packet from src to dst: proto with ports (TCP, UDP) or
 * an ICMP message (type, id). Returns its length. */
static size_t packet(uint8_t *b, int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
		     uint16_t sport, uint16_t dport)
{
	size_t hl = family == 4 ? 20 : 40, len = hl + 20;

	memset(b, 0, len);
	if (family == 4) {
		b[0] = 0x45;
		b[2] = (uint8_t)(len >> 8);
		b[3] = (uint8_t)len;
		b[9] = proto;
		memcpy(b + 12, src, 4);
		memcpy(b + 16, dst, 4);
	} else {
		b[0] = 0x60;
		b[5] = 20;
		b[6] = proto;
		memcpy(b + 8, src, 16);
		memcpy(b + 24, dst, 16);
	}
	if (proto == 1 || proto == 58) { /* type, code, checksum, id */
		b[hl] = (uint8_t)sport;
		b[hl + 4] = (uint8_t)(dport >> 8);
		b[hl + 5] = (uint8_t)dport;
	} else {
		b[hl] = (uint8_t)(sport >> 8);
		b[hl + 1] = (uint8_t)sport;
		b[hl + 2] = (uint8_t)(dport >> 8);
		b[hl + 3] = (uint8_t)dport;
	}
	return len;
}

static struct mg_firewall fw;
static const groups_t admins[] = { "staff", "admins" }, laptops[] = { "laptops" };

static void add(const char *text)
{
	struct mg_fw_rule r;
	char err[128];

	CHECK_EQ(mg_fw_rule_parse(&r, text, strlen(text), err, sizeof(err)), 0);
	CHECK_EQ(mg_fw_add(&fw.rules, &r), 0);
}

static bool in(const groups_t *g, size_t n, int fam, uint8_t proto, uint16_t sport, uint16_t dport,
	       uint64_t now)
{
	uint8_t b[128];
	size_t len =
		packet(b, fam, fam == 4 ? them4 : them6, fam == 4 ? us4 : us6, proto, sport, dport);

	return mg_fw_inbound(&fw, g, n, b, len, now);
}

static void out(int fam, uint8_t proto, uint16_t sport, uint16_t dport, uint64_t now)
{
	uint8_t b[128];
	size_t len =
		packet(b, fam, fam == 4 ? us4 : us6, fam == 4 ? them4 : them6, proto, sport, dport);

	mg_fw_outbound(&fw, b, len, now);
}

static void check_no_rules(void)
{
	CHECK(in(laptops, 1, 4, 6, 40000, 22, 1));
	CHECK(in(NULL, 0, 6, 17, 40000, 53, 1));
	CHECK_EQ(fw.dropped, 0);
}

static void check_rules(int fam)
{
	uint8_t icmp = fam == 4 ? 1 : 58, echo = fam == 4 ? 8 : 128;
	uint64_t hits = fw.rules.rule[0].hits;

	CHECK(in(admins, 2, fam, 6, 40000, 22, 1));
	CHECK_EQ(fw.rules.rule[0].hits, hits + 1);
	CHECK(!in(laptops, 1, fam, 6, 40000, 22, 1)); /* test 5: laptops cannot */
	CHECK(!in(NULL, 0, fam, 6, 40000, 22, 1));    /* no member, no groups */
	CHECK(!in(admins, 2, fam, 17, 40000, 22, 1)); /* udp is not tcp */
	CHECK(!in(admins, 2, fam, 6, 40000, 23, 1));
	CHECK(in(laptops, 1, fam, 17, 5, 1500, 1)); /* group=any udp 1000-2000 */
	CHECK(in(laptops, 1, fam, 17, 5, 2000, 1));
	CHECK(!in(laptops, 1, fam, 17, 5, 2001, 1));
	CHECK(in(laptops, 1, fam, icmp, echo, 7, 1)); /* test 5: laptops can ping */
	CHECK(!in(laptops, 1, fam, icmp, 13, 7, 1));  /* timestamp: no */
	CHECK(!in(laptops, 1, fam, 47, 0, 0, 1));     /* GRE: no */
}

static void check_replies(int fam)
{
	uint8_t icmp = fam == 4 ? 1 : 58;

	/* We connect to their 443: the answer passes until the flow expires. */
	CHECK(!in(laptops, 1, fam, 6, 443, 50000, 10));
	out(fam, 6, 50000, 443, 10);
	CHECK(in(laptops, 1, fam, 6, 443, 50000, 10));
	CHECK(!in(laptops, 1, fam, 6, 443, 50001, 10));	 /* another port of ours */
	CHECK(!in(laptops, 1, fam, 17, 443, 50000, 10)); /* another proto */
	CHECK(in(laptops, 1, fam, 6, 443, 50000, 10 + MG_FW_TCP_TIMEOUT - 1));
	CHECK(!in(laptops, 1, fam, 6, 443, 50000, 10 + MG_FW_TCP_TIMEOUT));
	out(fam, 17, 40000, 53, 10);
	CHECK(in(laptops, 1, fam, 17, 53, 40000, 10 + MG_FW_UDP_TIMEOUT - 1));
	CHECK(!in(laptops, 1, fam, 17, 53, 40000, 10 + MG_FW_UDP_TIMEOUT));
	/* Our ping: its reply (same id) passes; another id does not. */
	out(fam, icmp, fam == 4 ? 8 : 128, 0x1234, 10);
	CHECK(in(laptops, 1, fam, icmp, fam == 4 ? 0 : 129, 0x1234, 11));
	CHECK(!in(laptops, 1, fam, icmp, fam == 4 ? 0 : 129, 0x1235, 11));
	CHECK(!in(laptops, 1, fam, icmp, fam == 4 ? 0 : 129, 0x1234, 10 + MG_FW_ICMP_TIMEOUT));
}

/* An ICMP error passes when the packet it quotes is one of our flows. */
static void check_icmp_error(void)
{
	uint8_t b[128];
	size_t len;

	(void)packet(b, 4, them4, us4, 1, 3, 0); /* port unreachable */
	len = 28 + packet(b + 28, 4, us4, them4, 17, 40001, 9999);
	b[3] = (uint8_t)len;
	CHECK(!mg_fw_inbound(&fw, laptops, 1, b, len, 20));
	out(4, 17, 40001, 9999, 20);
	CHECK(mg_fw_inbound(&fw, laptops, 1, b, len, 20));
	CHECK(!mg_fw_inbound(&fw, laptops, 1, b, 28 + 10, 20)); /* quote cut short */
}

/* A non-first fragment has no ports: only port=any rules take it. */
static void check_fragment(void)
{
	uint8_t b[128];
	size_t len = packet(b, 4, them4, us4, 6, 40000, 22);

	b[7] = 8; /* offset 64 bytes */
	CHECK(!mg_fw_inbound(&fw, admins, 2, b, len, 1));
	add("group=admins proto=tcp port=any");
	CHECK(mg_fw_inbound(&fw, admins, 2, b, len, 1));
	CHECK_EQ(mg_fw_del(&fw.rules, fw.rules.n), 0);
}

/* A rule naming icmp: ICMP goes by the rules alone. */
static void check_icmp_ruled(void)
{
	uint64_t echo = fw.allowed_echo;

	add("group=admins proto=icmp port=any");
	CHECK(!in(laptops, 1, 4, 1, 8, 7, 1));
	CHECK(in(admins, 2, 4, 1, 8, 7, 1));
	CHECK(!in(laptops, 1, 6, 58, 128, 7, 1));
	CHECK_EQ(fw.allowed_echo, echo);
}

int main(void)
{
	CHECK_EQ(mg_crypto_init(), 0);
	CHECK_EQ(mg_fw_init(&fw), 0);
	check_no_rules();
	add("group=admins proto=tcp port=22");
	add("group=any proto=udp port=1000-2000");
	check_rules(4);
	check_rules(6);
	CHECK_EQ(fw.rules.rule[0].hits, 2);
	CHECK(fw.dropped > 0 && fw.allowed_echo == 2);
	check_replies(4);
	check_replies(6);
	check_icmp_error();
	check_fragment();
	check_icmp_ruled();
	mg_fw_free(&fw);
	mg_fw_free(&fw);
	mg_test_pass("mesh_firewall_eval");
	return 0;
}
