#include "tunnel/uapi_get.h"
#include "tunnel/uapi_value.h"
#include "crypto/primitives.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

static int put_allowed_ip(void *ctx, const struct mg_prefix *p)
{
	char ip[INET6_ADDRSTRLEN];

	mg_uapi_value_format_ip(ip, p->family, p->addr);
	mg_uapi_put(ctx, "allowed_ip=%s/%u\n", ip, (unsigned)p->cidr);
	return 0;
}

static void put_endpoint(struct mg_uapi_writer *w, const struct mg_endpoint *ep)
{
	char ip[INET6_ADDRSTRLEN];

	if (ep->sa.sa_family == AF_INET) {
		mg_uapi_value_format_ip(ip, AF_INET, (const uint8_t *)&ep->in4.sin_addr);
		mg_uapi_put(w, "endpoint=%s:%u\n", ip, (unsigned)ntohs(ep->in4.sin_port));
	} else if (ep->sa.sa_family == AF_INET6) {
		mg_uapi_value_format_ip(ip, AF_INET6, ep->in6.sin6_addr.s6_addr);
		mg_uapi_put(w, "endpoint=[%s]:%u\n", ip, (unsigned)ntohs(ep->in6.sin6_port));
	}
}

static void put_peer(struct mg_uapi_writer *w, const struct mg_device *dev,
		     const struct mg_peer *peer)
{
	mg_uapi_put_key(w, "public_key", peer->public_key);
	mg_uapi_put_key(w, "preshared_key", peer->handshake.preshared_key);
	mg_uapi_put(w, "protocol_version=1\n");
	put_endpoint(w, &peer->endpoint);
	mg_uapi_put(w, "last_handshake_time_sec=%lld\nlast_handshake_time_nsec=%ld\n",
		    (long long)peer->last_handshake.tv_sec, (long)peer->last_handshake.tv_nsec);
	mg_uapi_put(w, "tx_bytes=%" PRIu64 "\nrx_bytes=%" PRIu64 "\n", peer->tx_bytes,
		    peer->rx_bytes);
	mg_uapi_put(w, "persistent_keepalive_interval=%u\n",
		    (unsigned)peer->persistent_keepalive_interval);
	mg_allowedips_walk_by_peer(&dev->allowedips, peer, put_allowed_ip, w);
}

static int put_device(struct mg_uapi_buf *out, const struct mg_device *dev,
		      const struct mg_uapi_hooks *hooks, void *ctx)
{
	struct mg_uapi_writer w = { .out = out };
	uint16_t port = hooks->listen_port(ctx);
	uint32_t mark = hooks->fwmark(ctx);

	if (dev->identity.has_identity)
		mg_uapi_put_key(&w, "private_key", dev->identity.private_key);
	if (port)
		mg_uapi_put(&w, "listen_port=%u\n", (unsigned)port);
	if (mark)
		mg_uapi_put(&w, "fwmark=%" PRIu32 "\n", mark);
	mg_peer_table_for_each(&dev->peers, p) put_peer(&w, dev, p);
	mg_uapi_put(&w, "errno=0\n\n");
	return w.err;
}

int mg_uapi_get(const struct mg_device *dev, const struct mg_uapi_hooks *hooks, void *ctx,
		struct mg_uapi_buf *out)
{
	size_t start = out->len;
	int ret = put_device(out, dev, hooks, ctx);

	if (ret < 0) {
		/* Half a reply would read as a whole one with fewer peers. */
		mg_wipe(out->data + start, out->len - start);
		out->len = start;
	}
	return ret;
}
