/* NAT-PMP (RFC 6886) replies as they arrive on the wire. libnatpmp sends
 * the requests and parses the replies it reads, but it reads a fixed
 * 16-byte buffer without looking at the datagram's length; every reply is
 * first peeked and checked here, and only a well-formed one is handed to
 * libnatpmp. All integers are big-endian on the wire. */
#ifndef MG_NAT_NATPMP_WIRE_H
#define MG_NAT_NATPMP_WIRE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define MG_NATPMP_PORT		5351
#define MG_NATPMP_VERSION	0
#define MG_NATPMP_REPLY_BIT	128
#define MG_NATPMP_OP_ADDRESS	0
#define MG_NATPMP_OP_MAP_UDP	1
#define MG_NATPMP_OP_MAP_TCP	2
#define MG_NATPMP_ERROR_LEN	8
#define MG_NATPMP_ADDRESS_LEN	12
#define MG_NATPMP_MAP_REPLY_LEN 16
/* Longest datagram we look at; anything longer is not NAT-PMP. */
#define MG_NATPMP_MAX_LEN 1100

enum mg_natpmp_result {
	MG_NATPMP_SUCCESS = 0,
	MG_NATPMP_UNSUPP_VERSION = 1,
	MG_NATPMP_NOT_AUTHORIZED = 2,
	MG_NATPMP_NETWORK_FAILURE = 3,
	MG_NATPMP_NO_RESOURCES = 4,
	MG_NATPMP_UNSUPP_OPCODE = 5,
};

/* A parsed reply: opcode without the reply bit; the fields after the epoch
 * are set only for successful replies of their opcode. */
struct mg_natpmp_reply {
	uint8_t opcode;
	uint16_t result;
	uint32_t epoch;
	struct in_addr external_addr;
	uint16_t internal_port;
	uint16_t external_port;
	uint32_t lifetime;
};

/* Parses len bytes. Returns 0, or -EBADMSG when they are not a NAT-PMP
 * reply (wrong version, no reply bit, unknown opcode, too short for what
 * it says, longer than MG_NATPMP_MAX_LEN). A PCP server's UNSUPP_VERSION
 * reply is -EBADMSG too. */
int mg_natpmp_parse_reply(struct mg_natpmp_reply *reply, const uint8_t *buf, size_t len);

/* Writes a reply as a gateway would (for tests and fake gateways);
 * returns its length. */
size_t mg_natpmp_build_reply(uint8_t out[MG_NATPMP_MAP_REPLY_LEN],
			     const struct mg_natpmp_reply *reply);

/* -errno for a result code (0 for success). */
int mg_natpmp_result_errno(uint16_t result);

#endif
