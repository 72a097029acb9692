/* Addresses, prefixes and endpoints in the text forms wg(8) reads and prints.
 *
 * Parsing is strict: no spaces, no names, no trailing junk. Numbers (prefix
 * lengths, ports) are plain decimal digits; leading zeros are accepted as
 * wg(8)'s strtoul does ("/08" is /8), but the digit count is bounded so that
 * overflow is impossible. IPv6 scope ids ("[fe80::1%2]:1") are rejected:
 * meshguard endpoints are routable addresses, and a scope id only means
 * something on the host that received it. mg_endpoint_format still prints a
 * non-zero scope id (it can arrive as the source of a datagram) so logs are
 * not misleading. */
#include "util/ipaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Reads 1..max_digits decimal digits from s up to its NUL; 0 or -EINVAL. */
int mg_decimal_parse(unsigned long *out, const char *s, size_t max_digits, unsigned long max)
{
	unsigned long v = 0;
	size_t n = 0;

	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n == max_digits)
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[n] - '0');
	}
	if (n == 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Copies s[0..n) into a NUL-terminated buffer of size cap; -EINVAL if it
 * does not fit, so callers never parse a silently shortened string. */
static int copy_part(char *buf, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

static int addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* A ':' anywhere means IPv6, as in wg(8). Fills family and addr. */
static int parse_addr(struct mg_prefix *out, const char *s)
{
	out->family = strchr(s, ':') ? AF_INET6 : AF_INET;
	return inet_pton(out->family, s, out->addr) == 1 ? 0 : -EINVAL;
}

int mg_prefix_parse(struct mg_prefix *out, const char *s, bool mask_host_bits)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned long cidr;
	size_t len = strnlen(s, MG_PREFIX_STRLEN);
	const char *slash = memchr(s, '/', len);

	memset(out, 0, sizeof(*out));
	if (len == MG_PREFIX_STRLEN)
		return -EINVAL;
	if (copy_part(addr, sizeof(addr), s, slash ? (size_t)(slash - s) : len) < 0)
		return -EINVAL;
	if (parse_addr(out, addr) < 0)
		goto err;
	cidr = (unsigned long)addr_len(out->family) * 8;
	if (slash && mg_decimal_parse(&cidr, slash + 1, 3, cidr) < 0)
		goto err;
	out->cidr = (uint8_t)cidr;
	if (mask_host_bits)
		mg_prefix_mask(out);
	return 0;
err:
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

void mg_prefix_format(char *out, size_t len, const struct mg_prefix *p)
{
	char addr[INET6_ADDRSTRLEN];

	if (len == 0)
		return;
	if ((p->family != AF_INET && p->family != AF_INET6) ||
	    !inet_ntop(p->family, p->addr, addr, sizeof(addr))) {
		out[0] = '\0';
		return;
	}
	snprintf(out, len, "%s/%u", addr, (unsigned)p->cidr);
}

/* Also zeroes addr bytes past the family's length, so two equal prefixes
 * compare equal with memcmp. A cidr past the family's width masks nothing. */
void mg_prefix_mask(struct mg_prefix *p)
{
	int bytes = addr_len(p->family);
	int cidr = p->cidr < bytes * 8 ? p->cidr : bytes * 8;
	int full = cidr / 8;

	if (cidr % 8)
		p->addr[full++] &= (uint8_t)(0xff00 >> (cidr % 8));
	memset(p->addr + full, 0, sizeof(p->addr) - (size_t)full);
}

static int parse_port(uint16_t *port_be, const char *s)
{
	unsigned long port;

	if (mg_decimal_parse(&port, s, 5, 65535) < 0)
		return -EINVAL;
	*port_be = htons((uint16_t)port);
	return 0;
}

/* "[v6]:port". The brackets are required for IPv6 so the port is never
 * ambiguous; '%' (a scope id) makes inet_pton fail. */
static int parse_endpoint6(struct sockaddr_in6 *out, const char *s, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	const char *close = memchr(s, ']', len);

	if (!close || close[1] != ':')
		return -EINVAL;
	if (copy_part(host, sizeof(host), s + 1, (size_t)(close - s - 1)) < 0)
		return -EINVAL;
	if (inet_pton(AF_INET6, host, &out->sin6_addr) != 1)
		return -EINVAL;
	if (parse_port(&out->sin6_port, close + 2) < 0)
		return -EINVAL;
	out->sin6_family = AF_INET6;
	return 0;
}

/* "a.b.c.d:port"; an unbracketed IPv6 address has more than one ':' and
 * fails inet_pton on its host part. */
static int parse_endpoint4(struct sockaddr_in *out, const char *s, size_t len)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = memchr(s, ':', len);

	if (!colon)
		return -EINVAL;
	if (copy_part(host, sizeof(host), s, (size_t)(colon - s)) < 0)
		return -EINVAL;
	if (inet_pton(AF_INET, host, &out->sin_addr) != 1)
		return -EINVAL;
	if (parse_port(&out->sin_port, colon + 1) < 0)
		return -EINVAL;
	out->sin_family = AF_INET;
	return 0;
}

int mg_endpoint_parse(struct mg_endpoint *out, const char *s)
{
	size_t len = strnlen(s, MG_ENDPOINT_STRLEN);
	int ret;

	memset(out, 0, sizeof(*out));
	if (len == MG_ENDPOINT_STRLEN)
		return -EINVAL;
	if (s[0] == '[')
		ret = parse_endpoint6(&out->in6, s, len);
	else
		ret = parse_endpoint4(&out->in4, s, len);
	if (ret < 0)
		memset(out, 0, sizeof(*out));
	return ret;
}

/* An endpoint with no family (never set) prints as the empty string. */
void mg_endpoint_format(char *out, size_t len, const struct mg_endpoint *ep)
{
	char host[INET6_ADDRSTRLEN];

	if (len == 0)
		return;
	out[0] = '\0';
	if (ep->sa.sa_family == AF_INET) {
		if (inet_ntop(AF_INET, &ep->in4.sin_addr, host, sizeof(host)))
			snprintf(out, len, "%s:%u", host, (unsigned)ntohs(ep->in4.sin_port));
	} else if (ep->sa.sa_family == AF_INET6) {
		if (!inet_ntop(AF_INET6, &ep->in6.sin6_addr, host, sizeof(host)))
			return;
		if (ep->in6.sin6_scope_id)
			snprintf(out, len, "[%s%%%u]:%u", host, (unsigned)ep->in6.sin6_scope_id,
				 (unsigned)ntohs(ep->in6.sin6_port));
		else
			snprintf(out, len, "[%s]:%u", host, (unsigned)ntohs(ep->in6.sin6_port));
	}
}

socklen_t mg_endpoint_len(const struct mg_endpoint *ep)
{
	switch (ep->sa.sa_family) {
	case AF_INET:
		return sizeof(struct sockaddr_in);
	case AF_INET6:
		return sizeof(struct sockaddr_in6);
	default:
		return 0;
	}
}

/* Address, port and (IPv6) scope id; flowinfo is per-packet, not identity.
 * Two unset endpoints are equal. */
bool mg_endpoint_equal_remote(const struct mg_endpoint *a, const struct mg_endpoint *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	switch (a->sa.sa_family) {
	case AF_INET:
		return a->in4.sin_port == b->in4.sin_port &&
		       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	case AF_INET6:
		return a->in6.sin6_port == b->in6.sin6_port &&
		       a->in6.sin6_scope_id == b->in6.sin6_scope_id &&
		       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16);
	default:
		return true;
	}
}

/* The local address counts, as in the kernel's endpoint_eq: roaming must
 * take a new local address even from the same remote one (the peer now
 * reaches us on another of our addresses, so replies must move too), and a
 * GSO send must not merge datagrams that leave from different sources. */
bool mg_endpoint_equal(const struct mg_endpoint *a, const struct mg_endpoint *b)
{
	return mg_endpoint_equal_remote(a, b) && mg_endpoint_equal_local(a, b);
}

/* Only the bytes of the family count: a v4 local address leaves 12 unused.
 * Unset endpoints have no local address. */
bool mg_endpoint_equal_local(const struct mg_endpoint *a, const struct mg_endpoint *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	switch (a->sa.sa_family) {
	case AF_INET:
		return a->local.sock == b->local.sock && a->local.ifindex == b->local.ifindex &&
		       a->local.in4.s_addr == b->local.in4.s_addr;
	case AF_INET6:
		return a->local.sock == b->local.sock && a->local.ifindex == b->local.ifindex &&
		       !memcmp(&a->local.in6, &b->local.in6, sizeof(a->local.in6));
	default:
		return true;
	}
}

/* An address of all zeros is never a datagram's destination, so it can mean
 * unset. */
bool mg_endpoint_usable(const struct mg_endpoint *ep)
{
	if (ep->sa.sa_family == AF_INET)
		return ep->in4.sin_port != 0;
	if (ep->sa.sa_family == AF_INET6)
		return ep->in6.sin6_port != 0;
	return false;
}

bool mg_endpoint_has_local(const struct mg_endpoint *ep)
{
	if (ep->sa.sa_family == AF_INET)
		return ep->local.in4.s_addr != 0;
	if (ep->sa.sa_family == AF_INET6)
		return !IN6_IS_ADDR_UNSPECIFIED(&ep->local.in6);
	return false;
}

void mg_endpoint_clear_local(struct mg_endpoint *ep)
{
	uint16_t sock = ep->local.sock;

	memset(&ep->local, 0, sizeof(ep->local));
	ep->local.sock = sock;
}
