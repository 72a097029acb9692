/* meshguard up: bring up a WireGuard interface from a wg-quick style file
 * and run it in the foreground until SIGINT or SIGTERM, then remove what was
 * created. */
#include "cli/commands.h"
#include "cli/config.h"
#include "cli/iface.h"
#include "crypto/primitives.h"
#include "cli/daemon.h"
#include "util/log.h"
#include "tunnel/tun.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sys/stat.h>
#include <netdb.h>
#include <inttypes.h>
#include <libgen.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct up {
	const char *config_path;
	struct mg_nat_discovery_config nat;
	char ifname[IFNAMSIZ];
	struct mg_config config;
	struct mg_iface iface;
	struct mg_daemon daemon;
};

static void usage(FILE *f)
{
	fputs("Usage: meshguard up -c FILE [-i IFNAME]\n"
	      "       meshguard up -i IFNAME          (an empty interface, for `wg setconf`)\n"
	      "  -c, --config FILE     wg-quick style configuration ([Interface], [Peer])\n"
	      "  -i, --interface NAME  interface name (default: FILE's name without .conf)\n"
	      "  --stun HOST:PORT      a STUN server to learn the public endpoint from\n"
	      "                        (repeatable; none built in)\n"
	      "  --portmap auto|natpmp|pcp|upnp|off\n"
	      "                        port mapping through the gateway (default auto)\n"
	      "  --upnp-url URL        the UPnP root description, instead of discovery\n"
	      "  --state DIR           where mappings are recorded (default /var/lib/meshguard)\n",
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

/* HOST:PORT, numeric or a name looked up once, now. */
static int add_stun(struct mg_nat_discovery_config *nat, const char *arg)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res = NULL;
	char host[256];
	const char *colon = strrchr(arg, ':');
	struct mg_endpoint *ep = &nat->stun[nat->stun_count];

	if (nat->stun_count == MG_DISCOVERY_MAX_SERVERS) {
		fprintf(stderr, "meshguard up: at most %d --stun servers\n",
			MG_DISCOVERY_MAX_SERVERS);
		return -EINVAL;
	}
	if (mg_endpoint_parse(ep, arg) == 0)
		goto ok;
	if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof(host) || *arg == '[')
		goto bad;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - arg), arg);
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || !res)
		goto bad;
	memset(ep, 0, sizeof(*ep));
	memcpy(&ep->sa, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
ok:
	nat->stun_count++;
	return 0;
bad:
	fprintf(stderr, "meshguard up: --stun \"%s\" is not a reachable HOST:PORT\n", arg);
	return -EINVAL;
}

static int set_portmap(struct mg_nat_discovery_config *nat, const char *arg)
{
	enum mg_portmap_proto proto;

	nat->portmap = strcmp(arg, "off") != 0;
	if (!strcmp(arg, "auto") || !strcmp(arg, "off"))
		return 0;
	if (mg_portmap_proto_parse(&proto, arg) < 0) {
		fprintf(stderr,
			"meshguard up: --portmap \"%s\" (expected auto, natpmp, pcp, upnp or "
			"off)\n",
			arg);
		return -EINVAL;
	}
	nat->portmap_protocols = MG_PORTMAP_BIT(proto);
	return 0;
}

static int parse_nat_option(struct up *u, int c, const char *arg)
{
	switch (c) {
	case 'S':
		return add_stun(&u->nat, arg);
	case 'P':
		return set_portmap(&u->nat, arg);
	case 'U':
		u->nat.upnp_url = arg;
		return 0;
	case 'D':
		u->nat.state_dir = arg;
		return 0;
	}
	return -EINVAL;
}

static int parse_args(struct up *u, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "interface", required_argument, NULL, 'i' },
		{ "stun", required_argument, NULL, 'S' },
		{ "portmap", required_argument, NULL, 'P' },
		{ "upnp-url", required_argument, NULL, 'U' },
		{ "state", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *ifname = NULL;
	int c;

	optind = 1;
	u->nat.portmap = true;
	while ((c = getopt_long(argc, argv, "c:i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
		case 'P':
		case 'U':
		case 'D':
			if (parse_nat_option(u, c, optarg) < 0)
				return -EINVAL;
			break;
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
	if ((!u->config_path && !ifname) || optind != argc) {
		fprintf(stderr, "meshguard up: %s\n",
			optind != argc ? "unexpected argument"
				       : "a configuration file (-c) or an interface name (-i) "
					 "is needed");
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
	struct mg_device *dev = &u->daemon.engine.dev;
	char pub[MG_KEY_BASE64_LEN + 1];

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
	mg_log(NULL, MG_LOG_INFO,
	       "interface %s up: public key %s, listening on port %u, %u peer(s)", u->ifname,
	       dev->identity.has_identity ? pub : "(none)", u->daemon.engine.udp.port,
	       dev->peers.count);
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

/* Creates the interface and configures the kernel's side of it. With no
 * configuration file the device starts empty, for `wg` to configure, as
 * wireguard-go does. */
static int bring_up(struct up *u)
{
	struct mg_daemon_options o = {
		.ifname = u->ifname,
		.tun_fd = -1,
		.uapi_fd = -1,
		.port = u->config.listen_port,
	};
	char err[256] = "";
	int ret;

	if (u->config_path)
		o.fwmark = mg_iface_fwmark(&u->config);
	ret = mg_daemon_open(&u->daemon, &o);
	if (ret < 0)
		return ret;
	ret = mg_iface_configure(&u->iface, u->ifname, u->config_path ? &u->config : NULL, err,
				 sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "meshguard up: %s: %s\n", u->ifname, err);
		mg_daemon_close(&u->daemon);
	}
	return ret;
}

/* The journal of port mappings lives in a directory per interface, so that
 * interfaces (or namespaces) sharing a port never clean up each other's. */
static int start_discovery(struct up *u)
{
	static char dir[PATH_MAX];
	const char *base = u->nat.state_dir ? u->nat.state_dir : MG_PORTMAP_STATE_DIR;
	struct in_addr gateway;

	if (u->nat.portmap && mg_portmap_default_gateway(&gateway) < 0) {
		mg_log(NULL, MG_LOG_INFO, "nat: no default gateway, port mapping off");
		u->nat.portmap = false;
	}
	if (!u->nat.portmap)
		return mg_daemon_start_discovery(&u->daemon, &u->nat);
	if (mkdir(base, 0700) < 0 && errno != EEXIST)
		mg_log(NULL, MG_LOG_INFO, "nat: cannot create %s: %s", base, strerror(errno));
	snprintf(dir, sizeof(dir), "%s/%s", base, u->ifname);
	u->nat.state_dir = dir;
	return mg_daemon_start_discovery(&u->daemon, &u->nat);
}

int mg_cmd_up(int argc, char **argv)
{
	struct up u = { 0 };
	int ret = parse_args(&u, argc, argv);

	if (ret)
		return ret > 0 ? 0 : 2;
	mg_log_init_from_env();
	if (mg_crypto_init() < 0 || (u.config_path && load_config(&u) < 0))
		return 1;
	ret = bring_up(&u);
	if (ret == 0) {
		ret = configure_device(&u);
		if (ret == 0)
			ret = start_discovery(&u);
		if (ret == 0)
			ret = mg_daemon_run(&u.daemon);
		mg_iface_teardown(&u.iface);
		mg_daemon_close(&u.daemon);
		mg_log(NULL, MG_LOG_INFO, "interface %s removed", u.ifname);
	}
	mg_config_free(&u.config);
	return ret == 0 ? 0 : 1;
}
