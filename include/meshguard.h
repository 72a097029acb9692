/* meshguard: a WireGuard-compatible node as a C library.
 *
 * This is the only header a program outside meshguard's sources includes;
 * the `meshguard` command line is such a program. Link with
 * `pkg-config --cflags --libs meshguard`.
 *
 * A node is one WireGuard interface: a private key, peers with their allowed
 * IPs, and the I/O that carries its packets. It runs on the caller's libuv
 * loop and owns nothing global: two nodes in one process, on one loop or on
 * two, work side by side, each with its own log level, clock, rate limiters
 * and counters.
 *
 * Packet I/O (the inner side), chosen per node:
 *  - MG_PACKET_IO_TUN: the library creates a TUN device (needs
 *    CAP_NET_ADMIN), with its offloads (TSO/USO, GRO), follows its MTU, and
 *    configures it with mg_node_configure_interface through rtnetlink.
 *  - MG_PACKET_IO_TUN_FD: the caller hands over a TUN fd opened elsewhere
 *    (by a privileged helper); mg_node_configure_interface then asks the
 *    caller's apply_interface callback to do the kernel side. The MTU is the
 *    caller's to report (mg_node_set_mtu); offloads are used when the fd was
 *    opened with a virtio-net header.
 *  - MG_PACKET_IO_CALLER: no TUN at all. The caller hands IP packets in
 *    with mg_node_send_packets (each with MG_PACKET_HEADROOM writable bytes
 *    before it and MG_PACKET_TAILROOM after) and gets decrypted packets
 *    through on_packet. MTU and network changes are calls.
 * UDP I/O (the outer side):
 *  - MG_UDP_IO_SOCKETS: the library's own sockets (IPv4 and IPv6 on one
 *    port), batched, with UDP GSO/GRO, sticky source addresses, STUN
 *    answered on the same port, and public-endpoint discovery (STUN
 *    servers, NAT-PMP/PCP/UPnP port mapping) when configured.
 *  - MG_UDP_IO_CALLER: the caller sends for the node (udp_send) and feeds it
 *    what arrives (mg_node_udp_input). Endpoints carry the local address a
 *    datagram arrived on, so replies can leave from it. No port mapping.
 *
 * Threads: every function taking a node must be called on the thread that
 * runs the node's loop, and callbacks run there. Functions without a node
 * (keys, versions, mg_library_init) are safe from any thread.
 *
 * Errors are negative errno values (the same numbers as libuv's UV_E*). No
 * function aborts, exits the process, or touches signal handling; SIGPIPE
 * never reaches a caller because the library sends with MSG_NOSIGNAL.
 *
 * Structs the caller fills start with a size field set to sizeof the struct
 * as the caller compiled it (the *_INIT macros do it in C; C++ sets .size
 * itself), so later versions can add fields at the end without breaking
 * built programs.
 *
 * With strict -std=c11, define _POSIX_C_SOURCE (200809L) before including
 * this header: uv.h needs POSIX types. */
#ifndef MG_MESHGUARD_H
#define MG_MESHGUARD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What this header declares is exactly what libmeshguard.so exports: the
 * library is compiled with hidden visibility, these declarations make the
 * functions defined against them visible, and the linker's version script
 * is generated from this header. */
#pragma GCC visibility push(default)

/* Incompatible changes bump the major; additions bump the minor. */
#define MG_API_VERSION_MAJOR 0
#define MG_API_VERSION_MINOR 2
#define MG_API_VERSION	     ((MG_API_VERSION_MAJOR << 16) | MG_API_VERSION_MINOR)

/* The version of the library actually linked, as MG_API_VERSION. */
unsigned mg_api_version(void);
/* "0.1.0" */
const char *mg_version_string(void);

/* Initialises what must be process-wide: libsodium and libgcrypt (once, in a
 * thread-safe way; a libgcrypt already initialised by the host is left as
 * it is). mg_node_new and the key functions call it; calling it first only
 * moves the cost. 0, or -ENOTSUP when the crypto libraries refuse (FIPS
 * mode without ChaCha20-Poly1305). UPnP port mapping runs on libuv's thread
 * pool, which the host shares. */
int mg_library_init(void);

/* ---- keys (WireGuard's X25519 keys, as wg(8) prints them) ---- */

#define MG_KEY_BYTES	    32
#define MG_KEY_BASE64_CHARS 44 /* without the terminating NUL */

/* A new private key, clamped. 0 or -errno. */
int mg_key_generate_private(uint8_t private_key[MG_KEY_BYTES]);
/* A new preshared key. 0 or -errno. */
int mg_key_generate_preshared(uint8_t psk[MG_KEY_BYTES]);
/* The public key of a private key. 0, or -EINVAL for a key whose public
 * key would be of low order. */
int mg_key_public_from_private(uint8_t public_key[MG_KEY_BYTES],
			       const uint8_t private_key[MG_KEY_BYTES]);
/* out has room for MG_KEY_BASE64_CHARS + 1. */
void mg_key_encode_base64(char *out, const uint8_t key[MG_KEY_BYTES]);
/* 0, or -EINVAL when s is not exactly one base64 key. */
int mg_key_decode_base64(uint8_t key[MG_KEY_BYTES], const char *s);
/* Overwrites a secret in a way the compiler keeps. */
void mg_secret_wipe(void *buf, size_t len);

/* ---- logging ---- */

enum mg_log_level {
	MG_LOG_LEVEL_ERROR = 0,
	MG_LOG_LEVEL_INFO = 1,
	MG_LOG_LEVEL_VERBOSE = 2,
	MG_LOG_LEVEL_DEBUG = 3,
};

/* One line, without a newline, valid only during the call. */
typedef void (*mg_log_fn)(void *user, enum mg_log_level level, const char *line);

/* "error", "info", "verbose" or "debug" (wireguard-go's LOG_LEVEL words).
 * 0 or -EINVAL. */
int mg_log_level_parse(const char *s, enum mg_log_level *out);

/* ---- addresses ---- */

/* A UDP endpoint: the remote address and port, and the local address the
 * node talks to it from (family AF_UNSPEC: any, the routing table picks).
 * ifindex pins the interface for link-local local addresses; 0: any. */
struct mg_udp_endpoint {
	struct sockaddr_storage remote;
	struct sockaddr_storage local;
	unsigned int ifindex;
};

/* ---- the node ---- */

struct mg_node;

enum mg_packet_io {
	MG_PACKET_IO_TUN = 0,
	MG_PACKET_IO_TUN_FD = 1,
	MG_PACKET_IO_CALLER = 2,
};

enum mg_udp_io {
	MG_UDP_IO_SOCKETS = 0,
	MG_UDP_IO_CALLER = 1,
};

/* What mg_node_configure_interface applies: the interface's addresses,
 * a route per prefix, the MTU, and, when a route is a default route (as
 * wg-quick does), a fwmark on the node's sockets and the policy rules that
 * keep them out of the tunnel. Prefixes are text: "10.0.0.1/24",
 * "fd00::1/64"; a bare address is a host prefix. */
struct mg_interface_config {
	uint32_t size;
	const char *const *addresses;
	size_t addresses_len;
	const char *const *routes;
	size_t routes_len;
	uint32_t mtu;		/* 0: keep the current one (1420 for a new device) */
	uint32_t fwmark;	/* 0: none, or the full tunnel's table number */
	uint32_t table;		/* where default routes go; 0: 51820, wg-quick's choice */
	bool full_tunnel_rules; /* add the fwmark rules a default route needs */
};

#define MG_INTERFACE_CONFIG_INIT                           \
	{                                                  \
		.size = sizeof(struct mg_interface_config) \
	}

/* A change of a peer or of the path to it, for on_event. */
enum mg_event_type {
	MG_EVENT_HANDSHAKE = 1,	      /* a session with the peer was established */
	MG_EVENT_ENDPOINT = 2,	      /* the peer's endpoint moved (roaming) */
	MG_EVENT_PEER_IDLE = 3,	      /* keys expired: no session with the peer */
	MG_EVENT_PUBLIC_ENDPOINT = 4, /* our own public endpoint changed (STUN) */
	MG_EVENT_STOPPED = 5,	      /* the TUN device or UAPI socket went away:
				  * close the node */
};

struct mg_event {
	uint32_t size;
	enum mg_event_type type;
	uint8_t public_key[MG_KEY_BYTES]; /* the peer's; zero for our own events */
	struct mg_udp_endpoint endpoint;
};

struct mg_node_config {
	uint32_t size;
	/* The interface name: created (TUN), learned from the fd (TUN_FD), or
	 * only a label in logs and the UAPI socket's name (CALLER). */
	const char *ifname;
	enum mg_packet_io packet_io;
	int tun_fd; /* MG_PACKET_IO_TUN_FD: the node owns it from mg_node_new on */
	enum mg_udp_io udp_io;
	uint16_t listen_port; /* 0: one the kernel picks */
	uint32_t fwmark;
	/* Serve wg(8)'s socket, /var/run/wireguard/IFNAME.sock; uapi_fd: a
	 * listening socket to adopt instead (WG_UAPI_FD), -1: none. */
	bool uapi_socket;
	int uapi_fd;
	/* MG_PACKET_IO_CALLER: the MTU packets are padded and cut for (0: 1420). */
	uint32_t mtu;

	enum mg_log_level log_level;
	/* NULL: lines go to stderr with a timestamp, as `meshguard up` prints. */
	mg_log_fn on_log;
	void (*on_event)(void *user, const struct mg_event *event);
	/* MG_PACKET_IO_CALLER: one decrypted IP packet, valid during the call. */
	void (*on_packet)(void *user, const uint8_t *packet, size_t len);
	/* MG_UDP_IO_CALLER: send one datagram; buf is valid during the call.
	 * 0 when it left (or is queued), else -errno (the node counts a drop). */
	int (*udp_send)(void *user, const struct mg_udp_endpoint *to, const uint8_t *buf,
			size_t len);
	/* MG_PACKET_IO_TUN_FD: do what c asks to the device (ifname), and undo
	 * it when called with c NULL. 0 or -errno. */
	int (*apply_interface)(void *user, const char *ifname, const struct mg_interface_config *c);
	void *user;

	/* Public-endpoint discovery (MG_UDP_IO_SOCKETS): STUN servers as
	 * "HOST:PORT" (numeric, or names resolved once at start), port mapping
	 * "auto", "natpmp", "pcp", "upnp" or NULL/"off", and where mappings are
	 * journaled (NULL: /var/lib/meshguard). */
	const char *const *stun_servers;
	size_t stun_servers_len;
	const char *portmap;
	const char *upnp_url;
	const char *state_dir;
	/* Run the mesh whose state is in state_dir (see "meshes" below): keys,
	 * addresses, routes and one peer per member come from there; ifname
	 * NULL: the mesh's name (mg_mesh_ifname), listen_port 0: the mesh's. */
	bool mesh;
	/* With mesh: relay traffic between other members that have no direct
	 * path: 0 when members see this node at one of its own addresses (no
	 * NAT), 1 always, -1 never. */
	int mesh_relay;
	/* With mesh: subnet routes ("192.168.1.0/24") this node forwards to
	 * (each among those its certificate allows); it turns on forwarding
	 * and masquerades mesh traffic into them (nftables). */
	const char *const *mesh_advertise;
	size_t mesh_advertise_len;
	/* Do not answer STUN Binding requests on the listening port (default
	 * false: answer them, only well-formed Binding requests, never with an
	 * error, under a per-source and a global rate). Mesh members learn their
	 * public endpoint by asking each other over STUN: other members cannot
	 * ask a node with this set, so a member behind a NAT that reaches only
	 * such nodes (and no configured STUN server) learns no public endpoint. */
	bool stun_responder_off;
};

#define MG_NODE_CONFIG_INIT                                                         \
	{                                                                           \
		.size = sizeof(struct mg_node_config), .tun_fd = -1, .uapi_fd = -1, \
		.log_level = MG_LOG_LEVEL_INFO                                      \
	}

/* Creates a node on loop: opens or adopts its TUN (by packet_io) and its
 * sockets, and serves its UAPI socket if asked; nothing is read until
 * mg_node_start. On failure nothing is left open and *out is untouched; a
 * message saying what failed went to the log callback. */
int mg_node_new(uv_loop_t *loop, const struct mg_node_config *config, struct mg_node **out);
int mg_node_start(struct mg_node *node);

typedef void (*mg_node_close_cb)(struct mg_node *node, void *user);
/* Stops the node: port mappings are deleted, the interface configuration it
 * applied is undone, a TUN it created is removed, its handles close. cb runs
 * on the loop once everything is closed, and the node is freed after cb
 * returns. Calling it twice is harmless (the second cb is ignored). */
void mg_node_close(struct mg_node *node, mg_node_close_cb cb);

/* Configuration as wg(8) sends it: "get=1\n\n", or "set=1\n" with key=value
 * lines and an empty line (the cross-platform UAPI), so anything `wg set`
 * can do a program can do. A set is atomic. *reply (NUL-terminated, ending
 * "errno=N\n\n", wireguard-go's bytes) is the caller's to release with
 * mg_node_uapi_free, which wipes it (a get holds private keys). Returns the
 * errno the reply carries (0 or negative), or -ENOMEM, or -ECANCELED after
 * mg_node_close, with *reply NULL. */
int mg_node_uapi(struct mg_node *node, const char *request, size_t len, char **reply);
void mg_node_uapi_free(char *reply);

/* Typed calls for the common cases. */
int mg_node_set_private_key(struct mg_node *node, const uint8_t private_key[MG_KEY_BYTES]);

struct mg_peer_config {
	uint32_t size;
	uint8_t public_key[MG_KEY_BYTES];
	const uint8_t *preshared_key;  /* NULL: none */
	const char *endpoint;	       /* "192.0.2.1:51820", "[2001:db8::1]:51820"; NULL */
	uint16_t persistent_keepalive; /* seconds; 0: off */
	const char *const *allowed_ips;
	size_t allowed_ips_len;
};

#define MG_PEER_CONFIG_INIT                           \
	{                                             \
		.size = sizeof(struct mg_peer_config) \
	}

/* Adds the peer, or updates it when its key is known (endpoint, keepalive,
 * psk replaced; allowed IPs replaced). -EINVAL with a log line naming the
 * bad value. */
int mg_node_set_peer(struct mg_node *node, const struct mg_peer_config *peer);
/* -ENOENT when no such peer. */
int mg_node_remove_peer(struct mg_node *node, const uint8_t public_key[MG_KEY_BYTES]);

/* Applies addresses, routes and rules (see struct mg_interface_config);
 * undone by mg_node_close. MG_PACKET_IO_CALLER: -ENOTSUP. */
int mg_node_configure_interface(struct mg_node *node, const struct mg_interface_config *c);

struct mg_node_status {
	uint32_t size;
	char ifname[16];
	uint16_t listen_port;
	uint8_t public_key[MG_KEY_BYTES]; /* zero: no private key set */
	uint32_t mtu;
	uint32_t peers;
	uint64_t rx_bytes, tx_bytes; /* over all peers */
	uint64_t handshakes_completed;
	/* Drops, by reason. */
	uint64_t rx_invalid, rx_decrypt_failed, rx_replayed, rx_unknown_index, rx_not_allowed;
	uint64_t tx_no_route, tx_no_endpoint, udp_send_failed, tun_write_dropped;
	/* Learned by discovery; remote family AF_UNSPEC: not (yet) known. */
	struct mg_udp_endpoint public_endpoint;
};

#define MG_NODE_STATUS_INIT                           \
	{                                             \
		.size = sizeof(struct mg_node_status) \
	}

/* Fills out up to out->size bytes. */
int mg_node_status(struct mg_node *node, struct mg_node_status *out);

struct mg_peer_status {
	uint32_t size;
	struct mg_udp_endpoint endpoint; /* remote family AF_UNSPEC: unknown */
	struct timespec last_handshake;	 /* wall clock; zero: never */
	uint64_t rx_bytes, tx_bytes;
	uint16_t persistent_keepalive;
	uint32_t allowed_ips;
};

#define MG_PEER_STATUS_INIT                           \
	{                                             \
		.size = sizeof(struct mg_peer_status) \
	}

/* -ENOENT when no such peer. */
int mg_node_peer_status(struct mg_node *node, const uint8_t public_key[MG_KEY_BYTES],
			struct mg_peer_status *out);

/* ---- MG_PACKET_IO_CALLER ---- */

/* Writable room the library needs around each packet handed in: the
 * WireGuard header is written before it and padding and tag after it, so
 * packets are sealed where they lie, without a copy. */
#define MG_PACKET_HEADROOM 16
#define MG_PACKET_TAILROOM 32

struct mg_packet {
	uint8_t *data; /* an IP packet, with the room above around it */
	size_t len;
};

/* Encrypts and sends count packets (one batch: one flush of the UDP queue).
 * The buffers are the library's to overwrite until the call returns, the
 * caller's again afterwards. Packets no peer routes are dropped and counted.
 * -EINVAL when the node has another packet I/O; -EBUSY when called from
 * inside one of this node's callbacks (on_packet, udp_send): hand such
 * packets over from the loop instead; -ECANCELED after mg_node_close. */
int mg_node_send_packets(struct mg_node *node, const struct mg_packet *packets, size_t count);
/* The MTU changed (MG_PACKET_IO_CALLER, MG_PACKET_IO_TUN_FD). */
int mg_node_set_mtu(struct mg_node *node, uint32_t mtu);

/* ---- MG_UDP_IO_CALLER ---- */

/* One datagram that arrived for the node; buf is decrypted in place and is
 * the caller's again when the call returns. -EINVAL when the node has its
 * own sockets; -EBUSY and -ECANCELED as for mg_node_send_packets. */
int mg_node_udp_input(struct mg_node *node, const struct mg_udp_endpoint *from, uint8_t *buf,
		      size_t len);
/* The host's addresses or routes changed: forget the local addresses
 * learned for peers (they may be gone) and learn the public endpoint anew. */
void mg_node_network_changed(struct mg_node *node);

/* ---- wg-quick files ---- */

/* A parsed wg-quick file ([Interface] and [Peer] sections), as `meshguard
 * up -c FILE` reads it. Parsing never touches the network. */
struct mg_wgquick;

/* Parses text (len bytes; name is used in messages). 0, or -EINVAL with a
 * message such as 'wg0.conf:4: ListenPort "70000" is not a port (expected
 * 0-65535)' in err (errlen >= 512 avoids truncation), or -ENOMEM. */
int mg_wgquick_parse(const char *name, const char *text, size_t len, struct mg_wgquick **out,
		     char *err, size_t errlen);
/* Reads and parses the file at path (warning on stderr when others may read
 * it, as wg-quick does). Same contract; a file that cannot be read: -errno. */
int mg_wgquick_load(const char *path, struct mg_wgquick **out, char *err, size_t errlen);
/* Looks up Endpoint host names (blocks). 0, or -EHOSTUNREACH with the name
 * and its line in err. */
int mg_wgquick_resolve(struct mg_wgquick *q, char *err, size_t errlen);
/* The [Interface] values a node is created with (0 when absent). */
uint16_t mg_wgquick_listen_port(const struct mg_wgquick *q);
/* The fwmark the node's sockets need: wg-quick's table number when a peer
 * routes a default route into the tunnel, else FwMark, else 0. */
uint32_t mg_wgquick_fwmark(const struct mg_wgquick *q);
/* Sets the private key, port, fwmark and peers on node, as `wg setconf`. */
int mg_node_apply_wgquick(struct mg_node *node, const struct mg_wgquick *q);
/* Addresses, MTU, a route per allowed IP and the full-tunnel rules, as
 * wg-quick sets them up, through mg_node_configure_interface. */
int mg_node_configure_wgquick_interface(struct mg_node *node, const struct mg_wgquick *q);
/* Wipes the keys and frees q. */
void mg_wgquick_free(struct mg_wgquick *q);

/* ---- netcheck: what the network looks like from here ---- */

struct mg_netcheck;

struct mg_netcheck_config {
	uint32_t size;
	const char *const *stun_servers; /* "HOST:PORT" */
	size_t stun_servers_len;
	/* Tried first, an ephemeral port if taken; 0: an ephemeral port (the
	 * INIT macro sets 51820, WireGuard's usual port). */
	uint16_t listen_port;
	uint32_t timeout_ms; /* 100 to 600000; 0: 5000 */
	const char *portmap; /* as in struct mg_node_config */
	const char *upnp_url;
	mg_log_fn on_log; /* NULL: stderr */
	enum mg_log_level log_level;
	void *user;
};

#define MG_NETCHECK_CONFIG_INIT                                                  \
	{                                                                        \
		.size = sizeof(struct mg_netcheck_config), .listen_port = 51820, \
		.log_level = MG_LOG_LEVEL_INFO                                   \
	}

typedef void (*mg_netcheck_done_cb)(struct mg_netcheck *nc, void *user);

/* Asks every STUN server where we come from, classifies the NAT, and asks
 * the gateway for a port mapping (deleted again before done runs), all at
 * once on loop; done runs when everything answered or the timeout passed. */
int mg_netcheck_start(uv_loop_t *loop, const struct mg_netcheck_config *config,
		      mg_netcheck_done_cb done, struct mg_netcheck **out);
/* The report, after done: human-readable lines, or one JSON object. The
 * caller frees the string with free(). NULL: out of memory. */
char *mg_netcheck_report_text(const struct mg_netcheck *nc);
char *mg_netcheck_report_json(const struct mg_netcheck *nc);
/* Closes what is open and frees nc once the loop has run its close
 * callbacks; call it after done (or to cancel: done does not run then). */
void mg_netcheck_close(struct mg_netcheck *nc);

/* ---- meshes ----
 *
 * A mesh lives in a state directory (one node per directory; default
 * /var/lib/meshguard): its keys, this member's certificate, the member
 * directory, invitations. A node runs the mesh in its directory when
 * struct mg_node_config's mesh is set (state_dir names the directory); the
 * calls below work on the directory, offline or through the running node's
 * control socket (DIR/control.sock) when a node runs it.
 *
 * Every call returns one of these, which are also exactly the `meshguard`
 * command's exit statuses, and writes one line a user can act on into msg
 * (msglen >= 512 avoids truncation). */
enum mg_mesh_result {
	MG_MESH_OK = 0,
	MG_MESH_USAGE = 1,	 /* a bad argument */
	MG_MESH_REFUSED = 2,	 /* a token or membership refused (malformed, tampered,
				  * wrong mesh, expired, used, revoked, name taken) */
	MG_MESH_UNREACHABLE = 3, /* a peer or the local node cannot be reached */
	MG_MESH_STATE = 4,	 /* the state directory: exists, corrupt, locked,
				  * permissions */
};

/* An invite token's longest text, without the NUL. */
#define MG_MESH_TOKEN_MAX 512

struct mg_mesh_init_config {
	uint32_t size;
	const char *mesh_name;	      /* required */
	const char *prefix4;	      /* NULL: a free /16 inside 100.64.0.0/10 */
	const char *prefix6;	      /* NULL: a free /48 inside fd00::/8 */
	const char *node_name;	      /* NULL: the host name */
	uint16_t listen_port;	      /* 0: 51820 */
	const char *const *endpoints; /* "HOST:PORT" to put in invitations */
	size_t endpoints_len;
};

#define MG_MESH_INIT_CONFIG_INIT                           \
	{                                                  \
		.size = sizeof(struct mg_mesh_init_config) \
	}

/* A new mesh in dir (created 0700), with this host as its first member,
 * an issuer, and the authority's key. */
enum mg_mesh_result mg_mesh_init(const char *dir, const struct mg_mesh_init_config *c, char *msg,
				 size_t msglen);

struct mg_mesh_invite_config {
	uint32_t size;
	const char *name;   /* pins the member's name; NULL: the joiner's choice */
	uint64_t expires_s; /* 0: 24 hours */
	uint32_t uses;	    /* 0: 1 */
	const char *const *groups;
	size_t groups_len;
	/* Subnet routes ("192.168.1.0/24") the member may advertise
	 * (`up --advertise`); at most 16. */
	const char *const *routes;
	size_t routes_len;
};

#define MG_MESH_INVITE_CONFIG_INIT                           \
	{                                                    \
		.size = sizeof(struct mg_mesh_invite_config) \
	}

/* Writes a token (room for MG_MESH_TOKEN_MAX + 1) that lets one machine
 * (or uses machines) join. Through the running node when there is one (it
 * accepts the token at once), else on the directory. When not all
 * endpoints fit, msg names those left out and the result is MG_MESH_OK. */
enum mg_mesh_result mg_mesh_invite(const char *dir, const struct mg_mesh_invite_config *c,
				   char *token, char *msg, size_t msglen);

struct mg_mesh_join_config {
	uint32_t size;
	const char *name;     /* NULL: the pinned name, else the host name */
	uint16_t listen_port; /* 0: 51820 */
	uint32_t timeout_ms;  /* 0: 10000 */
};

#define MG_MESH_JOIN_CONFIG_INIT                           \
	{                                                  \
		.size = sizeof(struct mg_mesh_join_config) \
	}

/* Reaches the inviter named in token (blocks up to the timeout), proves the
 * token, and stores the membership in dir. On any failure dir holds no
 * membership. */
enum mg_mesh_result mg_mesh_join(const char *dir, const char *token,
				 const struct mg_mesh_join_config *c, char *msg, size_t msglen);

/* The members as the directory knows them, offline: text lines or (json)
 * {"schema": 1, "members": [...]}. *out is the caller's to free(). */
enum mg_mesh_result mg_mesh_members(const char *dir, bool json, char **out, char *msg,
				    size_t msglen);

/* The running node's view (see the README for the JSON, schema 1): text or
 * JSON in *out (free()). MG_MESH_UNREACHABLE when no node runs dir. */
enum mg_mesh_result mg_mesh_status(const char *dir, bool json, char **out, char *msg,
				   size_t msglen);

/* On the authority's host: revokes the member's key and certificate
 * everywhere. */
enum mg_mesh_result mg_mesh_revoke(const char *dir, const char *name, char *msg, size_t msglen);

/* Sends a signed departure and removes the membership from dir. */
enum mg_mesh_result mg_mesh_leave(const char *dir, char *msg, size_t msglen);

/* A static member for a stock WireGuard client: a new key pair, a
 * certificate for it, and a wg-quick file in *conf (free() after wiping:
 * it holds the private key, which is not stored anywhere). */
enum mg_mesh_result mg_mesh_export_wg(const char *dir, const char *name, char **conf, char *msg,
				      size_t msglen);

/* ---- the firewall (issue 13) ----
 * This node's inbound rules on traffic from members, by the sender's
 * certificate groups, protocol and port. No rules: everything from members
 * passes. Once one exists, only what a rule allows, replies to this node's
 * own flows, and ICMP echo (unless a rule names icmp) pass. Kept in
 * DIR/firewall; changed through the running node (at once) or, when none
 * runs, on the directory under its lock. */
struct mg_mesh_firewall_rule {
	uint32_t size;
	const char *group; /* a certificate group; NULL or "any": any member */
	const char *proto; /* "tcp", "udp", "icmp" or "any"; NULL: any */
	const char *port;  /* "22", "8000-8100" or "any" (tcp, udp); NULL: any */
};

#define MG_MESH_FIREWALL_RULE_INIT                           \
	{                                                    \
		.size = sizeof(struct mg_mesh_firewall_rule) \
	}

/* Appends a rule (MG_MESH_USAGE: malformed, already there, or too many). */
enum mg_mesh_result mg_mesh_firewall_add(const char *dir, const struct mg_mesh_firewall_rule *r,
					 char *msg, size_t msglen);
/* Deletes rule n, counted from 1 as listed (MG_MESH_USAGE: no such rule). */
enum mg_mesh_result mg_mesh_firewall_del(const char *dir, unsigned n, char *msg, size_t msglen);
/* The rules with their hit counts (from the running node; 0 when none
 * runs), as text lines "N: group=G proto=P port=X hits=H" and a last line
 * "dropped=D replies=R echo=E", or JSON {"rules":[{"n","group","proto",
 * "port","hits"}...],"dropped","replies","echo","running"}. *out is the
 * caller's to free(). */
enum mg_mesh_result mg_mesh_firewall_list(const char *dir, bool json, char **out, char *msg,
					  size_t msglen);

/* True when dir holds a mesh's configuration (`meshguard up` then runs it). */
bool mg_mesh_present(const char *dir);

/* The interface name `meshguard up` uses for the mesh in dir: "mg-" and the
 * mesh name, characters outside [a-z0-9-] as '-', cut to 15. */
enum mg_mesh_result mg_mesh_ifname(const char *dir, char out[16], char *msg, size_t msglen);

/* ---- privilege separation (the daemon's; issue 13) ----
 *
 * mg_sandbox_enter splits the calling process in two. The privileged
 * process (the caller's pid) keeps root (or the cap_net_admin it was
 * given) and parses nothing from the network: it opens the TUN, UDP and
 * UAPI sockets and changes kernel configuration for the other, each
 * request checked (addresses and routes only on the node's interface and
 * inside the prefixes below, the mesh's, or a route a certificate of the
 * mesh carries; masquerade only for the advertised prefixes), and hands
 * descriptors over with SCM_RIGHTS. The unprivileged process, where the
 * call returns 0, runs as the user (uid and gid; every capability
 * dropped, bounding set included; no_new_privs; not dumpable) under a
 * seccomp allow-list; the node it then creates asks the privileged one for
 * everything privileged by itself (no API change). The privileged process
 * never returns: it forwards SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2,
 * undoes what it made once the other has exited (policy rules, the
 * masquerade table, the UAPI socket file), and exits with its status; if
 * it dies, the other is killed (PR_SET_PDEATHSIG).
 *
 * The state directory (state_dir, or the mesh's) is handed to the user
 * (chown, symlinks not followed) and must be reachable by it. Run as root,
 * or with only cap_net_admin and cap_setuid/cap_setgid via setcap, or as a
 * user with cap_net_admin alone: then the unprivileged process keeps that
 * user's uid and only drops the capabilities. Not for the library's hosts:
 * they own their process. Sanitizers and valgrind cannot run under it (no
 * ptrace, no core): the daemon's --no-sandbox is for them. */
#define MG_SANDBOX_USER "meshguard"

struct mg_sandbox_config {
	size_t size;	       /* sizeof(struct mg_sandbox_config) */
	const char *user;      /* NULL: MG_SANDBOX_USER */
	const char *ifname;    /* the interface the node creates */
	const char *state_dir; /* handed to the user; NULL: none */
	bool mesh;	       /* state_dir holds a mesh: its prefixes are allowed */
	/* The wg-quick file the node runs (NULL: none): its Address and
	 * AllowedIPs are where addresses and routes may lie besides the
	 * mesh's, its table the one of the full-tunnel rules. Only read. */
	const struct mg_wgquick *wgquick;
	/* Prefixes the node may masquerade into (up --advertise). */
	const char *const *advertise;
	size_t advertise_len;
	/* Called in the privileged process right after the split: wipe and
	 * free there what only the node needs (its private key). */
	void (*forget)(void *ctx);
	void *ctx;
};

#define MG_SANDBOX_CONFIG_INIT                           \
	{                                                \
		.size = sizeof(struct mg_sandbox_config) \
	}

/* 0 in the unprivileged process; -errno with a message in err when
 * nothing was split (-ENOENT: no such user; -EACCES: the user cannot reach
 * the state directory; -EPERM: not privileged enough). Call it before
 * creating any node or loop, with one thread. */
int mg_sandbox_enter(const struct mg_sandbox_config *c, char *err, size_t errlen);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
