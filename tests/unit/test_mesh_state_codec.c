/* mesh.json and invite records: what the formatter writes parses back to
 * the same value, and the parsers refuse, on a table, every kind of bad
 * input (missing, repeated or unknown member, wrong type, bad value,
 * trailing bytes; short, long or non-canonical records). With a directory
 * argument, also writes the fuzz seed corpus there. */
#include "mesh_state_fixture.h"

static void config(struct mg_mesh_config *c)
{
	memset(c, 0, sizeof(*c));
	mg_random_bytes(c->mesh_id, sizeof(c->mesh_id));
	mg_random_bytes(c->authority, sizeof(c->authority));
	strcpy(c->mesh_name, "home");
	strcpy(c->name, "alpha");
	CHECK_EQ(mg_prefix_parse(&c->prefix4, "100.70.0.0/16", false), 0);
	CHECK_EQ(mg_prefix_parse(&c->prefix6, "fd12:3456:789a::/48", false), 0);
	c->listen_port = 51820;
	c->n_endpoints = 3;
	strcpy(c->endpoints[0], "192.0.2.1:51820");
	strcpy(c->endpoints[1], "[2001:db8::1]:51820");
	strcpy(c->endpoints[2], "vpn.example.net:4500");
}

#define BASE                                                                                  \
	"\"version\":1,\"mesh_id\":\"000102030405060708090a0b0c0d0e0f\",\"mesh_name\":\"m\"," \
	"\"authority\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\","                     \
	"\"prefix4\":\"100.70.0.0/16\",\"prefix6\":\"fd00::/48\",\"name\":\"a\","             \
	"\"listen_port\":51820"

static const struct {
	const char *text;
	int err;
} bad[] = {
	{ "{" BASE ",\"endpoints\":[]}", 0 },
	{ "{" BASE ",\"endpoints\":[]}\n\t ", 0 },
	{ "{" BASE "}", -MG_MESH_EMALFORMED },				       /* missing */
	{ "{" BASE ",\"endpoints\":[],\"name\":\"b\"}", -MG_MESH_EMALFORMED }, /* repeated */
	{ "{" BASE ",\"endpoints\":[],\"x\":1}", -MG_MESH_EMALFORMED },	       /* unknown */
	{ "{" BASE ",\"endpoints\":[]}x", -MG_MESH_EMALFORMED },	       /* trailing */
	{ "[" BASE "]", -MG_MESH_EMALFORMED },
	{ "{" BASE ",\"endpoints\":[\"1.2.3.4\"]}", -MG_MESH_EMALFORMED }, /* no port */
	{ "{" BASE ",\"endpoints\":[\"a b:1\"]}", -MG_MESH_EMALFORMED },
	{ "{" BASE ",\"endpoints\":[\"h:0\"]}", -MG_MESH_EMALFORMED },
	{ "{" BASE ",\"endpoints\":[\"[fe80::1%eth0]:1\"]}", -MG_MESH_EMALFORMED },
	{ "{" BASE ",\"endpoints\":[1]}", -MG_MESH_EMALFORMED },
	{ "{" BASE ",\"endpoints\":[\"a:1\",\"a:1\",\"a:1\",\"a:1\",\"a:1\",\"a:1\",\"a:1\","
	  "\"a:1\",\"a:1\"]}",
	  -MG_MESH_EMALFORMED }, /* nine */
	{ "{\"version\":2}", -MG_MESH_EVERSION },
	{ "{\"version\":1.5}", -MG_MESH_EMALFORMED },
	{ "{\"version\":\"1\"}", -MG_MESH_EMALFORMED },
	{ "", -MG_MESH_EMALFORMED },
	{ "null", -MG_MESH_EMALFORMED },
};

/* BASE with one member's value replaced. */
static const char *const bad_values[][2] = {
	{ "\"mesh_id\":\"000102030405060708090a0b0c0d0e0f\"", "\"mesh_id\":\"0001\"" },
	{ "\"mesh_id\":\"000102030405060708090a0b0c0d0e0f\"",
	  "\"mesh_id\":\"000102030405060708090A0B0C0D0E0F\"" },
	{ "\"mesh_name\":\"m\"", "\"mesh_name\":\"\"" },
	{ "\"mesh_name\":\"m\"", "\"mesh_name\":\"m/\"" },
	{ "\"prefix4\":\"100.70.0.0/16\"", "\"prefix4\":\"100.70.0.1/16\"" },
	{ "\"prefix4\":\"100.70.0.0/16\"", "\"prefix4\":\"100.70.0.0/31\"" },
	{ "\"prefix4\":\"100.70.0.0/16\"", "\"prefix4\":\"fd00::/48\"" },
	{ "\"prefix6\":\"fd00::/48\"", "\"prefix6\":\"fd00::/80\"" },
	{ "\"name\":\"a\"", "\"name\":7" },
	{ "\"listen_port\":51820", "\"listen_port\":0" },
	{ "\"listen_port\":51820", "\"listen_port\":65536" },
	{ "\"listen_port\":51820", "\"listen_port\":-1" },
	{ "\"authority\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"",
	  "\"authority\":\"AA\"" },
};

static void check_bad_values(void)
{
	char text[1024], *at;
	struct mg_mesh_config c;

	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		snprintf(text, sizeof(text), "{" BASE ",\"endpoints\":[]}");
		at = strstr(text, bad_values[i][0]);
		CHECK(at != NULL);
		memmove(at + strlen(bad_values[i][1]), at + strlen(bad_values[i][0]),
			strlen(at + strlen(bad_values[i][0])) + 1);
		memcpy(at, bad_values[i][1], strlen(bad_values[i][1]));
		if (mg_mesh_config_parse(&c, text, strlen(text)) != -MG_MESH_EMALFORMED) {
			fprintf(stderr, "accepted: %s\n", text);
			CHECK(0);
		}
	}
}

static void check_config(const char *seeds)
{
	struct mg_mesh_config c, d;
	char text[MG_MESH_CONFIG_TEXT_MAX];
	int n;

	config(&c);
	n = mg_mesh_config_format(text, sizeof(text), &c);
	CHECK(n > 0);
	CHECK_EQ(mg_mesh_config_parse(&d, text, (size_t)n), 0);
	CHECK_MEM(&c, &d, sizeof(c));
	CHECK_EQ(mg_mesh_config_format(text, 10, &c), -MG_MESH_ETOOBIG);
	/* Not NUL-terminated: only len bytes are read. */
	CHECK_EQ(mg_mesh_config_parse(&d, text, (size_t)n - 3), -MG_MESH_EMALFORMED);
	if (seeds)
		fx_write_seed(seeds, "config", text, (size_t)n);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mg_mesh_config_parse(&d, bad[i].text, strlen(bad[i].text)) != bad[i].err) {
			fprintf(stderr, "row %zu: %s\n", i, bad[i].text);
			CHECK(0);
		}
		if (seeds && i < 4) {
			char name[32];
			snprintf(name, sizeof(name), "config_%zu", i);
			fx_write_seed(seeds, name, bad[i].text, strlen(bad[i].text));
		}
	}
	check_bad_values();
	config(&c);
	c.listen_port = 0;
	CHECK_EQ(mg_mesh_config_format(text, sizeof(text), &c), -MG_MESH_EMALFORMED);
}

static void check_record(const char *seeds)
{
	struct mg_invite_record r, d;
	uint8_t buf[MG_INVITE_RECORD_MAX_LEN + 1];
	int n;

	memset(&r, 0, sizeof(r)); /* padding too: records are compared whole */
	r.expiry = SD_T0;
	r.uses = 3;
	r.used = 1;
	mg_random_bytes(r.id, sizeof(r.id));
	mg_random_bytes(r.secret, sizeof(r.secret));
	r.n_groups = 2;
	strcpy(r.groups[0], "a");
	strcpy(r.groups[1], "servers");
	r.n_routes = 1;
	CHECK_EQ(mg_prefix_parse(&r.routes[0], "192.168.7.0/24", false), 0);
	n = mg_invite_record_encode(buf, sizeof(buf), &r);
	CHECK_EQ(n, 61 + 1 + 1 + 2 + 8 + 1 + 6); /* routes: count, 4|24|192.168.7.0 */
	CHECK_EQ(mg_invite_record_decode(&d, buf, (size_t)n), 0);
	CHECK_MEM(&r, &d, sizeof(r));
	if (seeds)
		fx_write_seed(seeds, "record", buf, (size_t)n);
	for (int len = 0; len < n; len++)
		CHECK_EQ(mg_invite_record_decode(&d, buf, (size_t)len) < 0, 1);
	buf[n] = 0;
	CHECK_EQ(mg_invite_record_decode(&d, buf, (size_t)n + 1), -MG_MESH_EMALFORMED);
	buf[0] = 2;
	CHECK_EQ(mg_invite_record_decode(&d, buf, (size_t)n), -MG_MESH_EVERSION);
	buf[0] = 1;
	buf[60] = 4; /* used 4 > uses 3 */
	CHECK_EQ(mg_invite_record_decode(&d, buf, (size_t)n), -MG_MESH_EMALFORMED);

	strcpy(r.name, "bravo");
	r.n_groups = 8;
	for (int i = 0; i < 8; i++)
		memset(r.groups[i], 'g', 31);
	n = mg_invite_record_encode(buf, sizeof(buf), &r);
	CHECK(n > 0 && n <= MG_INVITE_RECORD_MAX_LEN);
	CHECK_EQ(mg_invite_record_decode(&d, buf, (size_t)n), 0);
	CHECK_MEM(&r, &d, sizeof(r));
	if (seeds)
		fx_write_seed(seeds, "record_largest", buf, (size_t)n);
	r.used = 4;
	CHECK_EQ(mg_invite_record_encode(buf, sizeof(buf), &r), -MG_MESH_EMALFORMED);
}

int main(int argc, char **argv)
{
	const char *seeds = argc > 1 ? argv[1] : NULL;

	CHECK_EQ(mg_crypto_init(), 0);
	check_config(seeds);
	check_record(seeds);
	mg_test_pass("mesh_state_codec");
	return 0;
}
