/* The configuration protocol: framing, a parser into a change set, the
 * checks, the apply step, and the get reply.
 *
 * Every value is read the way wireguard-go 0.0.20220316 (built with Go 1.19)
 * reads it, since that is what wg(8) and other tools were tested against:
 * numbers are strconv.ParseUint (digits only, leading zeros fine), prefix
 * lengths strconv.Atoi (a sign is allowed), addresses netip.ParseAddr, keys
 * hex.DecodeString of exactly 32 bytes, booleans only "true". Addresses are
 * printed as netip prints them, which differs from inet_ntop for "::1.2.3.4"
 * (netip: "::102:304") and drops IPv6 zones. */
#include "tunnel/uapi.h"
#include "util/macros.h"
#include "crypto/primitives.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OP_LEN 6 /* "get=1\n", "set=1\n" */

#define HEX_KEY "expected 64 hex digits"
#define BOOLEAN "expected true"

_Static_assert(MG_UAPI_MAX_REQUEST <= INT_MAX, "request lengths are returned as int");

/* ---- output buffer ---- */

/* Grows by copying rather than realloc so that no stale copy of a private
 * key is left behind in freed memory. */
static int reserve(struct mg_uapi_buf *b, size_t extra)
{
	size_t cap = b->cap ? b->cap : 256;
	char *data;

	if (extra <= b->cap - b->len)
		return 0;
	if (extra > SIZE_MAX / 2 - b->len)
		return -ENOMEM;
	while (cap - b->len < extra)
		cap *= 2;
	data = malloc(cap);
	if (!data)
		return -ENOMEM;
	if (b->len)
		memcpy(data, b->data, b->len);
	if (b->data) {
		mg_wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = data;
	b->cap = cap;
	return 0;
}

int mg_uapi_buf_append(struct mg_uapi_buf *b, const void *data, size_t len)
{
	if (reserve(b, len) < 0)
		return -ENOMEM;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int mg_uapi_buf_printf(struct mg_uapi_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if (reserve(b, (size_t)n + 1) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void mg_uapi_buf_free(struct mg_uapi_buf *b)
{
	if (b->data) {
		mg_wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->cap = 0;
}

/* ---- framing ---- */

/* Lines after "set=1\n" up to an empty one; wireguard-go's scanner drops one
 * '\r' before each '\n', so "\r\n" alone also ends the request. */
static int frame_set(const char *buf, size_t len, size_t *scan)
{
	size_t pos = *scan > OP_LEN ? *scan : OP_LEN;

	while (pos < len) {
		size_t window = len - pos < MG_UAPI_MAX_LINE + 1 ? len - pos : MG_UAPI_MAX_LINE + 1;
		const char *nl = memchr(buf + pos, '\n', window);
		size_t n;

		if (!nl) {
			if (window > MG_UAPI_MAX_LINE)
				return -EMSGSIZE;
			break;
		}
		n = (size_t)(nl - (buf + pos));
		pos += n + 1;
		if (pos > MG_UAPI_MAX_REQUEST)
			return -EMSGSIZE;
		if (n == 0 || (n == 1 && buf[pos - 2] == '\r'))
			return (int)pos;
	}
	*scan = pos;
	return len >= MG_UAPI_MAX_REQUEST ? -EMSGSIZE : 0;
}

int mg_uapi_frame(const char *buf, size_t len, size_t *scan)
{
	size_t head = len < OP_LEN ? len : OP_LEN;

	if (memcmp(buf, "get=1\n", head) && memcmp(buf, "set=1\n", head))
		return -EPROTO;
	if (len < OP_LEN)
		return 0;
	/* wireguard-go reads exactly one byte after "get=1\n", and answers
	 * EINVAL unless it is the '\n'. */
	if (buf[0] == 'g')
		return len > OP_LEN ? OP_LEN + 1 : 0;
	return frame_set(buf, len, scan);
}

/* ---- reading values as wireguard-go does ---- */

/* strconv.ParseUint(s, 10, bits): digits only, no sign, no '_'. */
static int parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
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
	if (parse_uint(s, n, max, &v) < 0 || (negative && v))
		return -EINVAL;
	*out = (uint8_t)v;
	return 0;
}

static bool is_true(const char *s, size_t n)
{
	return n == 4 && !memcmp(s, "true", 4);
}

static bool is_key(const char *s, size_t n, const char *key)
{
	return strlen(key) == n && !memcmp(s, key, n);
}

/* Exactly 64 hex digits of either case. out is untouched on failure. */
static int parse_key(uint8_t out[MG_KEY_SIZE], const char *s, size_t n)
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
	if (parse_uint(s, n, UINT32_MAX, &v) < 0)
		return -EINVAL;
	*scope = (uint32_t)v;
	return 0;
}

/* netip.ParsePrefix: "addr/len", the '/' required, no zone. */
static int parse_prefix(struct mg_prefix *p, const char *s, size_t n)
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

/* netip.ParseAddrPort: split at the last ':'; brackets exactly when IPv6. */
static int parse_endpoint(struct mg_endpoint *ep, const char *s, size_t n)
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
	if (parse_uint(colon + 1, n - (size_t)(colon + 1 - s), UINT16_MAX, &port) < 0 ||
	    parse_ip(host, host_len, &family, addr, &zone, &zone_len) < 0 ||
	    bracketed != (family == AF_INET6))
		return -EINVAL;
	return fill_endpoint(ep, family, addr, (uint16_t)port, zone, zone_len);
}

/* ---- printing addresses as netip does ---- */

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

static void format_ip(char out[INET6_ADDRSTRLEN], int family, const uint8_t *a)
{
	if (family == AF_INET)
		snprintf(out, INET6_ADDRSTRLEN, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	else
		format_ip6(out, a);
}

/* ---- the change set: device -> peers -> allowed IPs ---- */

enum {
	DEV_PRIVATE_KEY = 1 << 0,
	DEV_LISTEN_PORT = 1 << 1,
	DEV_FWMARK = 1 << 2,
	DEV_REPLACE_PEERS = 1 << 3,
};

enum {
	PEER_REMOVE = 1 << 0,
	PEER_UPDATE_ONLY = 1 << 1,
	PEER_PRESHARED_KEY = 1 << 2,
	PEER_ENDPOINT = 1 << 3,
	PEER_KEEPALIVE = 1 << 4,
};

/* One public_key= block. allowed_ip and replace_allowed_ips lines are kept
 * in order (a replace is an entry of family AF_UNSPEC): each moves prefixes
 * between peers as it runs, so their order is visible in the result. */
struct peer_change {
	struct peer_change *next;
	unsigned flags;
	bool removed; /* after remove=true, lines are still checked but dropped */
	uint8_t public_key[MG_KEY_SIZE];
	uint8_t preshared_key[MG_KEY_SIZE];
	struct mg_endpoint endpoint;
	uint16_t keepalive;
	struct mg_prefix *ips;
	size_t n_ips, cap_ips;
	size_t ips_before_update_only;
};

struct device_change {
	unsigned flags;
	uint8_t private_key[MG_KEY_SIZE]; /* clamped unless all zeros */
	uint16_t listen_port;
	uint32_t fwmark;
	struct peer_change *peers, *last;
};

static void change_free(struct device_change *c)
{
	struct peer_change *pc, *next;

	for (pc = c->peers; pc; pc = next) {
		next = pc->next;
		free(pc->ips);
		mg_wipe(pc, sizeof(*pc));
		free(pc);
	}
	mg_wipe(c, sizeof(*c));
}

static int push_ip(struct peer_change *pc, const struct mg_prefix *p)
{
	struct mg_prefix *ips;
	size_t cap;

	if (pc->removed)
		return 0;
	if (pc->n_ips == pc->cap_ips) {
		cap = pc->cap_ips ? pc->cap_ips * 2 : 8;
		ips = realloc(pc->ips, cap * sizeof(*ips));
		if (!ips)
			return -ENOMEM;
		pc->ips = ips;
		pc->cap_ips = cap;
	}
	pc->ips[pc->n_ips++] = *p;
	return 0;
}

/* ---- parsing: one function per key ---- */

static int dev_private_key(struct device_change *c, const char *v, size_t n)
{
	if (parse_key(c->private_key, v, n) < 0)
		return -EINVAL;
	if (!mg_is_zero(c->private_key, MG_KEY_SIZE))
		mg_x25519_clamp(c->private_key);
	c->flags |= DEV_PRIVATE_KEY;
	return 0;
}

static int dev_listen_port(struct device_change *c, const char *v, size_t n)
{
	uint64_t port;

	if (parse_uint(v, n, UINT16_MAX, &port) < 0)
		return -EINVAL;
	c->listen_port = (uint16_t)port;
	c->flags |= DEV_LISTEN_PORT;
	return 0;
}

static int dev_fwmark(struct device_change *c, const char *v, size_t n)
{
	uint64_t mark;

	if (parse_uint(v, n, UINT32_MAX, &mark) < 0)
		return -EINVAL;
	c->fwmark = (uint32_t)mark;
	c->flags |= DEV_FWMARK;
	return 0;
}

static int dev_replace_peers(struct device_change *c, const char *v, size_t n)
{
	if (!is_true(v, n))
		return -EINVAL;
	c->flags |= DEV_REPLACE_PEERS;
	return 0;
}

static const struct {
	const char *key;
	int (*parse)(struct device_change *c, const char *v, size_t n);
	const char *expected;
} device_keys[] = {
	{ "private_key", dev_private_key, HEX_KEY },
	{ "listen_port", dev_listen_port, "expected a port, 0 to 65535" },
	{ "fwmark", dev_fwmark, "expected a number, 0 to 4294967295" },
	{ "replace_peers", dev_replace_peers, BOOLEAN },
};

/* wireguard-go: for a peer that did not exist, update_only drops it again
 * (with what the lines before did); for one that did, it does nothing. Which
 * it is shows only when applying, so remember how far the block had got. */
static int peer_update_only(struct peer_change *pc, const char *v, size_t n)
{
	if (!is_true(v, n))
		return -EINVAL;
	if (!pc->removed && !(pc->flags & PEER_UPDATE_ONLY)) {
		pc->flags |= PEER_UPDATE_ONLY;
		pc->ips_before_update_only = pc->n_ips;
	}
	return 0;
}

static int peer_remove(struct peer_change *pc, const char *v, size_t n)
{
	if (!is_true(v, n))
		return -EINVAL;
	pc->flags |= PEER_REMOVE;
	pc->removed = true;
	return 0;
}

static int peer_preshared_key(struct peer_change *pc, const char *v, size_t n)
{
	if (parse_key(pc->preshared_key, v, n) < 0)
		return -EINVAL;
	pc->flags |= PEER_PRESHARED_KEY;
	return 0;
}

static int peer_endpoint(struct peer_change *pc, const char *v, size_t n)
{
	if (parse_endpoint(&pc->endpoint, v, n) < 0)
		return -EINVAL;
	pc->flags |= PEER_ENDPOINT;
	return 0;
}

static int peer_keepalive(struct peer_change *pc, const char *v, size_t n)
{
	uint64_t secs;

	if (parse_uint(v, n, UINT16_MAX, &secs) < 0)
		return -EINVAL;
	pc->keepalive = (uint16_t)secs;
	pc->flags |= PEER_KEEPALIVE;
	return 0;
}

static int peer_replace_allowed_ips(struct peer_change *pc, const char *v, size_t n)
{
	static const struct mg_prefix replace = { .family = AF_UNSPEC };

	if (!is_true(v, n))
		return -EINVAL;
	return push_ip(pc, &replace);
}

static int peer_allowed_ip(struct peer_change *pc, const char *v, size_t n)
{
	struct mg_prefix p;

	if (parse_prefix(&p, v, n) < 0)
		return -EINVAL;
	return push_ip(pc, &p);
}

static int peer_protocol_version(struct peer_change *pc, const char *v, size_t n)
{
	(void)pc;
	return n == 1 && v[0] == '1' ? 0 : -EINVAL;
}

static const struct {
	const char *key;
	int (*parse)(struct peer_change *pc, const char *v, size_t n);
	const char *expected;
} peer_keys[] = {
	{ "update_only", peer_update_only, BOOLEAN },
	{ "remove", peer_remove, BOOLEAN },
	{ "preshared_key", peer_preshared_key, HEX_KEY },
	{ "endpoint", peer_endpoint, "expected a.b.c.d:port or [IPv6]:port" },
	{ "persistent_keepalive_interval", peer_keepalive, "expected seconds, 0 to 65535" },
	{ "replace_allowed_ips", peer_replace_allowed_ips, BOOLEAN },
	{ "allowed_ip", peer_allowed_ip, "expected address/prefix-length" },
	{ "protocol_version", peer_protocol_version, "expected 1" },
};

static int parse_public_key(struct device_change *c, const char *v, size_t n)
{
	uint8_t key[MG_KEY_SIZE];
	struct peer_change *pc;

	if (parse_key(key, v, n) < 0)
		return -EINVAL;
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	memcpy(pc->public_key, key, MG_KEY_SIZE);
	if (c->last)
		c->last->next = pc;
	else
		c->peers = pc;
	c->last = pc;
	return 0;
}

static int parse_device_key(struct device_change *c, const char *k, size_t klen, const char *v,
			    size_t vlen, const char **why)
{
	for (size_t i = 0; i < ARRAY_SIZE(device_keys); i++) {
		if (is_key(k, klen, device_keys[i].key)) {
			*why = device_keys[i].expected;
			return device_keys[i].parse(c, v, vlen);
		}
	}
	*why = "unknown key (private_key, listen_port, fwmark, replace_peers or public_key)";
	return -EINVAL;
}

/* Device keys are only known before the first public_key; after it they are
 * unknown peer keys (EINVAL), as in wireguard-go. */
static int parse_peer_key(struct peer_change *pc, const char *k, size_t klen, const char *v,
			  size_t vlen, const char **why)
{
	for (size_t i = 0; i < ARRAY_SIZE(peer_keys); i++) {
		if (is_key(k, klen, peer_keys[i].key)) {
			*why = peer_keys[i].expected;
			return peer_keys[i].parse(pc, v, vlen);
		}
	}
	*why = "unknown peer key (device keys go before the first public_key)";
	return -EINVAL;
}

/* On failure *why says what was expected. */
static int parse_line(struct device_change *c, const char *line, size_t n, const char **why)
{
	const char *eq = memchr(line, '=', n), *v;
	size_t klen, vlen;

	*why = "expected key=value";
	if (!eq)
		return -EPROTO;
	klen = (size_t)(eq - line);
	v = eq + 1;
	vlen = n - klen - 1;
	if (is_key(line, klen, "public_key")) {
		*why = HEX_KEY;
		return parse_public_key(c, v, vlen);
	}
	if (!c->last)
		return parse_device_key(c, line, klen, v, vlen, why);
	return parse_peer_key(c->last, line, klen, v, vlen, why);
}

/* The operator's side of a refusal (the client only sees the errno): the
 * line, quoted and made printable, but never a key's value. */
static void log_refused(const struct mg_log *log, size_t number, const char *line, size_t n,
			const char *why)
{
	const char *eq = memchr(line, '=', n);
	size_t shown = n < 96 ? n : 96;
	char text[100];

	if (eq && (is_key(line, (size_t)(eq - line), "private_key") ||
		   is_key(line, (size_t)(eq - line), "preshared_key")))
		shown = (size_t)(eq - line) + 1;
	for (size_t i = 0; i < shown; i++)
		text[i] = line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '?';
	memcpy(text + shown, shown < n ? "..." : "", shown < n ? 4 : 1);
	mg_log(log, MG_LOG_INFO, "uapi: set refused at line %zu \"%s\": %s", number, text, why);
}

/* req[0, len) is one set request as mg_uapi_frame found it. Stops at the
 * first bad line with wireguard-go's errno for it. */
static int parse_set(const struct mg_log *log, struct device_change *c, const char *req, size_t len)
{
	size_t pos = OP_LEN;
	const char *why;
	int ret;

	for (size_t number = 2;; number++) {
		const char *line = req + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = (size_t)(nl - line);

		pos += n + 1;
		if (n && line[n - 1] == '\r')
			n--;
		if (n == 0)
			return 0;
		ret = parse_line(c, line, n, &why);
		if (ret < 0) {
			log_refused(log, number, line, n, ret == -ENOMEM ? "out of memory" : why);
			return ret;
		}
	}
}

/* ---- checking what cannot be checked line by line ---- */

/* wireguard-go refuses a peer past its limit with EINVAL. Counting every
 * block for a key not there now as a new peer is an upper bound, so a
 * request that passes cannot fail on the limit halfway through. */
static int validate(const struct mg_device *dev, const struct device_change *c)
{
	bool replace = c->flags & DEV_REPLACE_PEERS;
	size_t count = replace ? 0 : dev->peers.count;

	for (const struct peer_change *pc = c->peers; pc; pc = pc->next)
		if (replace || !mg_peer_table_lookup(&dev->peers, pc->public_key))
			count++;
	if (count <= MAX_PEERS)
		return 0;
	mg_log(dev->log, MG_LOG_INFO,
	       "uapi: set refused: it could make %zu peers, past the limit of %u", count,
	       (unsigned)MAX_PEERS);
	return -EINVAL;
}

/* ---- applying a checked change set ---- */

/* The steps that can fail for outside reasons, first, so that a failure
 * leaves everything as it was. The mark goes before the rebind because
 * restoring a mark on sockets that just accepted one cannot fail, whereas
 * undoing a rebind could (someone may take the old port meanwhile); the
 * hook keeps the old sockets when a rebind fails. wireguard-go answers
 * EADDRINUSE for either failure. */
static int apply_sockets(const struct mg_log *log, const struct mg_uapi_hooks *hooks, void *ctx,
			 const struct device_change *c)
{
	uint32_t old_mark = hooks->fwmark(ctx);
	bool marked = false;

	int ret;

	if ((c->flags & DEV_FWMARK) && c->fwmark != old_mark) {
		ret = hooks->set_fwmark(ctx, c->fwmark);
		if (ret < 0) {
			mg_log(log, MG_LOG_INFO, "uapi: set refused: fwmark %" PRIu32 ": %s",
			       c->fwmark, strerror(-ret));
			return -EADDRINUSE;
		}
		marked = true;
	}
	/* Port 0 asks for a fresh random port, as in wireguard-go. */
	if ((c->flags & DEV_LISTEN_PORT) &&
	    (!c->listen_port || c->listen_port != hooks->listen_port(ctx))) {
		ret = hooks->set_listen_port(ctx, c->listen_port);
		if (ret < 0) {
			mg_log(log, MG_LOG_INFO, "uapi: set refused: listen_port %u: %s",
			       (unsigned)c->listen_port, strerror(-ret));
			if (marked)
				hooks->set_fwmark(ctx, old_mark);
			return -EADDRINUSE;
		}
	}
	return 0;
}

/* wireguard-go does nothing, and keeps every session, when the key is the
 * one already set. */
static void apply_private_key(struct mg_device *dev, const struct device_change *c)
{
	bool zero = mg_is_zero(c->private_key, MG_KEY_SIZE);

	if (!(c->flags & DEV_PRIVATE_KEY))
		return;
	if (zero ? !dev->identity.has_identity
		 : dev->identity.has_identity &&
			    mg_equal(c->private_key, dev->identity.private_key, MG_KEY_SIZE))
		return;
	mg_device_set_private_key(dev, zero ? NULL : c->private_key);
}

static int run_ips(struct mg_device *dev, struct mg_peer *peer, const struct peer_change *pc,
		   size_t count)
{
	int ret;

	for (size_t i = 0; i < count; i++) {
		if (pc->ips[i].family == AF_UNSPEC) {
			mg_allowedips_remove_by_peer(&dev->allowedips, peer);
			continue;
		}
		ret = mg_device_peer_add_allowed_ip(peer, &pc->ips[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static bool inserts_any(const struct peer_change *pc, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (pc->ips[i].family != AF_UNSPEC)
			return true;
	return false;
}

/* A new peer that remove=true or update_only=true drops again: in
 * wireguard-go it still took the allowed IPs listed before that line from
 * their owners, and they go with it. */
static int add_and_drop(struct mg_device *dev, const struct peer_change *pc)
{
	size_t count = pc->flags & PEER_UPDATE_ONLY ? pc->ips_before_update_only : pc->n_ips;
	struct mg_peer *peer;
	int ret;

	if (!inserts_any(pc, count))
		return 0;
	ret = mg_device_add_peer(dev, pc->public_key, &peer);
	if (ret < 0)
		return ret;
	ret = run_ips(dev, peer, pc, count);
	mg_device_remove_peer(dev, peer);
	return ret;
}

static int update_peer(struct mg_device *dev, struct mg_peer *peer, const struct peer_change *pc)
{
	int ret;

	if (pc->flags & PEER_PRESHARED_KEY)
		mg_device_peer_set_preshared_key(peer, pc->preshared_key);
	if (pc->flags & PEER_ENDPOINT)
		mg_device_peer_set_endpoint(peer, &pc->endpoint);
	ret = run_ips(dev, peer, pc, pc->n_ips);
	if (ret < 0)
		return ret;
	/* Last, so that the keepalive sent when it turns on goes to the new
	 * endpoint under the new key, as wireguard-go sends it once the whole
	 * block is done. */
	if (pc->flags & PEER_KEEPALIVE)
		mg_device_peer_set_persistent_keepalive(peer, pc->keepalive);
	return 0;
}

static int apply_peer(struct mg_device *dev, const struct peer_change *pc)
{
	struct mg_peer *peer;
	int ret;

	/* Our own public key as a peer: wireguard-go ignores the block. */
	if (dev->identity.has_identity &&
	    mg_equal(pc->public_key, dev->identity.public_key, MG_KEY_SIZE))
		return 0;
	peer = mg_peer_table_lookup(&dev->peers, pc->public_key);
	if (!peer && (pc->flags & (PEER_REMOVE | PEER_UPDATE_ONLY)))
		return add_and_drop(dev, pc);
	if (peer && (pc->flags & PEER_REMOVE)) {
		ret = run_ips(dev, peer, pc, pc->n_ips);
		mg_device_remove_peer(dev, peer);
		return ret;
	}
	if (!peer) {
		ret = mg_device_add_peer(dev, pc->public_key, &peer);
		if (ret < 0)
			return ret == -ENOMEM ? ret : -EINVAL;
	}
	return update_peer(dev, peer, pc);
}

/* Blocks run in request order against the live table, so a key that comes
 * twice, or is removed and added again, ends as in wireguard-go. Past the
 * hooks only the device's allocations can fail (-ENOMEM). */
static int apply(struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx,
		 const struct device_change *c)
{
	int ret = apply_sockets(dev->log, hooks, ctx, c);

	if (ret < 0)
		return ret;
	apply_private_key(dev, c);
	if (c->flags & DEV_REPLACE_PEERS)
		while (dev->peers.first)
			mg_device_remove_peer(dev, dev->peers.first);
	for (const struct peer_change *pc = c->peers; pc; pc = pc->next) {
		ret = apply_peer(dev, pc);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- get ---- */

/* Appends until the first failure, which it keeps. */
struct writer {
	struct mg_uapi_buf *out;
	int err;
};

__attribute__((format(printf, 2, 3))) static void put(struct writer *w, const char *fmt, ...)
{
	va_list ap;
	char line[256];
	int n;

	if (w->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		w->err = -EINVAL;
	else
		w->err = mg_uapi_buf_append(w->out, line, (size_t)n);
	mg_wipe(line, sizeof(line)); /* it may have held a private key */
}

static void put_key(struct writer *w, const char *name, const uint8_t key[MG_KEY_SIZE])
{
	char hex[MG_KEY_HEX_LEN + 1];

	mg_key_to_hex(hex, key);
	put(w, "%s=%s\n", name, hex);
	mg_wipe(hex, sizeof(hex));
}

static int put_allowed_ip(void *ctx, const struct mg_prefix *p)
{
	char ip[INET6_ADDRSTRLEN];

	format_ip(ip, p->family, p->addr);
	put(ctx, "allowed_ip=%s/%u\n", ip, (unsigned)p->cidr);
	return 0;
}

static void put_endpoint(struct writer *w, const struct mg_endpoint *ep)
{
	char ip[INET6_ADDRSTRLEN];

	if (ep->sa.sa_family == AF_INET) {
		format_ip(ip, AF_INET, (const uint8_t *)&ep->in4.sin_addr);
		put(w, "endpoint=%s:%u\n", ip, (unsigned)ntohs(ep->in4.sin_port));
	} else if (ep->sa.sa_family == AF_INET6) {
		format_ip(ip, AF_INET6, ep->in6.sin6_addr.s6_addr);
		put(w, "endpoint=[%s]:%u\n", ip, (unsigned)ntohs(ep->in6.sin6_port));
	}
}

static void put_peer(struct writer *w, const struct mg_device *dev, const struct mg_peer *peer)
{
	put_key(w, "public_key", peer->public_key);
	put_key(w, "preshared_key", peer->handshake.preshared_key);
	put(w, "protocol_version=1\n");
	put_endpoint(w, &peer->endpoint);
	put(w, "last_handshake_time_sec=%lld\nlast_handshake_time_nsec=%ld\n",
	    (long long)peer->last_handshake.tv_sec, (long)peer->last_handshake.tv_nsec);
	put(w, "tx_bytes=%" PRIu64 "\nrx_bytes=%" PRIu64 "\n", peer->tx_bytes, peer->rx_bytes);
	put(w, "persistent_keepalive_interval=%u\n", (unsigned)peer->persistent_keepalive_interval);
	mg_allowedips_walk_by_peer(&dev->allowedips, peer, put_allowed_ip, w);
}

static int put_device(struct mg_uapi_buf *out, const struct mg_device *dev,
		      const struct mg_uapi_hooks *hooks, void *ctx)
{
	struct writer w = { .out = out };
	uint16_t port = hooks->listen_port(ctx);
	uint32_t mark = hooks->fwmark(ctx);

	if (dev->identity.has_identity)
		put_key(&w, "private_key", dev->identity.private_key);
	if (port)
		put(&w, "listen_port=%u\n", (unsigned)port);
	if (mark)
		put(&w, "fwmark=%" PRIu32 "\n", mark);
	mg_peer_table_for_each(&dev->peers, p) put_peer(&w, dev, p);
	put(&w, "errno=0\n\n");
	return w.err;
}

/* ---- requests ---- */

static int reply(struct mg_uapi_buf *out, int err)
{
	return mg_uapi_buf_printf(out, "errno=%d\n\n", err);
}

static int handle_get(struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx,
		      const char *request, struct mg_uapi_buf *out)
{
	size_t start = out->len;

	if (request[OP_LEN] != '\n')
		return reply(out, -EINVAL);
	if (put_device(out, dev, hooks, ctx) == 0)
		return 0;
	/* Half a reply would read as a whole one with fewer peers. */
	mg_wipe(out->data + start, out->len - start);
	out->len = start;
	return reply(out, -ENOMEM);
}

static int handle_set(struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx,
		      const char *request, size_t len, struct mg_uapi_buf *out)
{
	struct device_change c = { 0 };
	int err = parse_set(dev->log, &c, request, len);

	if (!err)
		err = validate(dev, &c);
	if (!err) {
		err = apply(dev, hooks, ctx, &c);
		if (err == -ENOMEM)
			mg_log(dev->log, MG_LOG_ERROR,
			       "uapi: out of memory; a set may be applied in part");
	}
	change_free(&c);
	return reply(out, err);
}

int mg_uapi_handle(struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx,
		   const char *request, size_t len, struct mg_uapi_buf *out)
{
	size_t scan = 0;
	int n = mg_uapi_frame(request, len, &scan), ret;

	if (n == 0)
		return -ENODATA;
	if (n == -EMSGSIZE) /* wireguard-go: "failed to read input", EIO */
		return reply(out, -EIO) < 0 ? -ENOMEM : -EMSGSIZE;
	if (n < 0)
		return n;
	if (request[0] == 'g')
		ret = handle_get(dev, hooks, ctx, request, out);
	else
		ret = handle_set(dev, hooks, ctx, request, (size_t)n, out);
	return ret < 0 ? -ENOMEM : n;
}
