/* Control messages on the WireGuard port: the framing every mesh message
 * shares (join exchange, gossip; part 2 adds probes and relay).
 *
 * The tunnel hands every datagram that is not a WireGuard message to the
 * STUN port, which passes on what is not STUN; the mesh takes what starts
 * with MG_CTL_MAGIC. No WireGuard message can start with it (their first
 * byte is 1-4, followed by three zero bytes), nor can STUN (RFC 8489: the
 * two top bits of a STUN message's first byte are zero, so it is 0x00-0x3f).
 *
 * Header (4 bytes), then the body of the type:
 *
 *   off  len  field
 *     0    1  magic = MG_CTL_MAGIC (0x6d, 'm')
 *     1    1  version = MG_CTL_VERSION (1); other versions are dropped
 *     2    1  type (below)
 *     3    1  reserved, zero (a non-zero byte is dropped, so that a later
 *             version can use it as flags)
 *
 * Every control datagram is at most MG_CTL_MAX_LEN bytes (fits the IPv6
 * minimum MTU of 1280 with room for IP and UDP headers); longer ones are
 * dropped unread, except RELAY_DATA and RELAY_DELIVER (types 0x24, 0x25), which carry whole
 * WireGuard datagrams and may be up to MG_RELAY_DATA_MAX (relay.h) long: a
 * receiver checks the type before the length, and mg_relay_parse, not
 * mg_ctl_parse_header, checks its header. Receivers rate-limit control messages per source with the
 * tunnel's rate limiter (agent.h: MG_AGENT_CTL_PER_SECOND, burst
 * MG_AGENT_CTL_BURST) before any signature check or reply, and a message
 * that makes the receiver answer a party it does not yet know is at least as
 * long as the answer (no amplification).
 *
 * Types:
 *   0x01-0x0f  the join exchange (mesh/join.h)
 *   0x10-0x1f  gossip: certificates, revocations, departures, endpoint
 *              announcements (mesh/gossip.h)
 *   0x20-0x21  path probes (mesh/probe.h)
 *   0x22-0x24  relay registration and relayed data to a relay (mesh/relay.h)
 *   0x25       relayed data from a relay: RELAY_DATA's layout, the key id
 *              naming the source (mesh/path.h); a separate type, so that a
 *              node that relays never takes data meant for it as data to
 *              pass on
 *   0x26       punch request: probe me now (mesh/punch.h), sent through a
 *              relay as the payload of RELAY_DATA (or directly)
 *   0x27-0x2f  reserved for part 2 */
#ifndef MG_MESH_CTL_H
#define MG_MESH_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mesh/mesh.h"

#define MG_CTL_MAGIC	  0x6d
#define MG_CTL_VERSION	  1
#define MG_CTL_HEADER_LEN 4
#define MG_CTL_MAX_LEN	  1200

enum mg_ctl_type {
	MG_CTL_JOIN_HELLO = 0x01,
	MG_CTL_JOIN_CHALLENGE = 0x02,
	MG_CTL_JOIN_REQUEST = 0x03,
	MG_CTL_JOIN_RESULT = 0x04,
	MG_CTL_GOSSIP_FIRST = 0x10,
	MG_CTL_GOSSIP_LAST = 0x1f,
	MG_CTL_PROBE = 0x20,
	MG_CTL_PROBE_ACK = 0x21,
	MG_CTL_RELAY_REGISTER = 0x22,
	MG_CTL_RELAY_REGISTERED = 0x23,
	MG_CTL_RELAY_DATA = 0x24,
	MG_CTL_RELAY_DELIVER = 0x25,
	MG_CTL_PUNCH = 0x26,
};

/* True when buf starts like a control message (magic byte), whatever its
 * version: such datagrams belong to the mesh and go no further. */
static inline bool mg_ctl_is_control(const uint8_t *buf, size_t len)
{
	return len > 0 && buf[0] == MG_CTL_MAGIC;
}

/* Checks the header: the type (> 0), or -MG_MESH_EMALFORMED (short, too
 * long, reserved byte set), -MG_MESH_EVERSION. */
int mg_ctl_parse_header(const uint8_t *buf, size_t len) __attribute__((warn_unused_result));

/* Starts a message of type in out (room for MG_CTL_MAX_LEN): the cursor
 * stops at MG_CTL_MAX_LEN. */
void mg_ctl_start(struct mg_mesh_buf *b, uint8_t *out, uint8_t type);

/* The length written since mg_ctl_start, or -MG_MESH_ETOOBIG when the
 * message did not fit. */
int mg_ctl_finish(const struct mg_mesh_buf *b, const uint8_t *out);

#endif
