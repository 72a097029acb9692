#include "cli/daemon.h"
#include "util/macros.h"
#include "util/log.h"
#include "tunnel/tun.h"

#include <errno.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int hook_set_listen_port(void *ctx, uint16_t port)
{
	struct mg_daemon *d = ctx;
	return mg_engine_set_listen_port(&d->engine, port);
}

static uint16_t hook_listen_port(void *ctx)
{
	struct mg_daemon *d = ctx;
	return d->engine.udp.port;
}

static int hook_set_fwmark(void *ctx, uint32_t fwmark)
{
	struct mg_daemon *d = ctx;
	return mg_engine_set_fwmark(&d->engine, fwmark);
}

static uint32_t hook_fwmark(void *ctx)
{
	struct mg_daemon *d = ctx;
	return d->engine.udp.fwmark;
}

static const struct mg_uapi_hooks daemon_hooks = {
	.set_listen_port = hook_set_listen_port,
	.listen_port = hook_listen_port,
	.set_fwmark = hook_set_fwmark,
	.fwmark = hook_fwmark,
};

static void on_tun_gone(void *ctx)
{
	struct mg_daemon *d = ctx;
	mg_log(NULL, MG_LOG_INFO, "interface %s was removed, shutting down", d->ifname);
	mg_daemon_stop(d);
}

static void on_uapi_gone(struct mg_uapi_server *s)
{
	struct mg_daemon *d = container_of(s, struct mg_daemon, uapi);
	mg_log(NULL, MG_LOG_INFO, "UAPI socket of %s was removed, shutting down", d->ifname);
	mg_daemon_stop(d);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct mg_daemon *d = s->data;
	mg_log(NULL, MG_LOG_INFO, "received %s, shutting down", strsignal(signum));
	mg_daemon_stop(d);
}

static void on_link(const struct mg_netlink_link *link, void *ctx)
{
	struct mg_daemon *d = ctx;
	struct mg_device *dev = &d->engine.dev;

	if (link->ifindex != d->ifindex || !link->mtu || link->mtu == dev->mtu)
		return;
	mg_log(NULL, MG_LOG_INFO, "interface %s: MTU %u", d->ifname, link->mtu);
	dev->mtu = link->mtu;
}

/* Asks on a handle of its own: answers on d->links would mix with the
 * notifications. */
static int read_mtu(struct mg_daemon *d)
{
	struct mg_netlink nl;
	struct mg_netlink_link link;
	int ret = mg_netlink_open(&nl);

	if (ret < 0)
		return ret;
	ret = mg_netlink_link_get(&nl, d->ifindex, &link);
	mg_netlink_close(&nl);
	if (ret == 0)
		on_link(&link, d);
	return ret;
}

static void on_links_readable(uv_poll_t *h, int status, int events)
{
	struct mg_daemon *d = container_of(h, struct mg_daemon, links_poll);
	(void)events;

	if (status < 0) {
		mg_log(NULL, MG_LOG_ERROR, "link notifications failed (%s): MTU of %s stays %u",
		       uv_strerror(status), d->ifname, d->engine.dev.mtu);
		uv_poll_stop(h);
		return;
	}
	/* After lost notifications the current MTU is what counts, whatever
	 * happened in between. */
	if (mg_netlink_link_events(&d->links, on_link, d) < 0)
		read_mtu(d);
}

/* Subscribes before reading the MTU, so that no change falls in between. */
static int watch_mtu(struct mg_daemon *d)
{
	int ret;

	d->ifindex = if_nametoindex(d->ifname);
	if (!d->ifindex)
		return -errno;
	ret = mg_netlink_open_link_events(&d->links);
	if (ret == 0)
		ret = uv_poll_init(&d->loop, &d->links_poll, d->links.fd);
	if (ret == 0)
		ret = uv_poll_start(&d->links_poll, UV_READABLE, on_links_readable);
	if (ret == 0)
		ret = read_mtu(d);
	return ret;
}

static int open_tun(struct mg_daemon *d, const struct mg_daemon_options *o,
		    struct mg_engine_config *ec)
{
	bool no_pi = true;
	int ret;

	if (o->tun_fd >= 0) {
		ret = mg_tun_adopt(o->tun_fd, d->ifname, &no_pi);
		if (ret < 0) {
			fprintf(stderr, "meshguard: WG_TUN_FD=%d is not a usable TUN device: %s\n",
				o->tun_fd, strerror(-ret));
			return ret;
		}
		d->tun_fd = o->tun_fd;
		ec->tun_pi = !no_pi;
		return 0;
	}
	ret = mg_tun_open_offload(o->ifname, d->ifname, &d->tun_fd, &ec->tun_offload);
	if (ret < 0)
		fprintf(stderr, "meshguard: cannot create TUN device %s: %s%s\n", o->ifname,
			strerror(-ret),
			ret == -EPERM ? " (run as root or with CAP_NET_ADMIN)" : "");
	return ret;
}

static int start_uapi(struct mg_daemon *d, const struct mg_daemon_options *o)
{
	int ret;

	if (o->uapi_fd >= 0)
		ret = mg_uapi_server_adopt(&d->uapi, &d->loop, o->uapi_fd, d->ifname,
					   &d->engine.dev, &daemon_hooks, d);
	else
		ret = mg_uapi_server_start(&d->uapi, &d->loop, d->ifname, &d->engine.dev,
					   &daemon_hooks, d);
	if (ret < 0) {
		fprintf(stderr, "meshguard: cannot serve %s/%s.sock: %s%s\n", MG_UAPI_SOCKET_DIR,
			d->ifname, strerror(-ret),
			ret == -EADDRINUSE ? " (another daemon runs this interface)" : "");
		return ret;
	}
	d->uapi_ready = true;
	return 0;
}

int mg_daemon_open(struct mg_daemon *d, const struct mg_daemon_options *o)
{
	struct mg_engine_config ec = { .on_tun_gone = on_tun_gone, .ctx = d };
	int ret;

	memset(d, 0, sizeof(*d));
	d->tun_fd = -1;
	d->links.fd = -1;
	/* A UAPI client that hangs up before reading its reply must cost an
	 * EPIPE on that connection, not the daemon. */
	signal(SIGPIPE, SIG_IGN);
	ret = uv_loop_init(&d->loop);
	if (ret < 0)
		return ret;
	d->loop_ready = true;
	ret = open_tun(d, o, &ec);
	if (ret < 0)
		goto fail;
	ec.tun_fd = d->tun_fd;
	ec.port = o->port;
	ec.fwmark = o->fwmark;
	ret = mg_engine_init(&d->engine, &d->loop, &ec);
	if (ret < 0) {
		fprintf(stderr, "meshguard: cannot listen on UDP port %u: %s\n", o->port,
			strerror(-ret));
		goto fail;
	}
	d->engine_ready = true;
	ret = mg_stun_port_attach(&d->stun, &d->engine, NULL);
	if (ret < 0)
		goto fail;
	ret = start_uapi(d, o);
	if (ret < 0)
		goto fail;
	return 0;
fail:
	mg_daemon_close(d);
	return ret;
}

int mg_daemon_start_discovery(struct mg_daemon *d, const struct mg_nat_discovery_config *c)
{
	return mg_nat_discovery_start(&d->nat, &d->loop, &d->stun, c);
}

static int watch_signals(struct mg_daemon *d)
{
	d->sigint.data = d->sigterm.data = d;
	if (uv_signal_init(&d->loop, &d->sigint) < 0 || uv_signal_init(&d->loop, &d->sigterm) < 0)
		return -EIO;
	uv_signal_start(&d->sigint, on_signal, SIGINT);
	uv_signal_start(&d->sigterm, on_signal, SIGTERM);
	return 0;
}

int mg_daemon_run(struct mg_daemon *d)
{
	int ret = watch_mtu(d);

	/* Not fatal: the kernel fragments what exceeds the path's MTU. */
	if (ret < 0)
		mg_log(NULL, MG_LOG_ERROR, "cannot follow the MTU of %s (%s): padding up to %u",
		       d->ifname, strerror(-ret), d->engine.dev.mtu);
	ret = mg_engine_start(&d->engine);
	if (ret == 0)
		ret = watch_signals(d);
	if (ret == 0)
		ret = mg_uapi_server_watch(&d->uapi, on_uapi_gone);
	if (ret < 0) {
		fprintf(stderr, "meshguard: cannot start the event loop: %s\n", strerror(-ret));
		mg_daemon_stop(d);
	}
	uv_run(&d->loop, UV_RUN_DEFAULT);
	return ret;
}

static void log_stats(const struct mg_engine *e)
{
	const struct mg_device_stats *d = &e->dev.stats;
	const struct mg_engine_stats *s = &e->stats;

	mg_log(NULL, MG_LOG_INFO,
	       "stats: tun read %" PRIu64 " (segments %" PRIu64 "), tun writes %" PRIu64
	       ", udp read %" PRIu64 ", udp send batches %" PRIu64 "; dropped: tun write %" PRIu64
	       ", udp send %" PRIu64 ", udp receive queue %" PRIu64 ", bad offload %" PRIu64,
	       s->tun_read_packets, s->tun_segments, s->tun_writes, s->udp_read_datagrams,
	       s->udp_send_calls, s->tun_write_dropped, s->udp_send_failed, s->udp_kernel_drops,
	       s->tun_bad_packets);
	mg_log(NULL, MG_LOG_INFO,
	       "stats: rx invalid %" PRIu64 ", bad mac1 %" PRIu64 ", handshake failed %" PRIu64
	       ", unknown index %" PRIu64 ", expired key %" PRIu64 ", decrypt failed %" PRIu64
	       ", replayed %" PRIu64 ", bad ip %" PRIu64 ", not allowed %" PRIu64
	       "; tx no route %" PRIu64 ", no endpoint %" PRIu64 ", staged overflow %" PRIu64
	       ", encrypt failed %" PRIu64 "; cookies sent %" PRIu64,
	       d->rx_invalid, d->rx_bad_mac1, d->rx_handshake_failed, d->rx_unknown_index,
	       d->rx_expired_key, d->rx_decrypt_failed, d->rx_replayed, d->rx_bad_ip,
	       d->rx_not_allowed, d->tx_no_route, d->tx_no_endpoint, d->tx_staged_overflow,
	       d->tx_encrypt_failed, d->rx_cookie_sent);
}

static void close_handle(uv_handle_t *h)
{
	if (h->loop && !uv_is_closing(h))
		uv_close(h, NULL);
}

void mg_daemon_stop(struct mg_daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	if (d->engine_ready) {
		log_stats(&d->engine);
		mg_nat_discovery_stop(&d->nat, NULL, NULL);
		mg_stun_port_detach(&d->stun);
		mg_engine_close(&d->engine);
	}
	if (d->uapi_ready)
		mg_uapi_server_close(&d->uapi);
	close_handle((uv_handle_t *)&d->sigint);
	close_handle((uv_handle_t *)&d->sigterm);
	close_handle((uv_handle_t *)&d->links_poll);
}

void mg_daemon_close(struct mg_daemon *d)
{
	if (d->loop_ready) {
		mg_daemon_stop(d);
		uv_run(&d->loop, UV_RUN_DEFAULT);
	}
	if (d->engine_ready)
		mg_engine_free(&d->engine);
	d->engine_ready = false;
	if (d->loop_ready)
		uv_loop_close(&d->loop);
	d->loop_ready = false;
	/* Only now that libuv has let go of its handle. */
	mg_netlink_close(&d->links);
	if (d->tun_fd >= 0)
		close(d->tun_fd);
	d->tun_fd = -1;
}
