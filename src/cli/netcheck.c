/* meshguard netcheck: what the network looks like from here, before joining
 * anything. The check and its report are the library's (mg_netcheck_* in
 * meshguard.h); this file reads the arguments, runs the check on a loop of
 * its own and prints the report.
 *
 * There is no built-in list of public servers: a check without --stun says
 * the public endpoint is unknown. */
#include "cli/commands.h"
#include "cli/log.h"
#include "meshguard.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define TIMEOUT_MIN_MS 100
#define TIMEOUT_MAX_MS 600000
/* After the report, how long closing may wait for work the check gave up on
 * (a name lookup that never returned): then the process leaves it. */
#define DRAIN_MS 200

struct netcheck_cli {
	struct mg_netcheck_config config;
	const char **servers; /* argc entries at most */
	bool json;
	uv_loop_t *loop;
};

static void usage(FILE *f)
{
	fputs("Usage: meshguard netcheck [--stun HOST:PORT]... [--port N] [--timeout MS] [--json]\n"
	      "                          [--upnp-url URL] [--state DIR]\n"
	      "  --stun HOST:PORT  a STUN server to ask (repeat it: two servers at different\n"
	      "                    addresses are needed to tell the NAT's mapping behaviour)\n"
	      "  --port N          the listen port to probe from if it is free (default 51820;\n"
	      "                    0: an ephemeral port)\n"
	      "  --timeout MS      how long the whole check may take (default 5000)\n"
	      "  --json            one JSON object on stdout, for scripts\n"
	      "  --upnp-url URL    UPnP IGD root description, instead of SSDP discovery\n"
	      "  --state DIR       state directory (default /var/lib/meshguard)\n",
	      f);
}

static int parse_number(unsigned long *out, const char *s, unsigned long min, unsigned long max)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

static int parse_option(struct netcheck_cli *cli, int c, const char *arg)
{
	unsigned long v;

	switch (c) {
	case 's':
		cli->servers[cli->config.stun_servers_len++] = arg;
		return 0;
	case 'p':
		if (parse_number(&v, arg, 0, 65535) < 0) {
			fprintf(stderr,
				"meshguard netcheck: --port \"%s\" is not a port (expected "
				"0-65535)\n",
				arg);
			return -EINVAL;
		}
		cli->config.listen_port = (uint16_t)v;
		return 0;
	case 't':
		if (parse_number(&v, arg, TIMEOUT_MIN_MS, TIMEOUT_MAX_MS) < 0) {
			fprintf(stderr,
				"meshguard netcheck: --timeout \"%s\" is not a time (expected "
				"%d-%d milliseconds)\n",
				arg, TIMEOUT_MIN_MS, TIMEOUT_MAX_MS);
			return -EINVAL;
		}
		cli->config.timeout_ms = (uint32_t)v;
		return 0;
	case 'j':
		cli->json = true;
		return 0;
	case 'u':
		cli->config.upnp_url = arg;
		return 0;
	case 'd':
		/* Accepted as before: the check deletes every mapping it makes
		 * before it reports, so it journals none. */
		return 0;
	}
	return -EINVAL;
}

/* 1: --help was shown; 0: go on; -EINVAL: bad usage (already reported). */
static int parse_args(struct netcheck_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stun", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "upnp-url", required_argument, NULL, 'u' },
		{ "state", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c == '?' || parse_option(cli, c, optarg) < 0) {
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "meshguard netcheck: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* What the check has to say (a bad --stun, a socket it cannot open). */
static void on_log(void *user, enum mg_log_level level, const char *line)
{
	(void)user;
	(void)level;
	fprintf(stderr, "meshguard netcheck: %s\n", line);
}

static void on_done(struct mg_netcheck *nc, void *user)
{
	struct netcheck_cli *cli = user;

	(void)nc;
	uv_stop(cli->loop);
}

static int print_report(const struct mg_netcheck *nc, bool json)
{
	char *report = json ? mg_netcheck_report_json(nc) : mg_netcheck_report_text(nc);
	int ret = 0;

	if (!report || (json ? puts(report) == EOF : fputs(report, stdout) == EOF) ||
	    fflush(stdout) == EOF) {
		fprintf(stderr, "meshguard netcheck: cannot write the report: %s\n",
			report ? strerror(errno) : strerror(ENOMEM));
		ret = -EIO;
	}
	free(report);
	return ret;
}

static void on_drained(uv_timer_t *t)
{
	uv_stop(t->loop);
}

/* Lets the loop run the check's close callbacks, but not wait long for
 * work it gave up on: the drain timer does not keep the loop alive. The
 * loop is freed only when nothing uses it any more, else left to the exit
 * (a lookup thread still posts to it). */
static void close_loop(uv_loop_t *loop)
{
	uv_timer_t drain;

	if (uv_timer_init(loop, &drain) == 0) {
		uv_timer_start(&drain, on_drained, DRAIN_MS, 0);
		uv_unref((uv_handle_t *)&drain);
		uv_run(loop, UV_RUN_DEFAULT);
		uv_close((uv_handle_t *)&drain, NULL);
		uv_run(loop, UV_RUN_NOWAIT);
	}
	if (uv_loop_close(loop) == 0)
		free(loop);
}

static int run(struct netcheck_cli *cli)
{
	struct mg_netcheck *nc;
	int ret;

	cli->config.stun_servers = cli->servers;
	cli->config.portmap = "auto";
	cli->config.on_log = on_log;
	cli->config.user = cli;
	mg_cli_log_init_from_env();
	cli->config.log_level = mg_cli_log_level();
	ret = mg_netcheck_start(cli->loop, &cli->config, on_done, &nc);
	if (ret == -EINVAL)
		usage(stderr);
	if (ret < 0)
		return ret;
	uv_run(cli->loop, UV_RUN_DEFAULT);
	ret = print_report(nc, cli->json);
	mg_netcheck_close(nc);
	return ret;
}

int mg_cmd_netcheck(int argc, char **argv)
{
	struct netcheck_cli cli = { .config = MG_NETCHECK_CONFIG_INIT };
	int ret;

	cli.servers = calloc((size_t)argc + 1, sizeof(*cli.servers));
	cli.loop = malloc(sizeof(*cli.loop));
	if (!cli.servers || !cli.loop || uv_loop_init(cli.loop) < 0) {
		fputs("meshguard netcheck: out of memory\n", stderr);
		free(cli.servers);
		free(cli.loop);
		return 1;
	}
	ret = parse_args(&cli, argc, argv);
	if (ret == 0)
		ret = run(&cli);
	close_loop(cli.loop);
	free(cli.servers);
	if (ret > 0)
		return 0;
	return ret == -EINVAL ? 1 : ret < 0 ? 4 : 0;
}
