/* The node: one WireGuard interface on the caller's loop (include/meshguard.h).
 *
 * It composes the engine (device, TUN, UDP), the STUN port, public-endpoint
 * discovery and the UAPI server, and translates between the public types and
 * the internal ones. Configuration of every kind goes through the UAPI
 * handler, so a typed call and `wg set` are one implementation. */
#include "node/node.h"

#include "crypto/primitives.h"
#include "nat/portmap.h"
#include "tunnel/messages.h"
#include "tunnel/tun.h"
#include "util/macros.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

_Static_assert(MG_PACKET_HEADROOM == MG_DEVICE_HEADROOM, "public and device headroom");
_Static_assert(MG_PACKET_TAILROOM == MG_DEVICE_TAILROOM, "public and device tailroom");
_Static_assert(MG_KEY_BYTES == MG_KEY_LEN, "public and internal key sizes");

/* ---- logging and events ---- */

static void emit(struct mg_node *n, const struct mg_event *e)
{
	if (n->config.on_event)
		n->config.on_event(n->config.user, e);
}

void mg_node_report_stopped(struct mg_node *n)
{
	struct mg_event e = { .size = sizeof(e), .type = MG_EVENT_STOPPED };

	if (n->stopped_reported || n->closing)
		return;
	n->stopped_reported = true;
	emit(n, &e);
}

/* ---- endpoints: public <-> internal ---- */

static void endpoint_export(struct mg_udp_endpoint *out, const struct mg_endpoint *in)
{
	socklen_t len = mg_endpoint_len(in);

	memset(out, 0, sizeof(*out));
	if (!len)
		return;
	memcpy(&out->remote, &in->sa, len);
	if (!mg_endpoint_has_local(in))
		return;
	out->ifindex = in->local.ifindex;
	if (in->sa.sa_family == AF_INET) {
		struct sockaddr_in *l = (struct sockaddr_in *)&out->local;
		l->sin_family = AF_INET;
		l->sin_addr = in->local.in4;
	} else {
		struct sockaddr_in6 *l = (struct sockaddr_in6 *)&out->local;
		l->sin6_family = AF_INET6;
		l->sin6_addr = in->local.in6;
		l->sin6_scope_id = in->local.ifindex;
	}
}

static int endpoint_import(struct mg_endpoint *out, const struct mg_udp_endpoint *in)
{
	memset(out, 0, sizeof(*out));
	if (in->remote.ss_family == AF_INET)
		memcpy(&out->in4, &in->remote, sizeof(out->in4));
	else if (in->remote.ss_family == AF_INET6)
		memcpy(&out->in6, &in->remote, sizeof(out->in6));
	else
		return -EINVAL;
	if (in->local.ss_family == AF_UNSPEC)
		return 0;
	if (in->local.ss_family != in->remote.ss_family)
		return -EINVAL;
	if (in->local.ss_family == AF_INET)
		out->local.in4 = ((const struct sockaddr_in *)&in->local)->sin_addr;
	else
		out->local.in6 = ((const struct sockaddr_in6 *)&in->local)->sin6_addr;
	out->local.ifindex = in->ifindex;
	return 0;
}

/* ---- the engine's callbacks ---- */

static void on_tun_gone(void *ctx)
{
	struct mg_node *n = ctx;

	mg_log(&n->log, MG_LOG_INFO, "interface %s was removed, shutting down", n->ifname);
	mg_node_report_stopped(n);
}

static void on_packet(void *ctx, const uint8_t *packet, size_t len)
{
	struct mg_node *n = ctx;

	n->config.on_packet(n->config.user, packet, len);
}

static int on_udp_send(void *ctx, const struct mg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct mg_node *n = ctx;
	struct mg_udp_endpoint ep;

	endpoint_export(&ep, to);
	return n->config.udp_send(n->config.user, &ep, buf, len);
}

static void on_peer_event(void *ctx, enum mg_device_event event, const struct mg_peer *peer)
{
	static const enum mg_event_type types[] = {
		[MG_DEVICE_EVENT_HANDSHAKE] = MG_EVENT_HANDSHAKE,
		[MG_DEVICE_EVENT_ROAMED] = MG_EVENT_ENDPOINT,
		[MG_DEVICE_EVENT_IDLE] = MG_EVENT_PEER_IDLE,
	};
	struct mg_node *n = ctx;
	struct mg_event e = { .size = sizeof(e), .type = types[event] };

	memcpy(e.public_key, peer->public_key, MG_KEY_BYTES);
	endpoint_export(&e.endpoint, &peer->endpoint);
	emit(n, &e);
}

static void on_public_change(void *arg, const struct mg_nat_behaviour *b)
{
	struct mg_node *n = arg;
	struct mg_event e = { .size = sizeof(e), .type = MG_EVENT_PUBLIC_ENDPOINT };

	if (b->answers)
		endpoint_export(&n->public_endpoint, &b->public_endpoint);
	else
		memset(&n->public_endpoint, 0, sizeof(n->public_endpoint));
	e.endpoint = n->public_endpoint;
	if (n->mesh && b->answers)
		mg_agent_public_endpoint(n->mesh, &b->public_endpoint);
	emit(n, &e);
}

/* ---- UAPI hooks: what the device alone cannot do ---- */

static int hook_set_listen_port(void *ctx, uint16_t port)
{
	struct mg_node *n = ctx;
	return mg_engine_set_listen_port(&n->engine, port);
}

static uint16_t hook_listen_port(void *ctx)
{
	struct mg_node *n = ctx;
	return n->engine.udp.port;
}

static int hook_set_fwmark(void *ctx, uint32_t fwmark)
{
	struct mg_node *n = ctx;
	return mg_engine_set_fwmark(&n->engine, fwmark);
}

static uint32_t hook_fwmark(void *ctx)
{
	struct mg_node *n = ctx;
	return n->engine.udp.fwmark;
}

static const struct mg_uapi_hooks node_hooks = {
	.set_listen_port = hook_set_listen_port,
	.listen_port = hook_listen_port,
	.set_fwmark = hook_set_fwmark,
	.fwmark = hook_fwmark,
};

/* ---- configuration: read, check, copy ---- */

/* A caller built against an older header passes a smaller struct: the
 * fields it does not know are zero. A newer one may pass a larger struct
 * as long as what this library does not know is zero. */
static int read_sized(void *out, size_t out_size, const void *in, size_t min_size)
{
	uint32_t size;

	memset(out, 0, out_size);
	if (!in)
		return -EINVAL;
	memcpy(&size, in, sizeof(size));
	if (size < min_size)
		return -EINVAL;
	memcpy(out, in, size < out_size ? size : out_size);
	for (size_t i = out_size; i < size; i++)
		if (((const uint8_t *)in)[i])
			return -E2BIG;
	return 0;
}

static const char *check_modes(const struct mg_node_config *c)
{
	if (c->packet_io > MG_PACKET_IO_CALLER)
		return "packet_io is not one of MG_PACKET_IO_*";
	if (c->udp_io > MG_UDP_IO_CALLER)
		return "udp_io is not one of MG_UDP_IO_*";
	if (c->log_level > MG_LOG_LEVEL_DEBUG)
		return "log_level is not one of MG_LOG_LEVEL_*";
	if ((c->packet_io == MG_PACKET_IO_TUN_FD) != (c->tun_fd >= 0))
		return "tun_fd must be set with MG_PACKET_IO_TUN_FD, and only then";
	if (c->packet_io == MG_PACKET_IO_CALLER && !c->on_packet)
		return "MG_PACKET_IO_CALLER needs on_packet";
	if (c->udp_io == MG_UDP_IO_CALLER && !c->udp_send)
		return "MG_UDP_IO_CALLER needs udp_send";
	if (c->udp_io == MG_UDP_IO_CALLER && (c->stun_servers_len || c->portmap))
		return "STUN servers and port mapping need the node's own sockets";
	return NULL;
}

static const char *check_values(const struct mg_node_config *c)
{
	if (c->ifname && (strlen(c->ifname) >= IFNAMSIZ || strchr(c->ifname, '/')))
		return "ifname is longer than 15 characters or has a '/'";
	if ((c->uapi_socket || c->uapi_fd >= 0) && (!c->ifname || !*c->ifname) &&
	    c->packet_io != MG_PACKET_IO_TUN)
		return "a UAPI socket needs ifname";
	if (c->uapi_socket && c->uapi_fd >= 0)
		return "uapi_socket and uapi_fd exclude each other";
	if (c->mtu && (c->mtu < MG_MTU_MIN || c->mtu > MG_MTU_MAX))
		return "mtu is outside 576-65535";
	if (c->stun_servers_len > MG_DISCOVERY_MAX_SERVERS)
		return "more than 8 STUN servers";
	if (c->stun_servers_len && !c->stun_servers)
		return "stun_servers_len without stun_servers";
	return NULL;
}

static int parse_portmap(struct mg_nat_discovery_config *nat, const char *s)
{
	enum mg_portmap_proto proto;

	nat->portmap = s && strcmp(s, "off") != 0;
	if (!nat->portmap || !strcmp(s, "auto"))
		return 0;
	if (mg_portmap_proto_parse(&proto, s) < 0)
		return -EINVAL;
	nat->portmap_protocols = MG_PORTMAP_BIT(proto);
	return 0;
}

/* HOST:PORT, numeric or a name looked up once, now. */
static int resolve_stun(struct mg_endpoint *ep, const char *arg)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res = NULL;
	const char *colon = strrchr(arg, ':');
	char host[256];

	if (mg_endpoint_parse(ep, arg) == 0)
		return 0;
	if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof(host) || *arg == '[')
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - arg), arg);
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || !res)
		return -EHOSTUNREACH;
	memset(ep, 0, sizeof(*ep));
	memcpy(&ep->sa, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static int setup_discovery(struct mg_node *n, const struct mg_node_config *c)
{
	struct mg_nat_discovery_config *nat = &n->nat_config;

	if (parse_portmap(nat, c->portmap) < 0) {
		mg_log(&n->log, MG_LOG_ERROR,
		       "portmap \"%s\" (expected auto, natpmp, pcp, upnp or off)", c->portmap);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->stun_servers_len; i++) {
		const char *s = c->stun_servers[i] ? c->stun_servers[i] : "(null)";
		int ret = resolve_stun(&nat->stun[i], s);

		if (ret < 0) {
			mg_log(&n->log, MG_LOG_ERROR,
			       "STUN server \"%s\" is not a reachable HOST:PORT", s);
			return ret;
		}
	}
	nat->stun_count = c->stun_servers_len;
	nat->log = &n->log;
	nat->on_change = on_public_change;
	nat->arg = n;
	n->discovery_wanted = c->udp_io == MG_UDP_IO_SOCKETS && (nat->stun_count || nat->portmap);
	if (c->upnp_url && !(n->upnp_url = strdup(c->upnp_url)))
		return -ENOMEM;
	if (c->state_dir && !(n->state_dir = strdup(c->state_dir)))
		return -ENOMEM;
	return 0;
}

/* Copies what must outlive mg_node_new; pointers into the caller's memory
 * are cleared so nothing reads them later by mistake. */
static int adopt_config(struct mg_node *n, const struct mg_node_config *c)
{
	n->config = *c;
	n->config.ifname = NULL;
	n->config.stun_servers = NULL;
	n->config.stun_servers_len = 0;
	n->config.portmap = n->config.upnp_url = n->config.state_dir = NULL;
	if (c->ifname)
		snprintf(n->ifname, sizeof(n->ifname), "%s", c->ifname);
	return setup_discovery(n, c);
}

/* ---- opening ---- */

static int open_tun(struct mg_node *n, struct mg_engine_config *ec)
{
	const struct mg_node_config *c = &n->config;
	bool no_pi = true;
	int ret;

	if (c->packet_io == MG_PACKET_IO_CALLER)
		return 0;
	if (c->packet_io == MG_PACKET_IO_TUN_FD) {
		n->tun_fd = c->tun_fd; /* ours from now on, even on failure */
		ret = mg_tun_adopt(c->tun_fd, n->ifname, &no_pi);
		if (ret < 0)
			mg_log(&n->log, MG_LOG_ERROR, "fd %d is not a usable TUN device: %s",
			       c->tun_fd, strerror(-ret));
		ec->tun_pi = !no_pi;
		n->ifindex = if_nametoindex(n->ifname);
		return ret;
	}
	ret = mg_tun_open_offload(n->ifname, n->ifname, &n->tun_fd, &ec->tun_offload);
	if (ret < 0) {
		mg_log(&n->log, MG_LOG_ERROR, "cannot create TUN device %s: %s%s", n->ifname,
		       strerror(-ret),
		       ret == -EPERM   ? " (run as root or with CAP_NET_ADMIN)"
		       : ret == -EBUSY ? " (an interface of that name exists: pick another with -i)"
				       : "");
		return ret;
	}
	n->tun_created = true;
	n->ifindex = if_nametoindex(n->ifname);
	/* wireguard-go sets this MTU on the devices it creates. */
	return mg_node_link_set_mtu(n, c->mtu ? c->mtu : MG_DEFAULT_MTU);
}

static int open_engine(struct mg_node *n, struct mg_engine_config *ec)
{
	const struct mg_node_config *c = &n->config;
	int ret;

	ec->tun_fd = n->tun_fd;
	ec->port = c->listen_port;
	ec->fwmark = c->fwmark;
	ec->ctx = n;
	ec->log = &n->log;
	ec->on_tun_gone = on_tun_gone;
	ec->on_peer_event = on_peer_event;
	if (c->packet_io == MG_PACKET_IO_CALLER)
		ec->on_packet = on_packet;
	if (c->udp_io == MG_UDP_IO_CALLER)
		ec->udp_send = on_udp_send;
	ret = mg_engine_init(&n->engine, n->loop, ec);
	if (ret < 0) {
		mg_log(&n->log, MG_LOG_ERROR, "cannot listen on UDP port %u: %s", c->listen_port,
		       strerror(-ret));
		return ret;
	}
	n->engine_ready = true;
	if (c->mtu || c->packet_io == MG_PACKET_IO_CALLER)
		n->engine.dev.mtu = c->mtu ? c->mtu : MG_DEFAULT_MTU;
	return 0;
}

static int open_uapi(struct mg_node *n)
{
	const struct mg_node_config *c = &n->config;
	int ret;

	if (c->uapi_fd >= 0)
		ret = mg_uapi_server_adopt(&n->uapi, n->loop, c->uapi_fd, n->ifname, &n->engine.dev,
					   &node_hooks, n);
	else if (c->uapi_socket)
		ret = mg_uapi_server_start(&n->uapi, n->loop, n->ifname, &n->engine.dev,
					   &node_hooks, n);
	else
		return 0;
	if (ret < 0) {
		mg_log(&n->log, MG_LOG_ERROR, "cannot serve %s/%s.sock: %s%s", MG_UAPI_SOCKET_DIR,
		       n->ifname, strerror(-ret),
		       ret == -EADDRINUSE ? " (another daemon runs this interface)" : "");
		return ret;
	}
	n->uapi_ready = true;
	return 0;
}

static void node_free(struct mg_node *n)
{
	mg_node_mesh_close(n);
	mg_node_mesh_free(n);
	if (n->engine_ready)
		mg_engine_free(&n->engine);
	if (n->links.fd >= 0)
		mg_netlink_close(&n->links);
	if (n->tun_fd >= 0)
		close(n->tun_fd);
	free(n->upnp_url);
	free(n->state_dir);
	free(n);
}

static int check_config(const struct mg_node_config *in, struct mg_node_config *c)
{
	int ret = read_sized(c, sizeof(*c), in, offsetof(struct mg_node_config, packet_io));
	struct mg_log log = { MG_LOG_ERROR, NULL, NULL };
	const char *why;

	if (ret != -EINVAL)
		log = (struct mg_log){ c->log_level, c->on_log, c->user };
	if (ret == 0) {
		why = check_modes(c);
		if (!why)
			why = check_values(c);
		if (why) {
			mg_log(&log, MG_LOG_ERROR, "node: bad configuration: %s", why);
			ret = -EINVAL;
		}
	} else {
		mg_log(&log, MG_LOG_ERROR, "node: bad configuration: %s",
		       ret == -E2BIG ? "fields this library does not know are set"
				     : "size is missing or too small");
		ret = -EINVAL;
	}
	if (ret < 0 && in && c->packet_io == MG_PACKET_IO_TUN_FD && c->tun_fd >= 0)
		close(c->tun_fd); /* the node owns it from mg_node_new on */
	return ret;
}

int mg_node_new(uv_loop_t *loop, const struct mg_node_config *config, struct mg_node **out)
{
	struct mg_engine_config ec = { 0 };
	struct mg_node_config c;
	struct mg_node *n;
	int ret = check_config(config, &c);

	if (ret < 0)
		return ret;
	ret = mg_crypto_init();
	n = ret == 0 ? calloc(1, sizeof(*n)) : NULL;
	if (!n) {
		if (c.tun_fd >= 0)
			close(c.tun_fd);
		return ret < 0 ? ret : -ENOMEM;
	}
	n->loop = loop;
	n->tun_fd = -1;
	n->links.fd = -1;
	n->log = (struct mg_log){ c.log_level, c.on_log, c.user };
	if (c.tun_fd >= 0)
		n->tun_fd = c.tun_fd;
	ret = adopt_config(n, &c);
	if (ret == 0 && c.mesh)
		ret = mg_node_mesh_open(n, &c);
	if (ret == 0)
		ret = open_tun(n, &ec);
	if (ret == 0)
		ret = open_engine(n, &ec);
	if (ret == 0)
		ret = open_uapi(n);
	if (ret < 0) {
		/* Only a listener the loop refused is still closing. */
		if (n->uapi.listener.loop && uv_is_closing((uv_handle_t *)&n->uapi.listener))
			mg_node_close(n, NULL);
		else
			node_free(n);
		return ret;
	}
	*out = n;
	return 0;
}

/* ---- starting ---- */

static void on_uapi_gone(struct mg_uapi_server *s)
{
	struct mg_node *n = container_of(s, struct mg_node, uapi);

	mg_log(&n->log, MG_LOG_INFO, "UAPI socket of %s was removed, shutting down", n->ifname);
	mg_node_report_stopped(n);
}

/* The journal of port mappings lives in a directory per interface, so that
 * interfaces (or namespaces) sharing a port never clean up each other's. */
static int start_discovery(struct mg_node *n)
{
	struct mg_nat_discovery_config *nat = &n->nat_config;
	const char *base = n->state_dir ? n->state_dir : MG_PORTMAP_STATE_DIR;
	struct in_addr gateway;
	char *dir;

	nat->upnp_url = n->upnp_url;
	if (nat->portmap && mg_portmap_default_gateway(&gateway) < 0) {
		mg_log(&n->log, MG_LOG_INFO, "nat: no default gateway, port mapping off");
		nat->portmap = false;
	}
	if (nat->portmap) {
		if (mkdir(base, 0700) < 0 && errno != EEXIST)
			mg_log(&n->log, MG_LOG_INFO, "nat: cannot create %s: %s", base,
			       strerror(errno));
		if (asprintf(&dir, "%s/%s", base, n->ifname[0] ? n->ifname : "node") < 0)
			return -ENOMEM;
		free(n->state_dir);
		n->state_dir = dir;
		nat->state_dir = dir;
	}
	return mg_nat_discovery_start(&n->nat, n->loop, &n->stun, nat);
}

int mg_node_start(struct mg_node *n)
{
	int ret;

	if (n->started || n->closing)
		return -EINVAL;
	n->started = true;
	ret = mg_engine_start(&n->engine);
	/* The mesh takes control messages first: the STUN port passes on to
	 * the handler registered before it what is not STUN. */
	if (ret == 0 && n->mesh)
		ret = mg_node_mesh_start(n);
	if (ret == 0)
		ret = mg_stun_port_attach(&n->stun, &n->engine, NULL);
	if (ret < 0)
		return ret;
	mg_stun_server_enable(&n->stun.server, !n->config.stun_responder_off);
	n->stun_ready = true;
	if (n->mesh)
		mg_agent_set_stun(n->mesh, &n->stun.client);
	if (n->ifindex) {
		ret = mg_node_watch_mtu(n);
		/* Not fatal: the kernel fragments what exceeds the path's MTU. */
		if (ret < 0)
			mg_log(&n->log, MG_LOG_ERROR,
			       "cannot follow the MTU of %s (%s): padding up to %u", n->ifname,
			       strerror(-ret), n->engine.dev.mtu);
	}
	if (n->uapi_ready && n->uapi.owns_file) {
		ret = mg_uapi_server_watch(&n->uapi, on_uapi_gone);
		if (ret < 0)
			return ret;
	}
	if (n->discovery_wanted)
		return start_discovery(n);
	return 0;
}

/* ---- closing ---- */

static void log_stun_stats(const struct mg_node *n)
{
	const struct mg_stun_server_stats *t = &n->stun.server.stats;

	mg_log(&n->log, MG_LOG_INFO,
	       "stats: stun responder%s answered %" PRIu64 "; dropped: not a request %" PRIu64
	       ", malformed %" PRIu64 ", unknown attribute %" PRIu64 ", forbidden source %" PRIu64
	       ", source limit %" PRIu64 ", global limit %" PRIu64 ", off %" PRIu64
	       ", send failed %" PRIu64,
	       n->stun.server.off ? " (off)" : "", t->answered, t->not_request, t->malformed,
	       t->unknown_attr, t->forbidden, t->source_limited, t->global_limited, t->off,
	       t->send_failed);
}

static void log_stats(const struct mg_node *n)
{
	const struct mg_device_stats *d = &n->engine.dev.stats;
	const struct mg_engine_stats *s = &n->engine.stats;

	mg_log(&n->log, MG_LOG_INFO,
	       "stats: tun read %" PRIu64 " (segments %" PRIu64 "), tun writes %" PRIu64
	       ", udp read %" PRIu64 ", udp send batches %" PRIu64 "; dropped: tun write %" PRIu64
	       ", udp send %" PRIu64 ", udp receive queue %" PRIu64 ", bad offload %" PRIu64,
	       s->tun_read_packets, s->tun_segments, s->tun_writes, s->udp_read_datagrams,
	       s->udp_send_calls, s->tun_write_dropped, s->udp_send_failed, s->udp_kernel_drops,
	       s->tun_bad_packets);
	mg_log(&n->log, MG_LOG_INFO,
	       "stats: rx invalid %" PRIu64 ", bad mac1 %" PRIu64 ", handshake failed %" PRIu64
	       ", unknown index %" PRIu64 ", expired key %" PRIu64 ", decrypt failed %" PRIu64
	       ", replayed %" PRIu64 ", bad ip %" PRIu64 ", not allowed %" PRIu64
	       ", filtered %" PRIu64 "; tx no route %" PRIu64 ", no endpoint %" PRIu64
	       ", staged overflow %" PRIu64 ", encrypt failed %" PRIu64 "; cookies sent %" PRIu64,
	       d->rx_invalid, d->rx_bad_mac1, d->rx_handshake_failed, d->rx_unknown_index,
	       d->rx_expired_key, d->rx_decrypt_failed, d->rx_replayed, d->rx_bad_ip,
	       d->rx_not_allowed, d->rx_filtered, d->tx_no_route, d->tx_no_endpoint,
	       d->tx_staged_overflow, d->tx_encrypt_failed, d->rx_cookie_sent);
	if (n->stun_ready)
		log_stun_stats(n);
}

static void on_drained(uv_handle_t *h)
{
	struct mg_node *n = container_of((uv_idle_t *)h, struct mg_node, drain);

	if (n->close_cb)
		n->close_cb(n, n->config.user);
	node_free(n);
}

/* Handles closed without a callback (the engine's sockets, the UAPI
 * listener, the discovery timer) are gone once the loop has run its close
 * phase after their uv_close; two quiet iterations make sure of it, even
 * for closes issued from another handle's close callback. */
static void on_drain(uv_idle_t *h)
{
	struct mg_node *n = container_of(h, struct mg_node, drain);

	if (n->engine.open_handles || n->uapi.conns) {
		n->drain_runs = 0;
		return;
	}
	if (++n->drain_runs < 2)
		return;
	uv_idle_stop(h);
	uv_close((uv_handle_t *)h, on_drained);
}

static void begin_drain(struct mg_node *n)
{
	uv_idle_init(n->loop, &n->drain);
	uv_idle_start(&n->drain, on_drain);
}

static void on_mapping_deleted(void *arg)
{
	struct mg_node *n = arg;

	if (--n->pending == 0)
		begin_drain(n);
}

void mg_node_close(struct mg_node *n, mg_node_close_cb cb)
{
	if (n->closing)
		return;
	n->closing = true;
	n->close_cb = cb;
	n->pending = 1;
	if (n->engine_ready && n->started)
		log_stats(n);
	if (n->started && mg_nat_discovery_stop(&n->nat, on_mapping_deleted, n))
		n->pending++;
	if (n->stun_ready)
		mg_stun_port_detach(&n->stun);
	mg_node_mesh_close(n);
	if (n->engine_ready)
		mg_engine_close(&n->engine);
	if (n->uapi_ready)
		mg_uapi_server_close(&n->uapi);
	mg_node_unwatch_mtu(n);
	mg_node_iface_undo(n);
	on_mapping_deleted(n);
}

/* ---- configuration through the UAPI ---- */

int mg_node_uapi(struct mg_node *n, const char *request, size_t len, char **reply)
{
	struct mg_uapi_buf out = { 0 };
	int status = -EINVAL;

	*reply = NULL;
	if (n->closing)
		return -ECANCELED;
	mg_uapi_handle(&n->engine.dev, &node_hooks, n, request, len, &out, &status);
	/* Incomplete, or not a request at all: a socket would hang up; a
	 * program gets -EINVAL in the reply's words. */
	if (!out.len && mg_uapi_buf_printf(&out, "errno=%d\n\n", status) < 0)
		status = -ENOMEM;
	if (!out.len || mg_uapi_buf_append(&out, "", 1) < 0) {
		mg_uapi_buf_free(&out);
		return -ENOMEM;
	}
	*reply = out.data;
	return status;
}

void mg_node_uapi_free(char *reply)
{
	if (!reply)
		return;
	mg_wipe(reply, strlen(reply));
	free(reply);
}

/* Runs a set built by a typed call (w's buffer, "set=1\n..." unless w failed);
 * the text may hold keys, so it is wiped whatever happens. */
static int run_set(struct mg_node *n, struct mg_uapi_writer *w)
{
	char *reply = NULL;
	int ret;

	mg_uapi_put(w, "\n");
	ret = w->err;
	if (ret == 0)
		ret = mg_node_uapi(n, w->out->data, w->out->len, &reply);
	mg_node_uapi_free(reply);
	mg_uapi_buf_free(w->out);
	return ret;
}

int mg_node_set_private_key(struct mg_node *n, const uint8_t private_key[MG_KEY_BYTES])
{
	struct mg_uapi_buf req = { 0 };
	struct mg_uapi_writer w = { &req, 0 };

	mg_uapi_put(&w, "set=1\n");
	mg_uapi_put_key(&w, "private_key", private_key);
	return run_set(n, &w);
}

/* A value that would end its line early would smuggle in another key. */
static bool one_line(struct mg_node *n, const char *what, const char *v)
{
	if (!strchr(v, '\n'))
		return true;
	mg_log(&n->log, MG_LOG_ERROR, "set_peer: %s \"%s\" has a line break", what, v);
	return false;
}

static void put_peer(struct mg_node *n, struct mg_uapi_writer *w, const struct mg_peer_config *p)
{
	static const uint8_t no_psk[MG_KEY_BYTES];

	mg_uapi_put(w, "set=1\n");
	mg_uapi_put_key(w, "public_key", p->public_key);
	mg_uapi_put_key(w, "preshared_key", p->preshared_key ? p->preshared_key : no_psk);
	if (p->endpoint && one_line(n, "endpoint", p->endpoint))
		mg_uapi_put(w, "endpoint=%s\n", p->endpoint);
	else if (p->endpoint)
		w->err = -EINVAL;
	mg_uapi_put(w, "persistent_keepalive_interval=%u\nreplace_allowed_ips=true\n",
		    p->persistent_keepalive);
	for (size_t i = 0; !w->err && i < p->allowed_ips_len; i++) {
		const char *ip = p->allowed_ips[i] ? p->allowed_ips[i] : "";

		if (!one_line(n, "allowed IP", ip)) {
			w->err = -EINVAL;
			break;
		}
		/* The UAPI wants a prefix length; a bare address is a host. */
		mg_uapi_put(w, "allowed_ip=%s%s\n", ip,
			    strchr(ip, '/')   ? ""
			    : strchr(ip, ':') ? "/128"
					      : "/32");
	}
}

int mg_node_set_peer(struct mg_node *n, const struct mg_peer_config *peer)
{
	struct mg_uapi_buf req = { 0 };
	struct mg_uapi_writer w = { &req, 0 };
	struct mg_peer_config p;
	int ret = read_sized(&p, sizeof(p), peer, offsetof(struct mg_peer_config, preshared_key));

	if (ret < 0 || (p.allowed_ips_len && !p.allowed_ips)) {
		mg_log(&n->log, MG_LOG_ERROR, "set_peer: bad struct mg_peer_config");
		return -EINVAL;
	}
	put_peer(n, &w, &p);
	return run_set(n, &w);
}

int mg_node_remove_peer(struct mg_node *n, const uint8_t public_key[MG_KEY_BYTES])
{
	struct mg_uapi_buf req = { 0 };
	struct mg_uapi_writer w = { &req, 0 };

	if (!mg_peer_table_lookup(&n->engine.dev.peers, public_key))
		return -ENOENT;
	mg_uapi_put(&w, "set=1\n");
	mg_uapi_put_key(&w, "public_key", public_key);
	mg_uapi_put(&w, "remove=true\n");
	return run_set(n, &w);
}

/* ---- status ---- */

static void fill_status(const struct mg_node *n, struct mg_node_status *s)
{
	const struct mg_device *dev = &n->engine.dev;

	snprintf(s->ifname, sizeof(s->ifname), "%s", n->ifname);
	s->listen_port = n->engine.udp.port;
	if (dev->identity.has_identity)
		memcpy(s->public_key, dev->identity.public_key, MG_KEY_BYTES);
	s->mtu = dev->mtu;
	s->peers = dev->peers.count;
	mg_peer_table_for_each(&dev->peers, p)
	{
		s->rx_bytes += p->rx_bytes;
		s->tx_bytes += p->tx_bytes;
	}
	s->handshakes_completed = dev->stats.handshakes_completed;
	s->rx_invalid = dev->stats.rx_invalid;
	s->rx_decrypt_failed = dev->stats.rx_decrypt_failed;
	s->rx_replayed = dev->stats.rx_replayed;
	s->rx_unknown_index = dev->stats.rx_unknown_index;
	s->rx_not_allowed = dev->stats.rx_not_allowed;
	s->tx_no_route = dev->stats.tx_no_route;
	s->tx_no_endpoint = dev->stats.tx_no_endpoint;
	s->udp_send_failed = n->engine.stats.udp_send_failed;
	s->tun_write_dropped = n->engine.stats.tun_write_dropped;
	s->public_endpoint = n->public_endpoint;
}

/* Writes at most out's own size, keeping it. */
static int write_sized(void *out, const void *full, size_t full_size)
{
	uint32_t size;

	if (!out)
		return -EINVAL;
	memcpy(&size, out, sizeof(size));
	if (size < sizeof(size))
		return -EINVAL;
	memcpy((uint8_t *)out + sizeof(size), (const uint8_t *)full + sizeof(size),
	       (size < full_size ? size : full_size) - sizeof(size));
	return 0;
}

int mg_node_status(struct mg_node *n, struct mg_node_status *out)
{
	struct mg_node_status s = { .size = sizeof(s) };

	fill_status(n, &s);
	return write_sized(out, &s, sizeof(s));
}

static int count_prefix(void *ctx, const struct mg_prefix *p)
{
	(void)p;
	++*(uint32_t *)ctx;
	return 0;
}

int mg_node_peer_status(struct mg_node *n, const uint8_t public_key[MG_KEY_BYTES],
			struct mg_peer_status *out)
{
	struct mg_peer_status s = { .size = sizeof(s) };
	const struct mg_peer *p = mg_peer_table_lookup(&n->engine.dev.peers, public_key);

	if (!p)
		return -ENOENT;
	endpoint_export(&s.endpoint, &p->endpoint);
	s.last_handshake = p->last_handshake;
	s.rx_bytes = p->rx_bytes;
	s.tx_bytes = p->tx_bytes;
	s.persistent_keepalive = p->persistent_keepalive_interval;
	mg_allowedips_walk_by_peer(&n->engine.dev.allowedips, p, count_prefix, &s.allowed_ips);
	return write_sized(out, &s, sizeof(s));
}

/* ---- the caller's I/O ---- */

int mg_node_send_packets(struct mg_node *n, const struct mg_packet *packets, size_t count)
{
	if (n->config.packet_io != MG_PACKET_IO_CALLER)
		return -EINVAL;
	if (n->closing)
		return -ECANCELED;
	return mg_engine_send_packets(&n->engine, packets, count);
}

int mg_node_set_mtu(struct mg_node *n, uint32_t mtu)
{
	if (n->config.packet_io == MG_PACKET_IO_TUN)
		return -EINVAL;
	if (mtu < MG_MTU_MIN || mtu > MG_MTU_MAX)
		return -EINVAL;
	if (mtu != n->engine.dev.mtu)
		mg_log(&n->log, MG_LOG_INFO, "interface %s: MTU %u", n->ifname, mtu);
	n->engine.dev.mtu = mtu;
	return 0;
}

int mg_node_udp_input(struct mg_node *n, const struct mg_udp_endpoint *from, uint8_t *buf,
		      size_t len)
{
	struct mg_endpoint ep;

	if (n->config.udp_io != MG_UDP_IO_CALLER || endpoint_import(&ep, from) < 0)
		return -EINVAL;
	if (n->closing)
		return -ECANCELED;
	return mg_engine_udp_input(&n->engine, &ep, buf, len);
}

void mg_node_network_changed(struct mg_node *n)
{
	if (n->closing)
		return;
	mg_peer_table_for_each(&n->engine.dev.peers, p) mg_endpoint_clear_local(&p->endpoint);
	if (n->started)
		mg_nat_discovery_refresh(&n->nat);
	if (n->mesh && n->mesh->paths_open)
		mg_agent_network_changed(n->mesh);
}
