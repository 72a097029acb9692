/* Drives the other parsers of what a gateway (or the state directory)
 * hands us: NAT-PMP replies, SSDP answers and the mapping journal. The
 * first input byte picks the parser. Whatever they accept must be bounded:
 * a location is a NUL-terminated http URL on the gateway, a journal
 * formats back to text that parses to the same entries. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat/natpmp_wire.h"
#include "nat/portmap_journal.h"
#include "nat/ssdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void natpmp(const uint8_t *data, size_t size)
{
	struct mg_natpmp_reply r, again;
	uint8_t out[MG_NATPMP_MAP_REPLY_LEN];

	if (mg_natpmp_parse_reply(&r, data, size) < 0)
		return;
	if (size < MG_NATPMP_ERROR_LEN || r.opcode > MG_NATPMP_OP_MAP_TCP)
		abort();
	(void)mg_natpmp_result_errno(r.result);
	size_t n = mg_natpmp_build_reply(out, &r);
	if (mg_natpmp_parse_reply(&again, out, n) < 0 || memcmp(&again, &r, sizeof(r)))
		abort();
}

static void ssdp(const uint8_t *data, size_t size)
{
	char loc[MG_SSDP_URL_MAX];
	struct in_addr gw, host;

	gw.s_addr = htonl(0x0a000001);
	if (mg_ssdp_parse_reply(loc, data, size, gw) < 0) {
		if (loc[0])
			abort();
		return;
	}
	if (strnlen(loc, sizeof(loc)) >= sizeof(loc))
		abort();
	if (mg_ssdp_url_host(&host, loc) < 0 || host.s_addr != gw.s_addr)
		abort();
}

static void journal(const uint8_t *data, size_t size)
{
	struct mg_portmap_journal j, again;
	char text[4096];

	memset(&j, 0, sizeof(j));
	int n = mg_portmap_journal_parse(&j, (const char *)data, size);
	if (n < 0 || n > MG_PORTMAP_PROTO_COUNT)
		abort();
	int len = mg_portmap_journal_format(text, sizeof(text), &j);
	if (len < 0)
		abort();
	memset(&again, 0, sizeof(again));
	if (mg_portmap_journal_parse(&again, text, (size_t)len) > n)
		abort();
	for (int p = 0; p < MG_PORTMAP_PROTO_COUNT; p++) {
		if (j.entry[p].used != again.entry[p].used)
			abort();
		if (j.entry[p].used && memcmp(&j.entry[p], &again.entry[p], sizeof(j.entry[p])))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		natpmp(data + 1, size - 1);
		break;
	case 1:
		ssdp(data + 1, size - 1);
		break;
	default:
		journal(data + 1, size - 1);
		break;
	}
	return 0;
}
