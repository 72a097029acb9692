/* WireGuard wire formats and the constants of the whitepaper (section 6).
 * Only structs and numbers live here; every layout is checked at compile time.
 * All integer fields are little-endian on the wire. */
#ifndef MG_TUNNEL_MESSAGES_H
#define MG_TUNNEL_MESSAGES_H

#include <stdint.h>

#include "util/time.h"

#define MG_NOISE_CONSTRUCTION "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define MG_NOISE_IDENTIFIER   "WireGuard v1 zx2c4 Jason@zx2c4.com"
#define MG_LABEL_MAC1	      "mac1----"
#define MG_LABEL_COOKIE	      "cookie--"

/* Protocol limits (whitepaper 6.1 and 6.4). */
#define REKEY_AFTER_MESSAGES (UINT64_C(1) << 60)
/* 2^64 - 2^13 - 1, as wireguard-go. */
#define REJECT_AFTER_MESSAGES	    (UINT64_MAX - UINT64_C(8192))
#define REKEY_TIMEOUT		    (5 * MG_NSEC_PER_SEC)
#define REKEY_TIMEOUT_JITTER_MAX_MS 334
#define KEEPALIVE_TIMEOUT	    (10 * MG_NSEC_PER_SEC)
#define REKEY_AFTER_TIME	    (120 * MG_NSEC_PER_SEC)
#define REJECT_AFTER_TIME	    (180 * MG_NSEC_PER_SEC)
#define REKEY_ATTEMPT_TIME	    (90 * MG_NSEC_PER_SEC)
#define MAX_TIMER_HANDSHAKES	    (REKEY_ATTEMPT_TIME / REKEY_TIMEOUT)
#define INITIATIONS_PER_SECOND	    50
#define MAX_STAGED_PACKETS	    128
#define MAX_PEERS		    (1U << 20)

#define COOKIE_SECRET_MAX_AGE (120 * MG_NSEC_PER_SEC)
#define COOKIE_SECRET_LATENCY (5 * MG_NSEC_PER_SEC)

#define MG_KEY_SIZE	    32
#define MG_COOKIE_SIZE	    16
#define MG_MAC_SIZE	    16
#define MG_TAG_SIZE	    16
#define MG_TIMESTAMP_SIZE   12
#define MG_XNONCE_SIZE	    24 /* a cookie reply's XChaCha20-Poly1305 nonce */
#define MG_PADDING_MULTIPLE 16

enum mg_message_type {
	MG_MSG_INVALID = 0,
	MG_MSG_INITIATION = 1,
	MG_MSG_RESPONSE = 2,
	MG_MSG_COOKIE_REPLY = 3,
	MG_MSG_DATA = 4,
};

struct mg_msg_macs {
	uint8_t mac1[MG_MAC_SIZE];
	uint8_t mac2[MG_MAC_SIZE];
} __attribute__((packed));

struct mg_msg_initiation {
	uint32_t type;
	uint32_t sender_index;
	uint8_t unencrypted_ephemeral[MG_KEY_SIZE];
	uint8_t encrypted_static[MG_KEY_SIZE + MG_TAG_SIZE];
	uint8_t encrypted_timestamp[MG_TIMESTAMP_SIZE + MG_TAG_SIZE];
	struct mg_msg_macs macs;
} __attribute__((packed));

struct mg_msg_response {
	uint32_t type;
	uint32_t sender_index;
	uint32_t receiver_index;
	uint8_t unencrypted_ephemeral[MG_KEY_SIZE];
	uint8_t encrypted_nothing[MG_TAG_SIZE];
	struct mg_msg_macs macs;
} __attribute__((packed));

struct mg_msg_cookie_reply {
	uint32_t type;
	uint32_t receiver_index;
	uint8_t nonce[MG_XNONCE_SIZE];
	uint8_t encrypted_cookie[MG_COOKIE_SIZE + MG_TAG_SIZE];
} __attribute__((packed));

struct mg_msg_data {
	uint32_t type;
	uint32_t key_idx;
	uint64_t counter;
	uint8_t encrypted_data[];
} __attribute__((packed));

#define MG_DATA_HEADER_SIZE 16
#define MG_DATA_MIN_SIZE    (MG_DATA_HEADER_SIZE + MG_TAG_SIZE)
#define MG_MAX_CONTENT_SIZE (65535 - MG_DATA_MIN_SIZE)
#define MG_DEFAULT_MTU	    1420
/* The MTUs an interface may be given: IPv4's minimum datagram to the largest
 * IP packet. */
#define MG_MTU_MIN 576
#define MG_MTU_MAX 65535

_Static_assert(sizeof(struct mg_msg_initiation) == 148, "initiation is 148 bytes");
_Static_assert(sizeof(struct mg_msg_response) == 92, "response is 92 bytes");
_Static_assert(sizeof(struct mg_msg_cookie_reply) == 64, "cookie reply is 64 bytes");
_Static_assert(sizeof(struct mg_msg_data) == MG_DATA_HEADER_SIZE, "data header is 16 bytes");

#endif
