/* wg-quick configuration files: [Interface] and [Peer] sections of
 * "Key = Value" lines, parsed into one tree that mg_config_free() releases.
 * Parsing never touches the network; host names in Endpoint are looked up
 * only by mg_config_resolve_endpoints().
 *
 * This is the library's internal model. Programs see it through the
 * mg_wgquick_* functions of include/meshguard.h (struct mg_wgquick wraps a
 * struct mg_config), which this header does not include, so that modules
 * with internal names of their own (util/log.h's log levels) can use it. */
#ifndef MG_NODE_WGQUICK_H
#define MG_NODE_WGQUICK_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/primitives.h"
#include "util/ipaddr.h"

/* Bounds that keep a hostile or broken file from exhausting memory. */
#define MG_CONFIG_LINE_MAX	 65535 /* bytes, without the newline */
#define MG_CONFIG_PEERS_MAX	 65536
#define MG_CONFIG_ADDRESSES_MAX	 256
#define MG_CONFIG_ALLOWEDIPS_MAX (1 << 20)  /* over all peers together */
#define MG_CONFIG_FILE_MAX	 (64 << 20) /* bytes, for mg_config_load */
#define MG_CONFIG_HOST_MAX	 253	    /* longest DNS name */
#define MG_CONFIG_PORT_MAX	 5	    /* "65535" */
#define MG_CONFIG_ERR_LEN	 512	    /* enough for any message the parser writes */

/* struct mg_config.flags: which [Interface] keys were present. */
enum {
	MG_CONFIG_HAS_PRIVATE_KEY = 1U << 0,
	MG_CONFIG_HAS_LISTEN_PORT = 1U << 1,
	MG_CONFIG_HAS_MTU = 1U << 2,
	MG_CONFIG_HAS_FWMARK = 1U << 3, /* fwmark 0 means "off" */
};

/* struct mg_config_peer.flags: which [Peer] keys were present. */
enum {
	MG_CONFIG_PEER_HAS_PUBLIC_KEY = 1U << 0, /* always set after a successful parse */
	MG_CONFIG_PEER_HAS_PRESHARED_KEY = 1U << 1,
	MG_CONFIG_PEER_HAS_ENDPOINT = 1U << 2,	    /* endpoint_host and endpoint_port are set */
	MG_CONFIG_PEER_HAS_ENDPOINT_ADDR = 1U << 3, /* endpoint holds the numeric address */
	MG_CONFIG_PEER_HAS_KEEPALIVE = 1U << 4,	    /* persistent_keepalive 0 means "off" */
};

struct mg_config_peer {
	uint32_t flags;
	unsigned line; /* of the [Peer] header, for messages about this peer */
	uint8_t public_key[MG_KEY_LEN];
	uint8_t preshared_key[MG_KEY_LEN]; /* secret: wiped by mg_config_free */
	/* Endpoint as written, host without IPv6 brackets. The numeric address
	 * is filled by the parser for literal addresses and by
	 * mg_config_resolve_endpoints() for names. */
	char endpoint_host[MG_CONFIG_HOST_MAX + 1];
	char endpoint_port[MG_CONFIG_PORT_MAX + 1];
	struct mg_endpoint endpoint;
	uint16_t persistent_keepalive; /* seconds */
	struct mg_prefix *allowed_ips; /* masked; owned, allowed_ips_len entries */
	size_t allowed_ips_len;
};

struct mg_config {
	char *name; /* file name used in messages; owned */
	uint32_t flags;
	uint8_t private_key[MG_KEY_LEN]; /* secret: wiped by mg_config_free */
	uint16_t listen_port;
	uint32_t mtu;
	uint32_t fwmark;
	struct mg_prefix *addresses; /* host bits kept, e.g. 10.0.0.1/24; owned */
	size_t addresses_len;
	struct mg_config_peer *peers; /* owned, peers_len entries, in file order */
	size_t peers_len;
};

/* Parses text (len bytes, need not be NUL-terminated) into out; name is the
 * file name used in messages. Returns 0, or -EINVAL with a message such as
 * 'wg0.conf:4: ListenPort "70000" is not a port (expected 0-65535)' in err
 * (errlen >= MG_CONFIG_ERR_LEN avoids truncation) and out zeroed, or -ENOMEM.
 * On success the caller owns out and releases it with mg_config_free(). */
int mg_config_parse(struct mg_config *out, const char *name, const char *text, size_t len,
		    char *err, size_t errlen);

/* Reads and parses the file at path, same contract as mg_config_parse. Warns
 * on stderr when the file is accessible to others, as wg-quick does, since it
 * holds a private key. Errors reading the file return -errno. */
int mg_config_load(struct mg_config *out, const char *path, char *err, size_t errlen);

/* Looks up the endpoints the parser left as names (getaddrinfo, first IPv4
 * or IPv6 answer) and sets MG_CONFIG_PEER_HAS_ENDPOINT_ADDR on them. Blocks.
 * Returns 0, or -EHOSTUNREACH with file:line and the name in err; peers
 * resolved before the failure keep their addresses. */
int mg_config_resolve_endpoints(struct mg_config *c, char *err, size_t errlen);

/* Wipes the keys and frees everything c owns; c is left zeroed. */
void mg_config_free(struct mg_config *c);

/* The table wg-quick routes a default route into, and marks the tunnel's
 * own UDP with, when the file names no FwMark. */
#define MG_CONFIG_DEFAULT_TABLE 51820

/* The mark the tunnel's own UDP needs under c: the table number (FwMark, or
 * MG_CONFIG_DEFAULT_TABLE) when a peer routes a default route into the
 * tunnel, else c's FwMark, else 0. */
uint32_t mg_config_fwmark(const struct mg_config *c);

/* c as a UAPI set request, as `wg setconf` sends it: private_key,
 * listen_port and fwmark (each when the file sets it; fwmark as
 * mg_config_fwmark), replace_peers=true, then per peer public_key,
 * preshared_key, endpoint, persistent_keepalive_interval,
 * replace_allowed_ips=true and its allowed_ip lines, and the empty line.
 * *text (NUL-terminated, *len bytes without the NUL) holds the keys: the
 * caller wipes it before free(). 0, -ENOMEM, or -EHOSTUNREACH when an
 * Endpoint name was not resolved (mg_config_resolve_endpoints). */
int mg_config_uapi_text(const struct mg_config *c, char **text, size_t *len);

struct mg_interface_config;

/* c's kernel side as mg_node_configure_interface takes it: the Address
 * lines, a route per allowed IP of every peer (a default route once per
 * family), the MTU (0 when the file has none), and for a default route the
 * fwmark, table and full-tunnel rules wg-quick sets up. out's size field
 * must be set; its arrays point into *storage, one allocation the caller
 * frees once done with out. 0 or -ENOMEM. */
int mg_config_interface(const struct mg_config *c, struct mg_interface_config *out, void **storage);

/* What the public struct mg_wgquick is. */
struct mg_wgquick {
	struct mg_config config;
};

#endif
