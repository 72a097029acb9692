/* mac1, mac2 and cookie replies (whitepaper 5.4.4 and 5.4.7).
 *
 * The checker is the responder's side, one per device: it validates mac1 on
 * every handshake message and, under load, demands a mac2 made with a cookie
 * bound to the sender's address. The maker is the initiator's side, one per
 * peer: it adds the macs to what we send and keeps the last cookie the peer
 * gave us. */
#ifndef MG_TUNNEL_COOKIE_H
#define MG_TUNNEL_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"
#include "tunnel/messages.h"

/* A source as the cookie binds it: its address (4 or 16 bytes), then its
 * port. */
#define MG_COOKIE_SOURCE_MAX 18
/* Cookie reply nonces drawn from the system at once, so that a flood's
 * replies cost one getrandom call per this many instead of one each. */
#define MG_COOKIE_NONCE_POOL 64

struct mg_cookie_checker {
	uint8_t secret[MG_KEY_SIZE];
	uint64_t secret_birth;
	bool secret_valid;
	uint8_t mac1_key[MG_KEY_SIZE];
	uint8_t cookie_key[MG_KEY_SIZE];
	/* The last source's cookie under the current secret: checking a
	 * message's mac2 and answering it with a cookie reply need the same
	 * one, and so do a flood's messages from one address and port.
	 * cached_len 0: none. */
	uint8_t cached_cookie[MG_COOKIE_SIZE];
	uint8_t cached_source[MG_COOKIE_SOURCE_MAX];
	uint8_t cached_len;
	/* Random nonces not used yet: the last nonces_left of the pool. */
	uint8_t nonces[MG_COOKIE_NONCE_POOL][MG_XNONCE_SIZE];
	unsigned nonces_left;
};

struct mg_cookie_maker {
	uint8_t mac1_key[MG_KEY_SIZE];
	uint8_t cookie_key[MG_KEY_SIZE];
	uint8_t cookie[MG_COOKIE_SIZE];
	uint64_t cookie_birth;
	bool cookie_valid;
	uint8_t last_mac1[MG_MAC_SIZE];
	bool have_sent_mac1;
};

enum mg_cookie_mac_state {
	MG_COOKIE_INVALID_MAC,
	MG_COOKIE_VALID_MAC_BUT_NO_COOKIE,
	MG_COOKIE_VALID_MAC_WITH_COOKIE,
};

/* Keys derive from our static public key; call again when it changes. */
void mg_cookie_checker_init(struct mg_cookie_checker *c, const uint8_t our_public[MG_KEY_SIZE]);
void mg_cookie_checker_wipe(struct mg_cookie_checker *c);
/* Keys derive from the peer's static public key. */
void mg_cookie_maker_init(struct mg_cookie_maker *m, const uint8_t peer_public[MG_KEY_SIZE]);

/* msg is a whole initiation or response; its macs are the last 32 bytes.
 * mac2 is only looked at when check_cookie. */
enum mg_cookie_mac_state mg_cookie_validate(struct mg_cookie_checker *c, const uint8_t *msg,
					    size_t len, const struct mg_endpoint *src,
					    bool check_cookie, uint64_t now);
void mg_cookie_reply_create(struct mg_cookie_checker *c, struct mg_msg_cookie_reply *dst,
			    const uint8_t *msg, size_t len, uint32_t sender_index,
			    const struct mg_endpoint *src, uint64_t now);

/* Fills the last 32 bytes of msg: mac1 always, mac2 if a fresh cookie. */
void mg_cookie_add_macs(struct mg_cookie_maker *m, uint8_t *msg, size_t len, uint64_t now);
/* Takes a cookie reply to the last message we sent; false if it does not
 * authenticate against that message's mac1. */
bool mg_cookie_reply_consume(struct mg_cookie_maker *m, const struct mg_msg_cookie_reply *src,
			     uint64_t now) __attribute__((warn_unused_result));

#endif
