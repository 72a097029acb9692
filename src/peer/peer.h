/* A peer and the table of peers of one device, keyed by static public key.
 *
 * Ownership: the table owns its peers (mg_peer_table_remove frees one); a
 * lookup returns a borrowed pointer valid until that peer is removed. */
#ifndef MG_PEER_PEER_H
#define MG_PEER_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "peer/index.h"
#include "util/ipaddr.h"
#include "tunnel/cookie.h"
#include "tunnel/messages.h"
#include "tunnel/noise.h"
#include "tunnel/timers.h"

struct mg_device;

/* Packets waiting for a session, copied out of the caller's buffer: this
 * only happens while a handshake is in flight, never in steady state. They
 * are plaintext: every buffer is wiped before it is freed (sent, dropped
 * for a newer one, or cleared). */
struct mg_staged_queue {
	uint8_t *packets[MAX_STAGED_PACKETS];
	uint16_t lengths[MAX_STAGED_PACKETS];
	unsigned head;
	unsigned count;
};

/* The longest relay envelope a peer's datagrams may carry in front. */
#define MG_RELAY_PREFIX_MAX 16

/* A path through a relay, chosen by the mesh (mg_device_peer_set_relay):
 * while via is set, every datagram to the peer leaves to via with prefix in
 * front of it, and endpoint stays the direct candidate. */
struct mg_peer_relay {
	struct mg_endpoint via; /* sa_family 0: none, datagrams go direct */
	uint8_t prefix[MG_RELAY_PREFIX_MAX];
	uint8_t prefix_len;
};

struct mg_peer {
	struct mg_device *device;
	struct mg_peer *hash_next;	       /* table chain */
	struct mg_peer *list_prev, *list_next; /* in the order peers were added */

	uint8_t public_key[MG_KEY_SIZE];
	struct mg_handshake handshake;
	struct mg_keypairs keypairs;
	struct mg_cookie_maker cookie;
	struct mg_timers timers;
	struct mg_staged_queue staged;

	struct mg_endpoint endpoint;		/* sa_family 0: unknown */
	uint16_t persistent_keepalive_interval; /* seconds; 0: off */
	uint64_t last_sent_handshake;
	struct timespec last_handshake; /* wall clock; zero: never */
	uint64_t rx_bytes, tx_bytes;
	struct mg_peer_relay relay;
	/* How authenticated packets (valid handshake messages, data that
	 * decrypts and is not a replay) arrived, for the mesh's path manager:
	 * the last one through mg_device_receive_relayed, and how many came
	 * each way. */
	bool last_rx_relayed;
	uint64_t rx_direct_packets, rx_relayed_packets;
	/* A mesh member's peer: the mesh configures it from certificates and
	 * announcements, and a UAPI set that would change it is refused. */
	bool managed;
};

struct mg_peer_table {
	struct mg_peer **buckets;
	uint32_t bucket_count; /* a power of two */
	uint32_t count;
	struct mg_peer *first, *last;
	uint8_t hash_key[16];
};

int mg_peer_table_init(struct mg_peer_table *t);
/* Frees every peer (mg_peer_table_remove on each). */
void mg_peer_table_free(struct mg_peer_table *t);
struct mg_peer *mg_peer_table_lookup(const struct mg_peer_table *t,
				     const uint8_t public_key[MG_KEY_SIZE]);
/* Allocates a zeroed peer with the given key and links it; -EEXIST if the key
 * is taken, -ENOSPC past MAX_PEERS, -ENOMEM. */
int mg_peer_table_add(struct mg_peer_table *t, const uint8_t public_key[MG_KEY_SIZE],
		      struct mg_peer **out);
/* Unlinks the peer and frees it; the caller has already released what the
 * peer holds elsewhere (indices, allowed IPs, timers, staged packets). */
void mg_peer_table_remove(struct mg_peer_table *t, struct mg_peer *peer);

#define mg_peer_table_for_each(t, p) for (struct mg_peer *p = (t)->first; p; p = p->list_next)

#endif
