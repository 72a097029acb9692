#include "nat/stun_server.h"
#include "util/time.h"

#include <arpa/inet.h>
#include <string.h>

_Static_assert(MG_STUN_SERVER_ANSWER_MAX == 52, "IPv6 XOR-MAPPED-ADDRESS and FINGERPRINT");

void mg_stun_server_init(struct mg_stun_server *s, const struct mg_clock *clock,
			 mg_stun_send_fn send, void *send_ctx,
			 const struct mg_stun_server_limits *limits)
{
	uint32_t rate = limits && limits->per_second ? limits->per_second : MG_STUN_SERVER_RATE;
	uint32_t burst = limits && limits->burst ? limits->burst : MG_STUN_SERVER_BURST;

	memset(s, 0, sizeof(*s));
	s->clock = clock;
	s->send = send;
	s->send_ctx = send_ctx;
	mg_ratelimiter_init(&s->limiter);
	/* A rate above 1e9 a second would cost 0 ns: no limit at all. */
	s->cost_ns = MG_NSEC_PER_SEC / rate ? MG_NSEC_PER_SEC / rate : 1;
	s->tokens_max = s->cost_ns * burst;
	s->tokens = s->tokens_max;
	s->last = mg_clock_now(clock);
}

void mg_stun_server_enable(struct mg_stun_server *s, bool on)
{
	s->off = !on;
}

/* The global bucket: credit accrues in nanoseconds since the last request,
 * up to the burst. A clock that goes back accrues nothing. */
static bool global_allow(struct mg_stun_server *s, uint64_t now)
{
	if (now > s->last) {
		uint64_t gained = now - s->last, room = s->tokens_max - s->tokens;

		s->tokens += gained < room ? gained : room;
		s->last = now;
	}
	if (s->tokens < s->cost_ns)
		return false;
	s->tokens -= s->cost_ns;
	return true;
}

/* Addresses no answer may go to: port 0, unspecified, multicast, and IPv4
 * broadcast (a subnet's broadcast address we cannot know; the kernel refuses
 * it without SO_BROADCAST). */
static bool forbidden_source(const struct mg_endpoint *from)
{
	if (from->sa.sa_family == AF_INET) {
		uint32_t a = ntohl(from->in4.sin_addr.s_addr);
		return !from->in4.sin_port || a == 0 || a == 0xFFFFFFFF || (a >> 28) == 0xE;
	}
	if (from->sa.sa_family == AF_INET6) {
		const struct in6_addr *a = &from->in6.sin6_addr;
		return !from->in6.sin6_port || IN6_IS_ADDR_UNSPECIFIED(a) ||
		       IN6_IS_ADDR_MULTICAST(a);
	}
	return true;
}

/* Which counter a Binding request is dropped under, or NULL when it gets an
 * answer. The rates come last, so that requests dropped for another reason
 * spend no credit. */
static uint64_t *refuse(struct mg_stun_server *s, const struct mg_endpoint *from,
			const uint8_t *buf, size_t len, struct mg_stun_message *m)
{
	uint64_t now;

	if (s->off)
		return &s->stats.off;
	/* Garbage must never make us send: no 400. */
	if (mg_stun_parse(m, buf, len) < 0)
		return &s->stats.malformed;
	/* No 420 either (RFC 8489 section 6.3.1 asks for one): an error to
	 * an unauthenticated source only reflects; see the header. */
	if (m->unknown_count)
		return &s->stats.unknown_attr;
	if (forbidden_source(from))
		return &s->stats.forbidden;
	now = mg_clock_now(s->clock);
	if (!mg_ratelimiter_allow(&s->limiter, from, now))
		return &s->stats.source_limited;
	if (!global_allow(s, now))
		return &s->stats.global_limited;
	return NULL;
}

bool mg_stun_server_receive(struct mg_stun_server *s, const struct mg_endpoint *from,
			    const uint8_t *buf, size_t len)
{
	uint8_t out[MG_STUN_SERVER_ANSWER_MAX];
	struct mg_stun_message m;
	uint64_t *why;
	size_t n;

	if (!mg_stun_is_stun(buf, len))
		return false;
	if (buf[0] != 0x00 || buf[1] != MG_STUN_BINDING_REQUEST) {
		s->stats.not_request++;
		return false;
	}
	why = refuse(s, from, buf, len, &m);
	if (why) {
		(*why)++;
		return true;
	}
	n = mg_stun_build_response(out, m.txid, from, m.present & MG_STUN_HAS_FINGERPRINT);
	if (n && s->send(s->send_ctx, from, out, n) == 0)
		s->stats.answered++;
	else
		s->stats.send_failed++;
	return true;
}
