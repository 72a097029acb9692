/* One birthday round's probes to one member (mesh/path.h, "Hard NAT"):
 * what was sent, and which PROBE_ACK may select a path. Pure code: no
 * sockets, no clock, no randomness (the caller draws nonce and ports).
 *
 * A round sends one PROBE (probe.h; one nonce, signed once) to
 *   - the member's public endpoint (target) from each of up to
 *     MG_BDAY_SOCKS_MAX extra sockets (tunnel/udp.h; numbered 1..), and
 *   - up to MG_BDAY_PORTS_MAX distinct ports (1024..65535, where NATs map
 *     to) of the target's address, from the WireGuard socket (number 0).
 * An ACK, verified (mg_probe_ack_verify) with the member's key, selects the
 * endpoint it came from (remote address and port, and the socket it
 * arrived on) when
 *   - its responder is the round's member and its nonce the round's
 *     (compared in constant time), and
 *   - it came from the target's address, and either to socket 0 from a
 *     port the round sprayed, or to one of the round's sockets from the
 *     target's port.
 * These are probe.h's pending-set rules with one nonce for many probes:
 * the ACK must come from an endpoint a probe of this round went to, over
 * the socket it left from, so a third party that cannot see the probes
 * cannot steer the path, and one that can only confirms a real one. The
 * caller ends the round on the first match (the nonce selects once) and
 * after MG_PATH_BDAY_ROUND_MS, well inside probe.h's window. IPv4 only:
 * the NATs that need this are IPv4's. */
#ifndef MG_MESH_BIRTHDAY_H
#define MG_MESH_BIRTHDAY_H

#include <stdbool.h>
#include <stdint.h>

#include "mesh/probe.h"
#include "util/ipaddr.h"

#define MG_BDAY_SOCKS_MAX 256
#define MG_BDAY_PORTS_MAX 256
#define MG_BDAY_PORT_MIN  1024

struct mg_bday_round {
	uint8_t peer[MG_ED25519_PUB_LEN];
	uint8_t nonce[MG_PROBE_NONCE_LEN];
	struct mg_endpoint target; /* remote part only */
	uint16_t socks[MG_BDAY_SOCKS_MAX];
	unsigned n_socks;
	uint16_t ports[MG_BDAY_PORTS_MAX];
	unsigned n_ports;
};

/* target: the member's public IPv4 endpoint. 0, or -EAFNOSUPPORT for
 * another family. */
int mg_bday_init(struct mg_bday_round *r, const uint8_t peer_pk[MG_ED25519_PUB_LEN],
		 const uint8_t nonce[MG_PROBE_NONCE_LEN], const struct mg_endpoint *target);
/* A probe left from extra socket sock (not 0). 0 or -ENOSPC. */
int mg_bday_add_sock(struct mg_bday_round *r, uint16_t sock);
/* A probe goes to port of the target's address. 0, -EEXIST (sprayed
 * already: draw another), -EINVAL (below MG_BDAY_PORT_MIN), -ENOSPC. */
int mg_bday_add_port(struct mg_bday_round *r, uint16_t port);
/* The endpoint a probe to sprayed port i went to. */
struct mg_endpoint mg_bday_port_endpoint(const struct mg_bday_round *r, unsigned i);

/* ack verified with the round's member's key; from: the ACK's source, with
 * the socket it arrived on in local.sock. 0 with *ep the endpoint selected
 * (from's address and port and socket), -EPERM (another member), -ENOENT
 * (another nonce), -EADDRNOTAVAIL (not from where a probe went). */
int mg_bday_match(const struct mg_bday_round *r, const struct mg_probe_ack *ack,
		  const struct mg_endpoint *from, struct mg_endpoint *ep)
	__attribute__((warn_unused_result));

#endif
