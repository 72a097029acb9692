/* The meshguard command: a table of subcommands, each in its own file and
 * declared in commands.h, in the manner of wg(8). */
#include "cli/commands.h"
#include "meshguard.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define EXIT_USAGE    1 /* as every command: see mesh.c for the statuses */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "init", mg_cmd_init, "Makes a new mesh with this host as its first member" },
	{ "invite", mg_cmd_invite, "Prints an invite token that lets one machine join the mesh" },
	{ "join", mg_cmd_join, "Joins a mesh with an invite token" },
	{ "up", mg_cmd_up,
	  "Runs the mesh (or an interface from a wg-quick file) in the foreground" },
	{ "status", mg_cmd_status, "Shows this node and its path to every member" },
	{ "members", mg_cmd_members, "Lists the members the state directory knows" },
	{ "revoke", mg_cmd_revoke, "Revokes a member everywhere (on the authority's host)" },
	{ "leave", mg_cmd_leave, "Leaves the mesh" },
	{ "export-wg", mg_cmd_export_wg,
	  "Makes a static member for a stock WireGuard client, as a wg-quick file" },
	{ "firewall", mg_cmd_firewall,
	  "Lists, adds or deletes this node's inbound rules by group (add|del|list)" },
	{ "wireguard-go", mg_cmd_wireguard_go,
	  "Runs as a drop-in for wireguard-go: [-f|--foreground] INTERFACE-NAME" },
	{ "netcheck", mg_cmd_netcheck,
	  "Reports the public endpoint, the NAT's behaviour and the gateway's port mapping" },
	{ "genkey", mg_cmd_genkey, "Generates a new private key and writes it to stdout" },
	{ "genpsk", mg_cmd_genpsk, "Generates a new preshared key and writes it to stdout" },
	{ "pubkey", mg_cmd_pubkey,
	  "Reads a private key from stdin and writes a public key to stdout" },
};

static void usage(FILE *f)
{
	fputs("Usage: meshguard <cmd> [<args>]\n\nAvailable subcommands:\n", f);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %s: %s\n", commands[i].name, commands[i].summary);
	fputs("You may pass `--help' to any of these subcommands to view usage.\n"
	      "Other options: --help, --version\n",
	      f);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

static bool is_any(const char *arg, const char *a, const char *b, const char *c)
{
	return !strcmp(arg, a) || !strcmp(arg, b) || !strcmp(arg, c);
}

/* Installed as a link named meshguard-wg, the binary is the wireguard-go
 * drop-in, so WG_QUICK_USERSPACE_IMPLEMENTATION=meshguard-wg works. */
static bool called_as_wireguard_go(const char *argv0)
{
	const char *base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	return !strcmp(base, "meshguard-wg");
}

static int init_library(void)
{
	int err = mg_library_init();

	if (err < 0)
		fprintf(stderr, "meshguard: cannot initialise libsodium and libgcrypt: %s\n",
			strerror(-err));
	return err;
}

int main(int argc, char **argv)
{
	const struct command *cmd;

	if (argc > 0 && called_as_wireguard_go(argv[0])) {
		if (init_library() < 0)
			return 1;
		return mg_cmd_wireguard_go(argc, argv);
	}

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (is_any(argv[1], "help", "--help", "-h")) {
		usage(stdout);
		return 0;
	}
	if (is_any(argv[1], "version", "--version", "-v")) {
		printf("meshguard v%s\n", mg_version_string());
		return 0;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "meshguard: unknown command \"%s\"\n\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (init_library() < 0)
		return 1;
	/* Like wg(8), a subcommand sees its own name as argv[0]. */
	return cmd->run(argc - 1, argv + 1);
}
