/* The Noise_IKpsk2 handshake as WireGuard runs it (whitepaper 5.4), and the
 * keypairs it yields with their previous/current/next rotation (5.4.6).
 *
 * Ownership: a peer owns its handshake and keypairs; keypairs are allocated
 * per completed handshake (never per packet) and are wiped before free. Every
 * function here runs on the loop thread. */
#ifndef MG_TUNNEL_NOISE_H
#define MG_TUNNEL_NOISE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "peer/index.h"
#include "tunnel/messages.h"
#include "tunnel/replay.h"

struct mg_peer_table;

struct mg_static_identity {
	uint8_t private_key[MG_KEY_SIZE];
	uint8_t public_key[MG_KEY_SIZE];
	bool has_identity;
};

enum mg_handshake_state {
	MG_HANDSHAKE_ZEROED,
	MG_HANDSHAKE_CREATED_INITIATION,
	MG_HANDSHAKE_CONSUMED_INITIATION,
	MG_HANDSHAKE_CREATED_RESPONSE,
	MG_HANDSHAKE_CONSUMED_RESPONSE,
};

struct mg_handshake {
	struct mg_index_entry entry;
	enum mg_handshake_state state;
	uint8_t remote_static[MG_KEY_SIZE];
	uint8_t remote_ephemeral[MG_KEY_SIZE];
	/* DH(our static, their static); all zeros when either key is missing
	 * or theirs is of low order, which makes every handshake fail. */
	uint8_t precomputed_static_static[MG_KEY_SIZE];
	bool static_static_valid;
	uint8_t preshared_key[MG_KEY_SIZE];
	uint8_t ephemeral_private[MG_KEY_SIZE];
	uint8_t hash[MG_KEY_SIZE];
	uint8_t chaining_key[MG_KEY_SIZE];
	uint8_t latest_timestamp[MG_TIMESTAMP_SIZE];
	uint32_t remote_index;
	uint64_t last_initiation_consumption;
	bool has_consumed_initiation;
};

struct mg_keypair {
	struct mg_index_entry entry;
	uint8_t send_key[MG_KEY_SIZE];
	uint8_t receive_key[MG_KEY_SIZE];
	uint64_t send_counter;
	struct mg_replay replay;
	uint64_t birth;
	uint32_t remote_index;
	bool i_am_the_initiator;
	bool valid;
};

struct mg_keypairs {
	struct mg_keypair *previous;
	struct mg_keypair *current;
	struct mg_keypair *next;
};

#ifdef MG_TEST_HOOKS
/* Test builds only (CMakeLists.txt, mg_test_hooks): when set, it makes the
 * handshake's ephemeral key pairs instead of the random generator, so a
 * known-answer vector with fixed ephemerals runs through this code. */
extern void (*mg_noise_test_ephemeral)(uint8_t private_key[MG_KEY_SIZE],
				       uint8_t public_key[MG_KEY_SIZE]);
#endif

void mg_noise_handshake_init(struct mg_handshake *hs, struct mg_peer *peer,
			     const struct mg_static_identity *id,
			     const uint8_t remote_static[MG_KEY_SIZE],
			     const uint8_t preshared_key[MG_KEY_SIZE]);
/* Recomputes DH(our static, their static) after our private key changed. */
void mg_noise_precompute_static_static(struct mg_handshake *hs,
				       const struct mg_static_identity *id);
/* Wipes the ephemeral state and unlinks the index; keeps the static keys. */
void mg_noise_handshake_clear(struct mg_handshake *hs, struct mg_index_table *indices);

bool mg_noise_create_initiation(struct mg_msg_initiation *dst, struct mg_handshake *hs,
				const struct mg_static_identity *id, struct mg_index_table *indices,
				const struct timespec *wall) __attribute__((warn_unused_result));
/* Returns the peer whose initiation this is, or NULL when it fails to
 * authenticate, names no known peer, replays a timestamp or comes faster
 * than INITIATIONS_PER_SECOND. Only a success changes state. */
struct mg_peer *mg_noise_consume_initiation(const struct mg_msg_initiation *src,
					    const struct mg_static_identity *id,
					    struct mg_peer_table *peers, uint64_t now);
bool mg_noise_create_response(struct mg_msg_response *dst, struct mg_handshake *hs,
			      struct mg_index_table *indices) __attribute__((warn_unused_result));
struct mg_peer *mg_noise_consume_response(const struct mg_msg_response *src,
					  const struct mg_static_identity *id,
					  struct mg_index_table *indices);

/* Derives the transport keys of a finished handshake into a new keypair
 * (which takes over the handshake's index) and rotates it in. NULL when the
 * handshake is in no state to finish or allocation fails. */
struct mg_keypair *mg_noise_begin_session(struct mg_handshake *hs, struct mg_keypairs *kps,
					  struct mg_index_table *indices, uint64_t now);
/* A packet authenticated under kp: promotes next to current on first use.
 * True when that promotion happened (the responder's handshake is then
 * complete). */
bool mg_noise_received_with_keypair(struct mg_keypairs *kps, struct mg_keypair *kp,
				    struct mg_index_table *indices);
void mg_noise_keypairs_clear(struct mg_keypairs *kps, struct mg_index_table *indices);
/* Stops sending with the current keypair (our private key changed). */
void mg_noise_expire_current_keypair(struct mg_keypairs *kps);

#endif
