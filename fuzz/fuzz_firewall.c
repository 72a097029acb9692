/* Drives the firewall's parsers: the input as a state file (whatever is
 * accepted must format back to exactly the same bytes: one text per rule
 * set), and as an IP packet through the flow table and the inbound policy
 * of a fixed rule set, which must not read past it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/primitives.h"
#include "mesh/firewall.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mg_firewall fw;

static void setup(void)
{
	static const char *const rules[] = { "group=admins proto=tcp port=22",
					     "group=any proto=udp port=1000-2000" };
	struct mg_fw_rule r;
	char err[128];

	if (mg_crypto_init() < 0 || mg_fw_init(&fw) < 0)
		abort();
	for (size_t i = 0; i < 2; i++)
		if (mg_fw_rule_parse(&r, rules[i], strlen(rules[i]), err, sizeof(err)) < 0 ||
		    mg_fw_add(&fw.rules, &r) < 0)
			abort();
}

static void as_file(const uint8_t *data, size_t size)
{
	static struct mg_fw_rules rules;
	static char out[MG_FW_FILE_MAX];
	char err[256];
	int len;

	if (mg_fw_parse(&rules, data, size, err, sizeof(err)) < 0)
		return;
	len = mg_fw_format(&rules, out, sizeof(out));
	if (len < 0 || (size_t)len != size || memcmp(out, data, size) != 0)
		abort();
}

static void as_packet(const uint8_t *data, size_t size)
{
	static const char groups[][MG_MESH_GROUP_MAX + 1] = { "admins" };
	uint8_t *copy = malloc(size ? size : 1); /* exact size: ASan sees overreads */

	if (!copy)
		abort();
	memcpy(copy, data, size);
	mg_fw_outbound(&fw, copy, size, 1);
	(void)mg_fw_inbound(&fw, groups, 1, copy, size, 2);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fw.flows.slot)
		setup();
	as_file(data, size);
	as_packet(data, size);
	return 0;
}
