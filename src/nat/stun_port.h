/* STUN on the WireGuard port: a responder for other nodes' Binding requests
 * and a client whose requests leave from the port WireGuard uses, so the
 * mapping it learns is the one peers will reach. Both hang off the device's
 * handler for datagrams that are not WireGuard; datagrams that are not STUN
 * either go on to the handler that was registered before (mesh control).
 *
 * Ownership: the caller embeds the port next to the engine it attaches to
 * (the daemon). mg_stun_port_detach closes the client's timer; run the loop
 * afterwards, as for the engine's own handles. */
#ifndef MG_NAT_STUN_PORT_H
#define MG_NAT_STUN_PORT_H

#include <stdbool.h>

#include "nat/stun_client.h"
#include "nat/stun_server.h"
#include "tunnel/engine.h"

struct mg_stun_port {
	struct mg_engine *engine;
	struct mg_stun_server server;
	/* Start transactions on it to learn the port's public endpoint. */
	struct mg_stun_client client;
	mg_device_other_handler next;
	void *next_ctx;
	uint64_t not_stun; /* other datagrams with no handler to go to */
	bool attached;
};

/* Starts answering Binding requests on e's port and dispatching responses
 * to p->client. schedule NULL: RFC 8489's. 0 or -errno. */
int mg_stun_port_attach(struct mg_stun_port *p, struct mg_engine *e,
			const struct mg_stun_schedule *schedule);
/* Restores the previous handler and fails the client's pending
 * transactions with -ECANCELED. Safe to call twice, or without attach. */
void mg_stun_port_detach(struct mg_stun_port *p);

#endif
