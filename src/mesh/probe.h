/* Direct-path probes between two members A (prober) and B (responder), on
 * the WireGuard port (issue 12). Pure code: no sockets, no clock; callers
 * pass the time and the datagram's source.
 *
 * A sends a PROBE to each of B's candidate endpoints (its signed
 * announcement, its STUN-observed address, birthday-guessed ports); B
 * answers each valid PROBE with a PROBE_ACK to the datagram's source. The
 * first ACK that matches a probe A sent selects that probe's candidate as
 * the path to B, and tells A its own reflexive address as B saw it (as a
 * STUN binding response would).
 *
 * PROBE, A -> B, exactly MG_PROBE_LEN = 135 bytes:
 *
 *   off  len  field
 *     0    4  ctl header (ctl.h), type MG_CTL_PROBE (0x20)
 *     4   32  sender's member key (Ed25519)
 *    36   16  nonce, random, fresh per probe
 *    52    8  sender's wall clock, Unix ms, < MG_PROBE_TIME_MAX
 *    60   11  zeros: a PROBE is as long as the longest PROBE_ACK (IPv6),
 *             so a replayed probe from a spoofed source reflects no more
 *             bytes than it costs (ctl.h: no amplification)
 *    71   64  signature by the sender's member key over "mg-probe-v1" ||
 *             the RECIPIENT's member key || bytes 0..70
 *
 * PROBE_ACK, B -> A (to the PROBE's source), 123 (IPv4) or 135 (IPv6):
 *
 *   off  len  field
 *     0    4  ctl header, type MG_CTL_PROBE_ACK (0x21)
 *     4   32  responder's member key
 *    36   16  the probe's nonce
 *    52    1  family of the probe's source as B saw it: 4 or 6
 *    53 4|16  its address
 *  57|69   2  its port, not 0
 *  59|71  64  signature by the responder's member key over
 *             "mg-probe-ack-v1" || the PROBER's member key || every byte
 *             before the signature
 *
 * Both are fixed layouts and the decoders are strict (every length exact,
 * padding zero, family 4 or 6, port not 0, nothing after the signature),
 * so each message has one encoding and the verifiers re-encode what the
 * parser returned. The recipient's key is signed but not sent: it is the
 * verifier's own.
 *
 * Receiving, in this order (cheapest first; the caller rate-limits control
 * datagrams per source before any of it, ctl.h):
 *   1. mg_probe_parse / mg_probe_ack_parse: framing; gives the claimed
 *      sender key, which the caller looks up in its directory (a live,
 *      certified, unrevoked member; otherwise drop).
 *   2. mg_probe_verify / mg_probe_ack_verify with that member's key and our
 *      own: signature, and for a PROBE the time window.
 *   3. B answers a verified PROBE with mg_probe_ack_make (seen = the
 *      datagram's source). A passes a verified ACK with the datagram's
 *      source to mg_probe_pending_match of the responder's pending set.
 *
 * Security argument. An attacker may be off-path (cannot see the traffic),
 * on-path (sees, drops, delays, replays, spoofs sources), or a member.
 *   No forged probe or ACK: both are signed by a member key the receiver
 *   looked up in its directory; the context strings keep a PROBE signature
 *   from passing as an ACK (or as any other mesh signature), and the
 *   signed recipient key keeps a PROBE made for B (or an ACK made for A)
 *   from being accepted by C: replayed elsewhere it fails verification.
 *   No replayed probe older than MG_PROBE_WINDOW_MS: B refuses a PROBE whose
 *   time lies more than the window from its clock either way. Inside the
 *   window B answers a replayed PROBE again (B keeps no per-probe state:
 *   a responder must stay cheap and answer retransmissions); the answer is
 *   no longer than the PROBE (no amplification) and useless to the
 *   replayer, as follows.
 *   No path steered: an ACK counts only when its nonce is one A sent to B,
 *   less than MG_PROBE_TIMEOUT_MS ago, that has not matched before (each
 *   nonce selects at most once: a replayed ACK fails), compared in constant
 *   time; and only when the ACK comes from the very candidate the probe
 *   went to (source address and port equal). The path selected is that
 *   CANDIDATE, as A recorded it when sending, never an address taken from
 *   the ACK: the candidates come from B's signed announcements or from A's
 *   own guesses, so no third party can put an endpoint of its choosing in
 *   the pending set. Requiring the source to equal the candidate is the
 *   choice that makes an ACK prove the round trip over that very 5-tuple,
 *   which is what WireGuard will use (through any NAT a reply from B leaves
 *   through the mapping the probe came in by, so a working path always
 *   passes); an ACK from elsewhere (B's reply to a probe replayed from a
 *   spoofed source and then forwarded) is refused without consuming the
 *   nonce, so the genuine ACK still counts. The nonces are 128 random bits
 *   that only travel in the probe to the candidate: an off-path attacker
 *   cannot guess one, and cannot get B to sign an ACK for it except by
 *   replaying A's probe, which only confirms B's real candidate.
 *   What is left to an on-path attacker is what it can always do: drop or
 *   delay traffic (a path looks dead, the manager moves to the relay), or
 *   race a copy of B's genuine ACK from the candidate's own address (which
 *   selects the same candidate). The reflexive address in an ACK is signed
 *   by B but reports what B saw, which a spoofer can influence: it is a
 *   hint for A's announcements, not an authenticated fact.
 *   WireGuard authenticates every packet on the path afterwards: a wrong
 *   choice costs a handshake timeout, never a packet to a stranger.
 *
 * Bounds. A pending set holds MG_PROBE_PENDING_MAX probes per peer member;
 * adding to a full set replaces the oldest (an expired one first). A probe
 * round of the path manager sends at most that many probes per peer before
 * matching; birthday rounds keep one pending set per round. Nothing here
 * allocates. */
#ifndef MG_MESH_PROBE_H
#define MG_MESH_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/primitives.h"
#include "mesh/ctl.h"
#include "mesh/mesh.h"
#include "util/ipaddr.h"

#define MG_PROBE_NONCE_LEN   16
#define MG_PROBE_BODY_LEN    71 /* header to the signature */
#define MG_PROBE_LEN	     (MG_PROBE_BODY_LEN + MG_ED25519_SIG_LEN)
#define MG_PROBE_ACK_V4_LEN  (59 + MG_ED25519_SIG_LEN)
#define MG_PROBE_ACK_MAX     (71 + MG_ED25519_SIG_LEN)
#define MG_PROBE_WINDOW_MS   30000 /* a probe's age either way */
#define MG_PROBE_TIMEOUT_MS  5000  /* an ACK after this is too late */
#define MG_PROBE_PENDING_MAX 8
#define MG_PROBE_TIME_MAX    (MG_MESH_TIME_MAX * 1000) /* in ms: no overflow */

_Static_assert(MG_PROBE_LEN == 135, "probe layout");
_Static_assert(MG_PROBE_ACK_V4_LEN == 123, "IPv4 ack layout");
_Static_assert(MG_PROBE_LEN >= MG_PROBE_ACK_MAX, "a probe is as long as its answer");
_Static_assert(MG_PROBE_ACK_MAX <= MG_CTL_MAX_LEN, "fits a control datagram");

/* A PROBE (or RELAY_REGISTER, relay.h) as parsed: not yet trusted. */
struct mg_probe {
	uint8_t sender[MG_ED25519_PUB_LEN];
	uint8_t nonce[MG_PROBE_NONCE_LEN];
	uint64_t time_ms;
	uint8_t signature[MG_ED25519_SIG_LEN];
};

/* A PROBE_ACK (or RELAY_REGISTERED, relay.h) as parsed: not yet trusted.
 * seen has the remote address only (no local part). */
struct mg_probe_ack {
	uint8_t responder[MG_ED25519_PUB_LEN];
	uint8_t nonce[MG_PROBE_NONCE_LEN];
	struct mg_endpoint seen;
	uint8_t signature[MG_ED25519_SIG_LEN];
};

/* A PROBE into out (room for MG_PROBE_LEN), for the member recipient_pk;
 * nonce is the caller's fresh random nonce (it goes into the pending set
 * too). MG_PROBE_LEN, or -MG_MESH_EMALFORMED for a time >=
 * MG_PROBE_TIME_MAX. */
int mg_probe_make(uint8_t *out, const uint8_t sender_sk[MG_ED25519_SECRET_LEN],
		  const uint8_t recipient_pk[MG_ED25519_PUB_LEN],
		  const uint8_t nonce[MG_PROBE_NONCE_LEN], uint64_t now_ms)
	__attribute__((warn_unused_result));

/* 0, or -MG_MESH_EMALFORMED, -MG_MESH_EVERSION (ctl version); -ENOMSG for
 * a control message of another type. p is zeroed on error. */
int mg_probe_parse(struct mg_probe *p, const uint8_t *buf, size_t len)
	__attribute__((warn_unused_result));

/* sender_pk: the directory's key for p->sender (must be equal); our_pk: our
 * own member key, the recipient signed. 0, -MG_MESH_ESIGNATURE,
 * -MG_MESH_EEXPIRED (older than the window), -MG_MESH_ENOTYET (newer). */
int mg_probe_verify(const struct mg_probe *p, const uint8_t sender_pk[MG_ED25519_PUB_LEN],
		    const uint8_t our_pk[MG_ED25519_PUB_LEN], uint64_t now_ms)
	__attribute__((warn_unused_result));

/* The answer to a verified PROBE into out (room for MG_PROBE_ACK_MAX): seen
 * is the PROBE's source (AF_INET or AF_INET6, port not 0; an IPv4-mapped
 * IPv6 address is sent as IPv6, as seen). Its length, or
 * -MG_MESH_EMALFORMED for another family or port 0. */
int mg_probe_ack_make(uint8_t *out, const uint8_t responder_sk[MG_ED25519_SECRET_LEN],
		      const uint8_t prober_pk[MG_ED25519_PUB_LEN],
		      const uint8_t nonce[MG_PROBE_NONCE_LEN], const struct mg_endpoint *seen)
	__attribute__((warn_unused_result));

/* As mg_probe_parse. */
int mg_probe_ack_parse(struct mg_probe_ack *a, const uint8_t *buf, size_t len)
	__attribute__((warn_unused_result));

/* responder_pk: the directory's key for a->responder (must be equal);
 * our_pk: our own member key. 0 or -MG_MESH_ESIGNATURE. */
int mg_probe_ack_verify(const struct mg_probe_ack *a,
			const uint8_t responder_pk[MG_ED25519_PUB_LEN],
			const uint8_t our_pk[MG_ED25519_PUB_LEN])
	__attribute__((warn_unused_result));

/* ---- the prober's outstanding probes to one peer member ---- */

struct mg_probe_sent {
	uint8_t nonce[MG_PROBE_NONCE_LEN];
	struct mg_endpoint candidate; /* where the probe went, local part too */
	uint64_t sent_ms;
	bool live;
};

/* Caller-owned, one per peer member (embedded in the path manager's peer).
 * Times are the caller's monotonic clock in ms, the same for add and
 * match. */
struct mg_probe_pending {
	uint8_t peer[MG_ED25519_PUB_LEN]; /* the member probed */
	struct mg_probe_sent sent[MG_PROBE_PENDING_MAX];
};

void mg_probe_pending_init(struct mg_probe_pending *p, const uint8_t peer_pk[MG_ED25519_PUB_LEN]);

/* Records a probe sent to candidate (copied) at now_ms. A full set drops an
 * expired entry, else the oldest. */
void mg_probe_pending_add(struct mg_probe_pending *p, const uint8_t nonce[MG_PROBE_NONCE_LEN],
			  const struct mg_endpoint *candidate, uint64_t now_ms);

/* ack: verified (mg_probe_ack_verify) with the peer's key; from: the ACK
 * datagram's source. On a match the entry is consumed, *endpoint gets the
 * candidate as recorded (local part too) and *rtt_ms the round trip.
 *   0              matched: the caller may move the path to *endpoint
 *   -EPERM         the ACK's responder is not this set's peer
 *   -ENOENT        no such nonce: never sent, already matched, or dropped
 *   -ETIMEDOUT     sent more than MG_PROBE_TIMEOUT_MS ago (entry dropped)
 *   -EADDRNOTAVAIL from is not the candidate (entry kept: the genuine ACK
 *                  may still come) */
int mg_probe_pending_match(struct mg_probe_pending *p, const struct mg_probe_ack *ack,
			   const struct mg_endpoint *from, uint64_t now_ms,
			   struct mg_endpoint *endpoint, uint64_t *rtt_ms)
	__attribute__((warn_unused_result));

/* ---- private, shared with relay.c (RELAY_REGISTER has PROBE's layout,
 * RELAY_REGISTERED PROBE_ACK's, with their own types and contexts) ---- */

int mg_probe__make(uint8_t *out, uint8_t type, const char *ctx,
		   const uint8_t sk[MG_ED25519_SECRET_LEN],
		   const uint8_t peer_pk[MG_ED25519_PUB_LEN],
		   const uint8_t nonce[MG_PROBE_NONCE_LEN], uint64_t now_ms);
int mg_probe__parse(struct mg_probe *p, uint8_t type, const uint8_t *buf, size_t len);
int mg_probe__verify(const struct mg_probe *p, uint8_t type, const char *ctx,
		     const uint8_t sender_pk[MG_ED25519_PUB_LEN],
		     const uint8_t our_pk[MG_ED25519_PUB_LEN], uint64_t now_ms);
int mg_probe__ack_make(uint8_t *out, uint8_t type, const char *ctx,
		       const uint8_t sk[MG_ED25519_SECRET_LEN],
		       const uint8_t peer_pk[MG_ED25519_PUB_LEN],
		       const uint8_t nonce[MG_PROBE_NONCE_LEN], const struct mg_endpoint *seen);
int mg_probe__ack_parse(struct mg_probe_ack *a, uint8_t type, const uint8_t *buf, size_t len);
int mg_probe__ack_verify(const struct mg_probe_ack *a, uint8_t type, const char *ctx,
			 const uint8_t responder_pk[MG_ED25519_PUB_LEN],
			 const uint8_t our_pk[MG_ED25519_PUB_LEN]);

#endif
