/* The interface between the port mapper (portmap.c) and one mapping
 * protocol (portmap_natpmp.c, portmap_pcp.c, portmap_upnp.c). Unit tests
 * put fakes here to drive the mapper without a gateway.
 *
 * A backend runs one operation at a time. The mapper fills the request part
 * of a struct mg_portmap_op and submits it; the backend fills the reply
 * part and calls op->done exactly once, always later from the loop (never
 * from inside submit), unless submit returned an error. cancel abandons the
 * operation in flight: done is then never called for it, and the op may be
 * reused at once. */
#ifndef MG_NAT_PORTMAP_BACKEND_H
#define MG_NAT_PORTMAP_BACKEND_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "nat/pcp.h"
#include "nat/portmap.h"

enum mg_portmap_opcode {
	/* Does the protocol answer? NAT-PMP: external address request; PCP:
	 * ANNOUNCE; UPnP: find the IGD and ask its external address. */
	MG_PORTMAP_OP_PROBE,
	/* Create or renew the mapping; lifetime_s > 0. */
	MG_PORTMAP_OP_MAP,
	/* Delete the mapping (PCP: with its nonce; UPnP: by external port). */
	MG_PORTMAP_OP_DELETE,
	/* Did the gateway keep the mapping? NAT-PMP, PCP: report the epoch
	 * (same requests as PROBE); UPnP: -ENOENT when the mapping is gone. */
	MG_PORTMAP_OP_CHECK,
};

struct mg_portmap_op {
	/* Request, set by the mapper. */
	enum mg_portmap_opcode code;
	uint16_t internal_port;
	uint16_t external_port; /* MAP: suggestion (0: any); DELETE, CHECK: the mapped one */
	uint32_t lifetime_s;
	uint8_t nonce[MG_PCP_NONCE_LEN];
	void (*done)(struct mg_portmap_op *op);
	void *data; /* the mapper's */

	/* Reply, set by the backend before done. status: 0, or -ETIMEDOUT (no
	 * answer within the budget), -EPROTONOSUPPORT (gateway does not speak
	 * it), -EBADMSG (answers we could not accept), -ENOENT (CHECK: mapping
	 * gone), or the -errno of a refusal (-EACCES, -ENOSPC, ...). */
	int status;
	bool has_epoch;
	uint32_t epoch;
	struct in_addr external_addr; /* PROBE, MAP */
	uint16_t mapped_port;	      /* MAP */
	uint32_t granted_s;	      /* MAP */
	char detail[96];	      /* why it failed, for logs */
};

struct mg_portmap_backend_config {
	uv_loop_t *loop;
	struct in_addr gateway;
	const char *upnp_url; /* NULL: SSDP */
	uint32_t timeout_ms;
	const struct mg_log *log; /* borrowed; NULL: mg_log_default() */
};

struct mg_portmap_backend {
	enum mg_portmap_proto proto;
	/* Allocates the backend's state; the config is copied. */
	int (*open)(void **state, const struct mg_portmap_backend_config *config);
	int (*submit)(void *state, struct mg_portmap_op *op);
	void (*cancel)(void *state);
	/* Cancels what runs, frees state once its handles (and threadpool
	 * work) are done, then calls cb(arg). */
	void (*close)(void *state, void (*cb)(void *arg), void *arg);
};

extern const struct mg_portmap_backend mg_portmap_natpmp;
extern const struct mg_portmap_backend mg_portmap_pcp;
extern const struct mg_portmap_backend mg_portmap_upnp;

#endif
