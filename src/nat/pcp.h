/* Port Control Protocol (RFC 6887) codec: the requests a client sends
 * (ANNOUNCE, MAP) and the checks on what a server answers. Only the fields
 * meshguard uses are modelled; options in responses are walked with bounds
 * and skipped. Addresses on the wire are 16 bytes, IPv4 as IPv4-mapped IPv6
 * (::ffff:a.b.c.d). All integers are big-endian on the wire. */
#ifndef MG_NAT_PCP_H
#define MG_NAT_PCP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MG_PCP_PORT	       5351
#define MG_PCP_VERSION	       2
#define MG_PCP_NONCE_LEN       12
#define MG_PCP_MAX_LEN	       1100 /* no PCP message is longer (RFC 6887 7) */
#define MG_PCP_HEADER_LEN      24
#define MG_PCP_MAP_PAYLOAD_LEN 36
#define MG_PCP_MAP_LEN	       (MG_PCP_HEADER_LEN + MG_PCP_MAP_PAYLOAD_LEN)
#define MG_PCP_RESPONSE_BIT    0x80
#define MG_PCP_PROTO_UDP       17

enum mg_pcp_opcode {
	MG_PCP_OP_ANNOUNCE = 0,
	MG_PCP_OP_MAP = 1,
	MG_PCP_OP_PEER = 2,
};

enum mg_pcp_result {
	MG_PCP_SUCCESS = 0,
	MG_PCP_UNSUPP_VERSION = 1,
	MG_PCP_NOT_AUTHORIZED = 2,
	MG_PCP_MALFORMED_REQUEST = 3,
	MG_PCP_UNSUPP_OPCODE = 4,
	MG_PCP_UNSUPP_OPTION = 5,
	MG_PCP_MALFORMED_OPTION = 6,
	MG_PCP_NETWORK_FAILURE = 7,
	MG_PCP_NO_RESOURCES = 8,
	MG_PCP_UNSUPP_PROTOCOL = 9,
	MG_PCP_USER_EX_QUOTA = 10,
	MG_PCP_CANNOT_PROVIDE_EXTERNAL = 11,
	MG_PCP_ADDRESS_MISMATCH = 12,
	MG_PCP_EXCESSIVE_REMOTE_PEERS = 13,
};

/* Common request header (RFC 6887 7.1). */
struct mg_pcp_request_header {
	uint8_t version;
	uint8_t opcode; /* R bit clear */
	uint16_t reserved;
	uint32_t lifetime;
	uint8_t client_addr[16];
} __attribute__((packed));

/* Common response header (RFC 6887 7.2). */
struct mg_pcp_response_header {
	uint8_t version;
	uint8_t opcode; /* R bit set */
	uint8_t reserved;
	uint8_t result;
	uint32_t lifetime;
	uint32_t epoch;
	uint8_t reserved2[12];
} __attribute__((packed));

/* MAP opcode payload, the same in request and response (RFC 6887 11.1). */
struct mg_pcp_map_payload {
	uint8_t nonce[MG_PCP_NONCE_LEN];
	uint8_t protocol;
	uint8_t reserved[3];
	uint16_t internal_port;
	uint16_t external_port;
	uint8_t external_addr[16];
} __attribute__((packed));

_Static_assert(sizeof(struct mg_pcp_request_header) == MG_PCP_HEADER_LEN, "PCP request header");
_Static_assert(sizeof(struct mg_pcp_response_header) == MG_PCP_HEADER_LEN, "PCP response header");
_Static_assert(sizeof(struct mg_pcp_map_payload) == MG_PCP_MAP_PAYLOAD_LEN, "PCP MAP payload");

/* One MAP mapping; ports in host order. */
struct mg_pcp_map {
	uint8_t nonce[MG_PCP_NONCE_LEN];
	uint8_t protocol;
	uint16_t internal_port;
	uint16_t external_port;	      /* request: suggestion, 0 = any */
	struct in_addr external_addr; /* request: suggestion, INADDR_ANY = any */
};

/* A parsed response: opcode without the R bit, lifetime and epoch in
 * seconds; map is filled for MAP responses. */
struct mg_pcp_response {
	uint8_t opcode;
	uint8_t result;
	uint32_t lifetime;
	uint32_t epoch;
	struct mg_pcp_map map;
};

/* Writes an ANNOUNCE request from client (our address towards the server)
 * into out; returns MG_PCP_HEADER_LEN. */
size_t mg_pcp_announce_request(uint8_t out[MG_PCP_HEADER_LEN], struct in_addr client);

/* Writes a MAP request into out; lifetime 0 deletes the mapping named by the
 * nonce and internal port. Returns MG_PCP_MAP_LEN. */
size_t mg_pcp_map_request(uint8_t out[MG_PCP_MAP_LEN], struct in_addr client, uint32_t lifetime,
			  const struct mg_pcp_map *map);

/* Parses a server's answer of up to len bytes. Returns 0 and fills resp, or
 * -EPROTONOSUPPORT when the server speaks another version (resp->result
 * then holds its result code), -EBADMSG when it is not a well-formed PCP
 * response (wrong size or alignment, R bit clear, truncated option, an
 * IPv6 external address for MAP). The result code is not judged here. */
int mg_pcp_parse_response(struct mg_pcp_response *resp, const uint8_t *buf, size_t len);

/* Whether resp answers our MAP request req: same nonce, protocol and
 * internal port; on success also a non-zero external port. */
bool mg_pcp_map_matches(const struct mg_pcp_response *resp, const struct mg_pcp_map *req);

/* Parses a request (the server side; for tests and fake gateways). Returns
 * 0, or -EBADMSG. client receives the client address if IPv4-mapped, else
 * INADDR_ANY. */
int mg_pcp_parse_request(uint8_t *opcode, uint32_t *lifetime, struct in_addr *client,
			 struct mg_pcp_map *map, const uint8_t *buf, size_t len);

/* Writes a response (for tests and fake gateways); map is used for MAP.
 * Returns the length: MG_PCP_HEADER_LEN or MG_PCP_MAP_LEN. */
size_t mg_pcp_build_response(uint8_t out[MG_PCP_MAP_LEN], const struct mg_pcp_response *resp);

/* "SUCCESS", "NOT_AUTHORIZED", ...; "unknown" for codes past 13. */
const char *mg_pcp_result_name(uint8_t result);

/* -errno that describes a non-success result code. */
int mg_pcp_result_errno(uint8_t result);

#endif
