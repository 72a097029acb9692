/* A STUN Binding responder, so any meshguard node can tell others their
 * public endpoint (members ask each other: src/mesh/agent.c). It answers on
 * whatever socket its owner reads (the WireGuard port, through the device's
 * handler for other datagrams).
 *
 * A responder is a reflector: a request with a forged source makes it send
 * to a victim. So it is built to be no amplifier:
 *
 *  - It answers only well-formed Binding requests (RFC 8489: class request,
 *    method Binding, the magic cookie, a length that accounts for every
 *    byte, every attribute inside the message, a FINGERPRINT that matches
 *    when there is one), and only with a Binding success response holding
 *    XOR-MAPPED-ADDRESS, plus FINGERPRINT when the request had one (clients
 *    that multiplex STUN, ICE agents among them, tell it apart by it).
 *    Nothing else is ever sent: no SOFTWARE, no MAPPED-ADDRESS, no error.
 *  - Never an error response. RFC 8489 section 6.3.1 asks for a 420 listing
 *    unknown comprehension-required attributes, and 400 for malformed
 *    requests; we drop them silently. Our requests carry none, and to an
 *    unauthenticated source an error is pure reflection: it was up to 2.7
 *    times the request's size, chosen by the sender. A real client that
 *    gets no answer retransmits and gives up, as with a lost datagram.
 *  - Sizes. A response is 32 bytes (IPv4) or 44 (IPv6), 40 or 52 when the
 *    request had FINGERPRINT (then it is at least 28). The smallest request
 *    is the bare 20-byte header, which clients in the wild do send, so we do
 *    not require padding: the factor is at most 44/20 = 2.2 in STUN bytes,
 *    and with the IP and UDP headers on the wire at most (44+48)/(20+48) =
 *    1.35 for IPv6 and (32+28)/(20+28) = 1.25 for IPv4. What bounds the harm
 *    is the rate, not the factor:
 *  - Two rates. Each source address (IPv4 address, IPv6 /64) at most
 *    MG_RATELIMITER_PER_SECOND answers a second with a burst of
 *    MG_RATELIMITER_BURST (struct mg_ratelimiter); and all sources together
 *    at most a global token bucket's rate (default MG_STUN_SERVER_RATE a
 *    second, burst MG_STUN_SERVER_BURST), so a flood from many forged
 *    sources gets at most rate * 100 bytes a second (IPv6 answers with
 *    FINGERPRINT, on the wire) out of us, 100 kB/s by default, whatever their
 *    number. The per-source check comes first, so one source cannot drain
 *    the global bucket.
 *  - Never to port 0, unspecified, multicast or IPv4 broadcast addresses,
 *    and never to responses or indications (two responders cannot loop).
 *  - It can be turned off (mg_stun_server_enable): then Binding requests are
 *    dropped and counted, and other nodes cannot learn their public
 *    endpoint from this one.
 *
 * Every datagram dropped is counted under its reason in the stats. No
 * allocation, no I/O but the send callback, no clock but the one given. */
#ifndef MG_NAT_STUN_SERVER_H
#define MG_NAT_STUN_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "nat/stun.h"
#include "tunnel/ratelimiter.h"
#include "util/clock.h"

/* Defaults of the global bucket: answers a second, and the burst. */
#define MG_STUN_SERVER_RATE  1000
#define MG_STUN_SERVER_BURST 1000

/* The answer size, at most: an IPv6 XOR-MAPPED-ADDRESS and FINGERPRINT. */
#define MG_STUN_SERVER_ANSWER_MAX MG_STUN_RESPONSE_MAX

struct mg_stun_server_limits {
	uint32_t per_second; /* answers a second, all sources together; > 0 */
	uint32_t burst;	     /* answers at once after a quiet time; > 0 */
};

struct mg_stun_server_stats {
	uint64_t answered;	 /* success responses sent */
	uint64_t not_request;	 /* STUN, but not a Binding request: never answered */
	uint64_t malformed;	 /* Binding requests that do not parse */
	uint64_t unknown_attr;	 /* ... with an unknown comprehension-required attribute */
	uint64_t forbidden;	 /* from port 0, unspecified, multicast, broadcast */
	uint64_t source_limited; /* over their source's budget */
	uint64_t global_limited; /* over the global budget */
	uint64_t off;		 /* arrived while the responder is off */
	uint64_t send_failed;	 /* the send callback failed */
};

struct mg_stun_server {
	const struct mg_clock *clock;
	mg_stun_send_fn send;
	void *send_ctx;
	bool off;
	struct mg_ratelimiter limiter; /* per source */
	/* The global bucket, in nanoseconds of credit as mg_ratelimiter. */
	uint64_t cost_ns, tokens_max, tokens, last;
	struct mg_stun_server_stats stats;
};

/* limits NULL: MG_STUN_SERVER_RATE and MG_STUN_SERVER_BURST; zero fields
 * take their default too. The responder starts on. */
void mg_stun_server_init(struct mg_stun_server *s, const struct mg_clock *clock,
			 mg_stun_send_fn send, void *send_ctx,
			 const struct mg_stun_server_limits *limits);

/* Turns answering on or off; the counters and buckets are kept. */
void mg_stun_server_enable(struct mg_stun_server *s, bool on);

/* A STUN datagram (mg_stun_is_stun) from `from`, that no client claimed.
 * True when it was a Binding request (answered, or dropped and counted);
 * false for anything else (other STUN messages are counted in
 * not_request). At most one datagram of at most MG_STUN_SERVER_ANSWER_MAX
 * bytes is sent, during the call. */
bool mg_stun_server_receive(struct mg_stun_server *s, const struct mg_endpoint *from,
			    const uint8_t *buf, size_t len);

#endif
