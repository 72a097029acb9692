/* Drives the PCP response and request parsers with arbitrary datagrams.
 * What they accept must be within the sizes RFC 6887 allows, and a MAP
 * response that parses must build back to a response that parses to the
 * same mapping. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat/pcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_response(const uint8_t *data, size_t size)
{
	struct mg_pcp_response r, again;
	uint8_t out[MG_PCP_MAP_LEN];
	struct mg_pcp_map req = { .protocol = MG_PCP_PROTO_UDP };

	int err = mg_pcp_parse_response(&r, data, size);
	if (err < 0)
		return;
	if (size < MG_PCP_HEADER_LEN || size > MG_PCP_MAX_LEN || size % 4)
		abort();
	if (r.opcode != MG_PCP_OP_ANNOUNCE && r.opcode != MG_PCP_OP_MAP)
		abort();
	(void)mg_pcp_result_name(r.result);
	(void)mg_pcp_result_errno(r.result);
	if (r.opcode != MG_PCP_OP_MAP || size < MG_PCP_MAP_LEN)
		return;
	memcpy(req.nonce, r.map.nonce, MG_PCP_NONCE_LEN);
	req.protocol = r.map.protocol;
	req.internal_port = r.map.internal_port;
	if (r.result == MG_PCP_SUCCESS && !r.map.external_port) {
		if (mg_pcp_map_matches(&r, &req))
			abort();
	} else if (!mg_pcp_map_matches(&r, &req)) {
		abort();
	}
	size_t n = mg_pcp_build_response(out, &r);
	if (mg_pcp_parse_response(&again, out, n) < 0)
		abort();
	if (memcmp(&again.map.nonce, &r.map.nonce, MG_PCP_NONCE_LEN) ||
	    again.map.external_port != r.map.external_port ||
	    again.map.external_addr.s_addr != r.map.external_addr.s_addr ||
	    again.lifetime != r.lifetime || again.epoch != r.epoch)
		abort();
}

static void check_request(const uint8_t *data, size_t size)
{
	uint8_t opcode, out[MG_PCP_MAP_LEN];
	uint32_t lifetime;
	struct in_addr client;
	struct mg_pcp_map map;

	if (mg_pcp_parse_request(&opcode, &lifetime, &client, &map, data, size) < 0)
		return;
	if (opcode == MG_PCP_OP_MAP) {
		size_t n = mg_pcp_map_request(out, client, lifetime, &map);
		if (n != MG_PCP_MAP_LEN)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_response(data, size);
	check_request(data, size);
	return 0;
}
