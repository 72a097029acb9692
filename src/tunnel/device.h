/* The WireGuard device: the protocol engine between a TUN device and a UDP
 * socket, with no I/O of its own. The caller hands it packets read from the
 * TUN (mg_device_send_packet) and datagrams read from UDP (mg_device_receive),
 * runs its timers (mg_device_tick), and gets output through callbacks. Tests
 * drive two devices through an in-memory wire and a fake clock.
 *
 * Buffers are the caller's: encryption and decryption work in place, so a
 * packet from the TUN sits at buf with MG_DEVICE_HEADROOM writable bytes in
 * front of it and MG_DEVICE_TAILROOM after it. Nothing here allocates per
 * packet, except a copy of packets that must wait for a handshake.
 *
 * "Under load" is decided by what handshakes cost this machine, not by a
 * count, so a slow appliance asks for cookies sooner than a fast server:
 * the time the device spends in handshake work (consuming an initiation or
 * response and answering it: the Diffie-Hellman operations, as the kernel
 * and wireguard-go would queue them) fills a leaky bucket that drains at
 * MG_LOAD_PERCENT percent of elapsed time. When its level passes
 * MG_LOAD_BURST (100 ms of work), handshakes have taken more than that share
 * of the loop for a while, or a burst of 100 ms at once, and the device is
 * under load until MG_LOAD_HOLD (1 s) after the last time that was true.
 * While under load, each message turned away with a cookie reply counts in
 * the bucket as the work it would have cost (the recent average of admitted
 * messages): load lasts as long as the demand would overload us, and ends
 * MG_LOAD_HOLD after a flood stops, rather than every second or so for the
 * ~100 ms of forged Diffie-Hellman it would take to find out again.
 * Work is timed with work_clock, the unheld clock (the engine holds the
 * device's clock still during a batch); tests give a fake clock that
 * advances by a chosen cost per handshake. While under load, every
 * handshake message must carry a mac2 made with a cookie for its source
 * address, or it is answered with a cookie reply (no Diffie-Hellman, so the
 * bucket drains) and dropped; those with a good mac2 are rate-limited per
 * source (ratelimiter.h). force_under_load keeps the device under load.
 *
 * As initiator, a valid cookie reply to our pending initiation makes us
 * resend it at once with the new mac2 instead of after REKEY_TIMEOUT, once
 * per handshake attempt (peer->timers.cookie_retried, cleared by the next
 * initiation the timers or traffic send): a responder that keeps answering
 * with cookie replies cannot make us loop. The responder's mac2 check and
 * rate limit still apply to the retry.
 *
 * Relays. The mesh may route a peer through a relay (mg_device_peer_set_relay)
 * when no direct path works. The device does not know membership or paths; it
 * only keeps the route the mesh set:
 *  - sending: while a relay is set, every datagram to the peer (handshake
 *    messages, keepalives, data, cookie replies to relayed messages) leaves
 *    to the relay with the peer's prefix in front, copied into the device's relay_buf and handed
 *    over as MG_SEND_TRANSIENT; only direct data is sealed in place.
 *    peer->endpoint stays the direct candidate, so clearing the relay sends
 *    direct again;
 *  - receiving: the caller strips the envelope and hands the WireGuard
 *    datagram to mg_device_receive_relayed, which never moves an endpoint
 *    (roaming onto the relay's address would send direct traffic to it);
 *  - roaming: an authenticated packet that arrives directly still moves
 *    peer->endpoint as usual, but leaves the relay in place: whether the
 *    direct path is good enough is the mesh's decision. peer->last_rx_relayed
 *    and the per-peer counters tell it how packets arrive;
 *  - MTU: packets are padded to dev->mtu as always, and a relayed one is
 *    prefix_len bytes longer on the wire. The mesh lowers the interface's MTU
 *    by its envelope size; the device does not.
 *
 * Handshake messages relayed to us come from the relay's address, so under
 * load their mac2 and rate limit are those of the relay's address (a cookie
 * reply to a direct message goes to its source, as it proves that address). A cookie
 * reply to a relayed response goes through the route of the peer whose
 * handshake it answers; a relayed initiation names its peer only after the
 * Diffie-Hellman the cookie saves, so it gets no cookie reply but passes if
 * the rate limit of the relay's address allows it (the relay itself forwards
 * only for members, within a per-member rate). */
#ifndef MG_TUNNEL_DEVICE_H
#define MG_TUNNEL_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peer/allowedips.h"
#include "util/ipaddr.h"
#include "peer/peer.h"
#include "util/clock.h"
#include "util/log.h"
#include "tunnel/cookie.h"
#include "tunnel/messages.h"
#include "tunnel/noise.h"
#include "tunnel/ratelimiter.h"

#define MG_DEVICE_HEADROOM MG_DATA_HEADER_SIZE
#define MG_DEVICE_TAILROOM (MG_PADDING_MULTIPLE + MG_TAG_SIZE)
#define MG_LOAD_PERCENT	   10
#define MG_LOAD_BURST	   (100 * MG_NSEC_PER_MSEC)
#define MG_LOAD_HOLD	   MG_NSEC_PER_SEC
/* A data message of MG_MAX_CONTENT_SIZE padded by up to 15 bytes, behind the
 * longest relay prefix. */
#define MG_DEVICE_RELAY_BUF_SIZE \
	(MG_RELAY_PREFIX_MAX + MG_DATA_MIN_SIZE + MG_MAX_CONTENT_SIZE + MG_PADDING_MULTIPLE - 1)

/* What a datagram handed to mg_device_ops.send is, and so how long its bytes
 * live. The two are kept apart by type, not by where the bytes happen to lie:
 * a caller that queues datagrams to send them later in one batch may keep
 * only MG_SEND_SEALED pointers, and only those into the packet it handed over
 * in the current mg_device_send_packet call. */
enum mg_send_kind {
	/* A data message sealed in place around the packet of the current
	 * mg_device_send_packet call: buf starts MG_DEVICE_HEADROOM bytes
	 * before that packet and ends within its MG_DEVICE_TAILROOM. The bytes
	 * are the caller's and stay as they are until the caller reuses them. */
	MG_SEND_SEALED,
	/* Everything else: handshake messages, cookie replies, keepalives and
	 * staged packets sealed in the device's own memory. buf is valid only
	 * during the call; a caller that batches copies it. */
	MG_SEND_TRANSIENT,
};

/* What the device tells its owner besides output, for a node's observers
 * (mg_device_ops.event). */
enum mg_device_event {
	MG_DEVICE_EVENT_HANDSHAKE, /* a session was established */
	MG_DEVICE_EVENT_ROAMED,	   /* the peer's remote address moved */
	MG_DEVICE_EVENT_IDLE,	   /* key material expired: no session */
};

struct mg_device_ops {
	/* One datagram to send (see enum mg_send_kind for buf's lifetime) to
	 * the peer's endpoint, whose local part (when set) is the address the
	 * peer last reached us on: send from it (sticky source); or, for a
	 * peer with a relay, an enveloped datagram to the relay.
	 * 0 when it went out or was queued to go out, else -errno; only what
	 * was accepted counts in the peer's tx_bytes, as in wireguard-go. */
	int (*send)(void *ctx, const struct mg_endpoint *to, enum mg_send_kind kind,
		    const uint8_t *buf, size_t len);
	/* One decrypted IP packet for the TUN device. It lies inside the
	 * buffer given to mg_device_receive, at least MG_DEVICE_HEADROOM bytes
	 * in, and those bytes before it are the caller's to overwrite. It is
	 * the caller's buffer, so it lives as long as the caller keeps it; a
	 * callee that holds packets past the call (to coalesce them) copies
	 * them, since the caller reads its next datagrams into the same
	 * memory. */
	void (*deliver)(void *ctx, const uint8_t *packet, size_t len);
	/* The earliest timer deadline moved earlier: call mg_device_tick then. */
	void (*wakeup)(void *ctx, uint64_t deadline);
	/* Optional: an event of peer, after the device logged it. The peer is
	 * borrowed for the call; the callee must not add or remove peers. */
	void (*event)(void *ctx, enum mg_device_event event, const struct mg_peer *peer);
};

/* A datagram that is not a WireGuard message (STUN, mesh control). buf is
 * the one given to mg_device_receive, valid only during the call; the handler
 * may change it. Replies go through the caller's send path as transient
 * messages (mg_engine_send_transient), never as a pointer into buf. */
typedef void (*mg_device_other_handler)(void *ctx, const struct mg_endpoint *from, uint8_t *buf,
					size_t len);

/* An optional packet filter the owner installs (the mesh's firewall): the
 * device knows nothing of groups or rules, only asks. inbound gets every
 * decrypted IP packet that passed the allowed-IPs source check, from peer,
 * before ops->deliver: false drops it (counted in rx_filtered). outbound
 * sees every packet read from the TUN that has a route, before it is sealed
 * or staged (to record flows); it cannot drop. pkt is the caller's buffer,
 * valid only during the call, len its IP length; peer is borrowed for the
 * call. Both run on the hot path: no allocation, no blocking. With no
 * filter set the device makes no call at all. */
struct mg_device_filter {
	bool (*inbound)(void *ctx, const struct mg_peer *peer, const uint8_t *pkt, size_t len);
	void (*outbound)(void *ctx, const struct mg_peer *peer, const uint8_t *pkt, size_t len);
	void *ctx;
};

/* Why packets were dropped; what `meshguard` reports and tests assert. */
struct mg_device_stats {
	uint64_t rx_invalid;	      /* malformed or wrong-sized messages */
	uint64_t rx_bad_mac1;	      /* handshake messages failing mac1 */
	uint64_t rx_handshake_failed; /* authentic mac1, but the handshake fails */
	uint64_t rx_cookie_sent;      /* cookie replies we sent under load */
	uint64_t rx_ratelimited;      /* handshakes dropped by the rate limiter */
	uint64_t rx_bad_cookie;	      /* cookie replies that did not authenticate */
	uint64_t rx_unknown_index;    /* data for no keypair of ours */
	uint64_t rx_expired_key;      /* data under a keypair too old or used up */
	uint64_t rx_decrypt_failed;
	uint64_t rx_replayed;
	uint64_t rx_bad_ip;	   /* decrypted payload not a sound IP packet */
	uint64_t rx_not_allowed;   /* source IP outside the peer's allowed IPs */
	uint64_t rx_filtered;	   /* dropped by the filter's inbound hook */
	uint64_t rx_not_wireguard; /* other datagrams with no handler */
	uint64_t tx_no_route;	   /* no peer's allowed IPs cover the destination */
	uint64_t tx_no_endpoint;   /* the peer's endpoint is unknown */
	uint64_t tx_bad_packet;	   /* not an IP packet, or larger than the MTU allows */
	uint64_t tx_staged_overflow;
	uint64_t tx_encrypt_failed; /* the cipher could not be opened (out of memory) */
	uint64_t handshakes_completed;
};

struct mg_device {
	const struct mg_clock *clock;
	/* Borrowed from the owner, who sets it after mg_device_init; NULL:
	 * mg_log_default(). */
	const struct mg_log *log;
	const struct mg_device_ops *ops;
	void *ctx;
	mg_device_other_handler other_handler;
	void *other_ctx;
	/* Borrowed from the owner (mg_device_set_filter); NULL: none. */
	const struct mg_device_filter *filter;

	struct mg_static_identity identity;
	struct mg_cookie_checker cookie_checker;
	struct mg_peer_table peers;
	struct mg_index_table indices;
	struct mg_allowedips allowedips;
	struct mg_ratelimiter ratelimiter;
	uint32_t mtu;

	uint64_t wakeup_at; /* earliest armed deadline we told ops->wakeup */
	/* Times handshake work (see "Under load"); the owner may set it after
	 * mg_device_init, NULL: clock. */
	const struct mg_clock *work_clock;
	uint64_t load_level;	 /* ns of handshake work in the leaky bucket */
	uint64_t handshake_cost; /* ns, recent average of one message's work */
	uint64_t load_drained_at;
	uint64_t under_load_until;
	bool force_under_load; /* tests and operators: always demand cookies */

	struct mg_device_stats stats;

	/* Where a datagram to a relayed peer is enveloped before it is handed
	 * to ops->send (MG_SEND_TRANSIENT): the largest data message behind
	 * the longest prefix. Reused by the next send. */
	uint8_t relay_buf[MG_DEVICE_RELAY_BUF_SIZE];
};

int mg_device_init(struct mg_device *dev, const struct mg_clock *clock,
		   const struct mg_device_ops *ops, void *ctx);
/* Wipes every key and frees every peer. */
void mg_device_free(struct mg_device *dev);
void mg_device_set_other_handler(struct mg_device *dev, mg_device_other_handler fn, void *ctx);
/* Installs f (borrowed: it must outlive the device or be cleared first), or
 * clears it with NULL. Takes effect with the next packet. */
void mg_device_set_filter(struct mg_device *dev, const struct mg_device_filter *f);

/* Sets (clamped) or clears (NULL) our private key. A peer with the new public
 * key is removed, and every session is expired, as wireguard-go does. */
void mg_device_set_private_key(struct mg_device *dev, const uint8_t *private_key);
/* -EEXIST if a peer has the key, -EINVAL if it is our own public key. */
int mg_device_add_peer(struct mg_device *dev, const uint8_t public_key[MG_KEY_SIZE],
		       struct mg_peer **out);
void mg_device_remove_peer(struct mg_device *dev, struct mg_peer *peer);
void mg_device_peer_set_preshared_key(struct mg_peer *peer, const uint8_t *psk);
void mg_device_peer_set_endpoint(struct mg_peer *peer, const struct mg_endpoint *ep);
/* Seconds; turning it on sends a keepalive at once. */
void mg_device_peer_set_persistent_keepalive(struct mg_peer *peer, uint16_t interval);
int mg_device_peer_add_allowed_ip(struct mg_peer *peer, const struct mg_prefix *p);
/* Sends everything for peer to relay with the prefix_len bytes of prefix in
 * front (copied), until cleared with relay NULL; see "Relays" above. Takes
 * effect with the next datagram; sessions and staged packets are kept. 0, or
 * -EINVAL if prefix_len > MG_RELAY_PREFIX_MAX, relay has no address family or
 * prefix is NULL with a length. peer->endpoint is left as it is. */
int mg_device_peer_set_relay(struct mg_peer *peer, const struct mg_endpoint *relay,
			     const uint8_t *prefix, size_t prefix_len);

/* An IP packet read from the TUN device (see the buffer rules above). If it
 * can be sent now it is sealed in place and handed to ops->send as
 * MG_SEND_SEALED, at most once per call; otherwise it is dropped or copied
 * (staged until a handshake completes), and the caller's buffer is free again
 * when this returns. */
void mg_device_send_packet(struct mg_device *dev, uint8_t *packet, size_t len);
/* A datagram read from UDP; buf is decrypted in place. */
void mg_device_receive(struct mg_device *dev, const struct mg_endpoint *from, uint8_t *buf,
		       size_t len);
/* A WireGuard datagram that came through relay, its envelope stripped by the
 * caller: handled as by mg_device_receive, except that no peer's endpoint
 * moves and the peer's last_rx_relayed and rx_relayed_packets record it.
 * Replies (a handshake response, a keepalive) take the peer's route, through
 * its relay if set. Other datagrams count as rx_not_wireguard: the other
 * handler would take the relay for their sender. May be called from the
 * other handler, on the same buffer past the envelope: mg_device_receive is
 * done with a datagram when it hands it there, and the bytes before buf are
 * then the envelope's, free for ops->deliver's callee to overwrite. */
void mg_device_receive_relayed(struct mg_device *dev, const struct mg_endpoint *relay, uint8_t *buf,
			       size_t len);
/* Runs the expired timers of every peer; returns the next deadline (0: none). */
uint64_t mg_device_tick(struct mg_device *dev);

/* Actions the timers take (also used by configuration changes). */
void mg_device_send_initiation(struct mg_peer *peer, bool is_retry);
void mg_device_send_keepalive(struct mg_peer *peer);
/* Drops the packets waiting for a session, their buffers wiped. */
void mg_device_clear_staged(struct mg_peer *peer);
void mg_device_zero_keys(struct mg_peer *peer);
/* Records that a timer of the device was armed for deadline. */
void mg_device_schedule(struct mg_device *dev, uint64_t deadline);

/* "AbCdEfGh…" for logs: the start of the peer's base64 key. */
const char *mg_peer_name(const struct mg_peer *peer, char buf[16]);

#endif
