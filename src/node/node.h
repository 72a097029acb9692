/* The node behind include/meshguard.h: struct mg_node and what its files
 * (node.c: life cycle, configuration, I/O; node_iface.c: the kernel side of
 * the interface and its MTU) share. Nothing outside src/node includes it.
 *
 * Ownership: the node owns everything it opened (TUN fd, sockets, UAPI
 * socket, port mapping, netlink handles) and its copies of the caller's
 * strings; all of it is released after mg_node_close, in the last step of
 * the close (node_finish), once libuv has let go of every handle. */
#ifndef MG_NODE_NODE_H
#define MG_NODE_NODE_H

#include "meshguard.h"

#include "mesh/agent.h"
#include "nat/discovery.h"
#include "nat/stun_port.h"
#include "tunnel/broker.h"
#include "tunnel/engine.h"
#include "tunnel/netlink.h"
#include "tunnel/uapi_server.h"
#include "util/log.h"

#include <net/if.h>
#include <stdbool.h>

#define MG_NODE_DEFAULT_TABLE 51820
#define MG_NODE_MAX_RULES     4

/* What mg_node_configure_interface did to the kernel, to undo on close. */
struct mg_node_iface {
	bool applied; /* TUN: rules below; TUN_FD: apply_interface ran */
	struct mg_netlink_rule rules[MG_NODE_MAX_RULES];
	unsigned rule_count;
};

struct mg_node {
	uv_loop_t *loop;
	struct mg_node_config config; /* strings point into the node's copies */
	char ifname[IFNAMSIZ];
	char *upnp_url, *state_dir; /* copies; state_dir becomes the journal's */
	struct mg_log log;	    /* the node's own: given to every module it composes */

	struct mg_engine engine;
	struct mg_stun_port stun;
	struct mg_uapi_server uapi;
	struct mg_nat_discovery nat;
	struct mg_nat_discovery_config nat_config;
	bool discovery_wanted;

	int tun_fd;	  /* -1: none */
	bool tun_created; /* MG_PACKET_IO_TUN: the node made the device */
	unsigned ifindex; /* 0: unknown */

	/* Link notifications, to follow the TUN's MTU. */
	struct mg_netlink links;
	uv_poll_t links_poll;
	bool watching_links;

	struct mg_node_iface iface;
	struct mg_udp_endpoint public_endpoint;

	/* Closing: pending counts what must still report back (the port
	 * mapping's deletion); then drain runs a few loop iterations so that
	 * every handle closed without a callback has gone, before cb and the
	 * free. */
	mg_node_close_cb close_cb;
	uv_idle_t drain;
	unsigned drain_runs;
	unsigned pending;

	struct mg_agent *mesh; /* config.mesh: the mesh in state_dir */
	bool gateway_on;       /* node_gateway.c's nftables table is in place */
	/* A mesh node follows the host's address and route changes. */
	struct mg_netlink addr_events;
	uv_poll_t addr_poll;
	bool watching_addrs;

	bool engine_ready, stun_ready, uapi_ready, started, closing;
	bool stopped_reported;
};

/* Reports MG_EVENT_STOPPED once: the TUN or the UAPI socket went away. */
void mg_node_report_stopped(struct mg_node *n);

/* node_mesh.c: open loads the mesh (before the TUN: it may name it and
 * the port); start hands it the engine and configures the interface; close
 * releases what it holds (handles close with the loop); free after that. */
int mg_node_mesh_open(struct mg_node *n, const struct mg_node_config *c);
int mg_node_mesh_start(struct mg_node *n);
void mg_node_mesh_close(struct mg_node *n);
void mg_node_mesh_free(struct mg_node *n);

/* node_gateway.c: forwarding and the masquerade of an advertising member;
 * off undoes the masquerade (forwarding stays: the namespace's). */
int mg_node_gateway_on(struct mg_node *n, const struct mg_prefix *p, size_t count);
/* IPv4 and/or IPv6 forwarding of the namespace on (an exporter forwards
 * for its static members; a gateway into its LAN). */
int mg_node_forwarding_on(struct mg_node *n, bool v4, bool v6);
void mg_node_gateway_off(struct mg_node *n);
/* Writes 1 to a sysctl of the namespace: through the broker in a sandboxed
 * process, itself otherwise (the broker's privileged side, the library).
 * 0, -EINVAL for an unknown one, or -errno. */
int mg_node_sysctl_on(enum mg_broker_sysctl which);
/* The nftables table "meshguard_<ifname>" masquerading what leaves ifname's
 * traffic towards p[0..count) (count 0: the table goes): what the gateway
 * runs, itself or through the broker's privileged side. */
int mg_node_masquerade_apply(const char *ifname, const struct mg_prefix *p, size_t count,
			     const struct mg_log *log);

/* node_iface.c */
/* Subscribes to link changes of n->ifindex and reads its MTU now. */
int mg_node_watch_mtu(struct mg_node *n);
void mg_node_unwatch_mtu(struct mg_node *n);
/* Sets the link's MTU through rtnetlink. */
int mg_node_link_set_mtu(struct mg_node *n, uint32_t mtu);
/* Undoes mg_node_configure_interface. */
void mg_node_iface_undo(struct mg_node *n);

#endif
