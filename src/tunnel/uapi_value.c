#include "tunnel/uapi_value.h"
#include "crypto/primitives.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

/* ---- reading values ---- */

int mg_uapi_value_parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > max) /* max <= UINT32_MAX, so v * 10 never wraps */
			return -EINVAL;
	}
	*out = v;
	return 0;
}

/* strconv.Atoi then a range check, as netip.ParsePrefix does: "+8" and "-0"
 * are lengths too. */
static int parse_prefix_len(const char *s, size_t n, unsigned max, uint8_t *out)
{
	bool negative = false;
	uint64_t v;

	if (n && (s[0] == '+' || s[0] == '-')) {
		negative = s[0] == '-';
		s++;
		n--;
	}
	if (mg_uapi_value_parse_uint(s, n, max, &v) < 0 || (negative && v))
		return -EINVAL;
	*out = (uint8_t)v;
	return 0;
}

bool mg_uapi_value_is_true(const char *s, size_t n)
{
	return n == 4 && !memcmp(s, "true", 4);
}

int mg_uapi_value_parse_key(uint8_t out[MG_KEY_SIZE], const char *s, size_t n)
{
	char hex[MG_KEY_HEX_LEN + 1];
	int ret;

	if (n != MG_KEY_HEX_LEN || memchr(s, '\0', n))
		return -EINVAL;
	memcpy(hex, s, n);
	hex[n] = '\0';
	ret = mg_key_from_hex(out, hex);
	mg_wipe(hex, sizeof(hex));
	return ret;
}

/* netip.ParseAddr: the first '.' or ':' decides the family; an IPv6 address
 * may end in "%zone", handed back unparsed. addr gets 16 bytes. */
static int parse_ip(const char *s, size_t n, int *family, uint8_t addr[16], const char **zone,
		    size_t *zone_len)
{
	char text[INET6_ADDRSTRLEN];
	const char *pct;
	size_t i = 0;

	memset(addr, 0, 16);
	*zone = NULL;
	*zone_len = 0;
	while (i < n && s[i] != '.' && s[i] != ':' && s[i] != '%')
		i++;
	if (i == n || s[i] == '%')
		return -EINVAL;
	*family = s[i] == '.' ? AF_INET : AF_INET6;
	pct = *family == AF_INET6 ? memchr(s, '%', n) : NULL;
	if (pct) {
		*zone = pct + 1;
		*zone_len = n - (size_t)(pct + 1 - s);
		n = (size_t)(pct - s);
		if (*zone_len == 0)
			return -EINVAL;
	}
	if (n >= sizeof(text) || memchr(s, '\0', n))
		return -EINVAL;
	memcpy(text, s, n);
	text[n] = '\0';
	return inet_pton(*family, text, addr) == 1 ? 0 : -EINVAL;
}

/* conn.zoneToUint32: an interface name, else a number. */
static int parse_zone(const char *s, size_t n, uint32_t *scope)
{
	char name[IF_NAMESIZE];
	uint64_t v;

	if (n < sizeof(name) && !memchr(s, '\0', n)) {
		memcpy(name, s, n);
		name[n] = '\0';
		*scope = if_nametoindex(name);
		if (*scope)
			return 0;
	}
	if (mg_uapi_value_parse_uint(s, n, UINT32_MAX, &v) < 0)
		return -EINVAL;
	*scope = (uint32_t)v;
	return 0;
}

int mg_uapi_value_parse_prefix(struct mg_prefix *p, const char *s, size_t n)
{
	const char *slash = memrchr(s, '/', n);
	const char *zone;
	size_t zone_len;
	int family;

	memset(p, 0, sizeof(*p));
	if (!slash || parse_ip(s, (size_t)(slash - s), &family, p->addr, &zone, &zone_len) < 0 ||
	    zone)
		return -EINVAL;
	p->family = (uint8_t)family;
	if (parse_prefix_len(slash + 1, n - (size_t)(slash + 1 - s), family == AF_INET ? 32 : 128,
			     &p->cidr) < 0)
		return -EINVAL;
	mg_prefix_mask(p);
	return 0;
}

static int fill_endpoint(struct mg_endpoint *ep, int family, const uint8_t addr[16], uint16_t port,
			 const char *zone, size_t zone_len)
{
	memset(ep, 0, sizeof(*ep));
	if (family == AF_INET) {
		ep->in4.sin_family = AF_INET;
		ep->in4.sin_port = htons(port);
		memcpy(&ep->in4.sin_addr, addr, 4);
		return 0;
	}
	ep->in6.sin6_family = AF_INET6;
	ep->in6.sin6_port = htons(port);
	memcpy(&ep->in6.sin6_addr, addr, 16);
	return zone ? parse_zone(zone, zone_len, &ep->in6.sin6_scope_id) : 0;
}

int mg_uapi_value_parse_endpoint(struct mg_endpoint *ep, const char *s, size_t n)
{
	const char *colon = memrchr(s, ':', n), *host = s, *zone;
	size_t host_len, zone_len;
	uint8_t addr[16];
	uint64_t port;
	bool bracketed;
	int family;

	if (!colon)
		return -EINVAL;
	host_len = (size_t)(colon - s);
	bracketed = host_len && host[0] == '[';
	if (bracketed) {
		if (host_len < 2 || host[host_len - 1] != ']')
			return -EINVAL;
		host++;
		host_len -= 2;
	}
	if (mg_uapi_value_parse_uint(colon + 1, n - (size_t)(colon + 1 - s), UINT16_MAX, &port) <
		    0 ||
	    parse_ip(host, host_len, &family, addr, &zone, &zone_len) < 0 ||
	    bracketed != (family == AF_INET6))
		return -EINVAL;
	return fill_endpoint(ep, family, addr, (uint16_t)port, zone, zone_len);
}

/* ---- printing addresses ---- */

static unsigned word(const uint8_t *a, int i)
{
	return (unsigned)a[2 * i] << 8 | a[2 * i + 1];
}

/* The longest run of two or more zero groups, the first of equals. */
static void zero_run(const uint8_t *a, int *start, int *end)
{
	*start = *end = -1;
	for (int i = 0; i < 8; i++) {
		int j = i;
		while (j < 8 && !word(a, j))
			j++;
		if (j - i >= 2 && j - i > *end - *start) {
			*start = i;
			*end = j;
		}
	}
}

static void format_ip6(char out[INET6_ADDRSTRLEN], const uint8_t *a)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	int start, end, n = 0;

	if (!memcmp(a, mapped, sizeof(mapped))) {
		snprintf(out, INET6_ADDRSTRLEN, "::ffff:%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
		return;
	}
	zero_run(a, &start, &end);
	out[0] = '\0';
	for (int i = 0; i < 8; i++) {
		if (i == start) {
			n += snprintf(out + n, (size_t)(INET6_ADDRSTRLEN - n), "::");
			i = end - 1;
			continue;
		}
		n += snprintf(out + n, (size_t)(INET6_ADDRSTRLEN - n), "%s%x",
			      i > 0 && i != end ? ":" : "", word(a, i));
	}
}

void mg_uapi_value_format_ip(char out[INET6_ADDRSTRLEN], int family, const uint8_t *a)
{
	if (family == AF_INET)
		snprintf(out, INET6_ADDRSTRLEN, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	else
		format_ip6(out, a);
}
