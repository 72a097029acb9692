/* A parsed wg-quick file as the struct mg_interface_config that
 * mg_node_configure_wgquick_interface applies: Address lines as written,
 * every allowed IP a route (a default route once per family), the MTU, and
 * for a full tunnel the fwmark, table and rules wg-quick sets up. */
#include "check.h"
#include "meshguard.h"
#include "node/wgquick.h"

#define K1    "sNQuc1XJIaFJMoMwvwBiY5BPhCpM5KhH0vnQmS1YrX8="
#define K2    "mHHkRpTrK6KAT8vzeFBtnOmDh4VuZ37koE1y/JJnSFs="
#define K3    "2F0BZLHkR4RIgwId+sLrFJMKPlfRhAk7diIaQZRpf3o="
#define IFACE "[Interface]\nPrivateKey = " K1 "\n"

static const struct {
	const char *file;
	const char *expected;
} cases[] = {
	{ IFACE, "addr= routes= mtu=0 fwmark=0 table=0 rules=0" },
	{ IFACE "Address = 10.0.0.1/24, fd00::1/64\nAddress = 192.168.7.3\nMTU = 1400\n"
		"FwMark = 7\n"
		"[Peer]\nPublicKey = " K2 "\nAllowedIPs = 10.0.0.2/32, 10.1.2.3/16\n"
		"[Peer]\nPublicKey = " K3 "\nAllowedIPs = fd00::/64\n",
	  "addr=10.0.0.1/24,fd00::1/64,192.168.7.3/32 routes=10.0.0.2/32,10.1.0.0/16,fd00::/64 "
	  "mtu=1400 fwmark=0 table=0 rules=0" },
	/* Full tunnel: the default routes once per family, in table 51820. */
	{ IFACE "Address = 10.0.0.1/24\n"
		"[Peer]\nPublicKey = " K2 "\nAllowedIPs = 0.0.0.0/0, ::/0, 10.9.0.0/16\n"
		"[Peer]\nPublicKey = " K3 "\nAllowedIPs = 0.0.0.0/0\n",
	  "addr=10.0.0.1/24 routes=0.0.0.0/0,::/0,10.9.0.0/16 mtu=0 fwmark=51820 "
	  "table=51820 rules=1" },
	/* With FwMark, that number is the table too, as wg-quick does. */
	{ IFACE "FwMark = 0x1234\n[Peer]\nPublicKey = " K2 "\nAllowedIPs = ::/0\n",
	  "addr= routes=::/0 mtu=0 fwmark=4660 table=4660 rules=1" },
};

static void add_list(char *out, size_t len, const char *label, const char *const *items, size_t n)
{
	size_t used = strlen(out);

	used += (size_t)snprintf(out + used, len - used, "%s=", label);
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s", i ? "," : "", items[i]);
	snprintf(out + used, len - used, " ");
}

int main(void)
{
	char err[MG_CONFIG_ERR_LEN], got[1024];
	struct mg_config c;
	void *storage;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mg_interface_config ic = MG_INTERFACE_CONFIG_INIT;
		int ret = mg_config_parse(&c, "t.conf", cases[i].file, strlen(cases[i].file), err,
					  sizeof(err));

		if (ret)
			fprintf(stderr, "%s\n", err);
		CHECK_EQ(ret, 0);
		CHECK_EQ(mg_config_interface(&c, &ic, &storage), 0);
		got[0] = '\0';
		add_list(got, sizeof(got), "addr", ic.addresses, ic.addresses_len);
		add_list(got, sizeof(got), "routes", ic.routes, ic.routes_len);
		snprintf(got + strlen(got), sizeof(got) - strlen(got),
			 "mtu=%u fwmark=%u table=%u rules=%d", ic.mtu, ic.fwmark, ic.table,
			 ic.full_tunnel_rules);
		if (strcmp(got, cases[i].expected))
			fprintf(stderr, "cases[%zu]:\n got %s\nwant %s\n", i, got,
				cases[i].expected);
		CHECK(!strcmp(got, cases[i].expected));
		CHECK_EQ(ic.size, sizeof(ic));
		free(storage);
		mg_config_free(&c);
	}
	mg_test_pass("test_wgquick_interface");
	return 0;
}
