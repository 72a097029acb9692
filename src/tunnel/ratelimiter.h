/* A per-source token bucket for handshake work under load: 20 packets per
 * second with a burst of 5 per source, as the kernel and wireguard-go allow.
 * Also used by the STUN responder and the mesh agent.
 *
 * A source is keyed exactly, as the kernel's ratelimiter.c does: an IPv4
 * address (32 bits) or an IPv6 /64 (its first 64 bits; one host's
 * addresses, which it may rotate freely). Ports never count. Two different
 * sources never share a bucket.
 *
 * The table: MG_RATELIMITER_SLOTS entries inside the struct (no allocation,
 * ever), open addressing. A source lives within MG_RATELIMITER_PROBE slots
 * of the slot a keyed hash (SipHash, random key) picks, and a lookup scans
 * all of them, so a source is found wherever in its window it lives and is
 * never entered twice. The hash only places entries; keys are compared
 * whole.
 *
 * Expiry: an entry idle for the time its bucket takes to refill
 * (MG_RATELIMITER_BURST / MG_RATELIMITER_PER_SECOND = 250 ms; for a rate
 * and burst of mg_ratelimiter_init_rate, burst / rate) is in the same
 * state as a source never seen, so it is free to reuse. Nothing else is
 * ever evicted: a source that used up its budget keeps its entry until it
 * could have refilled anyway, however many other sources arrive.
 *
 * When full (every slot of a new source's window holds a live entry): the
 * new source shares one overflow bucket, with the same rate and burst, with
 * every other source that found no room. Evicting a live entry instead would
 * hand a fresh full bucket to whoever an attacker pushes out, so a flood
 * from many sources could refill a limited source; refusing outright (the
 * kernel) would shut out a new peer until the flood's entries expire. The
 * overflow bucket errs towards limiting without either: at most 20 a second
 * get through it, whatever the number of sources. Windows of 64 slots
 * (a scan of 1.5 kB, small beside one handshake's Diffie-Hellman) keep
 * overflow rare until the table is three-quarters full: with 8192 slots and
 * a 250 ms life, about 25,000 new sources a second. */
#ifndef MG_TUNNEL_RATELIMITER_H
#define MG_TUNNEL_RATELIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "util/ipaddr.h"

#define MG_RATELIMITER_SLOTS	  8192
#define MG_RATELIMITER_PROBE	  64
#define MG_RATELIMITER_PER_SECOND 20
#define MG_RATELIMITER_BURST	  5

/* One source's bucket. family 0: never used. */
struct mg_ratelimiter_entry {
	uint64_t key;	 /* the IPv4 address, or the IPv6 /64, big-endian bytes */
	uint64_t last;	 /* monotonic ns of the last packet */
	uint32_t tokens; /* nanoseconds of credit, at most 250 ms */
	uint8_t family;	 /* AF_INET or AF_INET6 */
};

struct mg_ratelimiter {
	uint8_t hash_key[16];
	uint32_t cost, max; /* ns of credit one packet takes; the most a bucket holds */
	struct mg_ratelimiter_entry overflow; /* sources that found no room */
	struct mg_ratelimiter_entry slots[MG_RATELIMITER_SLOTS];
};

/* MG_RATELIMITER_PER_SECOND, burst MG_RATELIMITER_BURST: WireGuard's. */
void mg_ratelimiter_init(struct mg_ratelimiter *r);
/* Another rate and burst (the mesh's control messages, mesh/ctl.h); a
 * burst longer than about 4 s of the rate is cut to that. */
void mg_ratelimiter_init_rate(struct mg_ratelimiter *r, uint32_t per_second, uint32_t burst);
/* Whether one more packet from src (IPv4 or IPv6; another family is always
 * refused) may pass at monotonic time now, taking a token if so. */
bool mg_ratelimiter_allow(struct mg_ratelimiter *r, const struct mg_endpoint *src, uint64_t now);

#endif
