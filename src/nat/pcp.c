/* PCP codec (RFC 6887): requests we send and checks on what comes back.
 * Responses are untrusted: every length is checked before a read, options
 * are walked with bounds, and a MAP answer must carry an IPv4-mapped
 * external address. */
#include "nat/pcp.h"
#include "util/macros.h"
#include "util/bytes.h"

#include <errno.h>
#include <string.h>

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* INADDR_ANY becomes ::ffff:0.0.0.0, the "no suggestion" IPv4 address of
 * RFC 6887 11.1. */
static void put_v4mapped(uint8_t out[16], struct in_addr a)
{
	memcpy(out, v4mapped_prefix, sizeof(v4mapped_prefix));
	memcpy(out + 12, &a.s_addr, 4);
}

static bool get_v4mapped(struct in_addr *a, const uint8_t in[16])
{
	if (memcmp(in, v4mapped_prefix, sizeof(v4mapped_prefix)))
		return false;
	memcpy(&a->s_addr, in + 12, 4);
	return true;
}

static void put_header(uint8_t out[MG_PCP_HEADER_LEN], uint8_t opcode, uint32_t lifetime,
		       struct in_addr client)
{
	memset(out, 0, MG_PCP_HEADER_LEN);
	out[0] = MG_PCP_VERSION;
	out[1] = opcode;
	put32(out + 4, lifetime);
	put_v4mapped(out + 8, client);
}

static void put_map(uint8_t out[MG_PCP_MAP_PAYLOAD_LEN], const struct mg_pcp_map *map)
{
	memset(out, 0, MG_PCP_MAP_PAYLOAD_LEN);
	memcpy(out, map->nonce, MG_PCP_NONCE_LEN);
	out[12] = map->protocol;
	put16(out + 16, map->internal_port);
	put16(out + 18, map->external_port);
	put_v4mapped(out + 20, map->external_addr);
}

/* Returns false when the MAP payload names a non-IPv4 external address. */
static bool get_map(struct mg_pcp_map *map, const uint8_t in[MG_PCP_MAP_PAYLOAD_LEN])
{
	memcpy(map->nonce, in, MG_PCP_NONCE_LEN);
	map->protocol = in[12];
	map->internal_port = get16(in + 16);
	map->external_port = get16(in + 18);
	return get_v4mapped(&map->external_addr, in + 20);
}

size_t mg_pcp_announce_request(uint8_t out[MG_PCP_HEADER_LEN], struct in_addr client)
{
	put_header(out, MG_PCP_OP_ANNOUNCE, 0, client);
	return MG_PCP_HEADER_LEN;
}

size_t mg_pcp_map_request(uint8_t out[MG_PCP_MAP_LEN], struct in_addr client, uint32_t lifetime,
			  const struct mg_pcp_map *map)
{
	put_header(out, MG_PCP_OP_MAP, lifetime, client);
	put_map(out + MG_PCP_HEADER_LEN, map);
	return MG_PCP_MAP_LEN;
}

/* Walks the options after the opcode payload: each is code, reserved,
 * 16-bit length, then that many bytes padded to a multiple of 4. */
static int check_options(const uint8_t *p, size_t len)
{
	while (len) {
		if (len < 4)
			return -EBADMSG;
		size_t olen = get16(p + 2);
		size_t padded = (olen + 3) & ~(size_t)3;
		if (padded > len - 4)
			return -EBADMSG;
		p += 4 + padded;
		len -= 4 + padded;
	}
	return 0;
}

static size_t opcode_payload_len(uint8_t opcode)
{
	switch (opcode) {
	case MG_PCP_OP_ANNOUNCE:
		return 0;
	case MG_PCP_OP_MAP:
		return MG_PCP_MAP_PAYLOAD_LEN;
	default:
		return SIZE_MAX;
	}
}

int mg_pcp_parse_response(struct mg_pcp_response *resp, const uint8_t *buf, size_t len)
{
	memset(resp, 0, sizeof(*resp));
	/* A NAT-PMP-only server answers a version 2 request with its own
	 * 8-byte UNSUPP_VERSION (RFC 6887 9). */
	if (len >= 4 && buf[0] != MG_PCP_VERSION && (buf[1] & MG_PCP_RESPONSE_BIT)) {
		resp->result = buf[3];
		return -EPROTONOSUPPORT;
	}
	if (len < MG_PCP_HEADER_LEN || len > MG_PCP_MAX_LEN || len % 4)
		return -EBADMSG;
	if (buf[0] != MG_PCP_VERSION || !(buf[1] & MG_PCP_RESPONSE_BIT))
		return -EBADMSG;
	resp->opcode = buf[1] & (uint8_t)~MG_PCP_RESPONSE_BIT;
	resp->result = buf[3];
	resp->lifetime = get32(buf + 4);
	resp->epoch = get32(buf + 8);
	size_t payload = opcode_payload_len(resp->opcode);
	if (payload == SIZE_MAX)
		return -EBADMSG;
	/* Error responses may be cut short after the header (RFC 6887 7.2):
	 * only successful ones must carry the whole opcode payload. */
	if (len - MG_PCP_HEADER_LEN < payload) {
		if (resp->result == MG_PCP_SUCCESS)
			return -EBADMSG;
		return 0;
	}
	if (payload && !get_map(&resp->map, buf + MG_PCP_HEADER_LEN))
		return -EBADMSG;
	return check_options(buf + MG_PCP_HEADER_LEN + payload, len - MG_PCP_HEADER_LEN - payload);
}

bool mg_pcp_map_matches(const struct mg_pcp_response *resp, const struct mg_pcp_map *req)
{
	if (resp->opcode != MG_PCP_OP_MAP)
		return false;
	if (memcmp(resp->map.nonce, req->nonce, MG_PCP_NONCE_LEN))
		return false;
	if (resp->map.protocol != req->protocol || resp->map.internal_port != req->internal_port)
		return false;
	return resp->result != MG_PCP_SUCCESS || resp->map.external_port != 0;
}

int mg_pcp_parse_request(uint8_t *opcode, uint32_t *lifetime, struct in_addr *client,
			 struct mg_pcp_map *map, const uint8_t *buf, size_t len)
{
	memset(map, 0, sizeof(*map));
	if (len < MG_PCP_HEADER_LEN || len > MG_PCP_MAX_LEN || len % 4)
		return -EBADMSG;
	if (buf[0] != MG_PCP_VERSION || (buf[1] & MG_PCP_RESPONSE_BIT))
		return -EBADMSG;
	*opcode = buf[1];
	*lifetime = get32(buf + 4);
	if (!get_v4mapped(client, buf + 8))
		client->s_addr = INADDR_ANY;
	size_t payload = opcode_payload_len(*opcode);
	if (payload == SIZE_MAX || len - MG_PCP_HEADER_LEN < payload)
		return -EBADMSG;
	if (payload && !get_map(map, buf + MG_PCP_HEADER_LEN))
		map->external_addr.s_addr = INADDR_ANY;
	return check_options(buf + MG_PCP_HEADER_LEN + payload, len - MG_PCP_HEADER_LEN - payload);
}

size_t mg_pcp_build_response(uint8_t out[MG_PCP_MAP_LEN], const struct mg_pcp_response *resp)
{
	memset(out, 0, MG_PCP_HEADER_LEN);
	out[0] = MG_PCP_VERSION;
	out[1] = resp->opcode | MG_PCP_RESPONSE_BIT;
	out[3] = resp->result;
	put32(out + 4, resp->lifetime);
	put32(out + 8, resp->epoch);
	if (resp->opcode != MG_PCP_OP_MAP)
		return MG_PCP_HEADER_LEN;
	put_map(out + MG_PCP_HEADER_LEN, &resp->map);
	return MG_PCP_MAP_LEN;
}

static const char *const result_names[] = {
	[MG_PCP_SUCCESS] = "SUCCESS",
	[MG_PCP_UNSUPP_VERSION] = "UNSUPP_VERSION",
	[MG_PCP_NOT_AUTHORIZED] = "NOT_AUTHORIZED",
	[MG_PCP_MALFORMED_REQUEST] = "MALFORMED_REQUEST",
	[MG_PCP_UNSUPP_OPCODE] = "UNSUPP_OPCODE",
	[MG_PCP_UNSUPP_OPTION] = "UNSUPP_OPTION",
	[MG_PCP_MALFORMED_OPTION] = "MALFORMED_OPTION",
	[MG_PCP_NETWORK_FAILURE] = "NETWORK_FAILURE",
	[MG_PCP_NO_RESOURCES] = "NO_RESOURCES",
	[MG_PCP_UNSUPP_PROTOCOL] = "UNSUPP_PROTOCOL",
	[MG_PCP_USER_EX_QUOTA] = "USER_EX_QUOTA",
	[MG_PCP_CANNOT_PROVIDE_EXTERNAL] = "CANNOT_PROVIDE_EXTERNAL",
	[MG_PCP_ADDRESS_MISMATCH] = "ADDRESS_MISMATCH",
	[MG_PCP_EXCESSIVE_REMOTE_PEERS] = "EXCESSIVE_REMOTE_PEERS",
};

const char *mg_pcp_result_name(uint8_t result)
{
	if (result >= ARRAY_SIZE(result_names))
		return "unknown";
	return result_names[result];
}

int mg_pcp_result_errno(uint8_t result)
{
	switch (result) {
	case MG_PCP_SUCCESS:
		return 0;
	case MG_PCP_UNSUPP_VERSION:
		return -EPROTONOSUPPORT;
	case MG_PCP_NOT_AUTHORIZED:
		return -EACCES;
	case MG_PCP_UNSUPP_OPCODE:
	case MG_PCP_UNSUPP_OPTION:
	case MG_PCP_UNSUPP_PROTOCOL:
		return -EOPNOTSUPP;
	case MG_PCP_NETWORK_FAILURE:
		return -ENETDOWN;
	case MG_PCP_NO_RESOURCES:
	case MG_PCP_USER_EX_QUOTA:
	case MG_PCP_EXCESSIVE_REMOTE_PEERS:
		return -ENOSPC;
	case MG_PCP_CANNOT_PROVIDE_EXTERNAL:
		return -EADDRNOTAVAIL;
	case MG_PCP_ADDRESS_MISMATCH:
		return -EADDRNOTAVAIL;
	default:
		return -EPROTO;
	}
}
