#include "tunnel/uapi_set.h"
#include "tunnel/uapi_value.h"
#include "util/macros.h"
#include "crypto/primitives.h"
#include "util/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define HEX_KEY "expected 64 hex digits"
#define BOOLEAN "expected true"

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

static bool is_key(const char *s, size_t n, const char *key)
{
	return strlen(key) == n && !memcmp(s, key, n);
}

static int dev_private_key(struct device_change *c, const char *v, size_t n)
{
	if (mg_uapi_value_parse_key(c->private_key, v, n) < 0)
		return -EINVAL;
	if (!mg_is_zero(c->private_key, MG_KEY_SIZE))
		mg_x25519_clamp(c->private_key);
	c->flags |= DEV_PRIVATE_KEY;
	return 0;
}

static int dev_listen_port(struct device_change *c, const char *v, size_t n)
{
	uint64_t port;

	if (mg_uapi_value_parse_uint(v, n, UINT16_MAX, &port) < 0)
		return -EINVAL;
	c->listen_port = (uint16_t)port;
	c->flags |= DEV_LISTEN_PORT;
	return 0;
}

static int dev_fwmark(struct device_change *c, const char *v, size_t n)
{
	uint64_t mark;

	if (mg_uapi_value_parse_uint(v, n, UINT32_MAX, &mark) < 0)
		return -EINVAL;
	c->fwmark = (uint32_t)mark;
	c->flags |= DEV_FWMARK;
	return 0;
}

static int dev_replace_peers(struct device_change *c, const char *v, size_t n)
{
	if (!mg_uapi_value_is_true(v, n))
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
	if (!mg_uapi_value_is_true(v, n))
		return -EINVAL;
	if (!pc->removed && !(pc->flags & PEER_UPDATE_ONLY)) {
		pc->flags |= PEER_UPDATE_ONLY;
		pc->ips_before_update_only = pc->n_ips;
	}
	return 0;
}

static int peer_remove(struct peer_change *pc, const char *v, size_t n)
{
	if (!mg_uapi_value_is_true(v, n))
		return -EINVAL;
	pc->flags |= PEER_REMOVE;
	pc->removed = true;
	return 0;
}

static int peer_preshared_key(struct peer_change *pc, const char *v, size_t n)
{
	if (mg_uapi_value_parse_key(pc->preshared_key, v, n) < 0)
		return -EINVAL;
	pc->flags |= PEER_PRESHARED_KEY;
	return 0;
}

static int peer_endpoint(struct peer_change *pc, const char *v, size_t n)
{
	if (mg_uapi_value_parse_endpoint(&pc->endpoint, v, n) < 0)
		return -EINVAL;
	pc->flags |= PEER_ENDPOINT;
	return 0;
}

static int peer_keepalive(struct peer_change *pc, const char *v, size_t n)
{
	uint64_t secs;

	if (mg_uapi_value_parse_uint(v, n, UINT16_MAX, &secs) < 0)
		return -EINVAL;
	pc->keepalive = (uint16_t)secs;
	pc->flags |= PEER_KEEPALIVE;
	return 0;
}

static int peer_replace_allowed_ips(struct peer_change *pc, const char *v, size_t n)
{
	static const struct mg_prefix replace = { .family = AF_UNSPEC };

	if (!mg_uapi_value_is_true(v, n))
		return -EINVAL;
	return push_ip(pc, &replace);
}

static int peer_allowed_ip(struct peer_change *pc, const char *v, size_t n)
{
	struct mg_prefix p;

	if (mg_uapi_value_parse_prefix(&p, v, n) < 0)
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

	if (mg_uapi_value_parse_key(key, v, n) < 0)
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
	size_t shown = n;
	char text[MG_LOG_SAFE_MAX];

	if (eq && (is_key(line, (size_t)(eq - line), "private_key") ||
		   is_key(line, (size_t)(eq - line), "preshared_key")))
		shown = (size_t)(eq - line) + 1;
	mg_log(log, MG_LOG_INFO, "uapi: set refused at line %zu \"%s%s\": %s", number,
	       mg_log_safe(text, line, shown), shown < n ? "..." : "", why);
}

/* lines[0, len) as mg_uapi_set takes them. Stops at the first bad line with
 * wireguard-go's errno for it. */
static int parse_set(const struct mg_log *log, struct device_change *c, const char *lines,
		     size_t len)
{
	size_t pos = 0;
	const char *why;
	int ret;

	/* Line 1 was "set=1". */
	for (size_t number = 2;; number++) {
		const char *line = lines + pos, *nl = memchr(line, '\n', len - pos);
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

static const struct mg_peer *first_managed(const struct mg_device *dev)
{
	for (const struct mg_peer *p = dev->peers.first; p; p = p->list_next)
		if (p->managed)
			return p;
	return NULL;
}

/* Mesh members' peers are the mesh's: a set that names one, or replaces
 * all peers while there are such, is refused with EPERM. */
/* wireguard-go refuses a peer past its limit with EINVAL. Counting every
 * block for a key not there now as a new peer is an upper bound, so a
 * request that passes cannot fail on the limit halfway through. */
static int validate(const struct mg_device *dev, const struct device_change *c)
{
	bool replace = c->flags & DEV_REPLACE_PEERS;
	size_t count = replace ? 0 : dev->peers.count;

	const struct mg_peer *managed = replace ? first_managed(dev) : NULL;

	for (const struct peer_change *pc = c->peers; pc && !managed; pc = pc->next) {
		const struct mg_peer *p = mg_peer_table_lookup(&dev->peers, pc->public_key);

		if (p && p->managed)
			managed = p;
		if (replace || !p)
			count++;
	}
	if (managed) {
		char name[16];

		mg_log(dev->log, MG_LOG_INFO,
		       "uapi: set refused: peer %s is a mesh member, configured by the mesh",
		       mg_peer_name(managed, name));
		return -EPERM;
	}
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

int mg_uapi_set(struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx,
		const char *lines, size_t len)
{
	struct device_change c = { 0 };
	int err = parse_set(dev->log, &c, lines, len);

	if (!err)
		err = validate(dev, &c);
	if (!err) {
		err = apply(dev, hooks, ctx, &c);
		if (err == -ENOMEM)
			mg_log(dev->log, MG_LOG_ERROR,
			       "uapi: out of memory; a set may be applied in part");
	}
	change_free(&c);
	return err;
}
