/* Port mapping through the gateway of the namespace we run in: NAT-PMP
 * (RFC 6886, libnatpmp), PCP (RFC 6887, our own codec in pcp.h) and UPnP IGD
 * (miniupnpc), all on one libuv loop that is never blocked: NAT-PMP and PCP
 * sockets are polled on the loop, miniupnpc's blocking HTTP/SOAP calls run on
 * the libuv threadpool.
 *
 * One mapper keeps one UDP port mapped (internal port -> external
 * address:port):
 *  - probe: every allowed protocol is asked at once (NAT-PMP external
 *    address, PCP ANNOUNCE, SSDP M-SEARCH unicast to the gateway or the given
 *    UPnP root description URL); the first that answers maps the port, the
 *    others are fallbacks if it then refuses.
 *  - renew: at half the granted lifetime, with the same nonce and external
 *    port; failures retry until the lease runs out (then LOST, probe again).
 *  - gateway restart: every check_interval_ms the gateway's epoch (NAT-PMP,
 *    PCP) or the mapping itself (UPnP) is checked; an epoch that went back or
 *    a mapping that is gone makes the mapper create it again (MAPPED).
 *  - clean exit: mg_portmap_close deletes the mapping (PCP with the mapping's
 *    nonce) and forgets it.
 *  - crash: every mapping is written to <state_dir>/portmap-<port> before it
 *    is asked for; the next mapper for that port deletes what it finds there
 *    before it maps anything.
 * Requests go only to the gateway (config or default route); replies are
 * untrusted and checked (sizes, versions, opcodes, nonces, ports, addresses,
 * lifetimes) before use.
 *
 * Every timing decision reads config.clock, so tests drive renewals and
 * restarts with a fake clock and mg_portmap_tick(). */
#ifndef MG_NAT_PORTMAP_H
#define MG_NAT_PORTMAP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "util/clock.h"
#include "util/log.h"

#define MG_PORTMAP_STATE_DIR	     "/var/lib/meshguard"
#define MG_PORTMAP_LIFETIME_S	     7200
#define MG_PORTMAP_CHECK_INTERVAL_MS 60000
#define MG_PORTMAP_TIMEOUT_MS	     3000
#define MG_PORTMAP_RETRY_MS	     60000

enum mg_portmap_proto {
	MG_PORTMAP_NATPMP = 0,
	MG_PORTMAP_PCP = 1,
	MG_PORTMAP_UPNP = 2,
	MG_PORTMAP_PROTO_COUNT,
};

#define MG_PORTMAP_BIT(proto) (1u << (proto))
#define MG_PORTMAP_ALL	      ((1u << MG_PORTMAP_PROTO_COUNT) - 1)

/* "natpmp", "pcp", "upnp". */
const char *mg_portmap_proto_name(enum mg_portmap_proto proto);
/* Accepts the names above (and "nat-pmp"); -EINVAL otherwise. */
int mg_portmap_proto_parse(enum mg_portmap_proto *proto, const char *name);

struct mg_portmap_backend; /* portmap_backend.h: tests replace the protocols */

/* Zero means the default everywhere. */
struct mg_portmap_config {
	/* MG_PORTMAP_BIT()s of the protocols to try; one bit forces that one. */
	unsigned protocols;
	/* The gateway to ask; INADDR_ANY: the default route's gateway. */
	struct in_addr gateway;
	/* UPnP root description URL (http://<gateway>:<port>/...); NULL: SSDP
	 * M-SEARCH unicast to the gateway. Copied. */
	const char *upnp_url;
	/* Directory of the mapping journal (created 0700 if missing); NULL:
	 * MG_PORTMAP_STATE_DIR; "": no journal. Copied. */
	const char *state_dir;
	uint32_t lifetime_s;	    /* lease asked for */
	uint32_t check_interval_ms; /* gateway restart check */
	uint32_t timeout_ms;	    /* one request with its retransmits */
	uint32_t retry_ms;	    /* after FAILED or LOST, before probing again */
	const struct mg_clock *clock;
	/* Borrowed, given to the back-ends too; NULL: mg_log_default(). */
	const struct mg_log *log;
	/* NULL: the built-in protocol; tests put fakes here. */
	const struct mg_portmap_backend *backends[MG_PORTMAP_PROTO_COUNT];
};

enum mg_portmap_event {
	/* A mapping exists: the first, one re-created after the gateway lost
	 * it, or a renewal that moved the external endpoint. */
	MG_PORTMAP_MAPPED,
	MG_PORTMAP_RENEWED,
	/* The mapping is gone (lease ran out unrenewed, re-creation refused,
	 * gateway changed); the mapper probes again after retry_ms. */
	MG_PORTMAP_LOST,
	/* No protocol mapped the port; the mapper tries again after
	 * retry_ms. */
	MG_PORTMAP_FAILED,
};

struct mg_portmap_status {
	enum mg_portmap_proto proto;
	struct sockaddr_in external; /* MAPPED, RENEWED; LOST: the one lost */
	uint32_t lifetime_s;	     /* as granted */
	int error;		     /* LOST, FAILED: -errno of the last failure */
};

struct mg_portmap;

/* Creates a mapper for internal UDP port internal_port (host order) and
 * starts it: journal cleanup, then probe. Returns 0 or -errno (no gateway:
 * -ENETUNREACH; journal not writable: -errno of the failed call; no
 * protocol could start: -EPROTONOSUPPORT); on error cb is never called and
 * pm is not returned (handles already opened are closed on the loop).
 * cb runs on the loop thread; pm stays valid during the call, and cb may
 * call mg_portmap_close. */
int mg_portmap_start(struct mg_portmap **out, uv_loop_t *loop,
		     const struct mg_portmap_config *config, uint16_t internal_port,
		     void (*cb)(struct mg_portmap *pm, enum mg_portmap_event event,
				const struct mg_portmap_status *status, void *arg),
		     void *arg);

/* Deletes the mapping (bounded by timeout_ms per protocol), removes it from
 * the journal, closes every handle, frees pm, then calls close_cb (may be
 * NULL). No event is reported after this call. */
void mg_portmap_close(struct mg_portmap *pm, void (*close_cb)(void *arg), void *arg);

/* Runs whatever is due by config.clock (renewal, restart check, retry,
 * lease expiry). The loop's timer calls it; tests call it after moving a
 * fake clock. */
void mg_portmap_tick(struct mg_portmap *pm);

/* The current mapping; false when there is none. */
bool mg_portmap_current(const struct mg_portmap *pm, struct mg_portmap_status *status);

/* The IPv4 gateway of the default route in the calling thread's network
 * namespace. -ENETUNREACH when there is none. */
int mg_portmap_default_gateway(struct in_addr *gateway);

/* One-shot availability probe (for netcheck): asks every allowed protocol at
 * once; each that answers then maps internal_port for a short lease, reports
 * the external endpoint, and deletes the mapping again. Never journaled. */
struct mg_portmap_probe_proto {
	bool answered;	 /* the protocol answered the probe */
	bool mapped;	 /* and granted a mapping */
	int error;	 /* -errno of what failed (-ETIMEDOUT: no answer) */
	uint32_t rtt_ms; /* of the probe's answer */
	struct in_addr external_addr;
	uint16_t external_port; /* host order; 0 when not mapped */
	uint32_t lifetime_s;
};

struct mg_portmap_probe_result {
	int error; /* -ENETUNREACH: no gateway; otherwise 0 */
	struct in_addr gateway;
	struct mg_portmap_probe_proto proto[MG_PORTMAP_PROTO_COUNT];
};

struct mg_portmap_probe;

/* Starts the probe; cb is called exactly once on the loop thread (after at
 * most (1 + 2 * protocols) * timeout_ms: the probes, then a map and a delete
 * per protocol that answered), then the probe frees itself. On error cb is
 * never called. config.state_dir, retry_ms, check_interval_ms and
 * lifetime_s are ignored. */
int mg_portmap_probe_start(struct mg_portmap_probe **out, uv_loop_t *loop,
			   const struct mg_portmap_config *config, uint16_t internal_port,
			   void (*cb)(const struct mg_portmap_probe_result *result, void *arg),
			   void *arg);

/* Stops early: cb is called soon with what is known so far (mappings made
 * are still deleted). */
void mg_portmap_probe_cancel(struct mg_portmap_probe *probe);

#endif
