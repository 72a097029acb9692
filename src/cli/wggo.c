/* The wireguard-go drop-in: `meshguard-wg [-f|--foreground] IFNAME` (or
 * `meshguard wireguard-go ...`) behaves as wireguard-go does, so wg-quick's
 * WG_QUICK_USERSPACE_IMPLEMENTATION and every tool written for wireguard-go
 * work with meshguard:
 *  - it creates the TUN device (or adopts WG_TUN_FD) with MTU 1420 and serves
 *    /var/run/wireguard/IFNAME.sock (or adopts WG_UAPI_FD);
 *  - unless -f or WG_PROCESS_FOREGROUND=1, it returns once both exist and
 *    goes on in the background;
 *  - it exits on SIGINT/SIGTERM, or when the interface or its socket is
 *    removed. LOG_LEVEL chooses how much it logs. */
#include "cli/commands.h"
#include "cli/runner.h"
#include "cli/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct wggo_args {
	bool foreground;
	const char *ifname;
	int tun_fd, uapi_fd;
};

static void usage(FILE *f, const char *prog)
{
	fprintf(f, "Usage: %s [-f/--foreground] INTERFACE-NAME\n", prog);
}

/* A file descriptor number from the environment, or -1 when unset. */
static int env_fd(const char *name, int *out)
{
	const char *v = getenv(name);
	char *end;
	long n;

	*out = -1;
	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < 0 || n > INT_MAX) {
		fprintf(stderr, "meshguard: %s=\"%s\" is not a file descriptor number\n", name, v);
		return -EINVAL;
	}
	*out = (int)n;
	return 0;
}

static int parse(struct wggo_args *a, int argc, char **argv)
{
	const char *fg = getenv("WG_PROCESS_FOREGROUND");

	a->foreground = fg && !strcmp(fg, "1");
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout, argv[0]);
		return 1;
	}
	if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-v"))) {
		puts("meshguard wireguard-go compatible daemon v0.1.0");
		return 1;
	}
	if (argc == 3 && (!strcmp(argv[1], "-f") || !strcmp(argv[1], "--foreground"))) {
		a->foreground = true;
		a->ifname = argv[2];
	} else if (argc == 2 && argv[1][0] != '-') {
		a->ifname = argv[1];
	} else {
		usage(stderr, argv[0]);
		return -EINVAL;
	}
	if (strlen(a->ifname) >= IFNAMSIZ || strchr(a->ifname, '/')) {
		fprintf(stderr, "meshguard: \"%s\" is not a valid interface name\n", a->ifname);
		return -EINVAL;
	}
	if (env_fd("WG_TUN_FD", &a->tun_fd) < 0 || env_fd("WG_UAPI_FD", &a->uapi_fd) < 0)
		return -EINVAL;
	return 0;
}

/* A TUN fd from the parent (WG_TUN_FD) or a device of our own, with MTU
 * 1420 as wireguard-go sets on the devices it creates. */
static int open_node(struct mg_cli_runner *r, const struct wggo_args *a)
{
	struct mg_node_config c = MG_NODE_CONFIG_INIT;
	struct mg_node_status st = MG_NODE_STATUS_INIT;
	int ret;

	c.ifname = a->ifname;
	c.packet_io = a->tun_fd >= 0 ? MG_PACKET_IO_TUN_FD : MG_PACKET_IO_TUN;
	c.tun_fd = a->tun_fd;
	c.udp_io = MG_UDP_IO_SOCKETS;
	c.uapi_socket = a->uapi_fd < 0;
	c.uapi_fd = a->uapi_fd;
	c.log_level = mg_cli_log_level();
	c.on_event = mg_cli_runner_on_event;
	c.user = r;
	ret = mg_cli_runner_init(r);
	if (ret == 0)
		ret = mg_node_new(&r->loop, &c, &r->node);
	if (ret == 0 && mg_node_status(r->node, &st) == 0)
		mg_cli_log(MG_LOG_LEVEL_INFO, "interface %s ready, UAPI listener started",
			   st.ifname);
	return ret;
}

/* The parent returns once the child has the interface and its socket (or
 * failed to get them), with the child's verdict as its exit status. */
static int background(void)
{
	int fds[2];
	char status = 1;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(fds[0]);
	setsid();
	return fds[1];
}

static void report(int fd, char status)
{
	if (fd < 0)
		return;
	if (write(fd, &status, 1) != 1)
		mg_cli_log(MG_LOG_LEVEL_ERROR, "cannot tell the parent process that we started");
	close(fd);
}

/* As `meshguard up` (meshguard.h: mg_sandbox_enter); wireguard-go's
 * command line has no room for a flag, so valgrind and sanitizer runs say
 * MESHGUARD_NO_SANDBOX=1 in the environment, as WG_PROCESS_FOREGROUND. */
static int enter_sandbox(const struct wggo_args *a)
{
	struct mg_sandbox_config c = MG_SANDBOX_CONFIG_INIT;
	const char *off = getenv("MESHGUARD_NO_SANDBOX");
	char err[512] = "";
	int ret;

	if (off && !strcmp(off, "1"))
		return 0;
	c.ifname = a->ifname;
	ret = mg_sandbox_enter(&c, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, "meshguard: %s\n", err[0] ? err : strerror(-ret));
	return ret;
}

static void detach_stdin(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		close(null);
	}
}

int mg_cmd_wireguard_go(int argc, char **argv)
{
	struct wggo_args a;
	struct mg_cli_runner r;
	int ready = -1, ret = parse(&a, argc, argv);

	if (ret)
		return ret > 0 ? 0 : 1;
	mg_cli_log_init_from_env();
	if (!a.foreground) {
		ready = background();
		if (ready < 0) {
			fprintf(stderr, "meshguard: cannot go to the background: %s\n",
				strerror(-ready));
			return 1;
		}
		detach_stdin();
	}
	if (enter_sandbox(&a) < 0) {
		report(ready, 1);
		return 1;
	}
	ret = open_node(&r, &a);
	report(ready, ret == 0 ? 0 : 1);
	if (ret == 0)
		ret = mg_cli_runner_run(&r);
	mg_cli_runner_close(&r);
	if (ret < 0)
		return 1;
	mg_cli_log(MG_LOG_LEVEL_INFO, "shut down");
	return 0;
}
