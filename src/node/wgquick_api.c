/* The public face of wg-quick files (the mg_wgquick_* functions of
 * include/meshguard.h) and the two translations of a parsed file into what
 * a node is configured with: a UAPI set request (the keys and peers, as
 * `wg setconf` would send them) and a struct mg_interface_config (the
 * kernel side, as wg-quick would set it up). */
#include "meshguard.h"

#include "node/wgquick.h"
#include "tunnel/uapi.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mg_wgquick_parse(const char *name, const char *text, size_t len, struct mg_wgquick **out,
		     char *err, size_t errlen)
{
	struct mg_wgquick *q = calloc(1, sizeof(*q));
	int ret;

	if (!q)
		return -ENOMEM;
	ret = mg_config_parse(&q->config, name, text, len, err, errlen);
	if (ret < 0) {
		free(q);
		return ret;
	}
	*out = q;
	return 0;
}

int mg_wgquick_load(const char *path, struct mg_wgquick **out, char *err, size_t errlen)
{
	struct mg_wgquick *q = calloc(1, sizeof(*q));
	int ret;

	if (!q)
		return -ENOMEM;
	ret = mg_config_load(&q->config, path, err, errlen);
	if (ret < 0) {
		free(q);
		return ret;
	}
	*out = q;
	return 0;
}

int mg_wgquick_resolve(struct mg_wgquick *q, char *err, size_t errlen)
{
	return mg_config_resolve_endpoints(&q->config, err, errlen);
}

uint16_t mg_wgquick_listen_port(const struct mg_wgquick *q)
{
	return q->config.listen_port;
}

uint32_t mg_wgquick_fwmark(const struct mg_wgquick *q)
{
	return mg_config_fwmark(&q->config);
}

void mg_wgquick_free(struct mg_wgquick *q)
{
	if (!q)
		return;
	mg_config_free(&q->config);
	free(q);
}

/* ---- the UAPI set request ---- */

static int put_peer(struct mg_uapi_writer *w, const struct mg_config_peer *peer)
{
	char text[MG_ENDPOINT_STRLEN > MG_PREFIX_STRLEN ? MG_ENDPOINT_STRLEN : MG_PREFIX_STRLEN];

	if ((peer->flags & MG_CONFIG_PEER_HAS_ENDPOINT) &&
	    !(peer->flags & MG_CONFIG_PEER_HAS_ENDPOINT_ADDR))
		return -EHOSTUNREACH;
	mg_uapi_put_key(w, "public_key", peer->public_key);
	if (peer->flags & MG_CONFIG_PEER_HAS_PRESHARED_KEY)
		mg_uapi_put_key(w, "preshared_key", peer->preshared_key);
	if (peer->flags & MG_CONFIG_PEER_HAS_ENDPOINT_ADDR) {
		mg_endpoint_format(text, sizeof(text), &peer->endpoint);
		mg_uapi_put(w, "endpoint=%s\n", text);
	}
	if (peer->flags & MG_CONFIG_PEER_HAS_KEEPALIVE)
		mg_uapi_put(w, "persistent_keepalive_interval=%u\n",
			    (unsigned)peer->persistent_keepalive);
	mg_uapi_put(w, "replace_allowed_ips=true\n");
	for (size_t k = 0; k < peer->allowed_ips_len; k++) {
		mg_prefix_format(text, sizeof(text), &peer->allowed_ips[k]);
		mg_uapi_put(w, "allowed_ip=%s\n", text);
	}
	return 0;
}

/* The buffer grows by copy-and-wipe and is wiped when freed
 * (mg_uapi_buf), so no copy of a key is left behind. */
int mg_config_uapi_text(const struct mg_config *c, char **text, size_t *len)
{
	struct mg_uapi_buf out = { 0 };
	struct mg_uapi_writer w = { &out, 0 };
	uint32_t fwmark = mg_config_fwmark(c);
	int ret = 0;

	mg_uapi_put(&w, "set=1\n");
	if (c->flags & MG_CONFIG_HAS_PRIVATE_KEY)
		mg_uapi_put_key(&w, "private_key", c->private_key);
	if (c->flags & MG_CONFIG_HAS_LISTEN_PORT)
		mg_uapi_put(&w, "listen_port=%u\n", (unsigned)c->listen_port);
	if ((c->flags & MG_CONFIG_HAS_FWMARK) || fwmark)
		mg_uapi_put(&w, "fwmark=%u\n", (unsigned)fwmark);
	mg_uapi_put(&w, "replace_peers=true\n");
	for (size_t i = 0; i < c->peers_len && !ret; i++)
		ret = put_peer(&w, &c->peers[i]);
	mg_uapi_put(&w, "\n");
	/* NUL-terminated for the caller, not counted in len. */
	if (!ret && !(ret = w.err))
		ret = mg_uapi_buf_append(&out, "", 1);
	if (ret < 0) {
		mg_uapi_buf_free(&out);
		return ret;
	}
	*text = out.data;
	*len = out.len - 1;
	return 0;
}

/* ---- the interface configuration ---- */

static size_t route_count(const struct mg_config *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->peers_len; i++)
		n += c->peers[i].allowed_ips_len;
	return n;
}

/* A default route is listed once per family: it brings policy rules, and
 * two peers may both name it (the second one wins it in the trie). */
static bool take_route(const struct mg_prefix *p, bool *v4_default, bool *v6_default)
{
	bool *seen = p->family == AF_INET ? v4_default : v6_default;

	if (p->cidr)
		return true;
	if (*seen)
		return false;
	*seen = true;
	return true;
}

/* storage: addresses_len + routes pointers, then a MG_PREFIX_STRLEN slot
 * for each string they point to. */
int mg_config_interface(const struct mg_config *c, struct mg_interface_config *out, void **storage)
{
	size_t routes = route_count(c), total = c->addresses_len + routes, n = 0;
	bool v4_default = false, v6_default = false;
	const char **ptrs;
	char *slots;

	ptrs = calloc(total ? total : 1, sizeof(*ptrs) + MG_PREFIX_STRLEN);
	if (!ptrs)
		return -ENOMEM;
	slots = (char *)(ptrs + total);
	for (size_t i = 0; i < c->addresses_len; i++, n++) {
		mg_prefix_format(slots + n * MG_PREFIX_STRLEN, MG_PREFIX_STRLEN, &c->addresses[i]);
		ptrs[n] = slots + n * MG_PREFIX_STRLEN;
	}
	out->addresses = ptrs;
	out->addresses_len = n;
	for (size_t i = 0; i < c->peers_len; i++) {
		for (size_t k = 0; k < c->peers[i].allowed_ips_len; k++) {
			const struct mg_prefix *p = &c->peers[i].allowed_ips[k];

			if (!take_route(p, &v4_default, &v6_default))
				continue;
			mg_prefix_format(slots + n * MG_PREFIX_STRLEN, MG_PREFIX_STRLEN, p);
			ptrs[n] = slots + n * MG_PREFIX_STRLEN;
			n++;
		}
	}
	out->routes = ptrs + out->addresses_len;
	out->routes_len = n - out->addresses_len;
	out->mtu = (c->flags & MG_CONFIG_HAS_MTU) ? c->mtu : 0;
	out->full_tunnel_rules = v4_default || v6_default;
	out->fwmark = out->full_tunnel_rules ? mg_config_fwmark(c) : 0;
	out->table = out->fwmark;
	*storage = ptrs;
	return 0;
}
