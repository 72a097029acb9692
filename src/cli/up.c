/* meshguard up: bring up a WireGuard interface from a wg-quick style file
 * and run it in the foreground until SIGINT or SIGTERM, then remove what was
 * created. */
#include "cli/commands.h"
#include "cli/log.h"
#include "cli/runner.h"
#include "meshguard.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STUN      8
#define DEFAULT_STATE "/var/lib/meshguard"
#define MAX_ADVERTISE 16

struct up {
	const char *config_path;
	const char *stun[MAX_STUN];
	size_t stun_len;
	const char *portmap, *upnp_url, *state_dir;
	char ifname[IFNAMSIZ];
	struct mg_wgquick *config; /* NULL without -c */
	struct mg_cli_runner run;
	bool mesh; /* the state directory holds a mesh: run it */
	int relay; /* --relay 1, --no-relay -1, else 0 (auto) */
	bool no_stun_responder;
	bool no_sandbox;
	const char *advertise[MAX_ADVERTISE];
	size_t advertise_len;
};

static void usage(FILE *f)
{
	fputs("Usage: meshguard up [-i IFNAME] [--state DIR]  (the mesh in DIR)\n"
	      "       meshguard up -c FILE [-i IFNAME]\n"
	      "       meshguard up -i IFNAME          (an empty interface, for `wg setconf`)\n"
	      "  -c, --config FILE     wg-quick style configuration ([Interface], [Peer])\n"
	      "  -i, --interface NAME  interface name (default: FILE's name without .conf)\n"
	      "  --stun HOST:PORT      a STUN server to learn the public endpoint from\n"
	      "                        (repeatable; none built in)\n"
	      "  --portmap auto|natpmp|pcp|upnp|off\n"
	      "                        port mapping through the gateway (default auto)\n"
	      "  --upnp-url URL        the UPnP root description, instead of discovery\n"
	      "  --advertise CIDR      forward mesh traffic to this subnet behind us (one of\n"
	      "                        the certificate's routes; repeatable)\n"
	      "  --relay, --no-relay   relay for members that have no direct path (default:\n"
	      "                        when not behind a NAT)\n"
	      "  --no-stun-responder   do not answer STUN Binding requests on our port (by\n"
	      "                        default answered: rate-limited, never with an\n"
	      "                        error). Mesh members learn their public endpoint by\n"
	      "                        asking each other over STUN: with this option none\n"
	      "                        of them can ask this node\n"
	      "  --state DIR           the mesh's state directory, where mappings are also\n"
	      "                        recorded (default /var/lib/meshguard)\n"
	      "  --no-sandbox          run everything in one privileged process, for\n"
	      "                        valgrind and sanitizer runs only: by default the\n"
	      "                        part that reads the network runs as the user\n"
	      "                        meshguard, without capabilities, under seccomp\n",
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
	fprintf(stderr,
		"meshguard up: --portmap \"%s\" (expected auto, natpmp, pcp, upnp or off)\n", arg);
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

static int check_mode(struct up *u, const char *ifname);

static int parse_args(struct up *u, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "interface", required_argument, NULL, 'i' },
		{ "stun", required_argument, NULL, 'S' },
		{ "portmap", required_argument, NULL, 'P' },
		{ "upnp-url", required_argument, NULL, 'U' },
		{ "state", required_argument, NULL, 'D' },
		{ "relay", no_argument, NULL, 'R' },
		{ "no-relay", no_argument, NULL, 'N' },
		{ "advertise", required_argument, NULL, 'A' },
		{ "no-stun-responder", no_argument, NULL, 'T' },
		{ "no-sandbox", no_argument, NULL, 'X' },
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
		case 'R':
		case 'N':
			u->relay = c == 'R' ? 1 : -1;
			break;
		case 'A':
			if (u->advertise_len == MAX_ADVERTISE) {
				fprintf(stderr, "meshguard up: at most %d --advertise\n",
					MAX_ADVERTISE);
				return -EINVAL;
			}
			u->advertise[u->advertise_len++] = optarg;
			break;
		case 'T':
			u->no_stun_responder = true;
			break;
		case 'X':
			u->no_sandbox = true;
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
	if (optind != argc) {
		fprintf(stderr, "meshguard up: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	return check_mode(u, ifname);
}

/* The mode follows the state directory: a mesh there runs the mesh, else a
 * wg-quick file (-c) or an empty interface (-i) as before. */
static int check_mode(struct up *u, const char *ifname)
{
	char msg[512];

	u->mesh = mg_mesh_present(u->state_dir ? u->state_dir : DEFAULT_STATE);
	if (u->mesh && u->config_path) {
		fprintf(stderr,
			"meshguard up: %s holds a mesh; -c runs a wg-quick file: give it another "
			"--state DIR\n",
			u->state_dir ? u->state_dir : DEFAULT_STATE);
		return -EINVAL;
	}
	if (!u->mesh && !u->config_path && !ifname) {
		fprintf(stderr,
			"meshguard up: a configuration file (-c), an interface name (-i) or "
			"a --state DIR holding a mesh is needed\n");
		usage(stderr);
		return -EINVAL;
	}
	if (ifname ? !valid_ifname(ifname)
		   : !u->mesh && ifname_from_path(u->ifname, u->config_path) < 0) {
		fprintf(stderr,
			"meshguard up: \"%s\" is not a valid interface name (expected 1-15 of "
			"a-z A-Z 0-9 _ = + . -)\n",
			ifname ? ifname : u->config_path);
		return -EINVAL;
	}
	if (ifname)
		snprintf(u->ifname, IFNAMSIZ, "%s", ifname);
	else if (u->mesh && mg_mesh_ifname(u->state_dir ? u->state_dir : DEFAULT_STATE, u->ifname,
					   msg, sizeof(msg)) != MG_MESH_OK) {
		fprintf(stderr, "meshguard up: %s\n", msg);
		return -EIO;
	}
	return 0;
}

static int load_config(struct up *u)
{
	char err[512] = "";
	int ret = mg_wgquick_load(u->config_path, &u->config, err, sizeof(err));

	if (ret == 0)
		ret = mg_wgquick_resolve(u->config, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, "meshguard up: %s\n", err[0] ? err : strerror(-ret));
	return ret;
}

/* The kernel's side first (addresses, MTU, routes, full-tunnel rules), then
 * the keys and peers, as wg-quick does with `wg setconf`. */
static int configure(struct up *u)
{
	int ret = mg_node_configure_wgquick_interface(u->run.node, u->config);

	if (ret == 0)
		ret = mg_node_apply_wgquick(u->run.node, u->config);
	if (ret < 0)
		fprintf(stderr, "meshguard up: %s: cannot configure the interface: %s\n",
			u->config_path, strerror(-ret));
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
	c.listen_port = u->config ? mg_wgquick_listen_port(u->config) : 0;
	c.fwmark = u->config ? mg_wgquick_fwmark(u->config) : 0;
	c.uapi_socket = true;
	c.log_level = mg_cli_log_level();
	c.on_event = mg_cli_runner_on_event;
	c.user = &u->run;
	c.stun_servers = u->stun;
	c.stun_servers_len = u->stun_len;
	c.portmap = u->portmap;
	c.upnp_url = u->upnp_url;
	c.state_dir = u->state_dir;
	c.mesh = u->mesh;
	c.mesh_relay = u->relay;
	c.mesh_advertise = u->advertise;
	c.mesh_advertise_len = u->advertise_len;
	c.stun_responder_off = u->no_stun_responder;
	ret = mg_node_new(&u->run.loop, &c, &u->run.node);
	if (ret < 0 || !u->config)
		return ret;
	return configure(u);
}

/* The privileged process keeps no copy of the keys. */
static void forget_config(void *ctx)
{
	struct up *u = ctx;

	mg_wgquick_free(u->config);
	u->config = NULL;
}

/* From here on this process reads the network without privileges; the
 * privileged part stays behind in the caller's pid (meshguard.h). */
static int enter_sandbox(struct up *u)
{
	struct mg_sandbox_config c = MG_SANDBOX_CONFIG_INIT;
	char err[512] = "";
	int ret;

	if (u->no_sandbox) {
		mg_cli_log(MG_LOG_LEVEL_INFO, "no sandbox: everything runs privileged");
		return 0;
	}
	c.ifname = u->ifname;
	c.state_dir = u->state_dir ? u->state_dir : DEFAULT_STATE;
	c.mesh = u->mesh;
	c.wgquick = u->config;
	c.advertise = u->advertise;
	c.advertise_len = u->advertise_len;
	c.forget = forget_config;
	c.ctx = u;
	ret = mg_sandbox_enter(&c, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, "meshguard up: %s\n", err[0] ? err : strerror(-ret));
	return ret;
}

static void log_up(const struct up *u)
{
	struct mg_node_status st = MG_NODE_STATUS_INIT;
	static const uint8_t zero[MG_KEY_BYTES];
	char pub[MG_KEY_BASE64_CHARS + 1];

	mg_node_status(u->run.node, &st);
	mg_key_encode_base64(pub, st.public_key);
	mg_cli_log(MG_LOG_LEVEL_INFO,
		   "interface %s up: public key %s, listening on port %u, %u peer(s)", u->ifname,
		   memcmp(st.public_key, zero, sizeof(zero)) ? pub : "(none)", st.listen_port,
		   st.peers);
}

int mg_cmd_up(int argc, char **argv)
{
	struct up u = { 0 };
	int ret = parse_args(&u, argc, argv);

	if (ret)
		return ret > 0 ? 0 : ret == -EINVAL ? 1 : 4;
	mg_cli_log_init_from_env();
	if (u.config_path && load_config(&u) < 0)
		return 1;
	if (enter_sandbox(&u) < 0) {
		mg_wgquick_free(u.config);
		return 4;
	}
	ret = mg_cli_runner_init(&u.run);
	if (ret == 0)
		ret = bring_up(&u);
	/* Applied (or refused): the file's keys are wiped, not kept for the
	 * daemon's life. */
	mg_wgquick_free(u.config);
	u.config = NULL;
	if (ret == 0) {
		log_up(&u);
		ret = mg_cli_runner_run(&u.run);
	}
	mg_cli_runner_close(&u.run);
	if (u.run.closed)
		mg_cli_log(MG_LOG_LEVEL_INFO, "interface %s removed", u.ifname);
	/* A node that could not start: its port, interface or state is taken. */
	return ret == 0 ? 0 : 4;
}
