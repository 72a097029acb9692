/* The path manager: how this node reaches each other member (issue 12).
 *
 * A member's path is one of
 *   none    nothing answers yet (or the last path died);
 *   direct  an endpoint of the member answered our signed probe (probe.h),
 *           and the member's WireGuard peer sends there;
 *   relay   traffic goes through another member (relay.h) as opaque
 *           WireGuard datagrams in a RELAY_DATA envelope.
 * The path manager alone sets the endpoint of a member's WireGuard peer:
 * WireGuard's roaming still follows authenticated packets that arrive
 * directly, but relayed ones never move it (mg_device_receive_relayed).
 *
 * Probing. For a member without a direct path, the candidates its last
 * PUNCH listed (below), the address its control messages came from and
 * every candidate it announced (interface addresses, the public endpoint
 * members saw, port mappings) get a probe, in that order and at most
 * MG_PATH_CANDIDATES_MAX of them (as many as the pending set tells
 * apart); the first
 * ACK to one of our own nonces (probe.h: signed by that member, fresh, at
 * most once) makes its candidate the direct path, and a handshake goes out
 * at once. A member is probed as soon as it is known (the agent runs the
 * tick at start, and mg_paths_kick right after gossip brought a member or
 * its candidates), then with a backoff from MG_PATH_RETRY_MIN_MS (100, 200,
 * 400 ms..., at the tick's granularity) up to MG_PATH_RETRY_MAX_MS, and
 * all over again at once on a network change (an
 * address or route of another interface changed: the node watches
 * rtnetlink; or the API's mg_node_network_changed). A
 * verified probe from a member without a direct path is answered and
 * probed back at its source: two NATs that map endpoint-independently open
 * for each other as both sides send (the first probes open our NAT, the
 * other side's get through it).
 *
 * Liveness. A direct path is probed every MG_PATH_CHECK_BUSY_MS while
 * traffic flows to the member (in the last MG_PATH_BUSY_MS) and every
 * MG_PATH_CHECK_IDLE_MS when idle; MG_PATH_DEAD_PROBES unanswered probes in
 * a row make it dead: the member moves to a relay (if any) at once, about
 * 1.2 s into a cut while traffic flows, and probing starts over.
 *
 * Coordinated punching (punch.h). Probes alone meet only once each side
 * knows the other's public endpoint, which announcements bring a gossip
 * round or two later. So with every probe round for a member, while a
 * relay confirmed us, the node also sends the member a signed PUNCH
 * through each of its relays, listing our reflexive endpoint (as the relay
 * saw our REGISTER) and what we announce: the member probes those at once
 * (and keeps them as candidates until the next PUNCH), and answers with a
 * PUNCH of its own when it sent none to us in the last
 * MG_PATH_PUNCH_BACK_MS, so that both sides probe each other within one
 * relay round trip. A PUNCH is acted on at most once per
 * MG_PATH_PUNCH_MIN_MS per member, and only when signed by that member
 * for us, fresh and later than the last one (a forged or replayed PUNCH
 * does nothing); it never selects a path itself, ACKs do.
 *
 * Relays. A node registers (signed RELAY_REGISTER) with the members it
 * reaches directly: at once when a direct path is new and no relay
 * confirmed us yet (then every tick until one does), else every
 * MG_PATH_REGISTER_MS; those that relay (started with --relay, or by
 * default not behind a NAT) confirm. A member without a direct path is
 * reached through a relay that confirmed us at once: traffic, the first
 * handshake included, never waits for probing to fail; a member whose
 * datagrams come to us relayed is answered the same way. Probing goes on
 * while relayed, and the first ACK moves the member to direct. Relayed
 * datagrams never move the WireGuard peer's endpoint (the path manager
 * sets it). Each move (to direct, to a relay) starts a handshake when no
 * session exists, and repeats it every MG_PATH_HS_RETRY_MS for
 * MG_PATH_HS_FAST_MS while none does: a first handshake lost while the
 * two sides' paths changed costs a second, not WireGuard's 5 s.
 *
 * Hard NAT: birthday rounds. Between a NAT that maps endpoint-
 * independently (EIM: one public port per local socket) and one that maps
 * endpoint-dependently (EDM: a new public port per local socket and
 * destination), both filtering by address and port, the probes above never
 * meet: the EDM side's datagrams to the EIM side leave from a port nobody
 * can learn, so the EIM side's NAT drops them, and the EIM side does not
 * know where to send. Measured on the lab (tests/integration/nat_lib.sh,
 * `masquerade fully-random` on kernel 6.18): the public port of each new
 * (local port, destination) flow is uniformly random in 1024-65535, with no
 * sequence to predict (see bench/hardnat.md), so the only way is the
 * birthday paradox, as in Tailscale's "hard NAT" write-ups:
 *   - the EDM side (B) opens MG_PATH_BDAY_SOCKS extra UDP sockets
 *     (tunnel/udp.h) and sends one PROBE from each to the other's public
 *     endpoint: its NAT then holds that many mappings open towards it;
 *   - the EIM side (A) sends MG_PATH_BDAY_SPRAY PROBEs from its WireGuard
 *     socket to random ports of B's public address: each opens A's NAT
 *     towards that port, and one that lands on a port of B's mappings
 *     reaches B, on the extra socket that owns it.
 * With N sockets and M ports out of 64512 a round succeeds with chance
 * about 1 - exp(-N*M/64512): 64 % for 256 and 256 (bench/hardnat.md has
 * what was measured). B answers the PROBE from the socket it came in on
 * (endpoints carry the socket: ipaddr.h local.sock) and probes back from it;
 * the first ACK makes the path direct on both sides, and B's WireGuard
 * peer keeps that socket (the data leaves from it: the NAT mapping is that
 * port's). The other extra sockets close at the end of the round; the
 * winner stays open while the path is direct on it.
 *
 * Who plays which part. The announcement carries no NAT kind, and the
 * probes cannot carry it either (none of them gets through before a round
 * wins); a node learns its own kind only when two STUN servers at
 * different addresses answered (agent.c), which a mesh with one public
 * member never has. So both sides play both parts: every node without a
 * direct path to a member after MG_PATH_BDAY_AFTER_MS, where the member
 * announced a public (not private-range) IPv4 endpoint, runs rounds that
 * both open sockets towards that endpoint and spray its address. For the
 * EIM/EDM pair the useless half costs one round's datagrams (512 probes of
 * 135 bytes) and no format change; EIM/EIM pairs never get here (with
 * punching they are direct within a relay round trip of knowing each
 * other, hence a wait of one second) and EDM/EDM pairs stay on the relay
 * (no round can win:
 * neither side has a fixed port to aim at), costing a round every
 * MG_PATH_RETRY_MAX_MS after the first MG_PATH_BDAY_ROUNDS_FAST.
 *
 * Bounds. One round at a time per node (for one member); a round lasts
 * MG_PATH_BDAY_ROUND_MS, opens at most MG_PATH_BDAY_SOCKS sockets
 * (MG_PATH_BDAY_BURST per tick) and sprays at most MG_PATH_BDAY_SPRAY
 * ports, spread over the round. All probes of a round carry one nonce and
 * one signature (signed once); which ACK may select a path is birthday.h's
 * (the pending-set rules of probe.h for one nonce and many probes); the
 * nonce selects at most once (the round ends). */
#ifndef MG_MESH_PATH_H
#define MG_MESH_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mesh/birthday.h"
#include "mesh/directory.h"
#include "mesh/probe.h"
#include "mesh/punch.h"
#include "mesh/relay.h"
#include "tunnel/engine.h"
#include "util/log.h"

#define MG_PATH_RETRY_MIN_MS	 100
#define MG_PATH_RETRY_MAX_MS	 30000
#define MG_PATH_CHECK_BUSY_MS	 400
#define MG_PATH_BUSY_MS		 2000 /* traffic this recent makes a path busy */
#define MG_PATH_CHECK_IDLE_MS	 25000
#define MG_PATH_DEAD_PROBES	 3
#define MG_PATH_REGISTER_MS	 25000
#define MG_PATH_PROBE_BACK_MS	 500   /* at most one probe-back per member this often */
#define MG_PATH_PUNCH_BACK_MS	 1000  /* a PUNCH answered unless we sent one this recently */
#define MG_PATH_PUNCH_MIN_MS	 100   /* at most one PUNCH acted on per member this often */
#define MG_PATH_HS_RETRY_MS	 1000  /* a new path without a session: a handshake this often */
#define MG_PATH_HS_FAST_MS	 10000 /* for this long after the path changed */
#define MG_PATH_RELAYS_MAX	 4
#define MG_PATH_CANDIDATES_MAX	 MG_PROBE_PENDING_MAX /* probed per round */
#define MG_PATH_BDAY_AFTER_MS	 1000		      /* no direct path this long: rounds */
#define MG_PATH_BDAY_ROUND_MS	 5000
#define MG_PATH_BDAY_SOCKS	 MG_BDAY_SOCKS_MAX
#define MG_PATH_BDAY_SPRAY	 MG_BDAY_PORTS_MAX
#define MG_PATH_BDAY_BURST	 64 /* sockets opened, or ports sprayed, per tick */
#define MG_PATH_BDAY_ROUNDS_FAST 24 /* back to back; then one per RETRY_MAX */

enum mg_path_state {
	MG_PATH_NONE = 0,
	MG_PATH_DIRECT,
	MG_PATH_RELAY,
};

struct mg_path {
	uint8_t key[MG_ED25519_PUB_LEN];
	uint8_t key_id[MG_MESH_KEY_ID_LEN];
	enum mg_path_state state;
	struct mg_endpoint seen; /* where its valid control messages came from */
	bool has_seen, greeted;
	struct mg_endpoint direct;	 /* state DIRECT */
	uint8_t via[MG_ED25519_PUB_LEN]; /* state RELAY: the relay */
	struct mg_probe_pending pending;
	uint64_t next_probe, backoff; /* ms, monotonic */
	uint64_t last_ack, last_probe_back;
	unsigned unanswered;  /* probes to the direct endpoint since the last ACK */
	uint64_t since;	      /* when we started to look for a path */
	uint64_t to_direct;   /* ms it took to get direct (0: not yet) */
	uint64_t last_tx;     /* the peer's tx_bytes at the last check */
	uint64_t last_tx_ms;  /* when they last grew */
	uint16_t sock;	      /* the extra socket (udp.h) the direct path keeps; 0: none */
	unsigned bday_rounds; /* birthday rounds since the last direct path */
	uint64_t next_bday;
	/* Candidates the member's last PUNCH listed (probed with the rest). */
	struct mg_endpoint hints[MG_PUNCH_CANDS_MAX];
	unsigned n_hints;
	uint64_t punch_time;		       /* its last accepted PUNCH's (wall ms) */
	uint64_t last_punch_rx, last_punch_tx; /* monotonic ms */
	uint64_t hs_until, last_hs;	       /* handshake retries after a path change */
};

/* The birthday round in progress (at most one). */
struct mg_path_bday {
	bool active;
	bool socks_done; /* no more (all open, or the host refused one) */
	unsigned round;	 /* the member's round number, from 1 */
	uint64_t started, spray_from;
	uint8_t probe[MG_PROBE_LEN]; /* signed once for the round */
	struct mg_bday_round r;	     /* the member, nonce, target, what was sent */
};

/* A relay that confirmed our registration. */
struct mg_path_relay {
	uint8_t key[MG_ED25519_PUB_LEN];
	uint64_t until; /* ms, monotonic */
};

struct mg_paths {
	struct mg_engine *engine;
	const struct mg_log *log;
	const uint8_t *sk, *pk; /* our member key (the agent's), borrowed */
	struct mg_path *v;
	size_t n, cap;
	struct mg_path_relay relays[MG_PATH_RELAYS_MAX];
	size_t n_relays;
	struct mg_relay_table relay; /* while relaying for others */
	bool relaying;
	uint64_t next_register;
	struct mg_path_bday bday;
	uint64_t bday_rounds, bday_wins; /* over the node's life, for bench/ */
	/* Whether an endpoint may be sent to (candidate.h: not into our own
	 * mesh interface); NULL: every one. Candidates it refuses are never
	 * probed, never a member's endpoint, never a direct path. */
	bool (*usable)(void *ctx, const struct mg_endpoint *ep);
	void *usable_ctx;
	/* What our PUNCHes list: our endpoint as a relay saw it, then what the
	 * agent announces. */
	struct mg_endpoint reflexive;
	struct mg_endpoint own[MG_DIR_ENDPOINTS_MAX];
	size_t n_own;
};

/* The group export-wg gives static members (stock WireGuard clients): they
 * speak no probes, so the path manager leaves them to WireGuard (their
 * endpoint follows their handshakes), and the other members reach them
 * through their exporter (agent.c). */
#define MG_PATH_STATIC_GROUP "static"
bool mg_paths_static(const struct mg_dir_member *m);

/* A directory endpoint as a socket address (no local part). */
void mg_dir_endpoint_to(struct mg_endpoint *ep, const struct mg_dir_endpoint *d);

int mg_paths_init(struct mg_paths *ps, struct mg_engine *e, const struct mg_log *log,
		  const uint8_t sk[MG_ED25519_SECRET_LEN], const uint8_t pk[MG_ED25519_PUB_LEN]);
void mg_paths_free(struct mg_paths *ps);
/* Turns relaying for others on or off. 0 or -ENOMEM. */
int mg_paths_set_relay(struct mg_paths *ps, bool on);
bool mg_paths_relaying(const struct mg_paths *ps);

/* The member's path (created on first use; NULL only out of memory). */
struct mg_path *mg_paths_get(struct mg_paths *ps, const uint8_t key[MG_ED25519_PUB_LEN]);
const struct mg_path *mg_paths_find(const struct mg_paths *ps,
				    const uint8_t key[MG_ED25519_PUB_LEN]);
void mg_paths_forget(struct mg_paths *ps, const uint8_t key[MG_ED25519_PUB_LEN]);

/* A valid control message of member m came from `from`. True when that is
 * news (the first, or a new address). */
bool mg_paths_seen(struct mg_paths *ps, const struct mg_dir_member *m,
		   const struct mg_endpoint *from);
/* Where to send control messages for m: its direct path, where it spoke
 * from, or its first candidate. False when none is known. */
bool mg_paths_endpoint(struct mg_paths *ps, const struct mg_dir_member *m, struct mg_endpoint *ep);

/* Probes, liveness, relays: call every few hundred ms. now: monotonic ms. */
void mg_paths_tick(struct mg_paths *ps, const struct mg_directory *d, uint64_t now);
/* Probe rounds (and PUNCHes, relays) now for the members without a direct
 * path whose round is due: call when a member or its candidates arrived,
 * not to wait for the tick. No birthday rounds (the tick's). */
void mg_paths_kick(struct mg_paths *ps, const struct mg_directory *d, uint64_t now);
/* A path message (types 0x20-0x2f) from `from`; dropped when invalid. buf
 * may be changed (a relayed datagram is decrypted in place). */
void mg_paths_input(struct mg_paths *ps, const struct mg_directory *d,
		    const struct mg_endpoint *from, uint8_t *buf, size_t len, uint64_t now);
/* The member announced new candidates: probe them at once. */
void mg_paths_candidates_changed(struct mg_paths *ps, const uint8_t key[MG_ED25519_PUB_LEN]);
/* The network changed: look for direct paths again at once. */
void mg_paths_network_changed(struct mg_paths *ps);
/* The endpoints we announce (the agent's), listed in our PUNCHes. */
void mg_paths_set_own(struct mg_paths *ps, const struct mg_dir_endpoint *eps, size_t n);

#endif
