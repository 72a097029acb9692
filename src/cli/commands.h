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

/* The mesh (mesh.c); each returns 0, 1 usage, 2 refused, 3 unreachable, or
 * 4 a state problem. */
int mg_cmd_init(int argc, char **argv);
int mg_cmd_invite(int argc, char **argv);
int mg_cmd_join(int argc, char **argv);
int mg_cmd_status(int argc, char **argv);
int mg_cmd_members(int argc, char **argv);
int mg_cmd_revoke(int argc, char **argv);
int mg_cmd_leave(int argc, char **argv);
int mg_cmd_export_wg(int argc, char **argv);
/* meshguard firewall add|del|list: the inbound rules by group (mesh.c). */
int mg_cmd_firewall(int argc, char **argv);

/* The wireguard-go drop-in (meshguard-wg [-f] IFNAME); argv[0] is the
 * program name. */
int mg_cmd_wireguard_go(int argc, char **argv);

#endif
