/* Runs one node on a loop of the command line's own until SIGINT or
 * SIGTERM, or until the node reports that its TUN device or UAPI socket
 * went away, then closes it. `meshguard up` and the wireguard-go drop-in
 * both use it; signals are the program's business, never the library's. */
#ifndef MG_CLI_RUNNER_H
#define MG_CLI_RUNNER_H

#include "meshguard.h"

struct mg_cli_runner {
	uv_loop_t loop;
	struct mg_node *node;
	uv_signal_t sigint, sigterm;
	bool loop_ready, closed;
};

/* Initialises the loop and ignores SIGPIPE for the process. 0 or -errno. */
int mg_cli_runner_init(struct mg_cli_runner *r);
/* For struct mg_node_config.on_event, with user the runner. */
void mg_cli_runner_on_event(void *user, const struct mg_event *e);
/* Starts r->node and runs until it has closed. 0, or the start's -errno
 * (the node is closed either way). */
int mg_cli_runner_run(struct mg_cli_runner *r);
/* Closes r->node (if any), waits for it, and closes the loop. */
void mg_cli_runner_close(struct mg_cli_runner *r);

#endif
