/* A parsed wg-quick file as the UAPI set request mg_node_apply_wgquick
 * sends: golden text per file, as `wg setconf` would send it (keys in hex,
 * replace_peers and replace_allowed_ips, the effective fwmark of a full
 * tunnel), and an Endpoint name that was never resolved is refused. */
#include "check.h"
#include "node/wgquick.h"

#include <errno.h>

#define K1    "sNQuc1XJIaFJMoMwvwBiY5BPhCpM5KhH0vnQmS1YrX8="
#define K2    "mHHkRpTrK6KAT8vzeFBtnOmDh4VuZ37koE1y/JJnSFs="
#define K3    "2F0BZLHkR4RIgwId+sLrFJMKPlfRhAk7diIaQZRpf3o="
#define H1    "b0d42e7355c921a149328330bf006263904f842a4ce4a847d2f9d0992d58ad7f"
#define H2    "9871e44694eb2ba2804fcbf378506d9ce98387856e677ee4a04d72fc9267485b"
#define H3    "d85d0164b1e447844883021dfac2eb14930a3e57d184093b76221a4194697f7a"
#define IFACE "[Interface]\nPrivateKey = " K1 "\n"

static const struct {
	const char *file;
	const char *request;
} golden[] = {
	/* No peers, nothing but the key: listen_port and fwmark stay as the
	 * node was created. */
	{ IFACE, "set=1\nprivate_key=" H1 "\nreplace_peers=true\n\n" },
	/* Everything a peer can have, the address lines ignored here. */
	{ IFACE "ListenPort = 51820\nFwMark = 0x1f\nAddress = 10.0.0.1/24\nMTU = 1400\n"
		"[Peer]\nPublicKey = " K2 "\nPresharedKey = " K3 "\n"
		"AllowedIPs = 10.0.0.2/32, 10.1.2.3/16\nAllowedIPs = fd00::2/128\n"
		"Endpoint = 192.0.2.1:51821\nPersistentKeepalive = 25\n"
		"[Peer]\nPublicKey = " K3 "\nEndpoint = [2001:db8::1]:4500\n",
	  "set=1\nprivate_key=" H1 "\nlisten_port=51820\nfwmark=31\nreplace_peers=true\n"
	  "public_key=" H2 "\npreshared_key=" H3 "\nendpoint=192.0.2.1:51821\n"
	  "persistent_keepalive_interval=25\nreplace_allowed_ips=true\n"
	  "allowed_ip=10.0.0.2/32\nallowed_ip=10.1.0.0/16\nallowed_ip=fd00::2/128\n"
	  "public_key=" H3 "\nendpoint=[2001:db8::1]:4500\nreplace_allowed_ips=true\n\n" },
	/* A full tunnel without FwMark: wg-quick's table number marks our UDP. */
	{ IFACE "[Peer]\nPublicKey = " K2 "\nAllowedIPs = 0.0.0.0/0, ::/0\n"
		"PersistentKeepalive = off\n",
	  "set=1\nprivate_key=" H1 "\nfwmark=51820\nreplace_peers=true\n"
	  "public_key=" H2 "\npersistent_keepalive_interval=0\nreplace_allowed_ips=true\n"
	  "allowed_ip=0.0.0.0/0\nallowed_ip=::/0\n\n" },
	/* FwMark = off is sent, as wg setconf sends it: the mark goes away. */
	{ IFACE "FwMark = off\nListenPort = 0\n",
	  "set=1\nprivate_key=" H1 "\nlisten_port=0\nfwmark=0\nreplace_peers=true\n\n" },
};

static void parse(struct mg_config *c, const char *text)
{
	char err[MG_CONFIG_ERR_LEN];
	int ret = mg_config_parse(c, "t.conf", text, strlen(text), err, sizeof(err));

	if (ret)
		fprintf(stderr, "%s\n", err);
	CHECK_EQ(ret, 0);
}

static void check_golden(void)
{
	struct mg_config c;
	char *text;
	size_t len;

	for (size_t i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
		parse(&c, golden[i].file);
		CHECK_EQ(mg_config_uapi_text(&c, &text, &len), 0);
		if (strcmp(text, golden[i].request))
			fprintf(stderr, "golden[%zu]:\n got %s\nwant %s\n", i, text,
				golden[i].request);
		CHECK(!strcmp(text, golden[i].request));
		CHECK_EQ(len, strlen(text));
		free(text);
		mg_config_free(&c);
	}
}

/* A name is looked up by mg_config_resolve_endpoints only; until then no
 * request can say where the peer is. */
static void check_unresolved(void)
{
	struct mg_config c;
	char *text = NULL;
	size_t len;

	parse(&c, IFACE "[Peer]\nPublicKey = " K2 "\nEndpoint = vpn.example.com:51820\n");
	CHECK_EQ(mg_config_uapi_text(&c, &text, &len), -EHOSTUNREACH);
	CHECK(text == NULL);
	mg_config_free(&c);
}

int main(void)
{
	CHECK_EQ(mg_crypto_init(), 0);
	check_golden();
	check_unresolved();
	mg_test_pass("test_wgquick_uapi");
	return 0;
}
