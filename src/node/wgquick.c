/* The wg-quick configuration format, read the way wg(8) and wg-quick(8) read
 * it: '#' starts a comment anywhere, section names and keys are
 * case-insensitive, whitespace around '=' and around list entries is
 * ignored, and Address / AllowedIPs accumulate over repeated lines. Where
 * wg(8) silently takes the last of a repeated key we stop instead: two
 * PublicKey lines in one [Peer] almost always mean a lost [Peer] header.
 *
 * Every error names file:line, quotes the input (never a secret key) and
 * says what was expected. On error nothing is returned: the half-built tree
 * is freed, so callers never see a partial configuration.
 *
 * The parser does no I/O and no name lookups, so the fuzzer can drive it;
 * mg_config_load and mg_config_resolve_endpoints do those around it. */
#include "node/wgquick.h"
#include "tunnel/messages.h"
#include "util/macros.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define QUOTE_MAX     64 /* input characters echoed back in a message */
#define RESOLVE_TRIES 3	 /* getaddrinfo attempts on a temporary failure (EAI_AGAIN) */

enum section {
	SECTION_NONE,
	SECTION_INTERFACE,
	SECTION_PEER,
};

struct parser {
	struct mg_config *c;
	const char *name;
	unsigned line;
	enum section section;
	unsigned interface_line; /* 0 until an [Interface] header */
	size_t allowed_ips;	 /* over all peers, bounded by MG_CONFIG_ALLOWEDIPS_MAX */
	char *err;
	size_t errlen;
};

/* A recognised key. once is the has-flag of a key that may appear once per
 * section (0 for accumulating lists); parse is NULL for wg-quick keys that
 * meshguard does not handle yet, so they are named rather than "unknown". */
struct key {
	const char *name;
	enum section section;
	uint32_t once;
	int (*parse)(struct parser *p, const char *value);
};

static const char *section_name(enum section s)
{
	return s == SECTION_INTERFACE ? "[Interface]" : "[Peer]";
}

static int vfail(struct parser *p, unsigned line, const char *fmt, va_list ap)
{
	int n;

	if (!p->err || p->errlen == 0)
		return -EINVAL;
	if (line)
		n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->name);
	if (n >= 0 && (size_t)n < p->errlen)
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	return -EINVAL;
}

/* Writes "name:line: message" to the caller's buffer; returns -EINVAL. */
__attribute__((format(printf, 2, 3))) static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(p, p->line, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* As fail, about an earlier line (a section header); line 0 means the file. */
__attribute__((format(printf, 3, 4))) static int fail_at(struct parser *p, unsigned line,
							 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(p, line, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int nomem(struct parser *p)
{
	fail(p, "out of memory");
	return -ENOMEM;
}

/* Copies s for a message: bounded, and with control characters replaced so
 * that a hostile file cannot drive the terminal. */
static void quote(char out[QUOTE_MAX + 4], const char *s)
{
	size_t i;

	for (i = 0; i < QUOTE_MAX && s[i]; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	strcpy(out + i, s[i] ? "..." : "");
}

/* 'Key "value" what', the common shape of a value error. */
static int bad(struct parser *p, const char *key, const char *value, const char *what)
{
	char q[QUOTE_MAX + 4];

	quote(q, value);
	return fail(p, "%s \"%s\" %s", key, q, what);
}

/* The whitespace wg(8) ignores; '\r' makes CRLF files work. */
static bool blank(char ch)
{
	return ch && strchr(" \t\r\v\f", ch);
}

static char *trim(char *s)
{
	char *end = s + strlen(s);

	while (blank(*s))
		s++;
	while (end > s && blank(end[-1]))
		end--;
	*end = '\0';
	return s;
}

/* Decimal digits only, as wg(8) reads numbers. Stopping as soon as the value
 * passes max (at most UINT32_MAX here) means it cannot overflow. */
static int parse_number(unsigned long long *out, const char *s, unsigned long long max)
{
	unsigned long long v = 0;
	size_t n;

	for (n = 0; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long long)(s[n] - '0');
		if (v > max)
			return -EINVAL;
	}
	if (n == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int parse_hex(unsigned long long *out, const char *s, unsigned long long max)
{
	unsigned long long v = 0;
	size_t n;

	for (n = 0; s[n]; n++) {
		int d = hex_digit(s[n]);

		if (d < 0)
			return -EINVAL;
		v = v * 16 + (unsigned long long)d;
		if (v > max)
			return -EINVAL;
	}
	if (n == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Makes room for one more element in an array of len elements. The capacity
 * is implied by len (the next power of two), so the public structs need no
 * capacity field. Growing copies and wipes rather than realloc()s, because
 * peers hold preshared keys that must not be left behind in freed memory. */
static int grow(void **array, size_t len, size_t size)
{
	size_t cap = len ? 2 * len : 1;
	void *bigger;

	if (len & (len - 1))
		return 0;
	bigger = calloc(cap, size);
	if (!bigger)
		return -ENOMEM;
	if (len) {
		memcpy(bigger, *array, len * size);
		mg_wipe(*array, len * size);
	}
	free(*array);
	*array = bigger;
	return 0;
}

static struct mg_config_peer *current_peer(struct parser *p)
{
	return &p->c->peers[p->c->peers_len - 1];
}

/* A key in base64. A secret one is never echoed back, not even mistyped. */
static int parse_key_text(struct parser *p, const char *key, const char *value,
			  uint8_t out[MG_KEY_LEN], bool secret)
{
	if (mg_key_from_base64(out, value) == 0)
		return 0;
	if (secret)
		return fail(
			p,
			"%s is not a valid key (expected 44 characters of base64 ending in '=', "
			"got %zu characters)",
			key, strlen(value));
	return bad(p, key, value,
		   "is not a valid key (expected 44 characters of base64 ending in '=')");
}

static int parse_private_key(struct parser *p, const char *value)
{
	return parse_key_text(p, "PrivateKey", value, p->c->private_key, true);
}

static int parse_listen_port(struct parser *p, const char *value)
{
	unsigned long long v;

	if (parse_number(&v, value, 65535) < 0)
		return bad(p, "ListenPort", value, "is not a port (expected 0-65535)");
	p->c->listen_port = (uint16_t)v;
	return 0;
}

static int parse_mtu(struct parser *p, const char *value)
{
	unsigned long long v;

	if (parse_number(&v, value, MG_MTU_MAX) < 0 || v < MG_MTU_MIN)
		return bad(p, "MTU", value, "is not an MTU (expected 576-65535)");
	p->c->mtu = (uint32_t)v;
	return 0;
}

/* As wg(8): "off", decimal, or hexadecimal after "0x". */
static int parse_fwmark(struct parser *p, const char *value)
{
	unsigned long long v;
	int ret;

	if (!strcasecmp(value, "off")) {
		p->c->fwmark = 0;
		return 0;
	}
	if (value[0] == '0' && (value[1] == 'x' || value[1] == 'X'))
		ret = parse_hex(&v, value + 2, UINT32_MAX);
	else
		ret = parse_number(&v, value, UINT32_MAX);
	if (ret < 0)
		return bad(p, "FwMark", value,
			   "is not a firewall mark (expected 0-4294967295, 0x followed by hex, or "
			   "\"off\")");
	p->c->fwmark = (uint32_t)v;
	return 0;
}

/* Calls add for each comma-separated entry of value. An empty value is an
 * empty list, as in wg(8); an empty entry between commas is a mistake. */
static int each_entry(struct parser *p, const char *key, const char *value,
		      int (*add)(struct parser *p, const char *entry))
{
	char *copy, *rest, *entry;
	int ret = 0;

	if (!*value)
		return 0;
	copy = strdup(value);
	if (!copy)
		return nomem(p);
	for (rest = copy; rest && !ret;) {
		entry = trim(strsep(&rest, ","));
		if (!*entry)
			ret = bad(p, key, value,
				  "has an empty entry (expected comma-separated entries)");
		else
			ret = add(p, entry);
	}
	free(copy);
	return ret;
}

static int add_address(struct parser *p, const char *entry)
{
	struct mg_config *c = p->c;
	struct mg_prefix prefix;

	/* Host bits stay: 10.0.0.1/24 is the address 10.0.0.1 on a /24. */
	if (mg_prefix_parse(&prefix, entry, false) < 0)
		return bad(p, "Address", entry,
			   "is not an IP address (expected e.g. 10.0.0.1/24 or fd00::1/64)");
	if (c->addresses_len == MG_CONFIG_ADDRESSES_MAX)
		return fail(p, "more than %d Address entries (expected fewer)",
			    MG_CONFIG_ADDRESSES_MAX);
	if (grow((void **)&c->addresses, c->addresses_len, sizeof(prefix)) < 0)
		return nomem(p);
	c->addresses[c->addresses_len++] = prefix;
	return 0;
}

static int parse_address(struct parser *p, const char *value)
{
	return each_entry(p, "Address", value, add_address);
}

static int add_allowed_ip(struct parser *p, const char *entry)
{
	struct mg_config_peer *peer = current_peer(p);
	struct mg_prefix prefix;

	if (mg_prefix_parse(&prefix, entry, true) < 0)
		return bad(p, "AllowedIPs", entry,
			   "is not an IP prefix (expected e.g. 10.0.0.0/24 or fd00::/64)");
	if (p->allowed_ips == MG_CONFIG_ALLOWEDIPS_MAX)
		return fail(p, "more than %d AllowedIPs in this file (expected fewer)",
			    MG_CONFIG_ALLOWEDIPS_MAX);
	if (grow((void **)&peer->allowed_ips, peer->allowed_ips_len, sizeof(prefix)) < 0)
		return nomem(p);
	peer->allowed_ips[peer->allowed_ips_len++] = prefix;
	p->allowed_ips++;
	return 0;
}

static int parse_allowed_ips(struct parser *p, const char *value)
{
	return each_entry(p, "AllowedIPs", value, add_allowed_ip);
}

static int parse_public_key(struct parser *p, const char *value)
{
	return parse_key_text(p, "PublicKey", value, current_peer(p)->public_key, false);
}

static int parse_preshared_key(struct parser *p, const char *value)
{
	return parse_key_text(p, "PresharedKey", value, current_peer(p)->preshared_key, true);
}

static int parse_keepalive(struct parser *p, const char *value)
{
	unsigned long long v = 0;

	if (strcasecmp(value, "off") && parse_number(&v, value, 65535) < 0)
		return bad(p, "PersistentKeepalive", value,
			   "is not an interval in seconds (expected 0-65535 or \"off\")");
	current_peer(p)->persistent_keepalive = (uint16_t)v;
	return 0;
}

/* Splits "host:port" or "[v6]:port" without modifying value. */
static int split_endpoint(const char *value, const char **host, size_t *hostlen, const char **port)
{
	const char *colon;

	if (value[0] == '[') {
		colon = strchr(value, ']');
		if (!colon || colon[1] != ':')
			return -EINVAL;
		*host = value + 1;
		*hostlen = (size_t)(colon - value - 1);
		*port = colon + 2;
		return 0;
	}
	colon = strrchr(value, ':');
	if (!colon || memchr(value, ':', (size_t)(colon - value)))
		return -EINVAL;
	*host = value;
	*hostlen = (size_t)(colon - value);
	*port = colon + 1;
	return 0;
}

/* A DNS name as getaddrinfo will be given it later; all digits and dots
 * would be a mistyped IPv4 address, which must not go to the resolver. */
static bool valid_hostname(const char *host, size_t len)
{
	bool letter = false;

	if (len == 0 || host[0] == '-' || host[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = host[i];
		bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');

		if (!alpha && !(ch >= '0' && ch <= '9') && ch != '-' && ch != '.' && ch != '_')
			return false;
		letter |= alpha || ch == '-' || ch == '_';
	}
	return letter;
}

/* Checks the shape; fills endpoint_host and endpoint_port, and the numeric
 * endpoint when the host is an address literal. */
static int parse_endpoint(struct parser *p, const char *value)
{
	struct mg_config_peer *peer = current_peer(p);
	const char *host, *port;
	unsigned long long v;
	size_t hostlen;

	if (split_endpoint(value, &host, &hostlen, &port) < 0)
		return bad(p, "Endpoint", value,
			   "is not host:port (expected e.g. 192.0.2.1:51820, [2001:db8::1]:51820 "
			   "or vpn.example.com:51820)");
	if (strlen(port) > MG_CONFIG_PORT_MAX || parse_number(&v, port, 65535) < 0 || v == 0)
		return bad(p, "Endpoint", value, "has no valid port (expected 1-65535 after ':')");
	if (hostlen > MG_CONFIG_HOST_MAX)
		return bad(p, "Endpoint", value, "has a host name longer than 253 characters");
	if (mg_endpoint_parse(&peer->endpoint, value) == 0)
		peer->flags |= MG_CONFIG_PEER_HAS_ENDPOINT_ADDR;
	else if (value[0] == '[')
		return bad(p, "Endpoint", value,
			   "is not a valid IPv6 address and port (expected e.g. "
			   "[2001:db8::1]:51820)");
	else if (!valid_hostname(host, hostlen))
		return bad(p, "Endpoint", value,
			   "is neither an IP address nor a host name (expected e.g. "
			   "192.0.2.1:51820 or vpn.example.com:51820)");
	memcpy(peer->endpoint_host, host, hostlen);
	peer->endpoint_host[hostlen] = '\0';
	strcpy(peer->endpoint_port, port);
	return 0;
}

static const struct key keys[] = {
	{ "PrivateKey", SECTION_INTERFACE, MG_CONFIG_HAS_PRIVATE_KEY, parse_private_key },
	{ "ListenPort", SECTION_INTERFACE, MG_CONFIG_HAS_LISTEN_PORT, parse_listen_port },
	{ "Address", SECTION_INTERFACE, 0, parse_address },
	{ "MTU", SECTION_INTERFACE, MG_CONFIG_HAS_MTU, parse_mtu },
	{ "FwMark", SECTION_INTERFACE, MG_CONFIG_HAS_FWMARK, parse_fwmark },
	{ "DNS", SECTION_INTERFACE, 0, NULL },
	{ "Table", SECTION_INTERFACE, 0, NULL },
	{ "SaveConfig", SECTION_INTERFACE, 0, NULL },
	{ "PreUp", SECTION_INTERFACE, 0, NULL },
	{ "PostUp", SECTION_INTERFACE, 0, NULL },
	{ "PreDown", SECTION_INTERFACE, 0, NULL },
	{ "PostDown", SECTION_INTERFACE, 0, NULL },
	{ "PublicKey", SECTION_PEER, MG_CONFIG_PEER_HAS_PUBLIC_KEY, parse_public_key },
	{ "PresharedKey", SECTION_PEER, MG_CONFIG_PEER_HAS_PRESHARED_KEY, parse_preshared_key },
	{ "AllowedIPs", SECTION_PEER, 0, parse_allowed_ips },
	{ "Endpoint", SECTION_PEER, MG_CONFIG_PEER_HAS_ENDPOINT, parse_endpoint },
	{ "PersistentKeepalive", SECTION_PEER, MG_CONFIG_PEER_HAS_KEEPALIVE, parse_keepalive },
};

static const struct key *find_key(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcasecmp(name, keys[i].name))
			return &keys[i];
	return NULL;
}

/* A garbled line that starts with a key name is not quoted back, so that
 * "PrivateKey: <key>" does not print the key. */
static int garbled_key(struct parser *p, const char *text)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strncasecmp(text, keys[i].name, strlen(keys[i].name)))
			return fail(p, "line starting with %s is not of the form %s = value",
				    keys[i].name, keys[i].name);
	return 0;
}

static int no_equals(struct parser *p, const char *line)
{
	char q[QUOTE_MAX + 4];
	int ret = garbled_key(p, line);

	if (ret)
		return ret;
	quote(q, line);
	return fail(p, "\"%s\" is not a line of the form Key = Value or [Section]", q);
}

static int unknown_key(struct parser *p, const char *name)
{
	char q[QUOTE_MAX + 4];
	int ret = garbled_key(p, name);

	if (ret)
		return ret;
	quote(q, name);
	if (p->section == SECTION_INTERFACE)
		return fail(p,
			    "unknown key \"%s\" in [Interface] (expected PrivateKey, ListenPort, "
			    "Address, MTU or FwMark)",
			    q);
	if (p->section == SECTION_PEER)
		return fail(p,
			    "unknown key \"%s\" in [Peer] (expected PublicKey, PresharedKey, "
			    "AllowedIPs, Endpoint or PersistentKeepalive)",
			    q);
	return fail(p, "unknown key \"%s\" (expected an [Interface] or [Peer] section)", q);
}

/* Checks where the key may appear, then hands the value to its parser. */
static int parse_pair(struct parser *p, const char *name, const char *value)
{
	const struct key *k = find_key(name);
	uint32_t *flags;
	int ret;

	if (!k)
		return unknown_key(p, name);
	if (p->section == SECTION_NONE)
		return fail(p, "%s comes before any section (expected %s first)", k->name,
			    section_name(k->section));
	if (k->section != p->section)
		return fail(p, "%s belongs in %s, not in %s", k->name, section_name(k->section),
			    section_name(p->section));
	if (!k->parse)
		return fail(p, "'%s' is not supported yet by meshguard up", k->name);
	flags = p->section == SECTION_INTERFACE ? &p->c->flags : &current_peer(p)->flags;
	if (*flags & k->once)
		return fail(p, "%s appears twice in one %s section (expected once%s)", k->name,
			    section_name(p->section),
			    p->section == SECTION_PEER ? "; is a [Peer] line missing?" : "");
	ret = k->parse(p, value);
	if (ret == 0)
		*flags |= k->once;
	return ret;
}

/* Validates the section that a new header or the end of the file closes. */
static int finish_section(struct parser *p)
{
	struct mg_config_peer *peer;

	if (p->section != SECTION_PEER)
		return 0;
	peer = current_peer(p);
	if (!(peer->flags & MG_CONFIG_PEER_HAS_PUBLIC_KEY))
		return fail_at(p, peer->line,
			       "[Peer] has no PublicKey (expected PublicKey = <44 characters of "
			       "base64>)");
	return 0;
}

static int begin_interface(struct parser *p)
{
	if (p->interface_line)
		return fail(p, "second [Interface] section (expected one; the first is on line %u)",
			    p->interface_line);
	p->interface_line = p->line;
	p->section = SECTION_INTERFACE;
	return 0;
}

static int begin_peer(struct parser *p)
{
	struct mg_config *c = p->c;

	if (c->peers_len == MG_CONFIG_PEERS_MAX)
		return fail(p, "more than %d peers (expected fewer)", MG_CONFIG_PEERS_MAX);
	if (grow((void **)&c->peers, c->peers_len, sizeof(*c->peers)) < 0)
		return nomem(p);
	c->peers[c->peers_len++].line = p->line;
	p->section = SECTION_PEER;
	return 0;
}

static int parse_header(struct parser *p, const char *line)
{
	char q[QUOTE_MAX + 4];
	int ret = finish_section(p);

	if (ret)
		return ret;
	if (!strcasecmp(line, "[Interface]"))
		return begin_interface(p);
	if (!strcasecmp(line, "[Peer]"))
		return begin_peer(p);
	quote(q, line);
	return fail(p, "unknown section \"%s\" (expected [Interface] or [Peer])", q);
}

/* One line, NUL-terminated and writable. */
static int parse_line(struct parser *p, char *line)
{
	char *eq;

	line[strcspn(line, "#")] = '\0';
	line = trim(line);
	if (!*line)
		return 0;
	if (line[0] == '[')
		return parse_header(p, line);
	eq = strchr(line, '=');
	if (!eq)
		return no_equals(p, line);
	*eq = '\0';
	return parse_pair(p, trim(line), trim(eq + 1));
}

/* Splits text into lines and copies each into buf (MG_CONFIG_LINE_MAX + 1
 * bytes, or len + 1 if smaller) to parse it there. */
static int parse_lines(struct parser *p, const char *text, size_t len, char *buf)
{
	size_t pos = 0;
	int ret = 0;

	while (pos < len && !ret) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;

		pos += n + (nl ? 1 : 0);
		p->line++;
		if (n > MG_CONFIG_LINE_MAX)
			return fail(p, "line is %zu bytes long (expected at most %d)", n,
				    MG_CONFIG_LINE_MAX);
		if (memchr(start, '\0', n))
			return fail(p, "line contains a NUL byte (expected text)");
		memcpy(buf, start, n);
		buf[n] = '\0';
		ret = parse_line(p, buf);
	}
	return ret;
}

static int compare_peers(const void *a, const void *b)
{
	const struct mg_config_peer *x = *(const struct mg_config_peer *const *)a;
	const struct mg_config_peer *y = *(const struct mg_config_peer *const *)b;
	int ret = memcmp(x->public_key, y->public_key, MG_KEY_LEN);

	if (ret)
		return ret;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Sorting makes this O(n log n) for the largest allowed files; the earliest
 * repeat in the file is reported so the message does not depend on qsort. */
static int check_duplicate_keys(struct parser *p)
{
	const struct mg_config *c = p->c;
	const struct mg_config_peer **sorted, *first = NULL, *repeat = NULL, *group = NULL;
	char key[MG_KEY_BASE64_LEN + 1];

	if (c->peers_len < 2)
		return 0;
	sorted = malloc(c->peers_len * sizeof(*sorted));
	if (!sorted)
		return nomem(p);
	for (size_t i = 0; i < c->peers_len; i++)
		sorted[i] = &c->peers[i];
	qsort(sorted, c->peers_len, sizeof(*sorted), compare_peers);
	for (size_t i = 1; i < c->peers_len; i++) {
		if (memcmp(sorted[i - 1]->public_key, sorted[i]->public_key, MG_KEY_LEN))
			group = NULL;
		else if (!group)
			group = sorted[i - 1];
		if (group && group != sorted[i] && (!repeat || sorted[i]->line < repeat->line)) {
			repeat = sorted[i];
			first = group;
		}
	}
	free(sorted);
	if (!repeat)
		return 0;
	mg_key_to_base64(key, repeat->public_key);
	return fail_at(p, repeat->line,
		       "[Peer] has the same PublicKey \"%s\" as the [Peer] on line %u (expected "
		       "each peer once)",
		       key, first->line);
}

/* Whole-file checks, after the last line. */
static int finish(struct parser *p)
{
	int ret = finish_section(p);

	if (ret)
		return ret;
	if (!p->interface_line)
		return fail_at(p, 0, "no [Interface] section (expected one with a PrivateKey)");
	if (!(p->c->flags & MG_CONFIG_HAS_PRIVATE_KEY))
		return fail_at(p, p->interface_line,
			       "[Interface] has no PrivateKey (expected PrivateKey = <44 "
			       "characters of base64>)");
	return check_duplicate_keys(p);
}

int mg_config_parse(struct mg_config *out, const char *name, const char *text, size_t len,
		    char *err, size_t errlen)
{
	struct parser p = {
		.c = out, .name = name ? name : "config", .err = err, .errlen = errlen
	};
	size_t buflen = (len < MG_CONFIG_LINE_MAX ? len : MG_CONFIG_LINE_MAX) + 1;
	char *buf = malloc(buflen);
	int ret;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	if (!buf)
		return nomem(&p);
	ret = parse_lines(&p, text, len, buf);
	if (ret == 0)
		ret = finish(&p);
	if (ret == 0 && !(out->name = strdup(p.name)))
		ret = nomem(&p);
	/* The line buffer held the private key. */
	mg_wipe(buf, buflen);
	free(buf);
	if (ret)
		mg_config_free(out);
	return ret;
}

void mg_config_free(struct mg_config *c)
{
	for (size_t i = 0; i < c->peers_len; i++)
		free(c->peers[i].allowed_ips);
	if (c->peers)
		mg_wipe(c->peers, c->peers_len * sizeof(*c->peers));
	free(c->peers);
	free(c->addresses);
	free(c->name);
	mg_wipe(c, sizeof(*c));
}

static bool has_default_route(const struct mg_config *c)
{
	for (size_t k = 0; k < c->peers_len; k++)
		for (size_t j = 0; j < c->peers[k].allowed_ips_len; j++)
			if (c->peers[k].allowed_ips[j].cidr == 0)
				return true;
	return false;
}

uint32_t mg_config_fwmark(const struct mg_config *c)
{
	bool has_fwmark = (c->flags & MG_CONFIG_HAS_FWMARK) && c->fwmark;

	if (has_default_route(c))
		return has_fwmark ? c->fwmark : MG_CONFIG_DEFAULT_TABLE;
	return has_fwmark ? c->fwmark : 0;
}

/* As wg-quick, since the file holds a private key. */
static void warn_if_accessible(const char *path, const struct stat *st)
{
	if (S_ISREG(st->st_mode) && (st->st_mode & S_IRWXO))
		fprintf(stderr,
			"Warning: '%s' is world accessible (mode %04o) but holds a private key; "
			"consider chmod 600\n",
			path, (unsigned)(st->st_mode & 07777));
}

/* Doubles a full buffer, at most to MG_CONFIG_FILE_MAX + 1 bytes, wiping the
 * old copy since it may already hold the private key. */
static int grow_buffer(char **buf, size_t *cap)
{
	size_t bigger = *cap > MG_CONFIG_FILE_MAX / 2 ? MG_CONFIG_FILE_MAX + 1 : 2 * *cap;
	char *b = malloc(bigger);

	if (!b)
		return -ENOMEM;
	memcpy(b, *buf, *cap);
	mg_wipe(*buf, *cap);
	free(*buf);
	*buf = b;
	*cap = bigger;
	return 0;
}

/* Reads all of fd (a pipe works too) into a new buffer that the caller wipes
 * and frees. size is a hint; one spare byte lets a regular file's EOF be
 * seen without growing. 0, -EFBIG past MG_CONFIG_FILE_MAX, or -errno. */
static int read_all(int fd, size_t size, char **out, size_t *outlen)
{
	size_t len = 0, cap = size < 4096 ? 4096 : size;
	char *buf;
	ssize_t n;
	int ret = 0;

	cap = (cap < MG_CONFIG_FILE_MAX ? cap : MG_CONFIG_FILE_MAX) + 1;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			ret = cap > MG_CONFIG_FILE_MAX ? -EFBIG : grow_buffer(&buf, &cap);
			if (ret)
				break;
		}
		n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		if (n > 0)
			len += (size_t)n;
	}
	if (ret) {
		mg_wipe(buf, len);
		free(buf);
		return ret;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

static int load_error(const char *path, int ret, char *err, size_t errlen)
{
	if (!err || errlen == 0)
		return ret;
	if (ret == -EFBIG)
		snprintf(err, errlen,
			 "%s: file is larger than %d MiB (expected a configuration file)", path,
			 MG_CONFIG_FILE_MAX >> 20);
	else
		snprintf(err, errlen, "%s: cannot read the file: %s", path, strerror(-ret));
	return ret;
}

int mg_config_load(struct mg_config *out, const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *text;
	size_t len;
	int fd, ret;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return load_error(path, -errno, err, errlen);
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		close(fd);
		return load_error(path, ret, err, errlen);
	}
	warn_if_accessible(path, &st);
	ret = read_all(fd, S_ISREG(st.st_mode) ? (size_t)st.st_size : 0, &text, &len);
	close(fd);
	if (ret)
		return load_error(path, ret, err, errlen);
	ret = mg_config_parse(out, path, text, len, err, errlen);
	mg_wipe(text, len);
	free(text);
	return ret;
}

/* The first IPv4 or IPv6 answer, as wg(8) takes. 0 or an EAI_* code. */
static int resolve_peer(struct mg_config_peer *peer)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_DGRAM,
				  .ai_protocol = IPPROTO_UDP,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	int ret;

	/* A resolver that is not up yet (early boot) answers EAI_AGAIN. */
	for (int tries = 1;; tries++) {
		ret = getaddrinfo(peer->endpoint_host, peer->endpoint_port, &hints, &res);
		if (ret != EAI_AGAIN || tries == RESOLVE_TRIES)
			break;
		sleep(1);
	}
	if (ret)
		return ret;
	for (ai = res; ai; ai = ai->ai_next)
		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
		    ai->ai_addrlen <= sizeof(peer->endpoint))
			break;
	if (ai) {
		memset(&peer->endpoint, 0, sizeof(peer->endpoint));
		memcpy(&peer->endpoint, ai->ai_addr, ai->ai_addrlen);
		peer->flags |= MG_CONFIG_PEER_HAS_ENDPOINT_ADDR;
	}
	freeaddrinfo(res);
	return ai ? 0 : EAI_NONAME;
}

int mg_config_resolve_endpoints(struct mg_config *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->peers_len; i++) {
		struct mg_config_peer *peer = &c->peers[i];
		int ret;

		if (!(peer->flags & MG_CONFIG_PEER_HAS_ENDPOINT) ||
		    (peer->flags & MG_CONFIG_PEER_HAS_ENDPOINT_ADDR))
			continue;
		ret = resolve_peer(peer);
		if (ret == 0)
			continue;
		if (err && errlen)
			snprintf(err, errlen,
				 "%s:%u: [Peer] Endpoint \"%s:%s\" cannot be resolved: %s",
				 c->name ? c->name : "config", peer->line, peer->endpoint_host,
				 peer->endpoint_port, gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	return 0;
}
