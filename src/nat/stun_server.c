#include "nat/stun_server.h"

#include <arpa/inet.h>
#include <string.h>

void mg_stun_server_init(struct mg_stun_server *s, const struct mg_clock *clock,
			 mg_stun_send_fn send, void *send_ctx)
{
	memset(s, 0, sizeof(*s));
	s->clock = clock;
	s->send = send;
	s->send_ctx = send_ctx;
	mg_ratelimiter_init(&s->limiter);
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

static void reply(struct mg_stun_server *s, const struct mg_endpoint *to, const uint8_t *buf,
		  size_t len, uint64_t *counter)
{
	if (len && s->send(s->send_ctx, to, buf, len) == 0)
		(*counter)++;
	else
		s->stats.dropped++;
}

bool mg_stun_server_receive(struct mg_stun_server *s, const struct mg_endpoint *from,
			    const uint8_t *buf, size_t len)
{
	uint8_t out[MG_STUN_ERROR_MAX > MG_STUN_RESPONSE_MAX ? MG_STUN_ERROR_MAX
							     : MG_STUN_RESPONSE_MAX];
	struct mg_stun_message m;

	if (!mg_stun_is_stun(buf, len) || buf[0] != 0x00 || buf[1] != MG_STUN_BINDING_REQUEST)
		return false;
	/* A request we cannot read is dropped, not answered with 400: garbage
	 * must never make us send. */
	if (mg_stun_parse(&m, buf, len) < 0 || forbidden_source(from)) {
		s->stats.dropped++;
		return true;
	}
	if (!mg_ratelimiter_allow(&s->limiter, from, mg_clock_now(s->clock))) {
		s->stats.ratelimited++;
		return true;
	}
	if (m.unknown_count)
		reply(s, from, out,
		      mg_stun_build_error(out, m.txid, MG_STUN_ERROR_UNKNOWN_ATTRIBUTE, m.unknown,
					  m.unknown_count),
		      &s->stats.errors);
	else
		reply(s, from, out, mg_stun_build_response(out, m.txid, from), &s->stats.answered);
	return true;
}
