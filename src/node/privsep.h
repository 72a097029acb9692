/* Privilege separation: the privileged side of the broker (tunnel/broker.h)
 * and the split itself (mg_sandbox_enter in include/meshguard.h).
 *
 * Processes. `meshguard up` calls mg_sandbox_enter before it creates its
 * loop. The caller's process becomes the privileged one (the monitor, as
 * OpenSSH calls it): it forks the worker, which drops to the `meshguard`
 * user and enters the sandbox, then answers the worker's requests until
 * the channel closes. The monitor reads only the channel and local files
 * (the mesh's configuration, for its prefixes and authority key); nothing
 * from the network reaches it but what the worker puts in a request.
 *
 * Policy (mg_privsep_handle, one request at a time):
 *   TUN_OPEN      once, for the configured interface name;
 *   UDP_SOCKET    AF_INET or AF_INET6, at most MG_PRIVSEP_SOCKETS_BURST in
 *                 any MG_PRIVSEP_SOCKETS_WINDOW_MS (the hard-NAT rounds'
 *                 pool of probe sockets is 256 per 5 s round);
 *   UDP_MARK      an fd that is a UDP socket;
 *   UAPI_LISTEN   once, for our interface, after TUN_OPEN;
 *   LINK_*        our interface only; MTU in MG_MTU_MIN..MG_MTU_MAX;
 *   ADDR_*        our interface; the address inside an allowed prefix;
 *   ROUTE_ADD     our interface, the main table or ours; the destination
 *                 inside an allowed prefix, or inside a route of a member
 *                 certificate that verifies against the mesh's authority
 *                 (the proof); ROUTE_DEL: our interface and table;
 *   RULE_*        the two wg-quick rule kinds, with our table;
 *   SYSCTL        the three named ones;
 *   MASQUERADE    our interface; every prefix one of the advertised.
 * Anything else is refused with -EPERM (-EINVAL when malformed) and logged.
 * Undone at the end: the rules added, the masquerade table, the UAPI socket
 * file (when it is still ours). */
#ifndef MG_NODE_PRIVSEP_H
#define MG_NODE_PRIVSEP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mesh/mesh.h"
#include "tunnel/broker.h"

#define MG_PRIVSEP_RULES_MAX	     8
#define MG_PRIVSEP_SOCKETS_BURST     600
#define MG_PRIVSEP_SOCKETS_WINDOW_MS 5000

struct mg_privsep {
	char ifname[IFNAMSIZ];
	unsigned ifindex; /* 0 until TUN_OPEN */
	bool tun_opened, uapi_opened, masquerade_on;
	char uapi_path[MG_BROKER_NAME_MAX];
	dev_t uapi_dev;
	ino_t uapi_ino;
	uint32_t table;
	/* The UAPI socket file becomes the worker's (it watches the file, and
	 * inotify needs read access); root and that user may connect. */
	bool chown_uapi;
	uid_t uapi_uid;
	gid_t uapi_gid;
	struct mg_prefix *allowed; /* n_allowed, malloc'd (a file's every AllowedIPs) */
	size_t n_allowed;
	struct mg_prefix advertise[MG_BROKER_PREFIXES_MAX];
	size_t n_advertise;
	bool mesh; /* authority and mesh_id below are set */
	uint8_t authority[MG_ED25519_PUB_LEN];
	uint8_t mesh_id[MG_MESH_ID_LEN];
	struct mg_netlink_rule rules[MG_PRIVSEP_RULES_MAX];
	size_t n_rules;
	uint64_t sockets_window_start; /* ms, monotonic */
	unsigned sockets_in_window;
	uint64_t (*now_ms)(void); /* monotonic; tests replace it */
};

/* Checks req and, when allowed, carries it out: fills rep and *fd_out (an
 * fd to send, or -1); fd_in is an fd that came with the request (or -1;
 * not closed here). Never trusts a field of req. */
void mg_privsep_handle(struct mg_privsep *ps, const struct mg_broker_req *req, int fd_in,
		       struct mg_broker_rep *rep, int *fd_out);

/* Serves the channel sock until it closes: the monitor's loop. */
void mg_privsep_serve(struct mg_privsep *ps, int sock);

/* Undoes what the worker had done through us (see above). */
void mg_privsep_cleanup(struct mg_privsep *ps);

/* True when p lies inside outer (outer's cidr at most p's, same bits). */
bool mg_privsep_prefix_inside(const struct mg_prefix *p, const struct mg_prefix *outer);

#endif
