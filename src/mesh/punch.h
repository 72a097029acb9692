/* Punch requests: coordinated hole punching between two members A and M
 * behind NATs (issue 12). Pure code: no sockets, no clock.
 *
 * A wants a direct path to M. A's probes (probe.h) to M's public endpoint
 * are dropped by M's NAT until M has sent to A's public endpoint, which M
 * may not know yet (its announcement takes gossip rounds to arrive). So A
 * asks M, through a relay both registered with (relay.h: a RELAY_DATA
 * envelope whose payload is this message), to probe A's candidates at
 * once, listing the endpoints A knows for itself: first its reflexive
 * endpoint as the relay saw it (RELAY_REGISTERED), then what A announces.
 * A probes M's candidates in the same moment; M probes A's and sends a
 * PUNCH back (at most one a second) so that A learns M's reflexive
 * endpoint too. Through two endpoint-independent NATs, the first probes
 * open each side's NAT, the next ones get through; the first ACK selects
 * the path (probe.h's rules, unchanged).
 *
 * PUNCH, A -> M, exactly MG_PUNCH_LEN = 201 bytes:
 *
 *   off  len  field
 *     0    4  ctl header (ctl.h), type MG_CTL_PUNCH (0x26)
 *     4   32  sender's member key (Ed25519)
 *    36   16  nonce, random, fresh per message
 *    52    8  sender's wall clock, Unix ms, < MG_PROBE_TIME_MAX
 *    60    1  n, candidates that follow, 0..MG_PUNCH_CANDS_MAX
 *    61   76  MG_PUNCH_CANDS_MAX slots of 19 bytes: family (4 or 6), address
 *             (16: an IPv4 address in the first 4, then zeros), port (2,
 *             big-endian, not 0); slots n and later all zeros
 *   137   64  signature by the sender's member key over "mg-punch-v1" ||
 *             the RECIPIENT's member key || bytes 0..136
 *
 * The decoder is strict (exact length, family 4 or 6, port not 0, unused
 * address bytes and slots zero), so a message has one encoding and the
 * verifier re-encodes what the parser returned.
 *
 * Receiving: mg_punch_parse, look the sender up in the directory (a live,
 * certified member), then mg_punch_check with its key, our own key, the
 * time of the last PUNCH accepted from that member (0: none) and the wall
 * clock; act only on 0, and keep the message's time as the new last.
 *
 * Security argument (probe.h's, for what differs):
 *   No forged request: signed by a member key from the directory, with its
 *   own context string (no other mesh signature passes as a PUNCH) and the
 *   recipient's key (a PUNCH for M is refused by anyone else).
 *   No replay: the time must lie within MG_PROBE_WINDOW_MS of the
 *   receiver's clock and be later than the last one accepted from the
 *   sender (-EALREADY): a PUNCH replayed, by a relay or anyone on the path,
 *   does nothing. After a restart of the receiver a replay inside the
 *   window can be accepted once; all it does is what the original did.
 *   No path steered: a PUNCH only makes M send probes; a path is selected
 *   by a probe's ACK alone, under probe.h's rules (from the very candidate
 *   the probe went to, with a nonce M sent). The candidates are the
 *   sender's own claim, as its signed announcements are: a member can make
 *   another send probes to addresses of its choosing, as it already can by
 *   announcing them, bounded here by MG_PUNCH_CANDS_MAX probes per PUNCH
 *   and the receiver's rate (path.h).
 *   No amplification: a PUNCH is answered through relays, never to the
 *   datagram's source, and the answer is a PUNCH of the same length. */
#ifndef MG_MESH_PUNCH_H
#define MG_MESH_PUNCH_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/primitives.h"
#include "mesh/ctl.h"
#include "mesh/mesh.h"
#include "mesh/probe.h"
#include "util/ipaddr.h"

#define MG_PUNCH_CANDS_MAX 4
#define MG_PUNCH_SLOT_LEN  19
#define MG_PUNCH_BODY_LEN  (61 + MG_PUNCH_CANDS_MAX * MG_PUNCH_SLOT_LEN)
#define MG_PUNCH_LEN	   (MG_PUNCH_BODY_LEN + MG_ED25519_SIG_LEN)

_Static_assert(MG_PUNCH_BODY_LEN == 137, "punch layout");
_Static_assert(MG_PUNCH_LEN == 201, "punch layout");
_Static_assert(MG_PUNCH_LEN <= MG_CTL_MAX_LEN, "fits a control datagram");

/* A PUNCH as parsed: not yet trusted. cands have the remote part only. */
struct mg_punch {
	uint8_t sender[MG_ED25519_PUB_LEN];
	uint8_t nonce[MG_PROBE_NONCE_LEN];
	uint64_t time_ms;
	unsigned n;
	struct mg_endpoint cands[MG_PUNCH_CANDS_MAX];
	uint8_t signature[MG_ED25519_SIG_LEN];
};

/* A PUNCH into out (room for MG_PUNCH_LEN) for the member recipient_pk,
 * listing n (<= MG_PUNCH_CANDS_MAX) candidates (AF_INET or AF_INET6, port
 * not 0; their local parts are not sent). MG_PUNCH_LEN, or
 * -MG_MESH_EMALFORMED (a time >= MG_PROBE_TIME_MAX, too many candidates,
 * another family, port 0). */
int mg_punch_make(uint8_t *out, const uint8_t sender_sk[MG_ED25519_SECRET_LEN],
		  const uint8_t recipient_pk[MG_ED25519_PUB_LEN],
		  const uint8_t nonce[MG_PROBE_NONCE_LEN], uint64_t now_ms,
		  const struct mg_endpoint *cands, size_t n) __attribute__((warn_unused_result));

/* 0, or -MG_MESH_EMALFORMED, -MG_MESH_EVERSION (ctl version), -ENOMSG (a
 * control message of another type). p is zeroed on error. */
int mg_punch_parse(struct mg_punch *p, const uint8_t *buf, size_t len)
	__attribute__((warn_unused_result));

/* sender_pk: the directory's key for p->sender (must be equal); our_pk: our
 * own member key; last_ms: the time of the last PUNCH accepted from this
 * sender (0: none). 0, -MG_MESH_ESIGNATURE, -MG_MESH_EEXPIRED,
 * -MG_MESH_ENOTYET (outside the window), -EALREADY (not after last_ms: a
 * replay). */
int mg_punch_check(const struct mg_punch *p, const uint8_t sender_pk[MG_ED25519_PUB_LEN],
		   const uint8_t our_pk[MG_ED25519_PUB_LEN], uint64_t last_ms, uint64_t now_ms)
	__attribute__((warn_unused_result));

#endif
