/* What a running node learns of its public side, continuously, on its real
 * WireGuard port: STUN to the configured servers every interval (mapped
 * endpoint, NAT kind), and a port mapping through the gateway kept alive by
 * the port mapper. Changes are logged; a mesh node announces both (the
 * mapping through mg_nat_discovery_mapped, which its agent asks).
 *
 * Ownership: the caller embeds struct mg_nat_discovery; after
 * mg_nat_discovery_stop the loop must run until its handles have closed
 * (the mapping is deleted at the gateway first). */
#ifndef MG_NAT_DISCOVERY_H
#define MG_NAT_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "nat/natprobe.h"
#include "nat/portmap.h"
#include "nat/stun_port.h"

#define MG_DISCOVERY_MAX_SERVERS 8
/* Tailscale re-STUNs every 20-26 s: NAT mappings of idle UDP last 30 s on
 * many routers, so this also keeps ours alive. */
#define MG_DISCOVERY_INTERVAL_MS 25000

struct mg_nat_discovery_config {
	struct mg_endpoint stun[MG_DISCOVERY_MAX_SERVERS];
	size_t stun_count;
	uint32_t interval_ms;	    /* 0: MG_DISCOVERY_INTERVAL_MS */
	bool portmap;		    /* keep a mapping through the gateway */
	unsigned portmap_protocols; /* MG_PORTMAP_BIT()s; 0: all */
	const char *upnp_url;	    /* copied by the mapper */
	const char *state_dir;	    /* copied by the mapper */
	const struct mg_log *log;   /* borrowed; NULL: mg_log_default() */
	/* Optional: the public endpoint or the NAT's kind changed (the same
	 * rounds that are logged); b is valid during the call. */
	void (*on_change)(void *arg, const struct mg_nat_behaviour *b);
	void *arg;
};

struct mg_nat_discovery {
	uv_loop_t *loop;
	struct mg_stun_port *port;
	struct mg_nat_discovery_config config;
	uv_timer_t timer;
	struct mg_stun_transaction tx[MG_DISCOVERY_MAX_SERVERS];
	struct mg_stun_result results[MG_DISCOVERY_MAX_SERVERS];
	unsigned pending;
	struct mg_nat_behaviour last; /* what we logged last */
	struct mg_portmap *portmap;
	bool running;
};

/* Starts probing from port's socket. Port mapping that cannot start (no
 * gateway) is logged and left off; STUN goes on. */
int mg_nat_discovery_start(struct mg_nat_discovery *d, uv_loop_t *loop, struct mg_stun_port *port,
			   const struct mg_nat_discovery_config *config);
/* Probes again now (the host's network changed); no-op when stopped or
 * when no STUN server is configured. */
void mg_nat_discovery_refresh(struct mg_nat_discovery *d);
/* The external endpoint the gateway maps to our port now, into out (no
 * local part); false when there is no mapping (none asked for, none
 * granted yet, lost, or stopped). */
bool mg_nat_discovery_mapped(const struct mg_nat_discovery *d, struct mg_endpoint *out);
/* Stops probing and deletes the port mapping. Returns true when a mapping
 * is being deleted: done(arg) then runs from the loop once it is gone and
 * the mapper's handles have closed. Otherwise false, and done never runs.
 * Either way run the loop once more for the discovery's own timer. */
bool mg_nat_discovery_stop(struct mg_nat_discovery *d, void (*done)(void *arg), void *arg);

#endif
