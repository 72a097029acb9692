/* Relaying through a member when no direct path works (issue 12). Pure
 * code: no sockets, no clock; callers pass datagrams, sources and the time.
 *
 * A member M that needs a relay registers with the relay R (a member
 * started with `up --relay`, or one not behind a NAT) and renews that every
 * MG_RELAY_RENEW_MS; R remembers M's key and the endpoint the registration
 * came from. Then M sends its WireGuard datagrams for a peer P to R wrapped
 * in RELAY_DATA naming P; R rewrites the envelope to name M and sends it to
 * P's registered endpoint. The payload stays end-to-end WireGuard: R can
 * neither read nor forge it, only drop, delay or misdeliver it.
 *
 * RELAY_REGISTER, M -> R: PROBE's layout (probe.h), MG_PROBE_LEN bytes,
 * with type MG_CTL_RELAY_REGISTER (0x22) and the signature by M's member
 * key over "mg-relay-register-v1" || R's member key || bytes 0..70:
 *
 *   off  len  field
 *     0    4  ctl header, type 0x22
 *     4   32  registrant's member key
 *    36   16  nonce
 *    52    8  registrant's wall clock, Unix ms
 *    60   11  zeros (as long as the longest answer)
 *    71   64  signature
 *
 * RELAY_REGISTERED, R -> M (to the REGISTER's source): PROBE_ACK's layout,
 * 123 or 135 bytes, type MG_CTL_RELAY_REGISTERED (0x23), signature by R
 * over "mg-relay-registered-v1" || M's member key || every byte before:
 *
 *   off  len  field
 *     0    4  ctl header, type 0x23
 *     4   32  relay's member key
 *    36   16  the REGISTER's nonce
 *    52 7|19  M's endpoint as R saw it: family 4|6, address 4|16, port 2
 *     ..  64  signature
 *
 * M keeps its REGISTER's nonce in an mg_probe_pending for R (candidate =
 * R's endpoint) and matches the REGISTERED there: the same rules as a
 * probe's ACK (fresh, once, from R's endpoint), the same guarantees.
 *
 * RELAY_DATA, either way, MG_RELAY_HEADER_LEN + n bytes, 1 <= n, total <=
 * MG_RELAY_DATA_MAX:
 *
 *   off  len  field
 *     0    4  ctl header, type MG_CTL_RELAY_DATA (0x24)
 *     4    8  key id (mesh.h) of a member: from a member to the relay, the
 *             destination; from the relay to a member, the source
 *    12    n  payload: one WireGuard datagram, opaque here; or, when its
 *             first byte is MG_CTL_MAGIC (no WireGuard message starts so,
 *             ctl.h), a PUNCH (punch.h) for the destination member itself
 *
 * RELAY_DATA is exempt from MG_CTL_MAX_LEN (ctl.h): it carries full-sized
 * WireGuard datagrams, up to MG_RELAY_DATA_MAX = 1564 bytes (a 1500-byte
 * underlay MTU plus 64 of slack for paths with a larger one; the receive
 * buffers of relays and members must be at least that long). It is not
 * signed: it is as cheap as WireGuard's own data path, and what it carries
 * is authenticated end to end. A relay forwards in place: parse, route,
 * then mg_relay_wrap_header over the first 12 bytes with the source's id,
 * and send the same buffer (same length: no amplification).
 *
 * A member accepts RELAY_DATA only from the endpoint of a relay whose
 * REGISTERED it matched, and hands the payload to WireGuard as coming from
 * the member the id names (the path manager's decision). A relay that
 * names the wrong member can only get the datagram dropped: WireGuard finds
 * the session by the receiver index inside and authenticates the rest.
 * A payload that is a PUNCH goes to the path manager instead (path.h).
 *
 * MTU budget of a relayed packet over an IPv6 underlay of 1500 bytes:
 *     1500  underlay MTU
 *    -  40  IPv6 header
 *    -   8  UDP header
 *    -  12  relay envelope (MG_RELAY_HEADER_LEN)
 *    -  32  WireGuard data message: 16 header + 16 Poly1305 tag
 *   = 1408  MG_RELAY_INNER_MTU, the default MTU of mesh interfaces
 * WireGuard pads a packet to a multiple of 16 but never past the MTU, and
 * 1408 is a multiple of 16, so the padding never overflows the budget. An
 * IPv4 underlay leaves 20 bytes to spare. A direct path uses the same MTU,
 * so moving between relay and direct never changes it.
 *
 * The relay's table. A relay forwards only between members that registered
 * with it: the caller admits a REGISTER only after mg_relay_register_verify
 * (signature, time window) and after checking the member is certified and
 * neither revoked nor departed in its directory; it calls mg_relay_forget
 * when the directory revokes or drops a member. Rules, each for a reason:
 *   - Registrations expire after MG_RELAY_TTL_MS unless renewed: a member
 *     that left or moved stops receiving.
 *   - While a registration lives, a renewal's time (the REGISTER's,
 *     signed) must be later than the last one accepted from that member
 *     (-EALREADY otherwise): a REGISTER replayed from another source
 *     inside the probe window cannot move a member's traffic there. After
 *     expiry the probe window already refuses anything as old as the last
 *     accepted one.
 *   - One endpoint belongs to at most one member, and one member has one
 *     endpoint: a newer registration from an endpoint another member held
 *     takes it over (NAT mappings get reused); the old holder's entry
 *     keeps its key and last time but no endpoint, so it is neither source
 *     nor destination until it registers again.
 *   - A datagram is forwarded only when its source is a registered,
 *     unexpired member's endpoint (-EPERM otherwise): a relay never
 *     forwards for a non-member, and never towards one: a destination is a
 *     registered member (-ENOENT otherwise).
 *   - Each source member has a token bucket of MG_RELAY_RATE_PACKETS
 *     packets/s and MG_RELAY_RATE_BYTES bytes/s with a burst of one second
 *     of each (-EAGAIN past it), kept across renewals. Full-sized
 *     datagrams at the packet rate would make 31 MB/s, so the byte rate
 *     (25 MB/s, 200 Mbit/s) is what limits a bulk transfer, and the packet
 *     rate what limits a flood of small datagrams (the relay's work).
 *   - Two member keys with one key id cannot both register (-EEXIST for the
 *     second while the first is live): ids name destinations.
 * Bounds: MG_RELAY_MEMBERS_MAX entries and two hash indexes (by key id and
 * by endpoint, keyed SipHash with a random key, chained) allocated once by
 * mg_relay_table_init; route is O(1) expected and never allocates. A full
 * table reuses an expired entry; with none, -ENOSPC.
 *
 * Not thread-safe: one owner (the lead's loop) calls everything. */
#ifndef MG_MESH_RELAY_H
#define MG_MESH_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/primitives.h"
#include "mesh/ctl.h"
#include "mesh/mesh.h"
#include "mesh/probe.h"
#include "util/ipaddr.h"

#define MG_RELAY_HEADER_LEN   (MG_CTL_HEADER_LEN + MG_MESH_KEY_ID_LEN)
#define MG_RELAY_DATA_MAX     (1500 + 64)
#define MG_RELAY_PAYLOAD_MAX  (MG_RELAY_DATA_MAX - MG_RELAY_HEADER_LEN)
#define MG_RELAY_INNER_MTU    (1500 - 40 - 8 - MG_RELAY_HEADER_LEN - 32)
#define MG_RELAY_MEMBERS_MAX  4096
#define MG_RELAY_BUCKETS      8192 /* per index, a power of two */
#define MG_RELAY_TTL_MS	      90000
#define MG_RELAY_RENEW_MS     25000 /* members renew this often */
#define MG_RELAY_RATE_PACKETS 20000
#define MG_RELAY_RATE_BYTES   25000000
#define MG_RELAY_BURST_MS     1000

_Static_assert(MG_RELAY_HEADER_LEN == 12, "relay envelope");
_Static_assert(MG_RELAY_INNER_MTU == 1408, "MTU budget");
_Static_assert(MG_RELAY_INNER_MTU % 16 == 0, "WireGuard padding fits");
_Static_assert(MG_RELAY_RENEW_MS * 3 < MG_RELAY_TTL_MS, "two renewals may be lost");
_Static_assert((MG_RELAY_BUCKETS & (MG_RELAY_BUCKETS - 1)) == 0, "power of two");

/* ---- registration messages (layouts above; parsed into probe.h's
 * structs) ---- */

/* As mg_probe_make, to the relay relay_pk. */
int mg_relay_register_make(uint8_t *out, const uint8_t member_sk[MG_ED25519_SECRET_LEN],
			   const uint8_t relay_pk[MG_ED25519_PUB_LEN],
			   const uint8_t nonce[MG_PROBE_NONCE_LEN], uint64_t now_ms)
	__attribute__((warn_unused_result));
/* As mg_probe_parse: p->sender is the claimed registrant. */
int mg_relay_register_parse(struct mg_probe *p, const uint8_t *buf, size_t len)
	__attribute__((warn_unused_result));
/* As mg_probe_verify; relay_pk is our own key. */
int mg_relay_register_verify(const struct mg_probe *p, const uint8_t member_pk[MG_ED25519_PUB_LEN],
			     const uint8_t relay_pk[MG_ED25519_PUB_LEN], uint64_t now_ms)
	__attribute__((warn_unused_result));

/* As mg_probe_ack_make: seen is the REGISTER's source. */
int mg_relay_registered_make(uint8_t *out, const uint8_t relay_sk[MG_ED25519_SECRET_LEN],
			     const uint8_t member_pk[MG_ED25519_PUB_LEN],
			     const uint8_t nonce[MG_PROBE_NONCE_LEN],
			     const struct mg_endpoint *seen) __attribute__((warn_unused_result));
/* As mg_probe_ack_parse: a->responder is the claimed relay. */
int mg_relay_registered_parse(struct mg_probe_ack *a, const uint8_t *buf, size_t len)
	__attribute__((warn_unused_result));
/* As mg_probe_ack_verify; member_pk is our own key. */
int mg_relay_registered_verify(const struct mg_probe_ack *a,
			       const uint8_t relay_pk[MG_ED25519_PUB_LEN],
			       const uint8_t member_pk[MG_ED25519_PUB_LEN])
	__attribute__((warn_unused_result));

/* ---- RELAY_DATA ---- */

/* Writes the envelope for key id into hdr[0..12): the caller reserves
 * MG_RELAY_HEADER_LEN bytes of headroom before the WireGuard datagram. */
void mg_relay_wrap_header(uint8_t hdr[MG_RELAY_HEADER_LEN], const uint8_t id[MG_MESH_KEY_ID_LEN]);

/* Checks a RELAY_DATA datagram: 0 with the key id copied to id and
 * *payload pointing into buf (borrowed: valid as long as buf), or
 * -MG_MESH_EMALFORMED (short, empty payload, longer than
 * MG_RELAY_DATA_MAX, reserved byte set), -MG_MESH_EVERSION, -ENOMSG
 * (another type). */
int mg_relay_parse(const uint8_t *buf, size_t len, uint8_t id[MG_MESH_KEY_ID_LEN],
		   const uint8_t **payload, size_t *payload_len)
	__attribute__((warn_unused_result));

/* ---- the relay's table ---- */

struct mg_relay_entry; /* relay.c's */

/* Caller-owned; the storage is allocated by init, freed by free. */
struct mg_relay_table {
	uint8_t hash_key[16];
	struct mg_relay_entry *entries; /* MG_RELAY_MEMBERS_MAX */
	uint32_t *by_id, *by_ep;	/* bucket heads: entry index + 1, 0 = none */
	uint32_t free_head;		/* entry index + 1 of a never-used or forgotten one */
	uint32_t used;			/* entries that hold a member (live or expired) */
};

/* 0 or -ENOMEM. */
int mg_relay_table_init(struct mg_relay_table *t) __attribute__((warn_unused_result));
void mg_relay_table_free(struct mg_relay_table *t);

/* Registers (or renews) member_pk at from (its remote address: AF_INET or
 * AF_INET6, port not 0) until now_ms + MG_RELAY_TTL_MS. msg_time_ms is the
 * verified REGISTER's time. The caller has verified the REGISTER and that
 * the member is certified, not revoked. now_ms: the caller's monotonic
 * clock, the same as for route.
 *   0, -EINVAL (from), -EALREADY (msg_time_ms not after the last accepted),
 *   -EEXIST (another live member has this key id), -ENOSPC (full) */
int mg_relay_register(struct mg_relay_table *t, const uint8_t member_pk[MG_ED25519_PUB_LEN],
		      const struct mg_endpoint *from, uint64_t msg_time_ms, uint64_t now_ms)
	__attribute__((warn_unused_result));

/* Drops member_pk's registration (revoked, departed); nothing if none. */
void mg_relay_forget(struct mg_relay_table *t, const uint8_t member_pk[MG_ED25519_PUB_LEN]);

/* Decides a RELAY_DATA datagram of len bytes (all of it: the bytes/s budget
 * counts it whole) from the endpoint from, naming dest_id:
 *   0        forward: *to = the destination's registered endpoint (its
 *            remote address, and the local address its REGISTER arrived
 *            at, so that the relay sends from the address the member
 *            contacted), src_id = the source member's key id
 *   -MG_MESH_EMALFORMED  len is 0 or more than MG_RELAY_DATA_MAX
 *   -EPERM   from is no registered, unexpired member's endpoint
 *   -ENOENT  no registered, unexpired member has dest_id
 *   -EAGAIN  the source member is over its rate (counted only when the
 *            destination exists) */
int mg_relay_route(struct mg_relay_table *t, const struct mg_endpoint *from,
		   const uint8_t dest_id[MG_MESH_KEY_ID_LEN], size_t len, uint64_t now_ms,
		   struct mg_endpoint *to, uint8_t src_id[MG_MESH_KEY_ID_LEN])
	__attribute__((warn_unused_result));

#endif
