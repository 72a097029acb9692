/* The meshguard subcommands: one function each, dispatched from main.c.
 * Each returns the process exit code. */
#ifndef MG_CLI_COMMANDS_H
#define MG_CLI_COMMANDS_H

int mg_cmd_genkey(int argc, char **argv);
int mg_cmd_genpsk(int argc, char **argv);
int mg_cmd_pubkey(int argc, char **argv);
/* meshguard up -c FILE [-i IFNAME]: runs the interface in the foreground. */
int mg_cmd_up(int argc, char **argv);
/* meshguard netcheck [--stun HOST:PORT]...: public endpoint, NAT, port mapping. */
int mg_cmd_netcheck(int argc, char **argv);

/* The wireguard-go drop-in (meshguard-wg [-f] IFNAME); argv[0] is the
 * program name. */
int mg_cmd_wireguard_go(int argc, char **argv);

#endif
