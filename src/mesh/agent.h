/* The mesh at work inside a running node: it loads the state directory,
 * keeps one WireGuard peer per member, speaks the control messages on the
 * WireGuard port (join exchange as the inviter, gossip), and serves the
 * local control socket that the commands use while the node runs.
 *
 * What it owns, for the node's whole life:
 *   - DIR's lock (state.h): while a node runs, invite, revoke, export-wg and
 *     leave go through the control socket, never to the files;
 *   - the member directory (directory.h), loaded from DIR/directory, saved
 *     back (atomic write) whenever it changed, at most once a second;
 *   - the gossip engine (gossip.h) and the join server (join.h);
 *   - DIR/control.sock (0600 under umask 077).
 * It never loads the authority key: invitations made through the node are
 * signed with the issuer key, and revocations are signed by the command
 * (which reads authority.key itself) and handed over as items.
 *
 * Peers. Every live member but this node is a WireGuard peer, marked
 * managed (a `wg set` on it is refused): its WireGuard key, allowed IPs its
 * certificate's addresses, persistent keepalive MG_AGENT_KEEPALIVE, and as
 * endpoint the address its valid control messages last came from, else the
 * first candidate of its announcement. A member removed from the directory
 * (revoked, departed, expired) loses its peer at once, with its sessions.
 *
 * Announcements. The node announces its candidate endpoints (candidate.h:
 * the mesh's numeric --endpoint values, the endpoint its gateway maps for
 * it, the public endpoint members see, its interface addresses with the
 * listen port; never loopback, link-local, tunnel interfaces' or addresses
 * inside a prefix routed into the mesh) at start and when they change; the
 * sequence number is the wall clock in milliseconds, so it grows across
 * restarts without being stored. The same address rules keep the path
 * manager from sending to any other member's candidate that would enter
 * our own mesh interface.
 *
 * Control socket protocol (UAPI framing: a request ends with an empty
 * line; one request per connection):
 *   request   COMMAND "\n" (KEY "=" VALUE "\n")* "\n"
 *   reply     "result=" N "\n" "message=" LINE "\n" "\n" PAYLOAD
 * N is an enum mg_mesh_result. Commands:
 *   invite    name=, expires= (seconds), uses=, group= (repeated) ->
 *             the token
 *   publish   item= (hex of a directory item, e.g. a revocation signed by
 *             the authority) -> applied, saved and spread
 *   export    name= -> a wg-quick file for a new static member
 *   status    json=0|1 -> the status text or JSON (schema 1)
 *   leave     -> a signed departure is spread; the node then stops
 *   firewall  op=list json=0|1 -> the rules with their hits (firewall.h)
 *             op=add rule=TEXT (firewall.h's rule text) -> saved, applied
 *             op=del n=N (from 1, as listed) -> saved, applied
 *
 * Firewall (firewall.h). DIR/firewall is loaded with the rest (a file
 * that does not parse stops the node: it fails closed). While rules exist
 * the agent's filter is on the device: inbound packets are judged by the
 * groups of the certificate of the member whose peer sent them, outbound
 * ones feed the flow table. With no rules the device has no filter. A
 * change through the socket is saved first and applied only once saved;
 * the flow table starts empty when the first rule arrives, so a flow of
 * ours from before then is known again with its next outbound packet.
 *
 * Renewals. An issuer's node renews, by itself and once a minute at most,
 * the certificates it signed that have fewer than 30 days left (renew.h);
 * a node whose own certificate was renewed keeps the new one in DIR.
 *
 * Part 2 adds paths (direct, relay) per member behind the same peer
 * table; status reports "direct" for a member with a handshake in the last
 * MG_AGENT_DIRECT_AGE seconds, else "none". */
#ifndef MG_MESH_AGENT_H
#define MG_MESH_AGENT_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "mesh/directory.h"
#include "mesh/firewall.h"
#include "mesh/gossip.h"
#include "mesh/join.h"
#include "mesh/path.h"
#include "mesh/state.h"
#include "mesh/subnet.h"
#include "nat/stun_client.h"
#include "tunnel/engine.h"
#include "tunnel/ratelimiter.h"
#include "tunnel/uapi_server.h"
#include "util/json.h"
#include "util/log.h"

#define MG_AGENT_LOCK_WAIT_MS	2000 /* mg_agent_load waits this long for the lock */
#define MG_AGENT_CONTROL_SOCKET "control.sock"
#define MG_AGENT_KEEPALIVE	25  /* seconds, on every member's peer */
#define MG_AGENT_DIRECT_AGE	180 /* a handshake this recent: path "direct" */
#define MG_AGENT_TICK_MS	250
#define MG_AGENT_SAVE_MS	1000
#define MG_AGENT_STUN_MS	25000 /* our public endpoint, asked of members */
#define MG_AGENT_RENEW_MS	60000 /* an issuer looks for expiring certificates */
#define MG_AGENT_LEAVE_MS	3000  /* gossip rounds for a departure, then stop */
/* Control datagrams per source (ctl.h). WireGuard's 20/s with a burst of 5
 * dropped a member's first gossip answers: a member it just reached sends
 * a newcomer an ACK, a probe, gossip IDS, ITEMS and REQUEST, a REGISTERED
 * and more within a millisecond, and a lost ITEMS cost a gossip round. */
#define MG_AGENT_CTL_PER_SECOND 100
#define MG_AGENT_CTL_BURST	32

/* Whether this node relays for others (path.h): auto relays when the
 * members see us at one of our own addresses (no NAT). */
enum mg_agent_relay {
	MG_AGENT_RELAY_AUTO = 0,
	MG_AGENT_RELAY_ON,
	MG_AGENT_RELAY_OFF,
};

/* One STUN question to a member (every member answers STUN on its port). */
struct mg_agent_stun {
	struct mg_stun_transaction t;
	struct mg_agent *agent;
	bool busy;
	int status;
	struct mg_endpoint server, mapped;
};

struct mg_agent {
	uv_loop_t *loop;
	struct mg_engine *engine;
	const struct mg_log *log;
	struct mg_state state;
	struct mg_mesh_config config;
	struct mg_cert cert, issuer_cert;
	uint8_t member_sk[MG_ED25519_SECRET_LEN];
	uint8_t issuer_sk[MG_ED25519_SECRET_LEN];
	uint8_t wg_private[MG_KEY_LEN];
	bool is_issuer;

	struct mg_directory dir;
	struct mg_gossip gossip;
	struct mg_join_server join;
	struct mg_ratelimiter limiter;

	struct mg_firewall fw;		   /* inbound rules, flows (firewall.h) */
	struct mg_device_filter fw_filter; /* on the device while rules exist */

	struct mg_paths paths;	   /* how we reach each member */
	struct mg_subnets subnets; /* other members' LANs we route to */
	unsigned ifindex;	   /* our TUN's, for subnet routes; 0: none */
	/* The subnet routes we forward to (up --advertise): among our
	 * certificate's, checked by mg_agent_advertise. */
	struct mg_prefix advertised[MG_CERT_ROUTES_MAX];
	size_t n_advertised;
	enum mg_agent_relay relay_mode;

	uv_timer_t tick;
	struct mg_uapi_server control;
	uint64_t dirty_since; /* 0: the directory file is up to date */
	uint64_t last_save;
	struct mg_dir_endpoint announced[MG_DIR_ENDPOINTS_MAX];
	size_t announced_len;
	struct mg_endpoint public_endpoint;
	struct mg_endpoint mapped_endpoint; /* the gateway's port mapping; none: zero */
	/* Our public endpoint as two members see it: the same from both
	 * (endpoint-independent mapping) or not; public_nat is true when it is
	 * none of our own addresses. */
	struct mg_stun_client *stun;
	struct mg_agent_stun stun_q[2];
	uint64_t last_stun;
	bool public_known, public_nat, public_eim;
	uint64_t last_expire, last_announce_check, last_renew_check;
	uint64_t leave_at; /* after leaving: when to stop */
	/* The host's addresses or routes changed (wall ms; 0: no change
	 * waiting); handled at most once a second by the tick. */
	uint64_t net_changed, net_handled;
	/* While a gossip datagram is handled: its claimed sender and source,
	 * where replies to that sender go. */
	const struct mg_endpoint *replying_to;
	uint8_t replying_key[MG_ED25519_PUB_LEN];
	void (*stop)(void *ctx);    /* asks the node to stop (after leave) */
	void (*forward)(void *ctx); /* asks the node to forward (an exporter) */
	/* The external endpoint the gateway maps to our port (NAT-PMP, PCP,
	 * UPnP: the node's discovery), into out; false when there is none.
	 * Asked every tick; NULL: no port mapping. */
	bool (*mapped)(void *ctx, struct mg_endpoint *out);
	void *stop_ctx; /* the ctx of stop, forward and mapped */
	bool loaded, started, timer_open, control_open, gossip_open, join_open, paths_open;
	bool subnets_open;
	bool stopping, left;
	bool paths_kick; /* a member or its candidates came: run the paths' tick */
};

/* Opens and locks dir and loads the mesh (config, keys, certificate,
 * directory). -ENOENT (no mesh in dir), -EWOULDBLOCK (another node runs
 * it), or a state error; err says which, with the path. */
int mg_agent_load(struct mg_agent *a, const char *dir, const struct mg_log *log, char *err,
		  size_t errlen) __attribute__((warn_unused_result));
/* "mg-" and the mesh name, characters outside [a-z0-9-] as '-', cut to 15. */
void mg_agent_ifname(char out[IFNAMSIZ], const char *mesh_name);
/* The addresses (with host prefix lengths) and routes (the mesh prefixes)
 * the interface needs, as text, for mg_node_configure_interface. */
void mg_agent_interface(const struct mg_agent *a, char addrs[2][64], size_t *n_addrs,
			char routes[2][64], size_t *n_routes);
/* Takes over the engine's non-WireGuard datagrams (call before the STUN
 * port attaches, which passes on what is not STUN), sets the private key,
 * adds the members' peers, and starts the timer, gossip and the control
 * socket. 0 or -errno. */
int mg_agent_start(struct mg_agent *a, uv_loop_t *loop, struct mg_engine *e);
/* Sets the subnet routes this node forwards to (`up --advertise`): each
 * must be one of the routes our certificate carries. 0, or -EPERM with
 * the route named in err. */
int mg_agent_advertise(struct mg_agent *a, const char *const *routes, size_t n, char *err,
		       size_t errlen);
/* Learn our public endpoint from the members through this STUN client
 * (the node's, on the WireGuard port), every MG_AGENT_STUN_MS. */
void mg_agent_set_stun(struct mg_agent *a, struct mg_stun_client *stun);
/* The host's addresses or routes changed: paths, public endpoint and
 * announcement are looked at again (at most once a second). */
void mg_agent_network_changed(struct mg_agent *a);
/* Our public endpoint changed (discovery): announce it. */
void mg_agent_public_endpoint(struct mg_agent *a, const struct mg_endpoint *ep);
/* Spreads a signed departure, removes the membership from DIR, and asks
 * the node to stop (stop()) MG_AGENT_LEAVE_MS later. 0 or -errno (err). */
int mg_agent_leave(struct mg_agent *a, char *err, size_t errlen);
/* A member's "name", "addresses" and "public_key" (WireGuard's, base64)
 * into the JSON object o, as status and members print them. */
void mg_agent_json_cert(struct mg_json *j, cJSON *o, const struct mg_cert *c);
/* Saves what is unsaved, closes the handles (run the loop afterwards),
 * releases the lock, and wipes the keys. Safe to call twice. */
void mg_agent_close(struct mg_agent *a);

#endif
