/* The firewall's flow table stays within MG_FW_FLOWS_MAX entries: more
 * outbound flows than it holds replace the ones that expire first (counted),
 * live ones are refreshed rather than duplicated, a flow recorded last is
 * always found, and forgotten flows are gone. */
#include "check.h"

#include "mesh/firewall.h"

static const char group[][MG_MESH_GROUP_MAX + 1] = { "g" };

static size_t udp(uint8_t *b, bool outbound, uint16_t our_port, uint16_t their_port)
{
	static const uint8_t us[4] = { 10, 0, 0, 1 }, them[4] = { 10, 0, 0, 2 };

	memset(b, 0, 28);
	b[0] = 0x45;
	b[3] = 28;
	b[9] = 17;
	memcpy(b + 12, outbound ? us : them, 4);
	memcpy(b + 16, outbound ? them : us, 4);
	b[20] = (uint8_t)((outbound ? our_port : their_port) >> 8);
	b[21] = (uint8_t)(outbound ? our_port : their_port);
	b[22] = (uint8_t)((outbound ? their_port : our_port) >> 8);
	b[23] = (uint8_t)(outbound ? their_port : our_port);
	return 28;
}

static size_t live(const struct mg_firewall *fw, uint64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < MG_FW_FLOWS_MAX; i++)
		n += fw->flows.slot[i].expires > now;
	return n;
}

int main(void)
{
	static struct mg_firewall fw;
	struct mg_fw_rule r;
	uint8_t b[64];
	char err[64];
	size_t len;

	CHECK_EQ(mg_crypto_init(), 0);
	CHECK_EQ(mg_fw_init(&fw), 0);
	CHECK_EQ(mg_fw_rule_parse(&r, "group=g proto=tcp port=22", 25, err, sizeof(err)), 0);
	CHECK_EQ(mg_fw_add(&fw.rules, &r), 0);

	/* One flow sent again and again is one entry, refreshed. */
	for (uint64_t t = 1; t < 100; t++) {
		len = udp(b, true, 5000, 53);
		mg_fw_outbound(&fw, b, len, t);
	}
	CHECK_EQ(live(&fw, 99), 1);
	len = udp(b, false, 5000, 53);
	CHECK(mg_fw_inbound(&fw, group, 1, b, len, 99 + MG_FW_UDP_TIMEOUT - 1));

	/* Twice as many flows as slots: the table stays full, not larger, and
	 * each newest flow is found. */
	for (uint32_t i = 0; i < 2 * MG_FW_FLOWS_MAX; i++) {
		len = udp(b, true, (uint16_t)(10000 + i / 8), (uint16_t)(1 + i % 8));
		mg_fw_outbound(&fw, b, len, 100 + i / 64);
		len = udp(b, false, (uint16_t)(10000 + i / 8), (uint16_t)(1 + i % 8));
		CHECK(mg_fw_inbound(&fw, group, 1, b, len, 100 + i / 64));
	}
	CHECK(live(&fw, 100) <= MG_FW_FLOWS_MAX);
	CHECK(live(&fw, 100) > MG_FW_FLOWS_MAX / 2);
	CHECK(fw.flows.evicted > 0);
	/* Everything expires. */
	CHECK_EQ(live(&fw, 100 + 2 * MG_FW_FLOWS_MAX / 64 + MG_FW_UDP_TIMEOUT), 0);
	/* Forgotten flows get no replies. */
	mg_fw_forget_flows(&fw);
	CHECK_EQ(live(&fw, 0), 0);
	CHECK(!mg_fw_inbound(&fw, group, 1, b, len, 100));
	mg_fw_free(&fw);
	mg_test_pass("mesh_firewall_flows");
	return 0;
}
