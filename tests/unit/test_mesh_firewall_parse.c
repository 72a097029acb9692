/* The firewall's rule text and state file (firewall.h): strict, one text
 * per rule, errors that quote the input. */
#include "check.h"

#include <errno.h>

#include "mesh/firewall.h"

static const struct {
	const char *text;
	bool ok;
	const char *canonical; /* NULL: the text itself */
} rules[] = {
	{ "group=admins proto=tcp port=22", true, NULL },
	{ "group=any proto=any port=any", true, NULL },
	{ "group=A.b_c-9 proto=udp port=1000-2000", true, NULL },
	{ "group=any proto=icmp port=any", true, NULL },
	{ "group=x proto=tcp port=1-65535", true, NULL },
	{ "group=x proto=tcp port=65535", true, NULL },
	{ "group=x proto=tcp port=65536", false, NULL },
	{ "group=x proto=tcp port=0", false, NULL },
	{ "group=x proto=tcp port=022", false, NULL },
	{ "group=x proto=tcp port=22-22", false, NULL },
	{ "group=x proto=tcp port=30-20", false, NULL },
	{ "group=x proto=tcp port=-20", false, NULL },
	{ "group=x proto=tcp port=20-", false, NULL },
	{ "group=x proto=tcp port=+22", false, NULL },
	{ "group=x proto=icmp port=22", false, NULL },
	{ "group=x proto=any port=22", false, NULL },
	{ "group=x proto=TCP port=22", false, NULL },
	{ "group=x proto=sctp port=any", false, NULL },
	{ "group=x  proto=tcp port=22", false, NULL },
	{ " group=x proto=tcp port=22", false, NULL },
	{ "group=x proto=tcp port=22 ", false, NULL },
	{ "group=x proto=tcp port=22 extra=1", false, NULL },
	{ "proto=tcp group=x port=22", false, NULL },
	{ "group=x proto=tcp", false, NULL },
	{ "group= proto=tcp port=22", false, NULL },
	{ "group=a/b proto=tcp port=22", false, NULL },
	{ "group=0123456789012345678901234567890 proto=tcp port=22", true, NULL },
	{ "group=01234567890123456789012345678901 proto=tcp port=22", false, NULL },
	{ "", false, NULL },
	{ "group", false, NULL },
};

static void check_rules(void)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		struct mg_fw_rule r;
		char err[256] = "", out[MG_FW_RULE_TEXT];
		int ret = mg_fw_rule_parse(&r, rules[i].text, strlen(rules[i].text), err,
					   sizeof(err));

		if ((ret == 0) != rules[i].ok)
			fprintf(stderr, "rule %zu \"%s\": %d %s\n", i, rules[i].text, ret, err);
		CHECK((ret == 0) == rules[i].ok);
		if (ret < 0) {
			CHECK_EQ(ret, -MG_MESH_EMALFORMED);
			CHECK(strchr(err, '"')); /* the bad token quoted */
			continue;
		}
		mg_fw_rule_format(&r, out);
		CHECK(!strcmp(out, rules[i].canonical ? rules[i].canonical : rules[i].text));
	}
}

static int parse_file(struct mg_fw_rules *rs, const char *text)
{
	char err[256];

	return mg_fw_parse(rs, (const uint8_t *)text, strlen(text), err, sizeof(err));
}

static void check_file(void)
{
	static struct mg_fw_rules rs;
	static char big[MG_FW_FILE_MAX + 64];
	char out[MG_FW_FILE_MAX];
	const char *good = "meshguard-firewall 1\n"
			   "group=admins proto=tcp port=22\n"
			   "group=any proto=icmp port=any\n";
	size_t n;

	CHECK_EQ(parse_file(&rs, good), 0);
	CHECK_EQ(rs.n, 2);
	CHECK_EQ(mg_fw_format(&rs, out, sizeof(out)), (int)strlen(good));
	CHECK(!strcmp(out, good));
	CHECK_EQ(parse_file(&rs, "meshguard-firewall 1\n"), 0);
	CHECK_EQ(rs.n, 0);
	CHECK_EQ(parse_file(&rs, "meshguard-firewall 2\n"), -MG_MESH_EVERSION);
	CHECK_EQ(parse_file(&rs, ""), -MG_MESH_EVERSION);
	CHECK_EQ(parse_file(&rs, "meshguard-firewall 1\ngroup=a proto=tcp port=22"),
		 -MG_MESH_EMALFORMED);
	CHECK_EQ(rs.n, 0);
	CHECK_EQ(parse_file(&rs, "meshguard-firewall 1\n\n"), -MG_MESH_EMALFORMED);
	CHECK_EQ(parse_file(&rs, "meshguard-firewall 1\ngroup=a proto=tcp port=22\r\n"),
		 -MG_MESH_EMALFORMED);
	/* MG_FW_RULES_MAX rules fit; one more does not. */
	n = (size_t)snprintf(big, sizeof(big), "%s", MG_FW_FILE_HEADER);
	for (int i = 0; i < MG_FW_RULES_MAX; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n,
				      "group=0123456789012345678901234567890 proto=tcp "
				      "port=%d-65535\n",
				      10000 + i);
	CHECK(n <= MG_FW_FILE_MAX);
	CHECK_EQ(parse_file(&rs, big), 0);
	CHECK_EQ(rs.n, MG_FW_RULES_MAX);
	CHECK_EQ(mg_fw_format(&rs, out, sizeof(out)), (int)n);
	snprintf(big + n, sizeof(big) - n, "group=a proto=tcp port=1\n");
	CHECK_EQ(parse_file(&rs, big), -MG_MESH_ETOOBIG);
	CHECK_EQ(rs.n, 0);
}

static void check_add_del(void)
{
	static struct mg_fw_rules rs;
	struct mg_fw_rule r;
	char err[128];

	CHECK_EQ(mg_fw_rule_parse(&r, "group=a proto=tcp port=22", 25, err, sizeof(err)), 0);
	CHECK_EQ(mg_fw_add(&rs, &r), 0);
	CHECK_EQ(mg_fw_add(&rs, &r), -EEXIST);
	r.port_lo = r.port_hi = 23;
	CHECK_EQ(mg_fw_add(&rs, &r), 0);
	CHECK_EQ(mg_fw_del(&rs, 0), -ENOENT);
	CHECK_EQ(mg_fw_del(&rs, 3), -ENOENT);
	CHECK_EQ(mg_fw_del(&rs, 1), 0);
	CHECK_EQ(rs.n, 1);
	CHECK_EQ(rs.rule[0].port_lo, 23);
	for (int i = 1; i < MG_FW_RULES_MAX; i++) {
		r.port_lo = r.port_hi = (uint16_t)(1000 + i);
		CHECK_EQ(mg_fw_add(&rs, &r), 0);
	}
	r.port_lo = r.port_hi = 999;
	CHECK_EQ(mg_fw_add(&rs, &r), -ENOSPC);
}

int main(void)
{
	check_rules();
	check_file();
	check_add_del();
	mg_test_pass("mesh_firewall_parse");
	return 0;
}
