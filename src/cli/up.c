/* meshguard up: bring up a WireGuard interface from a wg-quick style file
 * and run it in the foreground until SIGINT or SIGTERM, then remove what was
 * created. */
#include "cli/commands.h"
#include "node/wgquick.h"
#include "cli/runner.h"
#include "crypto/primitives.h"
#include "util/log.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STUN	  8
#define DEFAULT_TABLE	  51820
#define DEFAULT_MTU	  1420

struct up {
	const char *config_path;
	const char *stun[MAX_STUN];
	size_t stun_len;
	const char *portmap, *upnp_url, *state_dir;
	char ifname[IFNAMSIZ];
	struct mg_config config;
	struct mg_cli_runner run;
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

static int add_stun(struct up *u, const char *arg)
{
	if (u->stun_len == MAX_STUN) {
		fprintf(stderr, "meshguard up: at most %d --stun servers\n", MAX_STUN);
		return -EINVAL;
	}
	u->stun[u->stun_len++] = arg;
	return 0;
}

static int set_portmap(struct up *u, const char *arg)
{
	static const char *const words[] = { "auto", "natpmp", "pcp", "upnp", "off" };

	for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		if (!strcmp(arg, words[k])) {
			u->portmap = arg;
			return 0;
		}
	}
	fprintf(stderr, "meshguard up: --portmap \"%s\" (expected auto, natpmp, pcp, upnp or off)\n",
		arg);
	return -EINVAL;
}

static int parse_nat_option(struct up *u, int c, const char *arg)
{
	switch (c) {
	case 'S':
		return add_stun(u, arg);
	case 'P':
		return set_portmap(u, arg);
	case 'U':
		u->upnp_url = arg;
		return 0;
	case 'D':
		u->state_dir = arg;
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
	u->portmap = "auto";
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

static bool has_default_route(const struct mg_config *c)
{
	for (size_t k = 0; k < c->peers_len; k++)
		for (size_t j = 0; j < c->peers[k].allowed_ips_len; j++)
			if (c->peers[k].allowed_ips[j].cidr == 0)
				return true;
	return false;
}

/* wg-quick's table number when a default route goes into the tunnel (the
 * tunnel's own UDP carries it as its mark), else FwMark, else 0. */
static uint32_t fwmark_of(const struct mg_config *c)
{
	uint32_t fwmark = (c->flags & MG_CONFIG_HAS_FWMARK) ? c->fwmark : 0;

	if (has_default_route(c))
		return fwmark ? fwmark : DEFAULT_TABLE;
	return fwmark;
}

/* ---- the configuration as a UAPI set, as `wg setconf` would send it ---- */

struct text {
	char *data;
	size_t len, cap;
	bool failed;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	while (!t->failed) {
		va_start(ap, fmt);
		n = vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap ? t->cap * 2 : 4096;
		char *grown = malloc(cap);
		if (n < 0 || !grown) {
			free(grown);
			t->failed = true;
			return;
		}
		if (t->len)
			memcpy(grown, t->data, t->len);
		if (t->data) {
			mg_wipe(t->data, t->cap); /* holds keys */
			free(t->data);
		}
		t->data = grown;
		t->cap = cap;
	}
}

static void put_key(struct text *t, const char *name, const uint8_t key[MG_KEY_LEN])
{
	char hex[MG_KEY_HEX_LEN + 1];

	mg_key_to_hex(hex, key);
	put(t, "%s=%s\n", name, hex);
	mg_wipe(hex, sizeof(hex));
}

static void put_peer(struct text *t, const struct mg_config_peer *p)
{
	char buf[MG_ENDPOINT_STRLEN];

	put_key(t, "public_key", p->public_key);
	if (p->flags & MG_CONFIG_PEER_HAS_PRESHARED_KEY)
		put_key(t, "preshared_key", p->preshared_key);
	if (p->flags & MG_CONFIG_PEER_HAS_ENDPOINT_ADDR) {
		mg_endpoint_format(buf, sizeof(buf), &p->endpoint);
		put(t, "endpoint=%s\n", buf);
	}
	if (p->persistent_keepalive)
		put(t, "persistent_keepalive_interval=%u\n", p->persistent_keepalive);
	for (size_t k = 0; k < p->allowed_ips_len; k++) {
		mg_prefix_format(buf, sizeof(buf), &p->allowed_ips[k]);
		put(t, "allowed_ip=%s\n", buf);
	}
}

static int configure_node(struct up *u)
{
	struct text t = { 0 };
	char *reply = NULL;
	int ret;

	put(&t, "set=1\n");
	if (u->config.flags & MG_CONFIG_HAS_PRIVATE_KEY)
		put_key(&t, "private_key", u->config.private_key);
	for (size_t k = 0; k < u->config.peers_len; k++)
		put_peer(&t, &u->config.peers[k]);
	put(&t, "\n");
	ret = t.failed ? -ENOMEM : mg_node_uapi(u->run.node, t.data, t.len, &reply);
	if (ret < 0)
		fprintf(stderr, "meshguard up: %s: cannot configure the interface: %s\n",
			u->config_path, strerror(-ret));
	mg_node_uapi_free(reply);
	if (t.data) {
		mg_wipe(t.data, t.cap);
		free(t.data);
	}
	return ret;
}

/* ---- the kernel's side: addresses, MTU, routes, full-tunnel rules ---- */

struct prefixes {
	char (*text)[MG_PREFIX_STRLEN];
	const char **list;
	size_t len;
};

static int format_prefixes(struct prefixes *out, const struct mg_prefix *p, size_t n)
{
	out->text = calloc(n ? n : 1, sizeof(*out->text));
	out->list = calloc(n ? n : 1, sizeof(*out->list));
	if (!out->text || !out->list)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		mg_prefix_format(out->text[out->len], sizeof(out->text[0]), &p[k]);
		out->list[out->len] = out->text[out->len];
		out->len++;
	}
	return 0;
}

static int allowed_ips(struct prefixes *out, const struct mg_config *c)
{
	size_t n = 0;
	struct mg_prefix *all;
	int ret;

	for (size_t k = 0; k < c->peers_len; k++)
		n += c->peers[k].allowed_ips_len;
	all = calloc(n ? n : 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	n = 0;
	for (size_t k = 0; k < c->peers_len; k++)
		for (size_t j = 0; j < c->peers[k].allowed_ips_len; j++)
			all[n++] = c->peers[k].allowed_ips[j];
	ret = format_prefixes(out, all, n);
	free(all);
	return ret;
}

static void free_prefixes(struct prefixes *p)
{
	free(p->text);
	free(p->list);
}

static int configure_interface(struct up *u)
{
	struct mg_interface_config ic = MG_INTERFACE_CONFIG_INIT;
	struct prefixes addrs = { 0 }, routes = { 0 };
	int ret = format_prefixes(&addrs, u->config.addresses, u->config.addresses_len);

	if (ret == 0)
		ret = allowed_ips(&routes, &u->config);
	if (ret == 0) {
		ic.addresses = addrs.list;
		ic.addresses_len = addrs.len;
		ic.routes = routes.list;
		ic.routes_len = routes.len;
		ic.mtu = (u->config.flags & MG_CONFIG_HAS_MTU) ? u->config.mtu : DEFAULT_MTU;
		ic.full_tunnel_rules = has_default_route(&u->config);
		ic.fwmark = fwmark_of(&u->config);
		ic.table = ic.fwmark;
		ret = mg_node_configure_interface(u->run.node, &ic);
	}
	free_prefixes(&addrs);
	free_prefixes(&routes);
	return ret;
}

/* Creates the interface and configures it. With no configuration file the
 * device starts empty, for `wg` to configure, as wireguard-go does. */
static int bring_up(struct up *u)
{
	struct mg_node_config c = MG_NODE_CONFIG_INIT;
	int ret;

	c.ifname = u->ifname;
	c.packet_io = MG_PACKET_IO_TUN;
	c.udp_io = MG_UDP_IO_SOCKETS;
	c.listen_port = u->config.listen_port;
	c.fwmark = u->config_path ? fwmark_of(&u->config) : 0;
	c.uapi_socket = true;
	c.log_level = mg_log_default()->threshold;
	c.on_event = mg_cli_runner_on_event;
	c.user = &u->run;
	c.stun_servers = u->stun;
	c.stun_servers_len = u->stun_len;
	c.portmap = u->portmap;
	c.upnp_url = u->upnp_url;
	c.state_dir = u->state_dir;
	ret = mg_node_new(&u->run.loop, &c, &u->run.node);
	if (ret < 0 || !u->config_path)
		return ret;
	ret = configure_interface(u);
	if (ret == 0)
		ret = configure_node(u);
	return ret;
}

static void log_up(const struct up *u)
{
	struct mg_node_status st = MG_NODE_STATUS_INIT;
	static const uint8_t zero[MG_KEY_LEN];
	char pub[MG_KEY_BASE64_LEN + 1];

	mg_node_status(u->run.node, &st);
	mg_key_to_base64(pub, st.public_key);
	mg_log(NULL, MG_LOG_INFO,
	       "interface %s up: public key %s, listening on port %u, %u peer(s)", u->ifname,
	       memcmp(st.public_key, zero, sizeof(zero)) ? pub : "(none)", st.listen_port,
	       st.peers);
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
	ret = mg_cli_runner_init(&u.run);
	if (ret == 0)
		ret = bring_up(&u);
	if (ret == 0) {
		log_up(&u);
		ret = mg_cli_runner_run(&u.run);
	}
	mg_cli_runner_close(&u.run);
	if (u.run.closed)
		mg_log(NULL, MG_LOG_INFO, "interface %s removed", u.ifname);
	mg_config_free(&u.config);
	return ret == 0 ? 0 : 1;
}
