/* meshguard up: bring up a WireGuard interface from a wg-quick style file
 * and run it in the foreground until SIGINT or SIGTERM, then remove what was
 * created. */
#include "cli/commands.h"
#include "cli/config.h"
#include "cli/iface.h"
#include "crypto/primitives.h"
#include "tunnel/engine.h"
#include "tunnel/log.h"
#include "tunnel/tun.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct up {
	const char *config_path;
	char ifname[IFNAMSIZ];
	struct mg_config config;
	int tun_fd;
	struct mg_iface iface;
	uv_loop_t loop;
	struct mg_engine engine;
	uv_signal_t sigint, sigterm;
};

static void usage(FILE *f)
{
	fputs("Usage: meshguard up -c FILE [-i IFNAME]\n"
	      "  -c, --config FILE     wg-quick style configuration ([Interface], [Peer])\n"
	      "  -i, --interface NAME  interface name (default: FILE's name without .conf)\n",
	      f);
}

/* wg-quick's rule: at most 15 characters of [a-zA-Z0-9_=+.-]. */
static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= IFNAMSIZ)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_=+.-") ==
	       n;
}

static int ifname_from_path(char out[IFNAMSIZ], const char *path)
{
	char copy[4096];
	char *base;
	size_t n;

	snprintf(copy, sizeof(copy), "%s", path);
	base = basename(copy);
	n = strlen(base);
	if (n > 5 && !strcmp(base + n - 5, ".conf"))
		base[n - 5] = '\0';
	if (!valid_ifname(base))
		return -EINVAL;
	snprintf(out, IFNAMSIZ, "%s", base);
	return 0;
}

static int parse_args(struct up *u, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "interface", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *ifname = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			u->config_path = optarg;
			break;
		case 'i':
			ifname = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (!u->config_path || optind != argc) {
		fprintf(stderr, "meshguard up: %s\n",
			optind != argc ? "unexpected argument"
				       : "a configuration file (-c) is needed");
		usage(stderr);
		return -EINVAL;
	}
	if (ifname ? !valid_ifname(ifname) : ifname_from_path(u->ifname, u->config_path) < 0) {
		fprintf(stderr,
			"meshguard up: \"%s\" is not a valid interface name (expected 1-15 of "
			"a-z A-Z 0-9 _ = + . -)\n",
			ifname ? ifname : u->config_path);
		return -EINVAL;
	}
	if (ifname)
		snprintf(u->ifname, IFNAMSIZ, "%s", ifname);
	return 0;
}

static int configure_peer(struct mg_device *dev, const struct mg_config_peer *cp)
{
	struct mg_peer *peer;
	int ret = mg_device_add_peer(dev, cp->public_key, &peer);

	if (ret == -EINVAL)
		return 0; /* our own key: ignored, as wg does */
	if (ret < 0)
		return ret;
	if (cp->flags & MG_CONFIG_PEER_HAS_PRESHARED_KEY)
		mg_device_peer_set_preshared_key(peer, cp->preshared_key);
	if (cp->flags & MG_CONFIG_PEER_HAS_ENDPOINT_ADDR)
		mg_device_peer_set_endpoint(peer, &cp->endpoint);
	for (size_t k = 0; k < cp->allowed_ips_len; k++) {
		ret = mg_device_peer_add_allowed_ip(peer, &cp->allowed_ips[k]);
		if (ret < 0)
			return ret;
	}
	if (cp->persistent_keepalive)
		mg_device_peer_set_persistent_keepalive(peer, cp->persistent_keepalive);
	return 0;
}

static int configure_device(struct up *u)
{
	struct mg_device *dev = &u->engine.dev;
	char pub[MG_KEY_BASE64_LEN + 1];

	dev->mtu = u->iface.mtu;
	if (u->config.flags & MG_CONFIG_HAS_PRIVATE_KEY)
		mg_device_set_private_key(dev, u->config.private_key);
	for (size_t k = 0; k < u->config.peers_len; k++) {
		int ret = configure_peer(dev, &u->config.peers[k]);
		if (ret < 0) {
			fprintf(stderr, "meshguard up: %s:%u: cannot add peer: %s\n",
				u->config_path, u->config.peers[k].line, strerror(-ret));
			return ret;
		}
	}
	mg_key_to_base64(pub, dev->identity.public_key);
	mg_log(MG_LOG_INFO, "interface %s up: public key %s, listening on port %u, %u peer(s)",
	       u->ifname, dev->identity.has_identity ? pub : "(none)", u->engine.udp.port,
	       dev->peers.count);
	return 0;
}

static void log_stats(const struct mg_engine *e)
{
	const struct mg_device_stats *d = &e->dev.stats;
	const struct mg_engine_stats *s = &e->stats;

	mg_log(MG_LOG_INFO,
	       "stats: tun read %" PRIu64 " packets, udp read %" PRIu64
	       " datagrams, udp sends %" PRIu64 " batches; dropped: tun write %" PRIu64
	       ", udp send %" PRIu64 ", udp receive queue %" PRIu64,
	       s->tun_read_packets, s->udp_read_datagrams, s->udp_send_calls, s->tun_write_dropped,
	       s->udp_send_failed, s->udp_kernel_drops);
	mg_log(MG_LOG_INFO,
	       "stats: rx invalid %" PRIu64 ", bad mac1 %" PRIu64 ", handshake failed %" PRIu64
	       ", unknown index %" PRIu64 ", expired key %" PRIu64 ", decrypt failed %" PRIu64
	       ", replayed %" PRIu64 ", bad ip %" PRIu64 ", not allowed %" PRIu64
	       "; tx no route %" PRIu64 ", no endpoint %" PRIu64 ", staged overflow %" PRIu64
	       "; cookies sent %" PRIu64,
	       d->rx_invalid, d->rx_bad_mac1, d->rx_handshake_failed, d->rx_unknown_index,
	       d->rx_expired_key, d->rx_decrypt_failed, d->rx_replayed, d->rx_bad_ip,
	       d->rx_not_allowed, d->tx_no_route, d->tx_no_endpoint, d->tx_staged_overflow,
	       d->rx_cookie_sent);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct up *u = s->data;
	mg_log(MG_LOG_INFO, "received %s, shutting down", strsignal(signum));
	log_stats(&u->engine);
	mg_engine_close(&u->engine);
	uv_close((uv_handle_t *)&u->sigint, NULL);
	uv_close((uv_handle_t *)&u->sigterm, NULL);
}

static int watch_signals(struct up *u)
{
	u->sigint.data = u->sigterm.data = u;
	if (uv_signal_init(&u->loop, &u->sigint) < 0 || uv_signal_init(&u->loop, &u->sigterm) < 0)
		return -EIO;
	uv_signal_start(&u->sigint, on_signal, SIGINT);
	uv_signal_start(&u->sigterm, on_signal, SIGTERM);
	return 0;
}

static int load_config(struct up *u)
{
	char err[MG_CONFIG_ERR_LEN];
	int ret;

	err[0] = '\0';
	ret = mg_config_load(&u->config, u->config_path, err, sizeof(err));
	if (ret == 0)
		ret = mg_config_resolve_endpoints(&u->config, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, "meshguard up: %s\n", err[0] ? err : strerror(-ret));
	return ret;
}

static int bring_up(struct up *u)
{
	char name[IFNAMSIZ], err[256] = "";
	struct mg_engine_config ec = { 0 };
	unsigned offload = 0;
	int ret = mg_tun_open_offload(u->ifname, name, &u->tun_fd, &offload);

	if (ret < 0) {
		fprintf(stderr, "meshguard up: cannot create TUN device %s: %s%s\n", u->ifname,
			strerror(-ret),
			ret == -EPERM ? " (run as root or with CAP_NET_ADMIN)" : "");
		return ret;
	}
	ret = mg_iface_configure(&u->iface, u->ifname, &u->config, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "meshguard up: %s: %s\n", u->ifname, err);
		return ret;
	}
	ec.tun_fd = u->tun_fd;
	ec.tun_offload = offload;
	ec.port = u->config.listen_port;
	ec.fwmark = u->iface.fwmark;
	ret = mg_engine_init(&u->engine, &u->loop, &ec);
	if (ret < 0) {
		fprintf(stderr, "meshguard up: cannot listen on UDP port %u: %s\n",
			u->config.listen_port, strerror(-ret));
		mg_iface_teardown(&u->iface);
	}
	return ret;
}

int mg_cmd_up(int argc, char **argv)
{
	struct up u = { .tun_fd = -1 };
	int ret = parse_args(&u, argc, argv);

	if (ret)
		return ret > 0 ? 0 : 2;
	mg_log_init_from_env();
	if (mg_crypto_init() < 0 || load_config(&u) < 0)
		return 1;
	uv_loop_init(&u.loop);
	ret = bring_up(&u);
	if (ret == 0)
		ret = configure_device(&u);
	if (ret == 0)
		ret = mg_engine_start(&u.engine);
	if (ret == 0)
		ret = watch_signals(&u);
	if (ret == 0) {
		uv_run(&u.loop, UV_RUN_DEFAULT);
		mg_engine_free(&u.engine);
		mg_iface_teardown(&u.iface);
	} else if (u.engine.rx) {
		mg_engine_close(&u.engine);
		uv_run(&u.loop, UV_RUN_DEFAULT);
		mg_engine_free(&u.engine);
		mg_iface_teardown(&u.iface);
	}
	uv_loop_close(&u.loop);
	if (u.tun_fd >= 0)
		close(u.tun_fd);
	mg_config_free(&u.config);
	mg_log(MG_LOG_INFO, "interface %s removed", u.ifname);
	return ret == 0 ? 0 : 1;
}
