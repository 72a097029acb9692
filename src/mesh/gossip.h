/* Gossip: how the members' directories (directory.h) come to agree, as a
 * protocol engine without I/O. The lead feeds it datagrams and the clock;
 * it emits datagrams addressed to member keys (the lead maps a member key
 * to the member's current UDP endpoint) and changes the directory, whose
 * callback tells the lead what to do with WireGuard peers.
 *
 * Two mechanisms, both with per-member traffic per round that does not
 * grow with the number of members n:
 *   - rumor mongering (push-pull by id): an item new to a member is "hot"
 *     there. Each round the member sends the ids of its hot items to
 *     `fanout` random members (RUMOR); a member lacking some asks for them
 *     (REQUEST) and gets them (ITEMS), and they are hot there in turn. A
 *     request is the feedback: each push of a hot id that brings no request
 *     is a miss, and after `rumor_misses` misses (or MG_GOSSIP_HOT_ROUNDS
 *     rounds) the member stops pushing it. An item thus reaches almost
 *     everyone in O(log n) rounds (Demers et al., "Epidemic algorithms for
 *     replicated database maintenance", 1987, feedback/counter variant).
 *   - anti-entropy, which repairs the rest and brings a member that was
 *     away up to date: every `ae_every` rounds a member sends its digest
 *     (the XOR of the item ids in each of MG_DIR_BUCKETS buckets, fixed
 *     size) to one random member (DIGEST). The receiver lists its ids in
 *     the buckets that differ (IDS, one datagram); the first then sends the
 *     items of those buckets that the list lacks (ITEMS) and asks for the
 *     listed ids it lacks (REQUEST).
 *
 * Datagram (control framing of ctl.h, at most MG_CTL_MAX_LEN bytes):
 *
 *   off  len  field
 *     0    4  ctl header: type 0x10..0x14 (below)
 *     4   32  sender's member key
 *    36    8  counter: increases with every datagram of the sender; it
 *             starts at the wall clock in ms << 10, so a restart continues
 *             above the datagrams sent before it
 *    44    1  flags: bit 0 = the sender's certificate item follows; the
 *             other bits zero
 *   [45  2+n  length, then the sender's CERT item (directory.h)]
 *    ..   ..  body of the type
 *   -64   64  signature by the sender's member key over "mg-gossip-v1" ||
 *             mesh id || the recipient's member key || every byte before
 *             the signature (the recipient is signed, not sent: a datagram
 *             replayed to another member fails there)
 *
 *   0x10 DIGEST   MG_DIR_BUCKETS x 8: each bucket's XOR of item ids
 *   0x11 IDS      entries to the end: bucket (1; bit 7 set: the list is
 *                 partial, it did not fit), count (1), count ids (8 each)
 *   0x12 RUMOR    count (1, <= MG_GOSSIP_HOT_MAX), ids (8 each)
 *   0x13 REQUEST  count (1), ids (8 each)
 *   0x14 ITEMS    count (1), each: length (2), item (directory.h); issuer
 *                 certificates first, announcements last, so that each
 *                 item's signer arrives before it
 *
 * Acceptance, cheapest check first: framing and type; the sender is a
 * member in the directory (not revoked, not departed), or the datagram
 * carries the sender's certificate (a new member introduces itself this
 * way during its first `intro_rounds` rounds, in its RUMORs); the signature
 * under the sender's key; the certificate, if carried and new, through
 * mg_directory_add; the counter above the last one seen from that member or
 * inside the 64 below it and not seen yet (replays are dropped, so a
 * datagram's source address is the sender's current one, which is why
 * mg_gossip_input reports the sender). Datagrams from ourselves are
 * dropped. A newcomer's DIGESTs have no room for its certificate: those
 * reaching members that do not know it yet are dropped (-ENOENT) until its
 * RUMORs or the rumor of its certificate got there, a round or two.
 *
 * Bounds: a DIGEST is 1133 bytes; a member sends per round `fanout` RUMORs
 * and one DIGEST every `ae_every` rounds. Replies: one IDS per DIGEST, at
 * most one REQUEST per IDS or RUMOR, at most `reply_max` ITEMS datagrams
 * per request or IDS, and never more than `round_budget` bytes of ITEMS
 * per round in all (so to any one destination either); what is left out is
 * sent later by anti-entropy. The lead rate-limits control datagrams per
 * source before mg_gossip_input (ctl.h).
 *
 * Ownership: the engine borrows the directory (which must outlive it) and
 * keeps a copy of the member secret key, wiped by mg_gossip_free. Datagrams
 * passed to send() live only for the call. Not thread-safe: the lead's loop
 * calls everything. */
#ifndef MG_MESH_GOSSIP_H
#define MG_MESH_GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/primitives.h"
#include "mesh/ctl.h"
#include "mesh/directory.h"

enum mg_gossip_type {
	MG_GOSSIP_DIGEST = 0x10,
	MG_GOSSIP_IDS = 0x11,
	MG_GOSSIP_RUMOR = 0x12,
	MG_GOSSIP_REQUEST = 0x13,
	MG_GOSSIP_ITEMS = 0x14,
};

#define MG_GOSSIP_HEADER_LEN	45 /* ctl header, key, counter, flags */
#define MG_GOSSIP_DIGEST_LEN	(MG_GOSSIP_HEADER_LEN + MG_DIR_BUCKETS * 8 + MG_ED25519_SIG_LEN)
#define MG_GOSSIP_HOT_MAX	32 /* hot items a member pushes at once */
#define MG_GOSSIP_HOT_ROUNDS	64 /* and for at most this many rounds */
#define MG_GOSSIP_REPLAY_WINDOW 64

_Static_assert(MG_GOSSIP_DIGEST_LEN <= MG_CTL_MAX_LEN, "a digest fits one datagram");

struct mg_gossip_config {
	uint32_t round_ms;     /* default 1000 */
	uint32_t round_budget; /* bytes of ITEMS per round; default 8 * 1200 */
	uint8_t fanout;	       /* RUMOR destinations per round; default 3 */
	uint8_t ae_every;      /* a DIGEST every this many rounds; default 1 */
	uint8_t rumor_misses;  /* misses before an item cools; default 4 */
	uint8_t reply_max;     /* ITEMS datagrams per reply; default 2 */
	/* Rounds from init during which RUMORs carry our certificate; default 30;
	 * 0 for a member sure that everyone knows it already. */
	uint16_t intro_rounds;
};

/* The defaults; a caller changes fields of these (round_ms, fanout,
 * ae_every and reply_max below 1 count as 1). */
void mg_gossip_config_default(struct mg_gossip_config *c);

typedef void mg_gossip_send_cb(void *ctx, const uint8_t to_member_key[MG_ED25519_PUB_LEN],
			       const uint8_t *buf, size_t len);
/* The random source (tests and the simulation seed their own). */
typedef uint32_t mg_gossip_rand_cb(void *ctx);

struct mg_gossip_stats {
	uint64_t rounds;
	uint64_t sent, sent_bytes;	   /* datagrams given to send() */
	uint64_t received, received_bytes; /* datagrams accepted */
	uint64_t dropped;		   /* refused by mg_gossip_input */
	uint64_t items_new;		   /* items that were new information */
};

struct mg_gossip_hot {
	uint8_t id[MG_DIR_ID_LEN];
	uint16_t rounds;
	uint8_t pushed, useful, misses;
};

struct mg_gossip {
	struct mg_directory *dir;
	struct mg_gossip_config cfg;
	uint8_t key[MG_ED25519_PUB_LEN];
	uint8_t sk[MG_ED25519_SECRET_LEN];
	uint8_t cert_item[MG_DIR_ITEM_MAX];
	size_t cert_len;
	mg_gossip_send_cb *send;
	mg_gossip_rand_cb *rand;
	void *ctx;
	uint64_t counter;
	uint64_t next_round_ms;
	uint32_t intro_left, budget;
	size_t n_hot;
	struct mg_gossip_hot hot[MG_GOSSIP_HOT_MAX];
	struct mg_gossip_stats stats;
};

/* Starts an engine for the member whose secret member key is sk and whose
 * certificate item (kind byte and certificate) is cert_item, over dir;
 * adds that certificate to dir if it is new there (and spreads it). cfg may
 * be NULL (defaults); rnd NULL means mg_random_u32; ctx goes to send and
 * rnd. now_ms is the wall clock in ms. 0, -MG_MESH_EMALFORMED when the
 * certificate is not sk's, or the directory's error for it. */
int mg_gossip_init(struct mg_gossip *g, struct mg_directory *dir,
		   const uint8_t sk[MG_ED25519_SECRET_LEN], const uint8_t *cert_item,
		   size_t cert_len, const struct mg_gossip_config *cfg, mg_gossip_send_cb *send,
		   mg_gossip_rand_cb *rnd, void *ctx, uint64_t now_ms)
	__attribute__((warn_unused_result));
/* Wipes the secret key. The directory stays the caller's. */
void mg_gossip_free(struct mg_gossip *g);

/* Runs the round that is due at now_ms, if any (after a long pause, one
 * round, not a burst); sends through send(). */
void mg_gossip_tick(struct mg_gossip *g, uint64_t now_ms);

/* Processes one datagram: 0 when it was valid (from_member_key_out then
 * holds its sender, whose source address the lead may take as current);
 * else it is ignored: -MG_MESH_EMALFORMED, -MG_MESH_EVERSION, -ENOENT (an
 * unknown sender without its certificate), -MG_MESH_ESIGNATURE, -EALREADY
 * (a replay, or our own), or the carried certificate's error; or
 * -MG_MESH_EMALFORMED for a bad body even from an authenticated sender
 * (the lead takes a source address only on 0). Replies go out through
 * send() before it returns. */
int mg_gossip_input(struct mg_gossip *g, const uint8_t *buf, size_t len, uint64_t now_ms,
		    uint8_t from_member_key_out[MG_ED25519_PUB_LEN]);

/* Adds a local item (our announcement, a revocation from the CLI, a new
 * member's certificate from the join exchange) to the directory and spreads
 * it: mg_directory_add's result. */
int mg_gossip_publish(struct mg_gossip *g, const uint8_t *item, size_t len, uint64_t now_ms);

#endif
