/* The mesh commands: init, invite, join, status, members, revoke, leave,
 * export-wg, firewall. Each parses its arguments, makes one call of the library's
 * mesh API (meshguard.h), prints what it returns, and exits with its
 * result, which is the status scripts rely on:
 *   0 success, 1 usage, 2 token or membership refused, 3 a peer or the
 *   local node unreachable, 4 a state problem. */
#include "cli/commands.h"
#include "meshguard.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_STATE "/var/lib/meshguard"
#define MAX_ENDPOINTS 8
#define MAX_GROUPS    8
#define MAX_ROUTES    16
#define MSG_LEN	      1024
#define STATE_HELP \
	"  --state DIR           the mesh's state directory (default " DEFAULT_STATE ")\n"
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The options every command shares. */
struct mesh_cli {
	const char *cmd;
	const char *state;
	bool json;
};

/* What getopt returned that is common to all commands: 1 handled, 0 not
 * ours, -1 usage error (reported). */
static int common_option(struct mesh_cli *m, int c, void (*usage)(FILE *))
{
	switch (c) {
	case 'D':
		m->state = optarg;
		return 1;
	case 'h':
		usage(stdout);
		exit(MG_MESH_OK);
	case '?':
		usage(stderr);
		return -1;
	}
	return 0;
}

static int usage_error(const struct mesh_cli *m, void (*usage)(FILE *), const char *what,
		       const char *arg)
{
	fprintf(stderr, "meshguard %s: %s%s%s%s\n", m->cmd, what, arg ? " \"" : "", arg ? arg : "",
		arg ? "\"" : "");
	usage(stderr);
	return MG_MESH_USAGE;
}

/* Prints the library's line and passes its result on. */
static int report(const struct mesh_cli *m, enum mg_mesh_result r, const char *msg)
{
	if (msg[0])
		fprintf(stderr, "meshguard %s: %s\n", m->cmd, msg);
	return (int)r;
}

static int parse_unsigned(unsigned long *out, const char *s, unsigned long min, unsigned long max)
{
	char *end;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

static int parse_port(uint16_t *out, const char *s)
{
	unsigned long v;

	if (parse_unsigned(&v, s, 1, 65535) < 0)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* "90s", "30m", "24h", "7d": at most ten years. */
static int parse_duration(uint64_t *out, const char *s)
{
	static const struct {
		char unit;
		uint64_t seconds;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	char num[16];
	size_t n = strlen(s);
	unsigned long v;

	if (n < 2 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n - 1);
	num[n - 1] = '\0';
	if (parse_unsigned(&v, num, 1, 10UL * 366 * 86400) < 0)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (s[n - 1] == units[i].unit) {
			*out = v * units[i].seconds;
			return *out <= 10ULL * 366 * 86400 ? 0 : -EINVAL;
		}
	}
	return -EINVAL;
}

/* Splits "a,b,c" in place into at most max pointers. */
static int split_list(char *s, const char **out, size_t max, size_t *n)
{
	char *save = NULL;

	*n = 0;
	for (char *g = strtok_r(s, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
		if (*n == max)
			return -E2BIG;
		out[(*n)++] = g;
	}
	return *n ? 0 : -EINVAL;
}

/* ---- init ---- */

static void init_usage(FILE *f)
{
	fputs("Usage: meshguard init --name MESH [--prefix4 CIDR] [--prefix6 CIDR] [--node NAME]\n"
	      "                      [--listen-port N] [--endpoint HOST:PORT]... [--state DIR]\n"
	      "  Makes a new mesh, its authority key, and this host its first member.\n"
	      "  --name MESH           the mesh's name\n"
	      "  --prefix4 CIDR        overlay IPv4 prefix (default: a free /16 in 100.64.0.0/10)\n"
	      "  --prefix6 CIDR        overlay IPv6 prefix (default: a free /48 in fd00::/8)\n"
	      "  --node NAME           this member's name (default: the host name)\n"
	      "  --listen-port N       the WireGuard port (default 51820)\n"
	      "  --endpoint HOST:PORT  where joiners reach this host (repeatable); invitations\n"
	      "                        also carry the interface addresses\n" STATE_HELP,
	      f);
}

int mg_cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "prefix4", required_argument, NULL, '4' },
		{ "prefix6", required_argument, NULL, '6' },
		{ "node", required_argument, NULL, 'N' },
		{ "listen-port", required_argument, NULL, 'p' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "state", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct mesh_cli m = { .cmd = "init", .state = DEFAULT_STATE };
	struct mg_mesh_init_config c = MG_MESH_INIT_CONFIG_INIT;
	const char *endpoints[MAX_ENDPOINTS];
	char msg[MSG_LEN] = "";
	int o, r;

	optind = 1;
	c.endpoints = endpoints;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		r = common_option(&m, o, init_usage);
		if (r < 0)
			return MG_MESH_USAGE;
		if (r > 0)
			continue;
		switch (o) {
		case 'n':
			c.mesh_name = optarg;
			break;
		case '4':
			c.prefix4 = optarg;
			break;
		case '6':
			c.prefix6 = optarg;
			break;
		case 'N':
			c.node_name = optarg;
			break;
		case 'p':
			if (parse_port(&c.listen_port, optarg) < 0)
				return usage_error(&m, init_usage, "not a port (1-65535):", optarg);
			break;
		case 'e':
			if (c.endpoints_len == MAX_ENDPOINTS)
				return usage_error(&m, init_usage,
						   "too many --endpoint (at most 8)", NULL);
			endpoints[c.endpoints_len++] = optarg;
			break;
		}
	}
	if (optind != argc)
		return usage_error(&m, init_usage, "unexpected argument", argv[optind]);
	if (!c.mesh_name)
		return usage_error(&m, init_usage, "--name MESH is needed", NULL);
	r = mg_mesh_init(m.state, &c, msg, sizeof(msg));
	if (r == MG_MESH_OK)
		printf("%s\n", msg);
	return r == MG_MESH_OK ? 0 : report(&m, r, msg);
}

/* ---- invite ---- */

static void invite_usage(FILE *f)
{
	fputs("Usage: meshguard invite [--name NAME] [--expires 30m|24h|7d] [--uses N]\n"
	      "                        [--groups G,...] [--routes CIDR,...]\n"
	      "                        [--state DIR]\n"
	      "  Prints one invite token on stdout (default: single use, valid 24 h).\n"
	      "  --name NAME           the joiner's name, pinned\n"
	      "  --expires DURATION    a number and s, m, h or d\n"
	      "  --uses N              how many machines may join with it (1-65535)\n"
	      "  --groups G,...        the groups the members get (at most 8)\n"
	      "  --routes CIDR,...     subnet routes the member may advertise (up "
	      "--advertise)\n" STATE_HELP,
	      f);
}

int mg_cmd_invite(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "expires", required_argument, NULL, 'x' },
		{ "uses", required_argument, NULL, 'u' },
		{ "groups", required_argument, NULL, 'g' },
		{ "routes", required_argument, NULL, 'r' },
		{ "state", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct mesh_cli m = { .cmd = "invite", .state = DEFAULT_STATE };
	struct mg_mesh_invite_config c = MG_MESH_INVITE_CONFIG_INIT;
	const char *groups[MAX_GROUPS], *routes[MAX_ROUTES];
	char token[MG_MESH_TOKEN_MAX + 1], msg[MSG_LEN] = "";
	unsigned long v;
	int o, r;

	optind = 1;
	c.groups = groups;
	c.routes = routes;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		r = common_option(&m, o, invite_usage);
		if (r < 0)
			return MG_MESH_USAGE;
		if (r > 0)
			continue;
		switch (o) {
		case 'n':
			c.name = optarg;
			break;
		case 'x':
			if (parse_duration(&c.expires_s, optarg) < 0)
				return usage_error(&m, invite_usage,
						   "not a duration (30m, 24h, 7d):", optarg);
			break;
		case 'u':
			if (parse_unsigned(&v, optarg, 1, 65535) < 0)
				return usage_error(&m, invite_usage,
						   "not a count (1-65535):", optarg);
			c.uses = (uint32_t)v;
			break;
		case 'g':
			if (split_list(optarg, groups, MAX_GROUPS, &c.groups_len) < 0)
				return usage_error(
					&m, invite_usage,
					"--groups takes 1 to 8 names separated by commas", NULL);
			break;
		case 'r':
			if (split_list(optarg, routes, MAX_ROUTES, &c.routes_len) < 0)
				return usage_error(
					&m, invite_usage,
					"--routes takes 1 to 16 prefixes separated by commas",
					NULL);
			break;
		}
	}
	if (optind != argc)
		return usage_error(&m, invite_usage, "unexpected argument", argv[optind]);
	r = mg_mesh_invite(m.state, &c, token, msg, sizeof(msg));
	if (r != MG_MESH_OK)
		return report(&m, r, msg);
	if (msg[0])
		fprintf(stderr, "meshguard invite: %s\n", msg);
	printf("%s\n", token);
	mg_secret_wipe(token, sizeof(token));
	return 0;
}

/* ---- join ---- */

static void join_usage(FILE *f)
{
	fputs("Usage: meshguard join TOKEN|- [--name NAME] [--listen-port N] [--state DIR]\n"
	      "  Joins the mesh the token invites to; the inviter's node must be running.\n"
	      "  -                     read the token from stdin (keeps it out of ps and history)\n"
	      "  --name NAME           this member's name (default: the pinned one, else the\n"
	      "                        host name)\n"
	      "  --listen-port N       the WireGuard port (default 51820)\n" STATE_HELP,
	      f);
}

/* One line from stdin, white space trimmed. */
static int read_token(char *out, size_t cap)
{
	size_t n;

	if (!fgets(out, (int)cap, stdin))
		return -EIO;
	n = strlen(out);
	while (n && strchr(" \t\r\n", out[n - 1]))
		out[--n] = '\0';
	return n ? 0 : -EINVAL;
}

int mg_cmd_join(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "listen-port", required_argument, NULL, 'p' },
		{ "state", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct mesh_cli m = { .cmd = "join", .state = DEFAULT_STATE };
	struct mg_mesh_join_config c = MG_MESH_JOIN_CONFIG_INIT;
	char token[MG_MESH_TOKEN_MAX + 64], msg[MSG_LEN] = "";
	const char *arg;
	int o, r;

	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		r = common_option(&m, o, join_usage);
		if (r < 0)
			return MG_MESH_USAGE;
		if (r > 0)
			continue;
		if (o == 'n')
			c.name = optarg;
		else if (o == 'p' && parse_port(&c.listen_port, optarg) < 0)
			return usage_error(&m, join_usage, "not a port (1-65535):", optarg);
	}
	if (argc - optind != 1)
		return usage_error(&m, join_usage, "one TOKEN (or -) is needed", NULL);
	arg = argv[optind];
	if (!strcmp(arg, "-")) {
		if (read_token(token, sizeof(token)) < 0)
			return usage_error(&m, join_usage, "no token on stdin", NULL);
		arg = token;
	}
	r = mg_mesh_join(m.state, arg, &c, msg, sizeof(msg));
	mg_secret_wipe(token, sizeof(token));
	if (r == MG_MESH_OK)
		printf("%s\n", msg);
	return r == MG_MESH_OK ? 0 : report(&m, r, msg);
}

/* ---- status, members ---- */

static void status_usage(FILE *f)
{
	fputs("Usage: meshguard status [--json] [--state DIR]\n"
	      "  This node and one row per member, from the running node.\n"
	      "  --json                one JSON object (schema 1, see the README)\n" STATE_HELP,
	      f);
}

static void members_usage(FILE *f)
{
	fputs("Usage: meshguard members [--json] [--state DIR]\n"
	      "  The members the state directory knows (works offline).\n"
	      "  --json                one JSON object\n" STATE_HELP,
	      f);
}

typedef enum mg_mesh_result (*show_fn)(const char *dir, bool json, char **out, char *msg,
				       size_t msglen);

static int show(int argc, char **argv, const char *cmd, void (*usage)(FILE *), show_fn fn)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "state", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct mesh_cli m = { .cmd = cmd, .state = DEFAULT_STATE };
	char msg[MSG_LEN] = "", *out = NULL;
	int o, r;

	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		r = common_option(&m, o, usage);
		if (r < 0)
			return MG_MESH_USAGE;
		if (o == 'j')
			m.json = true;
	}
	if (optind != argc)
		return usage_error(&m, usage, "unexpected argument", argv[optind]);
	r = fn(m.state, m.json, &out, msg, sizeof(msg));
	if (r != MG_MESH_OK)
		return report(&m, r, msg);
	fputs(out, stdout);
	free(out);
	return 0;
}

int mg_cmd_status(int argc, char **argv)
{
	return show(argc, argv, "status", status_usage, mg_mesh_status);
}

int mg_cmd_members(int argc, char **argv)
{
	return show(argc, argv, "members", members_usage, mg_mesh_members);
}

/* ---- revoke, leave, export-wg ---- */

static void revoke_usage(FILE *f)
{
	fputs("Usage: meshguard revoke NAME [--state DIR]\n"
	      "  On the authority's host: revokes the member's key and certificate everywhere.\n"
	      "  It may come back only with a new invite.\n" STATE_HELP,
	      f);
}

static void leave_usage(FILE *f)
{
	fputs("Usage: meshguard leave [--state DIR]\n"
	      "  Tells the members this node leaves, and removes the membership from "
	      "DIR.\n" STATE_HELP,
	      f);
}

static void export_usage(FILE *f)
{
	fputs("Usage: meshguard export-wg NAME [--state DIR]\n"
	      "  Makes a static member NAME for a stock WireGuard client and prints its\n"
	      "  wg-quick file (with a new private key, stored nowhere else).\n" STATE_HELP,
	      f);
}

/* Parses [NAME] --state DIR for the commands that take nargs names. */
static int parse_simple(struct mesh_cli *m, int argc, char **argv, void (*usage)(FILE *), int nargs)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if (common_option(m, o, usage) < 0)
			return MG_MESH_USAGE;
	if (argc - optind != nargs)
		return usage_error(m, usage, nargs ? "one NAME is needed" : "unexpected argument",
				   nargs ? NULL : argv[optind]);
	return 0;
}

int mg_cmd_revoke(int argc, char **argv)
{
	struct mesh_cli m = { .cmd = "revoke", .state = DEFAULT_STATE };
	char msg[MSG_LEN] = "";
	int r = parse_simple(&m, argc, argv, revoke_usage, 1);

	if (r)
		return r;
	r = mg_mesh_revoke(m.state, argv[optind], msg, sizeof(msg));
	if (r == MG_MESH_OK)
		printf("%s\n", msg);
	return r == MG_MESH_OK ? 0 : report(&m, r, msg);
}

int mg_cmd_leave(int argc, char **argv)
{
	struct mesh_cli m = { .cmd = "leave", .state = DEFAULT_STATE };
	char msg[MSG_LEN] = "";
	int r = parse_simple(&m, argc, argv, leave_usage, 0);

	if (r)
		return r;
	r = mg_mesh_leave(m.state, msg, sizeof(msg));
	if (r == MG_MESH_OK)
		printf("%s\n", msg);
	return r == MG_MESH_OK ? 0 : report(&m, r, msg);
}

int mg_cmd_export_wg(int argc, char **argv)
{
	struct mesh_cli m = { .cmd = "export-wg", .state = DEFAULT_STATE };
	char msg[MSG_LEN] = "", *conf = NULL;
	int r = parse_simple(&m, argc, argv, export_usage, 1);

	if (r)
		return r;
	r = mg_mesh_export_wg(m.state, argv[optind], &conf, msg, sizeof(msg));
	if (r != MG_MESH_OK)
		return report(&m, r, msg);
	fputs(conf, stdout);
	mg_secret_wipe(conf, strlen(conf));
	free(conf);
	return 0;
}

/* ---- firewall ---- */

static void firewall_usage(FILE *f)
{
	fputs("Usage: meshguard firewall add [--group G] [--proto tcp|udp|icmp|any]\n"
	      "                              [--port N|LO-HI|any] [--state DIR]\n"
	      "       meshguard firewall del N [--state DIR]\n"
	      "       meshguard firewall list [--json] [--state DIR]\n"
	      "  This node's inbound rules on traffic from members, by the sender's\n"
	      "  certificate groups (omitted: any member), protocol and port. No rules:\n"
	      "  everything from members passes. With rules: only what a rule allows,\n"
	      "  replies to this node's own connections, and ping (unless a rule names\n"
	      "  icmp). list shows each rule's number and hit count.\n" STATE_HELP,
	      f);
}

static int firewall_add(struct mesh_cli *m, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "group", required_argument, NULL, 'g' },
		{ "proto", required_argument, NULL, 'P' },
		{ "port", required_argument, NULL, 'p' },
		{ "state", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct mg_mesh_firewall_rule rule = MG_MESH_FIREWALL_RULE_INIT;
	char msg[MSG_LEN] = "";
	int o, r;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if ((r = common_option(m, o, firewall_usage)) < 0)
			return MG_MESH_USAGE;
		if (o == 'g')
			rule.group = optarg;
		else if (o == 'P')
			rule.proto = optarg;
		else if (o == 'p')
			rule.port = optarg;
	}
	if (optind != argc)
		return usage_error(m, firewall_usage, "unexpected argument", argv[optind]);
	r = mg_mesh_firewall_add(m->state, &rule, msg, sizeof(msg));
	if (r == MG_MESH_OK)
		printf("%s\n", msg);
	return r == MG_MESH_OK ? 0 : report(m, r, msg);
}

static int firewall_del(struct mesh_cli *m, int argc, char **argv)
{
	char msg[MSG_LEN] = "";
	unsigned long n;
	int r = parse_simple(m, argc, argv, firewall_usage, 1);

	if (r)
		return r;
	if (parse_unsigned(&n, argv[optind], 1, 1000) < 0)
		return usage_error(m, firewall_usage, "expected a rule number, not", argv[optind]);
	r = mg_mesh_firewall_del(m->state, (unsigned)n, msg, sizeof(msg));
	if (r == MG_MESH_OK)
		printf("%s\n", msg);
	return r == MG_MESH_OK ? 0 : report(m, r, msg);
}

int mg_cmd_firewall(int argc, char **argv)
{
	struct mesh_cli m = { .cmd = "firewall", .state = DEFAULT_STATE };

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		firewall_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? MG_MESH_USAGE : 0;
	}
	if (!strcmp(argv[1], "list"))
		return show(argc - 1, argv + 1, "firewall list", firewall_usage,
			    mg_mesh_firewall_list);
	if (!strcmp(argv[1], "add")) {
		m.cmd = "firewall add";
		optind = 1;
		return firewall_add(&m, argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "del")) {
		m.cmd = "firewall del";
		return firewall_del(&m, argc - 1, argv + 1);
	}
	return usage_error(&m, firewall_usage, "expected add, del or list, not", argv[1]);
}
