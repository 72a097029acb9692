/* A running interface: the TUN device, the engine that drives it, the UAPI
 * socket `wg` talks to, and the signals that stop it. `meshguard up` and the
 * wireguard-go drop-in both run one.
 *
 * It stops on SIGINT or SIGTERM, when the TUN device is deleted, or when its
 * UAPI socket is deleted, as wireguard-go does. While it runs, the device's
 * MTU is the TUN's, whoever sets it. */
#ifndef MG_CLI_DAEMON_H
#define MG_CLI_DAEMON_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "nat/discovery.h"
#include "nat/stun_port.h"
#include "tunnel/engine.h"
#include "tunnel/netlink.h"
#include "tunnel/uapi_server.h"

struct mg_daemon_options {
	const char *ifname;
	int tun_fd;  /* an fd to adopt (WG_TUN_FD), or -1 to create the device */
	int uapi_fd; /* a listening socket to adopt (WG_UAPI_FD), or -1 */
	uint16_t port;
	uint32_t fwmark;
};

struct mg_daemon {
	char ifname[IFNAMSIZ];
	uv_loop_t loop;
	struct mg_engine engine;
	struct mg_uapi_server uapi;
	/* STUN on the WireGuard port: every node answers Binding requests. */
	struct mg_stun_port stun;
	/* Public endpoint and port mapping, for `up` (not the drop-in). */
	struct mg_nat_discovery nat;
	uv_signal_t sigint, sigterm;
	/* Link notifications, to follow the TUN's MTU: the device pads up to
	 * it, and wg-quick or ip(8) change it while we run. */
	struct mg_netlink links;
	uv_poll_t links_poll;
	unsigned int ifindex;
	int tun_fd;
	bool engine_ready, uapi_ready, loop_ready, stopping;
};

/* Opens or adopts the TUN device, sets up the engine and serves the UAPI
 * socket. Prints what failed and why. On failure everything is undone. */
int mg_daemon_open(struct mg_daemon *d, const struct mg_daemon_options *o);
/* Starts learning the public side (STUN, port mapping) once open. */
int mg_daemon_start_discovery(struct mg_daemon *d, const struct mg_nat_discovery_config *c);
/* Runs until stopped. */
int mg_daemon_run(struct mg_daemon *d);
void mg_daemon_stop(struct mg_daemon *d);
/* Frees everything and removes the device if we created it. */
void mg_daemon_close(struct mg_daemon *d);

#endif
