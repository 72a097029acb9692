/* STUN (RFC 8489) as meshguard speaks it: Binding requests and responses,
 * told apart from WireGuard on the shared UDP port, and read from any server.
 * Pure functions over caller-owned buffers: no I/O, no allocation.
 *
 * We send Binding requests with FINGERPRINT and answer them with
 * XOR-MAPPED-ADDRESS, and FINGERPRINT when the request had one (never an
 * error: see nat/stun_server.h). We use no credentials: MESSAGE-INTEGRITY
 * is neither sent nor checked (a Binding answer is public knowledge; what a
 * mapped address is worth is decided by the probing that uses it). */
#ifndef MG_NAT_STUN_H
#define MG_NAT_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

#define MG_STUN_HEADER_SIZE  20
#define MG_STUN_MAGIC_COOKIE UINT32_C(0x2112A442)
#define MG_STUN_TXID_SIZE    12
/* The largest message we parse; anything longer is not one of ours. */
#define MG_STUN_MAX_SIZE 1500

/* Message types (method and class, section 5). */
#define MG_STUN_BINDING_REQUEST	   0x0001
#define MG_STUN_BINDING_INDICATION 0x0011
#define MG_STUN_BINDING_SUCCESS	   0x0101
#define MG_STUN_BINDING_ERROR	   0x0111

/* Attributes (section 18.3). Types below 0x8000 are comprehension-required. */
#define MG_STUN_ATTR_MAPPED_ADDRESS	0x0001
#define MG_STUN_ATTR_USERNAME		0x0006
#define MG_STUN_ATTR_MESSAGE_INTEGRITY	0x0008
#define MG_STUN_ATTR_ERROR_CODE		0x0009
#define MG_STUN_ATTR_UNKNOWN_ATTRIBUTES 0x000A
#define MG_STUN_ATTR_XOR_MAPPED_ADDRESS 0x0020
/* XOR-MAPPED-ADDRESS under the number of the drafts before RFC 5389, still
 * sent by some old servers. */
#define MG_STUN_ATTR_XOR_MAPPED_ADDRESS_OLD 0x8020
#define MG_STUN_ATTR_SOFTWARE		    0x8022
#define MG_STUN_ATTR_FINGERPRINT	    0x8028
#define MG_STUN_FINGERPRINT_XOR		    UINT32_C(0x5354554E)

#define MG_STUN_ERROR_BAD_REQUEST	400
#define MG_STUN_ERROR_UNKNOWN_ATTRIBUTE 420

/* Output sizes: a request is the header and FINGERPRINT; a response adds an
 * XOR-MAPPED-ADDRESS of an IPv6 address at most. */
#define MG_STUN_FINGERPRINT_SIZE 8
#define MG_STUN_REQUEST_SIZE	 (MG_STUN_HEADER_SIZE + MG_STUN_FINGERPRINT_SIZE)
#define MG_STUN_RESPONSE_MAX	 (MG_STUN_HEADER_SIZE + 4 + 20 + MG_STUN_FINGERPRINT_SIZE)
/* Comprehension-required attributes an error 420 lists, at most; more are
 * not kept, so an error stays no larger than MG_STUN_ERROR_MAX. */
#define MG_STUN_UNKNOWN_MAX 4
#define MG_STUN_ERROR_MAX \
	(MG_STUN_HEADER_SIZE + 4 + 4 + 20 + 4 + 2 * MG_STUN_UNKNOWN_MAX + MG_STUN_FINGERPRINT_SIZE)

/* How the STUN client and responder send: one datagram to `to`; buf is only
 * valid during the call. 0 or -errno. */
typedef int (*mg_stun_send_fn)(void *ctx, const struct mg_endpoint *to, const uint8_t *buf,
			       size_t len);

/* Which attributes mg_stun_parse found (bits of struct mg_stun_message). */
enum {
	MG_STUN_HAS_XOR_MAPPED = 1 << 0,
	MG_STUN_HAS_MAPPED = 1 << 1,
	MG_STUN_HAS_FINGERPRINT = 1 << 2,
	MG_STUN_HAS_ERROR_CODE = 1 << 3,
	MG_STUN_HAS_INTEGRITY = 1 << 4,
};

struct mg_stun_message {
	uint16_t type;
	uint8_t txid[MG_STUN_TXID_SIZE];
	unsigned present; /* MG_STUN_HAS_* */
	/* The address the server saw: from XOR-MAPPED-ADDRESS if there is one,
	 * else from MAPPED-ADDRESS. Valid when present has either bit. */
	struct mg_endpoint mapped;
	uint16_t error_code; /* 300..699, with MG_STUN_HAS_ERROR_CODE */
	/* Comprehension-required attributes we do not know, in order; the first
	 * MG_STUN_UNKNOWN_MAX are kept, unknown_count counts them all. */
	uint16_t unknown[MG_STUN_UNKNOWN_MAX];
	unsigned unknown_count;
};

/* True when buf holds a STUN message: the two top bits zero, the magic
 * cookie at bytes 4-7, and a length field (a multiple of 4) that accounts for
 * every byte after the header. No WireGuard message passes: those have a
 * type of 1-4 followed by three zero bytes, so as STUN their length would be
 * 0 and they would be 20 bytes long, a size no WireGuard message has. */
bool mg_stun_is_stun(const uint8_t *buf, size_t len);

/* Parses a message mg_stun_is_stun accepts. Attributes are walked with every
 * length checked against the message; unknown ones are skipped (listed in
 * unknown[] when comprehension-required) and a FINGERPRINT, when present,
 * must be the last attribute and must match. 0, -EINVAL for a malformed
 * message or attribute, -EBADMSG for a wrong FINGERPRINT. */
int mg_stun_parse(struct mg_stun_message *out, const uint8_t *buf, size_t len);

/* A Binding request with FINGERPRINT into out (MG_STUN_REQUEST_SIZE bytes);
 * returns its length. */
size_t mg_stun_build_request(uint8_t out[MG_STUN_REQUEST_SIZE],
			     const uint8_t txid[MG_STUN_TXID_SIZE]);

/* A Binding success response telling the requester at mapped where it came
 * from (XOR-MAPPED-ADDRESS, then FINGERPRINT when fingerprint) into out
 * (MG_STUN_RESPONSE_MAX bytes); returns its length (32 or 44 bytes, 8 more
 * with FINGERPRINT), or 0 if mapped is neither IPv4 nor IPv6. */
size_t mg_stun_build_response(uint8_t out[MG_STUN_RESPONSE_MAX],
			      const uint8_t txid[MG_STUN_TXID_SIZE],
			      const struct mg_endpoint *mapped, bool fingerprint);

/* A Binding error response with ERROR-CODE code (300-699), for 420 also
 * UNKNOWN-ATTRIBUTES with the first n (at most MG_STUN_UNKNOWN_MAX) of
 * unknown, and FINGERPRINT, into out (MG_STUN_ERROR_MAX bytes); returns its
 * length. Our responder never sends one (nat/stun_server.h says why); this
 * is for playing a server that does, in tests. */
size_t mg_stun_build_error(uint8_t out[MG_STUN_ERROR_MAX], const uint8_t txid[MG_STUN_TXID_SIZE],
			   uint16_t code, const uint16_t *unknown, size_t n);

/* CRC-32 of ISO-HDLC (the one of zlib and Ethernet) that FINGERPRINT uses. */
uint32_t mg_stun_crc32(const uint8_t *buf, size_t len);

#endif
