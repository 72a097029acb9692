/* The wg-quick configuration parser: good files give the expected tree, each
 * bad line gives the expected file:line message, limits hold, and loading
 * and endpoint resolution do what the header says. */
#include "node/wgquick.h"
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#define K1    "sNQuc1XJIaFJMoMwvwBiY5BPhCpM5KhH0vnQmS1YrX8="
#define K2    "mHHkRpTrK6KAT8vzeFBtnOmDh4VuZ37koE1y/JJnSFs="
#define K3    "2F0BZLHkR4RIgwId+sLrFJMKPlfRhAk7diIaQZRpf3o="
#define K4    "0FGs8mOjVA0l8WYoY81JYaIEZGpIClRC7/7EGyupvUk="
#define IFACE "[Interface]\nPrivateKey = " K1 "\n"
#define PEER  "[Peer]\nPublicKey = " K2 "\n"

/* Appends printf output to a growing dump; the tree is compared as text so
 * that each table row is readable. */
__attribute__((format(printf, 3, 4))) static void add(char *out, size_t len, const char *fmt, ...)
{
	size_t used = strlen(out);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out + used, len - used, fmt, ap);
	va_end(ap);
}

static void add_key(char *out, size_t len, const char *label, const uint8_t key[MG_KEY_LEN])
{
	char b64[MG_KEY_BASE64_LEN + 1];

	mg_key_to_base64(b64, key);
	add(out, len, " %s=%s", label, b64);
}

static void add_prefixes(char *out, size_t len, const char *label, const struct mg_prefix *p,
			 size_t n)
{
	char s[MG_PREFIX_STRLEN];

	add(out, len, " %s=", label);
	for (size_t i = 0; i < n; i++) {
		mg_prefix_format(s, sizeof(s), &p[i]);
		add(out, len, "%s%s", i ? "," : "", s);
	}
}

static void dump_peer(char *out, size_t len, const struct mg_config_peer *peer)
{
	char ep[MG_ENDPOINT_STRLEN] = "-";

	add(out, len, "\npeer@%u", peer->line);
	add_key(out, len, "pub", peer->public_key);
	if (peer->flags & MG_CONFIG_PEER_HAS_PRESHARED_KEY)
		add_key(out, len, "psk", peer->preshared_key);
	if (peer->flags & MG_CONFIG_PEER_HAS_ENDPOINT) {
		if (peer->flags & MG_CONFIG_PEER_HAS_ENDPOINT_ADDR)
			mg_endpoint_format(ep, sizeof(ep), &peer->endpoint);
		add(out, len, " ep=%s|%s|%s", peer->endpoint_host, peer->endpoint_port, ep);
	}
	if (peer->flags & MG_CONFIG_PEER_HAS_KEEPALIVE)
		add(out, len, " ka=%u", peer->persistent_keepalive);
	add_prefixes(out, len, "ips", peer->allowed_ips, peer->allowed_ips_len);
}

static void dump(char *out, size_t len, const struct mg_config *c)
{
	out[0] = '\0';
	add(out, len, "%s:", c->name);
	add_key(out, len, "priv", c->private_key);
	if (c->flags & MG_CONFIG_HAS_LISTEN_PORT)
		add(out, len, " port=%u", c->listen_port);
	if (c->flags & MG_CONFIG_HAS_MTU)
		add(out, len, " mtu=%u", c->mtu);
	if (c->flags & MG_CONFIG_HAS_FWMARK)
		add(out, len, " fwmark=%u", c->fwmark);
	add_prefixes(out, len, "addr", c->addresses, c->addresses_len);
	for (size_t i = 0; i < c->peers_len; i++)
		dump_peer(out, len, &c->peers[i]);
}

static const struct {
	const char *text;
	const char *expected;
} good[] = {
	{ IFACE, "t.conf: priv=" K1 " addr=" },
	/* Everything at once: case-insensitive keys and sections, comments,
	 * CRLF, tabs, no spaces, accumulating lists, host bits kept in Address
	 * and masked in AllowedIPs, "off", hex fwmark, host name endpoints. */
	{ "# wg0\n"
	  "[interface]   # the local side\r\n"
	  "privatekey=" K1 "\r\n"
	  "\tListenPort\t=\t51820\n"
	  "Address = 10.0.0.1/24, fd00::1/64\n"
	  "ADDRESS = 192.168.7.3\n"
	  "MTU = 1420\n"
	  "FwMark = 0x1F\n"
	  "\n"
	  "[PEER]\n"
	  "PublicKey = " K2 "\n"
	  "PresharedKey = " K3 "\n"
	  "AllowedIPs = 10.0.0.2/32,10.1.2.3/16 , fd00::2/128\n"
	  "AllowedIPs = 0.0.0.0/0\n"
	  "Endpoint = 192.0.2.1:51820\n"
	  "PersistentKeepalive = 25\n"
	  "[Peer]\n"
	  "PublicKey = " K3 "\n"
	  "Endpoint = [2001:db8::1]:4500\n"
	  "PersistentKeepalive = off\n"
	  "AllowedIPs =\n"
	  "[Peer]\n"
	  "PublicKey = " K4 "\n"
	  "Endpoint = vpn.example.com:51820",
	  "t.conf: priv=" K1 " port=51820 mtu=1420 fwmark=31"
	  " addr=10.0.0.1/24,fd00::1/64,192.168.7.3/32"
	  "\npeer@10 pub=" K2 " psk=" K3 " ep=192.0.2.1|51820|192.0.2.1:51820 ka=25"
	  " ips=10.0.0.2/32,10.1.0.0/16,fd00::2/128,0.0.0.0/0"
	  "\npeer@17 pub=" K3 " ep=2001:db8::1|4500|[2001:db8::1]:4500 ka=0 ips="
	  "\npeer@22 pub=" K4 " ep=vpn.example.com|51820|- ips=" },
	{ IFACE "FwMark = off\nListenPort = 0\nMTU = 576\n",
	  "t.conf: priv=" K1 " port=0 mtu=576 fwmark=0 addr=" },
	{ IFACE "FwMark = 4294967295\nMTU = 65535\n",
	  "t.conf: priv=" K1 " mtu=65535 fwmark=4294967295 addr=" },
	/* A [Peer] may come first; PersistentKeepalive and ports at their ends. */
	{ "[Peer]\nPublicKey = " K2
	  "\nPersistentKeepalive = 65535\nEndpoint = h-1.x_y:65535\n" IFACE,
	  "t.conf: priv=" K1 " addr=\npeer@1 pub=" K2 " ep=h-1.x_y|65535|- ka=65535 ips=" },
};

static void test_good(void)
{
	char err[MG_CONFIG_ERR_LEN], got[4096];
	struct mg_config c;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int ret = mg_config_parse(&c, "t.conf", good[i].text, strlen(good[i].text), err,
					  sizeof(err));
		if (ret)
			fprintf(stderr, "good[%zu]: %s\n", i, err);
		CHECK_EQ(ret, 0);
		dump(got, sizeof(got), &c);
		if (strcmp(got, good[i].expected))
			fprintf(stderr, "good[%zu]:\n got %s\nwant %s\n", i, got, good[i].expected);
		CHECK(!strcmp(got, good[i].expected));
		mg_config_free(&c);
		CHECK(c.peers == NULL && c.name == NULL && c.peers_len == 0);
	}
}

#define TOO_LONG "9999999999999999999999999999999999999999999999999999999999999999"

static const struct {
	const char *text;
	const char *expected;
} bad[] = {
	{ IFACE "ListenPort = 70000\n",
	  "t.conf:3: ListenPort \"70000\" is not a port (expected 0-65535)" },
	{ IFACE "ListenPort = -1\n",
	  "t.conf:3: ListenPort \"-1\" is not a port (expected 0-65535)" },
	{ IFACE "ListenPort =\n", "t.conf:3: ListenPort \"\" is not a port (expected 0-65535)" },
	{ IFACE "ListenPort = 5 1\n",
	  "t.conf:3: ListenPort \"5 1\" is not a port (expected 0-65535)" },
	{ IFACE "ListenPort = 1\nListenPort = 2\n",
	  "t.conf:4: ListenPort appears twice in one [Interface] section (expected once)" },
	{ IFACE "ListenPort = \x1b[31m\n",
	  "t.conf:3: ListenPort \"?[31m\" is not a port (expected 0-65535)" },
	{ IFACE "ListenPort = " TOO_LONG "9\n",
	  "t.conf:3: ListenPort \"" TOO_LONG "...\" is not a port (expected 0-65535)" },
	{ IFACE "MTU = 575\n", "t.conf:3: MTU \"575\" is not an MTU (expected 576-65535)" },
	{ IFACE "MTU = 65536\n", "t.conf:3: MTU \"65536\" is not an MTU (expected 576-65535)" },
	{ IFACE "FwMark = 0x\n",
	  "t.conf:3: FwMark \"0x\" is not a firewall mark (expected 0-4294967295, 0x followed "
	  "by hex, or \"off\")" },
	{ IFACE "FwMark = 0x100000000\n",
	  "t.conf:3: FwMark \"0x100000000\" is not a firewall mark (expected 0-4294967295, 0x "
	  "followed by hex, or \"off\")" },
	{ IFACE "FwMark = on\n",
	  "t.conf:3: FwMark \"on\" is not a firewall mark (expected 0-4294967295, 0x followed "
	  "by hex, or \"off\")" },
	/* Secret keys are never echoed, not even mistyped ones. */
	{ "[Interface]\nPrivateKey = abc\n",
	  "t.conf:2: PrivateKey is not a valid key (expected 44 characters of base64 ending in "
	  "'=', got 3 characters)" },
	{ "[Interface]\nPrivateKey = sNQuc1XJIaFJMoMwvwBiY5BPhCpM5KhH0vnQmS1YrX9=\n",
	  "t.conf:2: PrivateKey is not a valid key (expected 44 characters of base64 ending in "
	  "'=', got 44 characters)" },
	{ IFACE PEER "PresharedKey = " K3 "x\n",
	  "t.conf:5: PresharedKey is not a valid key (expected 44 characters of base64 ending in "
	  "'=', got 45 characters)" },
	{ IFACE "[Peer]\nPublicKey = nope\n",
	  "t.conf:4: PublicKey \"nope\" is not a valid key (expected 44 characters of base64 "
	  "ending in '=')" },
	{ IFACE "Address = 10.0.0.300/24\n",
	  "t.conf:3: Address \"10.0.0.300/24\" is not an IP address (expected e.g. 10.0.0.1/24 "
	  "or fd00::1/64)" },
	{ IFACE "Address = 10.0.0.1/24, 10.0.0.2/33\n",
	  "t.conf:3: Address \"10.0.0.2/33\" is not an IP address (expected e.g. 10.0.0.1/24 "
	  "or fd00::1/64)" },
	{ IFACE "Address = 10.0.0.1/24,\n",
	  "t.conf:3: Address \"10.0.0.1/24,\" has an empty entry (expected comma-separated "
	  "entries)" },
	{ IFACE PEER "AllowedIPs = 10.0.0.0/8, fd00::/129\n",
	  "t.conf:5: AllowedIPs \"fd00::/129\" is not an IP prefix (expected e.g. 10.0.0.0/24 "
	  "or fd00::/64)" },
	{ IFACE PEER "AllowedIPs = 10.0.0.0/8,,10.1.0.0/16\n",
	  "t.conf:5: AllowedIPs \"10.0.0.0/8,,10.1.0.0/16\" has an empty entry (expected "
	  "comma-separated entries)" },
	{ IFACE PEER "PersistentKeepalive = 65536\n",
	  "t.conf:5: PersistentKeepalive \"65536\" is not an interval in seconds (expected "
	  "0-65535 or \"off\")" },
	{ IFACE PEER "Endpoint = 192.0.2.1\n",
	  "t.conf:5: Endpoint \"192.0.2.1\" is not host:port (expected e.g. 192.0.2.1:51820, "
	  "[2001:db8::1]:51820 or vpn.example.com:51820)" },
	{ IFACE PEER "Endpoint = 2001:db8::1:51820\n",
	  "t.conf:5: Endpoint \"2001:db8::1:51820\" is not host:port (expected e.g. "
	  "192.0.2.1:51820, [2001:db8::1]:51820 or vpn.example.com:51820)" },
	{ IFACE PEER "Endpoint = [2001:db8::1]51820\n",
	  "t.conf:5: Endpoint \"[2001:db8::1]51820\" is not host:port (expected e.g. "
	  "192.0.2.1:51820, [2001:db8::1]:51820 or vpn.example.com:51820)" },
	{ IFACE PEER "Endpoint = 192.0.2.1:0\n",
	  "t.conf:5: Endpoint \"192.0.2.1:0\" has no valid port (expected 1-65535 after ':')" },
	{ IFACE PEER "Endpoint = 192.0.2.1:65536\n",
	  "t.conf:5: Endpoint \"192.0.2.1:65536\" has no valid port (expected 1-65535 after "
	  "':')" },
	{ IFACE PEER "Endpoint = host:https\n",
	  "t.conf:5: Endpoint \"host:https\" has no valid port (expected 1-65535 after ':')" },
	{ IFACE PEER "Endpoint = [2001:db8::zz]:1\n",
	  "t.conf:5: Endpoint \"[2001:db8::zz]:1\" is not a valid IPv6 address and port "
	  "(expected e.g. [2001:db8::1]:51820)" },
	{ IFACE PEER "Endpoint = [fe80::1%eth0]:1\n",
	  "t.conf:5: Endpoint \"[fe80::1%eth0]:1\" is not a valid IPv6 address and port "
	  "(expected e.g. [2001:db8::1]:51820)" },
	{ IFACE PEER "Endpoint = 192.0.2.300:1\n",
	  "t.conf:5: Endpoint \"192.0.2.300:1\" is neither an IP address nor a host name "
	  "(expected e.g. 192.0.2.1:51820 or vpn.example.com:51820)" },
	{ IFACE PEER "Endpoint = bad host:1\n",
	  "t.conf:5: Endpoint \"bad host:1\" is neither an IP address nor a host name (expected "
	  "e.g. 192.0.2.1:51820 or vpn.example.com:51820)" },
	{ IFACE PEER "Endpoint = :1\n",
	  "t.conf:5: Endpoint \":1\" is neither an IP address nor a host name (expected e.g. "
	  "192.0.2.1:51820 or vpn.example.com:51820)" },
	/* Structure. */
	{ "PrivateKey = " K1 "\n",
	  "t.conf:1: PrivateKey comes before any section (expected [Interface] first)" },
	{ "Foo = 1\n",
	  "t.conf:1: unknown key \"Foo\" (expected an [Interface] or [Peer] section)" },
	{ IFACE "Foo = 1\n",
	  "t.conf:3: unknown key \"Foo\" in [Interface] (expected PrivateKey, ListenPort, "
	  "Address, MTU or FwMark)" },
	{ IFACE PEER "Private Key = 1\n",
	  "t.conf:5: unknown key \"Private Key\" in [Peer] (expected PublicKey, PresharedKey, "
	  "AllowedIPs, Endpoint or PersistentKeepalive)" },
	{ IFACE "PublicKey = " K2 "\n",
	  "t.conf:3: PublicKey belongs in [Peer], not in [Interface]" },
	{ IFACE PEER "ListenPort = 1\n",
	  "t.conf:5: ListenPort belongs in [Interface], not in [Peer]" },
	{ IFACE "[Peers]\n",
	  "t.conf:3: unknown section \"[Peers]\" (expected [Interface] or [Peer])" },
	{ IFACE "[Interface\n",
	  "t.conf:3: unknown section \"[Interface\" (expected [Interface] or [Peer])" },
	{ IFACE "garbage\n",
	  "t.conf:3: \"garbage\" is not a line of the form Key = Value or [Section]" },
	{ "[Interface]\nPrivateKey: " K1 "\n",
	  "t.conf:2: line starting with PrivateKey is not of the form PrivateKey = value" },
	{ "[Interface]\nPrivateKey: ABC\n",
	  "t.conf:2: line starting with PrivateKey is not of the form PrivateKey = value" },
	{ IFACE PEER "Endpoint = " TOO_LONG TOO_LONG TOO_LONG TOO_LONG ".com:1\n",
	  "t.conf:5: Endpoint \"" TOO_LONG "...\" has a host name longer than 253 characters" },
	{ IFACE IFACE,
	  "t.conf:3: second [Interface] section (expected one; the first is on line 1)" },
	{ "", "t.conf: no [Interface] section (expected one with a PrivateKey)" },
	{ "# nothing\n" PEER, "t.conf: no [Interface] section (expected one with a PrivateKey)" },
	{ "\n[Interface]\nListenPort = 1\n",
	  "t.conf:2: [Interface] has no PrivateKey (expected PrivateKey = <44 characters of "
	  "base64>)" },
	{ IFACE "[Peer]\nAllowedIPs = 10.0.0.0/8\n[Peer]\n",
	  "t.conf:3: [Peer] has no PublicKey (expected PublicKey = <44 characters of base64>)" },
	{ IFACE "\n[Peer]\n",
	  "t.conf:4: [Peer] has no PublicKey (expected PublicKey = <44 characters of base64>)" },
	{ IFACE PEER "PublicKey = " K3 "\n",
	  "t.conf:5: PublicKey appears twice in one [Peer] section (expected once; is a [Peer] "
	  "line missing?)" },
	{ IFACE PEER "[Peer]\nPublicKey = " K3 "\n" PEER PEER,
	  "t.conf:7: [Peer] has the same PublicKey \"" K2 "\" as the [Peer] on line 3 (expected "
	  "each peer once)" },
};

static void test_bad(void)
{
	char err[MG_CONFIG_ERR_LEN];
	struct mg_config c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = mg_config_parse(&c, "t.conf", bad[i].text, strlen(bad[i].text), err,
					  sizeof(err));
		if (ret != -EINVAL || strcmp(err, bad[i].expected))
			fprintf(stderr, "bad[%zu]: ret %d\n got %s\nwant %s\n", i, ret, err,
				bad[i].expected);
		CHECK_EQ(ret, -EINVAL);
		CHECK(!strcmp(err, bad[i].expected));
		/* Nothing is handed back on error. */
		CHECK(c.peers == NULL && c.addresses == NULL && c.name == NULL && c.flags == 0);
	}
}

/* Each wg-quick key we do not handle yet is named, in any case. */
static void test_unsupported(void)
{
	static const char *const keys[] = { "DNS",    "Table",	 "SaveConfig", "PreUp",
					    "PostUp", "PreDown", "PostDown" };
	char text[256], want[128], err[MG_CONFIG_ERR_LEN];
	struct mg_config c;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		for (int lower = 0; lower < 2; lower++) {
			char key[32];

			strcpy(key, keys[i]);
			for (char *k = key; lower && *k; k++)
				*k = (char)(*k | 0x20);
			snprintf(text, sizeof(text), "# x\n\n\n\n\n[Interface]\n%s = something\n",
				 key);
			snprintf(want, sizeof(want),
				 "config.conf:7: '%s' is not supported yet by meshguard up",
				 keys[i]);
			CHECK_EQ(mg_config_parse(&c, "config.conf", text, strlen(text), err,
						 sizeof(err)),
				 -EINVAL);
			CHECK(!strcmp(err, want));
		}
	}
}

static void test_nul_and_errlen(void)
{
	static const char text[] = IFACE "ListenPort = 1\0 2\n";
	char err[MG_CONFIG_ERR_LEN], tiny[8];
	struct mg_config c;

	CHECK_EQ(mg_config_parse(&c, "t.conf", text, sizeof(text) - 1, err, sizeof(err)), -EINVAL);
	CHECK(!strcmp(err, "t.conf:3: line contains a NUL byte (expected text)"));
	/* A short or absent error buffer truncates but never overflows. */
	CHECK_EQ(mg_config_parse(&c, "t.conf", text, sizeof(text) - 1, tiny, sizeof(tiny)),
		 -EINVAL);
	CHECK(!strcmp(tiny, "t.conf:"));
	CHECK_EQ(mg_config_parse(&c, "t.conf", text, sizeof(text) - 1, NULL, 0), -EINVAL);
	/* Text need not be NUL-terminated: only len bytes are read. */
	CHECK_EQ(mg_config_parse(&c, "t.conf", IFACE "ListenPort = 12", strlen(IFACE) + 14, err,
				 sizeof(err)),
		 0);
	CHECK_EQ(c.listen_port, 1);
	mg_config_free(&c);
}

static char *repeat_line(const char *head, const char *line, size_t times, const char *tail)
{
	size_t n = strlen(line);
	char *text = malloc(strlen(head) + n * times + strlen(tail) + 1);
	char *p = text;

	CHECK(text != NULL);
	p = stpcpy(p, head);
	for (size_t i = 0; i < times; i++)
		p = stpcpy(p, line);
	strcpy(p, tail);
	return text;
}

static void test_line_limit(void)
{
	char err[MG_CONFIG_ERR_LEN];
	struct mg_config c;
	char *text = repeat_line(IFACE "#", "x", MG_CONFIG_LINE_MAX - 1, "\n");

	CHECK_EQ(mg_config_parse(&c, "t.conf", text, strlen(text), err, sizeof(err)), 0);
	mg_config_free(&c);
	free(text);
	text = repeat_line(IFACE "#", "x", MG_CONFIG_LINE_MAX, "\n");
	CHECK_EQ(mg_config_parse(&c, "t.conf", text, strlen(text), err, sizeof(err)), -EINVAL);
	CHECK(!strcmp(err, "t.conf:3: line is 65536 bytes long (expected at most 65535)"));
	free(text);
}

static void test_address_limit(void)
{
	char err[MG_CONFIG_ERR_LEN];
	struct mg_config c;
	char *text = repeat_line(IFACE, "Address = 10.0.0.1/24\n", MG_CONFIG_ADDRESSES_MAX, "");

	CHECK_EQ(mg_config_parse(&c, "t.conf", text, strlen(text), err, sizeof(err)), 0);
	CHECK_EQ(c.addresses_len, MG_CONFIG_ADDRESSES_MAX);
	mg_config_free(&c);
	free(text);
	text = repeat_line(IFACE, "Address = 10.0.0.1/24\n", MG_CONFIG_ADDRESSES_MAX + 1, "");
	CHECK_EQ(mg_config_parse(&c, "t.conf", text, strlen(text), err, sizeof(err)), -EINVAL);
	CHECK(!strcmp(err, "t.conf:259: more than 256 Address entries (expected fewer)"));
	free(text);
}

/* 4096 prefixes a line keeps lines under the length limit. */
static void test_allowed_ips_limit(void)
{
	const size_t per_line = 4096, lines = MG_CONFIG_ALLOWEDIPS_MAX / per_line;
	char *line = repeat_line("AllowedIPs = 1.2.3.4", ",1.2.3.4", per_line - 1, "\n");
	char *text = repeat_line(IFACE PEER, line, lines, "AllowedIPs = 10.0.0.0/8\n");
	char err[MG_CONFIG_ERR_LEN], want[128];
	struct mg_config c;

	CHECK_EQ(mg_config_parse(&c, "t.conf", text, strlen(text), err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "t.conf:%zu: more than %d AllowedIPs in this file (expected fewer)", lines + 5,
		 MG_CONFIG_ALLOWEDIPS_MAX);
	CHECK(!strcmp(err, want));
	/* Exactly at the limit parses. */
	text[strlen(text) - strlen("AllowedIPs = 10.0.0.0/8\n")] = '\0';
	CHECK_EQ(mg_config_parse(&c, "t.conf", text, strlen(text), err, sizeof(err)), 0);
	CHECK_EQ(c.peers[0].allowed_ips_len, MG_CONFIG_ALLOWEDIPS_MAX);
	mg_config_free(&c);
	free(text);
	free(line);
}

/* Peers with distinct keys (a counter in the first bytes), n of them. */
static char *many_peers(size_t n, const char *tail)
{
	const size_t each = sizeof("[Peer]\nPublicKey = \n") - 1 + MG_KEY_BASE64_LEN;
	char *text = malloc(strlen(IFACE) + n * each + strlen(tail) + 1), *p;
	uint8_t key[MG_KEY_LEN] = { 0 };

	CHECK(text != NULL);
	p = stpcpy(text, IFACE);
	for (size_t i = 0; i < n; i++) {
		key[0] = (uint8_t)i;
		key[1] = (uint8_t)(i >> 8);
		key[2] = (uint8_t)(i >> 16);
		p = stpcpy(p, "[Peer]\nPublicKey = ");
		mg_key_to_base64(p, key);
		p = stpcpy(p + MG_KEY_BASE64_LEN, "\n");
	}
	strcpy(p, tail);
	return text;
}

static void test_peer_limit(void)
{
	char err[MG_CONFIG_ERR_LEN];
	struct mg_config c;
	char *text = many_peers(MG_CONFIG_PEERS_MAX, "");

	CHECK_EQ(mg_config_parse(&c, "t.conf", text, strlen(text), err, sizeof(err)), 0);
	CHECK_EQ(c.peers_len, MG_CONFIG_PEERS_MAX);
	CHECK_EQ(c.peers[MG_CONFIG_PEERS_MAX - 1].line, 2 * MG_CONFIG_PEERS_MAX + 1);
	mg_config_free(&c);
	free(text);
	text = many_peers(MG_CONFIG_PEERS_MAX, "[Peer]\n");
	CHECK_EQ(mg_config_parse(&c, "t.conf", text, strlen(text), err, sizeof(err)), -EINVAL);
	CHECK(!strcmp(err, "t.conf:131075: more than 65536 peers (expected fewer)"));
	free(text);
	/* A repeat among many is found, at its own line. */
	text = many_peers(1000,
			  "[Peer]\nPublicKey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
	CHECK_EQ(mg_config_parse(&c, "t.conf", text, strlen(text), err, sizeof(err)), -EINVAL);
	CHECK(!strcmp(err,
		      "t.conf:2003: [Peer] has the same PublicKey "
		      "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\" as the [Peer] on line 3 "
		      "(expected each peer once)"));
	free(text);
}

/* Runs fn with stderr going to a file; returns what was written. */
static char *capture_stderr(int (*fn)(struct mg_config *, const char *, char *, size_t),
			    struct mg_config *c, const char *path, char *err, int *ret)
{
	static char out[1024];
	char tmp[] = "/tmp/test_config_stderrXXXXXX";
	int fd = mkstemp(tmp), saved = dup(STDERR_FILENO);
	ssize_t n;

	CHECK(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	*ret = fn(c, path, err, MG_CONFIG_ERR_LEN);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(tmp);
	return out;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	CHECK(fd >= 0);
	CHECK_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
	CHECK_EQ(fchmod(fd, mode), 0);
	close(fd);
}

static void test_load(void)
{
	char dir[] = "/tmp/test_configXXXXXX", path[64], err[MG_CONFIG_ERR_LEN], want[160];
	struct mg_config c;
	const char *said;
	int ret;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/wg0.conf", dir);
	write_file(path, IFACE "ListenPort = 51820\n", 0600);
	said = capture_stderr(mg_config_load, &c, path, err, &ret);
	CHECK_EQ(ret, 0);
	CHECK(!strcmp(said, ""));
	CHECK(!strcmp(c.name, path));
	CHECK_EQ(c.listen_port, 51820);
	mg_config_free(&c);

	write_file(path, IFACE "ListenPort = 70000\n", 0644);
	said = capture_stderr(mg_config_load, &c, path, err, &ret);
	CHECK_EQ(ret, -EINVAL);
	CHECK(strstr(said, "is world accessible (mode 0644)") != NULL);
	snprintf(want, sizeof(want), "%s:3: ListenPort \"70000\" is not a port (expected 0-65535)",
		 path);
	CHECK(!strcmp(err, want));
	unlink(path);

	CHECK_EQ(mg_config_load(&c, path, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot read the file: No such file or directory", path);
	CHECK(!strcmp(err, want));
	CHECK_EQ(mg_config_load(&c, dir, err, sizeof(err)), -EISDIR);
	rmdir(dir);
}

static void test_resolve(void)
{
	static const char text[] = IFACE PEER "Endpoint = localhost:51820\n"
					      "[Peer]\nPublicKey = " K3 "\nEndpoint = 192.0.2.1:7\n"
					      "[Peer]\nPublicKey = " K4 "\n";
	static const char unknown[] = IFACE PEER "Endpoint = nonexistent.invalid:1\n";
	char err[MG_CONFIG_ERR_LEN];
	struct mg_config c;

	CHECK_EQ(mg_config_parse(&c, "t.conf", text, strlen(text), err, sizeof(err)), 0);
	CHECK(!(c.peers[0].flags & MG_CONFIG_PEER_HAS_ENDPOINT_ADDR));
	CHECK_EQ(mg_config_resolve_endpoints(&c, err, sizeof(err)), 0);
	CHECK(c.peers[0].flags & MG_CONFIG_PEER_HAS_ENDPOINT_ADDR);
	CHECK(c.peers[0].endpoint.sa.sa_family == AF_INET ||
	      c.peers[0].endpoint.sa.sa_family == AF_INET6);
	CHECK_EQ(ntohs(c.peers[0].endpoint.in4.sin_port), 51820);
	CHECK(!(c.peers[2].flags & MG_CONFIG_PEER_HAS_ENDPOINT_ADDR));
	mg_config_free(&c);

	CHECK_EQ(mg_config_parse(&c, "t.conf", unknown, strlen(unknown), err, sizeof(err)), 0);
	CHECK_EQ(mg_config_resolve_endpoints(&c, err, sizeof(err)), -EHOSTUNREACH);
	CHECK(!strncmp(
		err,
		"t.conf:3: [Peer] Endpoint \"nonexistent.invalid:1\" cannot be resolved: ", 70));
	mg_config_free(&c);
}

int main(void)
{
	CHECK_EQ(mg_crypto_init(), 0);
	test_good();
	test_bad();
	test_unsupported();
	test_nul_and_errlen();
	test_line_limit();
	test_address_limit();
	test_allowed_ips_limit();
	test_peer_limit();
	test_load();
	test_resolve();
	mg_test_pass("config");
	return 0;
}
