#include "tunnel/device.h"
#include "util/macros.h"
#include "crypto/primitives.h"
#include "util/log.h"
#include "tunnel/timers.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t now_ns(const struct mg_device *dev)
{
	return mg_clock_now(dev->clock);
}

const char *mg_peer_name(const struct mg_peer *peer, char buf[16])
{
	char b64[MG_KEY_BASE64_LEN + 1];
	mg_key_to_base64(b64, peer->public_key);
	memcpy(buf, b64, 8);
	memcpy(buf + 8, "\xe2\x80\xa6", 4); /* ellipsis */
	return buf;
}

int mg_device_init(struct mg_device *dev, const struct mg_clock *clock,
		   const struct mg_device_ops *ops, void *ctx)
{
	int ret;

	memset(dev, 0, sizeof(*dev));
	dev->clock = clock;
	dev->ops = ops;
	dev->ctx = ctx;
	dev->mtu = MG_DEFAULT_MTU;
	ret = mg_peer_table_init(&dev->peers);
	if (ret < 0)
		return ret;
	mg_index_table_init(&dev->indices);
	mg_allowedips_init(&dev->allowedips);
	mg_ratelimiter_init(&dev->ratelimiter);
	return 0;
}

void mg_device_set_other_handler(struct mg_device *dev, mg_device_other_handler fn, void *ctx)
{
	dev->other_handler = fn;
	dev->other_ctx = ctx;
}

void mg_device_set_filter(struct mg_device *dev, const struct mg_device_filter *f)
{
	dev->filter = f;
}

static void peer_release(struct mg_device *dev, struct mg_peer *peer)
{
	mg_timers_stop(peer);
	mg_device_clear_staged(peer);
	mg_noise_handshake_clear(&peer->handshake, &dev->indices);
	mg_noise_keypairs_clear(&peer->keypairs, &dev->indices);
	mg_allowedips_remove_by_peer(&dev->allowedips, peer);
}

void mg_device_remove_peer(struct mg_device *dev, struct mg_peer *peer)
{
	peer_release(dev, peer);
	mg_peer_table_remove(&dev->peers, peer);
}

void mg_device_free(struct mg_device *dev)
{
	while (dev->peers.first)
		mg_device_remove_peer(dev, dev->peers.first);
	mg_peer_table_free(&dev->peers);
	mg_allowedips_free(&dev->allowedips);
	mg_cookie_checker_wipe(&dev->cookie_checker);
	mg_wipe(&dev->identity, sizeof(dev->identity));
}

static bool same_private_key(const struct mg_device *dev, const uint8_t *private_key)
{
	uint8_t clamped[MG_KEY_SIZE];
	bool same;

	if (!private_key || mg_is_zero(private_key, MG_KEY_SIZE))
		return !dev->identity.has_identity;
	if (!dev->identity.has_identity)
		return false;
	memcpy(clamped, private_key, MG_KEY_SIZE);
	mg_x25519_clamp(clamped);
	same = mg_equal(clamped, dev->identity.private_key, MG_KEY_SIZE);
	mg_wipe(clamped, sizeof(clamped));
	return same;
}

/* Sessions under the old key stop sending, and a new handshake may start at
 * once, as in wireguard-go's ExpireCurrentKeypairs. */
static void expire_sessions(struct mg_device *dev, struct mg_peer *p)
{
	mg_noise_precompute_static_static(&p->handshake, &dev->identity);
	mg_noise_handshake_clear(&p->handshake, &dev->indices);
	p->last_sent_handshake = 0;
	mg_noise_expire_current_keypair(&p->keypairs);
}

void mg_device_set_private_key(struct mg_device *dev, const uint8_t *private_key)
{
	struct mg_peer *same;

	if (same_private_key(dev, private_key))
		return;
	mg_wipe(&dev->identity, sizeof(dev->identity));
	if (private_key && !mg_is_zero(private_key, MG_KEY_SIZE)) {
		memcpy(dev->identity.private_key, private_key, MG_KEY_SIZE);
		mg_x25519_clamp(dev->identity.private_key);
		mg_x25519_public(dev->identity.public_key, dev->identity.private_key);
		dev->identity.has_identity = true;
		same = mg_peer_table_lookup(&dev->peers, dev->identity.public_key);
		if (same)
			mg_device_remove_peer(dev, same);
	}
	mg_cookie_checker_init(&dev->cookie_checker, dev->identity.public_key);
	mg_peer_table_for_each(&dev->peers, p)
	{
		expire_sessions(dev, p);
	}
}

int mg_device_add_peer(struct mg_device *dev, const uint8_t public_key[MG_KEY_SIZE],
		       struct mg_peer **out)
{
	struct mg_peer *peer;
	int ret;

	if (dev->identity.has_identity &&
	    mg_equal(public_key, dev->identity.public_key, MG_KEY_SIZE))
		return -EINVAL;
	ret = mg_peer_table_add(&dev->peers, public_key, &peer);
	if (ret < 0)
		return ret;
	peer->device = dev;
	mg_noise_handshake_init(&peer->handshake, peer, &dev->identity, public_key, NULL);
	mg_cookie_maker_init(&peer->cookie, public_key);
	mg_timers_init(peer);
	*out = peer;
	return 0;
}

void mg_device_peer_set_preshared_key(struct mg_peer *peer, const uint8_t *psk)
{
	if (psk)
		memcpy(peer->handshake.preshared_key, psk, MG_KEY_SIZE);
	else
		mg_wipe(peer->handshake.preshared_key, MG_KEY_SIZE);
}

void mg_device_peer_set_endpoint(struct mg_peer *peer, const struct mg_endpoint *ep)
{
	peer->endpoint = *ep;
}

int mg_device_peer_set_relay(struct mg_peer *peer, const struct mg_endpoint *relay,
			     const uint8_t *prefix, size_t prefix_len)
{
	struct mg_peer_relay *r = &peer->relay;

	if (relay &&
	    (prefix_len > MG_RELAY_PREFIX_MAX || !relay->sa.sa_family || (!prefix && prefix_len)))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if (!relay)
		return 0;
	r->via = *relay;
	if (prefix_len)
		memcpy(r->prefix, prefix, prefix_len);
	r->prefix_len = (uint8_t)prefix_len;
	return 0;
}

void mg_device_peer_set_persistent_keepalive(struct mg_peer *peer, uint16_t interval)
{
	bool was_off = peer->persistent_keepalive_interval == 0;
	peer->persistent_keepalive_interval = interval;
	mg_timers_persistent_keepalive_changed(peer);
	if (was_off && interval && peer->device->identity.has_identity)
		mg_device_send_keepalive(peer);
}

int mg_device_peer_add_allowed_ip(struct mg_peer *peer, const struct mg_prefix *p)
{
	return mg_allowedips_insert(&peer->device->allowedips, p, peer);
}

void mg_device_schedule(struct mg_device *dev, uint64_t deadline)
{
	if (dev->wakeup_at && dev->wakeup_at <= deadline)
		return;
	dev->wakeup_at = deadline;
	if (dev->ops->wakeup)
		dev->ops->wakeup(dev->ctx, deadline);
}

uint64_t mg_device_tick(struct mg_device *dev)
{
	uint64_t now = now_ns(dev), next = 0;

	dev->wakeup_at = 0;
	mg_peer_table_for_each(&dev->peers, p)
	{
		uint64_t d = mg_timers_expire(p, now);
		if (d && (!next || d < next))
			next = d;
	}
	if (next && (!dev->wakeup_at || next < dev->wakeup_at))
		dev->wakeup_at = next;
	return dev->wakeup_at;
}

/* ---- sending ---- */

/* The datagram behind the peer's prefix, in the device's relay_buf: a copy
 * even of data sealed in the caller's packet, since a sealed datagram must
 * be that packet itself, untouched (enum mg_send_kind). */
static int send_relayed(struct mg_peer *peer, const uint8_t *buf, size_t len)
{
	struct mg_device *dev = peer->device;
	const struct mg_peer_relay *r = &peer->relay;

	if (len > sizeof(dev->relay_buf) - r->prefix_len)
		return -EMSGSIZE;
	memcpy(dev->relay_buf, r->prefix, r->prefix_len);
	memcpy(dev->relay_buf + r->prefix_len, buf, len);
	return dev->ops->send(dev->ctx, &r->via, MG_SEND_TRANSIENT, dev->relay_buf,
			      r->prefix_len + len);
}

/* Through the peer's relay when the mesh set one, else to its endpoint. */
static int send_route(struct mg_peer *peer, enum mg_send_kind kind, const uint8_t *buf, size_t len)
{
	struct mg_device *dev = peer->device;

	if (peer->relay.via.sa.sa_family)
		return send_relayed(peer, buf, len);
	if (!peer->endpoint.sa.sa_family) {
		dev->stats.tx_no_endpoint++;
		return -EDESTADDRREQ;
	}
	return dev->ops->send(dev->ctx, &peer->endpoint, kind, buf, len);
}

/* tx_bytes counts the WireGuard datagram, without a relay's envelope. */
static void send_to_peer(struct mg_peer *peer, enum mg_send_kind kind, const uint8_t *buf,
			 size_t len)
{
	if (send_route(peer, kind, buf, len) == 0)
		peer->tx_bytes += len;
}

/* A new initiation (new ephemeral key and index), whatever the time since
 * the last. */
static void send_initiation_now(struct mg_peer *peer, uint64_t now)
{
	struct mg_device *dev = peer->device;
	struct mg_msg_initiation msg;
	struct timespec wall;

	peer->last_sent_handshake = now;
	dev->clock->wall(dev->clock, &wall);
	if (!mg_noise_create_initiation(&msg, &peer->handshake, &dev->identity, &dev->indices,
					&wall))
		return;
	mg_timers_any_authenticated_packet_traversal(peer);
	mg_timers_any_authenticated_packet_sent(peer);
	mg_cookie_add_macs(&peer->cookie, (uint8_t *)&msg, sizeof(msg), now);
	send_to_peer(peer, MG_SEND_TRANSIENT, (const uint8_t *)&msg, sizeof(msg));
	mg_timers_handshake_initiated(peer);
	mg_wipe(&msg, sizeof(msg));
}

void mg_device_send_initiation(struct mg_peer *peer, bool is_retry)
{
	uint64_t now = now_ns(peer->device);

	if (!is_retry)
		peer->timers.handshake_attempts = 0;
	if (peer->last_sent_handshake && now < peer->last_sent_handshake + REKEY_TIMEOUT)
		return;
	peer->timers.cookie_retried = false;
	send_initiation_now(peer, now);
}

static void send_response(struct mg_peer *peer)
{
	struct mg_device *dev = peer->device;
	struct mg_msg_response msg;
	uint64_t now = now_ns(dev);

	peer->last_sent_handshake = now;
	if (!mg_noise_create_response(&msg, &peer->handshake, &dev->indices))
		return;
	mg_cookie_add_macs(&peer->cookie, (uint8_t *)&msg, sizeof(msg), now);
	if (!mg_noise_begin_session(&peer->handshake, &peer->keypairs, &dev->indices, now))
		return;
	mg_timers_session_derived(peer);
	mg_timers_any_authenticated_packet_traversal(peer);
	mg_timers_any_authenticated_packet_sent(peer);
	send_to_peer(peer, MG_SEND_TRANSIENT, (const uint8_t *)&msg, sizeof(msg));
}

/* The keypair to send with, or NULL when a handshake is needed first. */
static struct mg_keypair *sending_keypair(struct mg_peer *peer, uint64_t now)
{
	struct mg_keypair *kp = peer->keypairs.current;

	if (!kp || !kp->valid)
		return NULL;
	if (now >= kp->birth + REJECT_AFTER_TIME || kp->send_counter >= REJECT_AFTER_MESSAGES)
		return NULL;
	return kp;
}

static void keep_key_fresh_send(struct mg_peer *peer, uint64_t now)
{
	struct mg_keypair *kp = peer->keypairs.current;

	if (kp && kp->valid &&
	    (kp->send_counter > REKEY_AFTER_MESSAGES ||
	     (kp->i_am_the_initiator && now >= kp->birth + REKEY_AFTER_TIME)))
		mg_device_send_initiation(peer, false);
}

/* wireguard-go's padding: up to a multiple of 16, never past the MTU. */
static size_t padded_length(size_t len, uint32_t mtu)
{
	size_t last = len, padded;

	if (mtu && last > mtu)
		last %= mtu;
	padded = (last + MG_PADDING_MULTIPLE - 1) & ~(size_t)(MG_PADDING_MULTIPLE - 1);
	if (mtu && padded > mtu)
		padded = mtu;
	if (padded < last)
		padded = last;
	return len + (padded - last);
}

/* packet has MG_DEVICE_HEADROOM bytes before it and room to pad and tag;
 * kind says whose memory that is (see enum mg_send_kind). */
static void encrypt_and_send(struct mg_peer *peer, struct mg_keypair *kp, enum mg_send_kind kind,
			     uint8_t *packet, size_t len)
{
	struct mg_msg_data *hdr = (struct mg_msg_data *)(packet - MG_DATA_HEADER_SIZE);
	size_t padded = padded_length(len, peer->device->mtu);
	uint64_t nonce = kp->send_counter++;

	memset(packet + len, 0, padded - len);
	hdr->type = htole32(MG_MSG_DATA);
	hdr->key_idx = htole32(kp->remote_index);
	hdr->counter = htole64(nonce);
	if (!mg_aead_seal(packet, packet, padded, NULL, 0, nonce, kp->send_key)) {
		peer->device->stats.tx_encrypt_failed++;
		return;
	}
	send_to_peer(peer, kind, (const uint8_t *)hdr, MG_DATA_HEADER_SIZE + padded + MG_TAG_SIZE);
	mg_timers_any_authenticated_packet_traversal(peer);
	mg_timers_any_authenticated_packet_sent(peer);
	if (len)
		mg_timers_data_sent(peer);
}

/* A staged packet's buffer held plaintext from the TUN: wiped before it
 * goes back to the allocator. Packets are staged only while no session
 * exists, so this never runs on the steady-state path. */
static void free_staged(struct mg_staged_queue *q)
{
	mg_wipe(q->packets[q->head], MG_DEVICE_HEADROOM + q->lengths[q->head] + MG_DEVICE_TAILROOM);
	free(q->packets[q->head]);
	q->packets[q->head] = NULL;
	q->head = (q->head + 1) % MAX_STAGED_PACKETS;
	q->count--;
}

static bool stage(struct mg_peer *peer, const uint8_t *packet, size_t len)
{
	struct mg_staged_queue *q = &peer->staged;
	uint8_t *copy;
	unsigned tail;

	if (q->count == MAX_STAGED_PACKETS) {
		/* Keep the newest, as the kernel does. */
		free_staged(q);
		peer->device->stats.tx_staged_overflow++;
	}
	copy = malloc(MG_DEVICE_HEADROOM + len + MG_DEVICE_TAILROOM);
	if (!copy)
		return false;
	if (len)
		memcpy(copy + MG_DEVICE_HEADROOM, packet, len);
	tail = (q->head + q->count) % MAX_STAGED_PACKETS;
	q->packets[tail] = copy;
	q->lengths[tail] = (uint16_t)len;
	q->count++;
	return true;
}

void mg_device_clear_staged(struct mg_peer *peer)
{
	struct mg_staged_queue *q = &peer->staged;
	while (q->count)
		free_staged(q);
	q->head = 0;
}

static void send_staged(struct mg_peer *peer)
{
	struct mg_staged_queue *q = &peer->staged;
	uint64_t now = now_ns(peer->device);
	struct mg_keypair *kp = sending_keypair(peer, now);

	if (!kp) {
		mg_device_send_initiation(peer, false);
		return;
	}
	while (q->count && (kp = sending_keypair(peer, now))) {
		/* Sealed in place; a seal that failed leaves plaintext. */
		encrypt_and_send(peer, kp, MG_SEND_TRANSIENT,
				 q->packets[q->head] + MG_DEVICE_HEADROOM, q->lengths[q->head]);
		free_staged(q);
	}
	keep_key_fresh_send(peer, now);
}

void mg_device_send_keepalive(struct mg_peer *peer)
{
	uint8_t buf[MG_DEVICE_HEADROOM + MG_DEVICE_TAILROOM];
	uint64_t now = now_ns(peer->device);
	struct mg_keypair *kp;

	/* The usual case, a session and nothing waiting: no copy to stage. */
	if (!peer->staged.count && (kp = sending_keypair(peer, now))) {
		encrypt_and_send(peer, kp, MG_SEND_TRANSIENT, buf + MG_DEVICE_HEADROOM, 0);
		keep_key_fresh_send(peer, now);
		return;
	}
	if (!peer->staged.count && !stage(peer, NULL, 0))
		return;
	send_staged(peer);
}

/* The destination address of an IP packet, or false if it is none. */
static bool packet_destination(const uint8_t *pkt, size_t len, int *family, const uint8_t **addr)
{
	if (len >= 20 && (pkt[0] >> 4) == 4) {
		*family = AF_INET;
		*addr = pkt + 16;
		return true;
	}
	if (len >= 40 && (pkt[0] >> 4) == 6) {
		*family = AF_INET6;
		*addr = pkt + 24;
		return true;
	}
	return false;
}

void mg_device_send_packet(struct mg_device *dev, uint8_t *packet, size_t len)
{
	const uint8_t *dst;
	struct mg_peer *peer;
	struct mg_keypair *kp;
	uint64_t now;
	int family;

	if (!packet_destination(packet, len, &family, &dst) || len > MG_MAX_CONTENT_SIZE) {
		dev->stats.tx_bad_packet++;
		return;
	}
	peer = mg_allowedips_lookup(&dev->allowedips, family, dst);
	if (!peer) {
		dev->stats.tx_no_route++;
		return;
	}
	if (dev->filter && dev->filter->outbound)
		dev->filter->outbound(dev->filter->ctx, peer, packet, len);
	now = now_ns(dev);
	kp = peer->staged.count ? NULL : sending_keypair(peer, now);
	if (kp) {
		encrypt_and_send(peer, kp, MG_SEND_SEALED, packet, len);
		keep_key_fresh_send(peer, now);
		return;
	}
	if (stage(peer, packet, len))
		send_staged(peer);
}

/* ---- receiving ---- */

/* Where a datagram came from: its sender's address, or (relayed) the address
 * of the relay that forwarded it, which is no endpoint of any peer's. */
struct source {
	const struct mg_endpoint *addr;
	bool relayed;
};

static void notify(const struct mg_peer *peer, enum mg_device_event event)
{
	struct mg_device *dev = peer->device;

	if (dev->ops->event)
		dev->ops->event(dev->ctx, event, peer);
}

/* Roaming: the remote address and, with it, the local address the packet
 * arrived at, which replies then leave from (a peer that now reaches us on
 * another of our addresses moves only the local one; that is not logged). */
static void set_endpoint_from(struct mg_peer *peer, const struct mg_endpoint *from)
{
	char name[16], ep[MG_ENDPOINT_STRLEN];

	if (mg_endpoint_equal(&peer->endpoint, from))
		return;
	if (peer->endpoint.sa.sa_family && !mg_endpoint_equal_remote(&peer->endpoint, from)) {
		mg_endpoint_format(ep, sizeof(ep), from);
		mg_log(peer->device->log, MG_LOG_INFO, "peer %s: roamed to %s",
		       mg_peer_name(peer, name), ep);
		peer->endpoint = *from;
		notify(peer, MG_DEVICE_EVENT_ROAMED);
		return;
	}
	peer->endpoint = *from;
}

/* An authenticated packet from peer. Direct ones roam even while a relay is
 * set, and leave it set: the mesh sees that direct works and decides. */
static void authenticated_from(struct mg_peer *peer, const struct source *src)
{
	peer->last_rx_relayed = src->relayed;
	if (src->relayed) {
		peer->rx_relayed_packets++;
		return;
	}
	peer->rx_direct_packets++;
	set_endpoint_from(peer, src->addr);
}

/* Drains the load bucket at MG_LOAD_PERCENT of the time since last. */
static void load_drain(struct mg_device *dev, uint64_t now)
{
	uint64_t drained;

	if (now <= dev->load_drained_at)
		return;
	drained = (now - dev->load_drained_at) / 100 * MG_LOAD_PERCENT;
	dev->load_level = dev->load_level > drained ? dev->load_level - drained : 0;
	dev->load_drained_at = now;
}

/* Handshake work of cost ns just ended at now (see "Under load"). The level
 * is capped at MG_LOAD_BURST so that load ends MG_LOAD_HOLD after the work
 * stops taking more than its share, not after a backlog drains. */
static void load_account(struct mg_device *dev, uint64_t cost, uint64_t now)
{
	load_drain(dev, now);
	dev->load_level += cost;
	if (dev->load_level < MG_LOAD_BURST)
		return;
	dev->load_level = MG_LOAD_BURST;
	dev->under_load_until = now + MG_LOAD_HOLD;
}

/* The work of one admitted handshake message, averaged (1/8 weight to the
 * newest), for the messages load turns away (see "Under load"). */
static void cost_sample(struct mg_device *dev, uint64_t cost)
{
	if (!dev->handshake_cost) {
		dev->handshake_cost = cost;
		return;
	}
	dev->handshake_cost = dev->handshake_cost - dev->handshake_cost / 8 + cost / 8;
}

static bool under_load(const struct mg_device *dev, uint64_t now)
{
	return dev->force_under_load || now < dev->under_load_until;
}

static uint64_t work_now(const struct mg_device *dev)
{
	return mg_clock_now(dev->work_clock ? dev->work_clock : dev->clock);
}

static uint32_t handshake_sender(const uint8_t *buf)
{
	uint32_t index;
	memcpy(&index, buf + 4, sizeof(index));
	return index;
}

static bool ratelimit_allows(struct mg_device *dev, const struct mg_endpoint *from, uint64_t now)
{
	if (mg_ratelimiter_allow(&dev->ratelimiter, from, now))
		return true;
	dev->stats.rx_ratelimited++;
	return false;
}

/* The peer whose handshake a relayed response answers, which its cookie
 * reply must reach through that peer's route; NULL for an initiation. */
static struct mg_peer *relayed_cookie_peer(struct mg_device *dev, const uint8_t *buf)
{
	const struct mg_msg_response *msg = (const void *)buf;
	struct mg_index_entry *e;

	if (buf[0] != MG_MSG_RESPONSE)
		return NULL;
	e = mg_index_lookup(&dev->indices, le32toh(msg->receiver_index), MG_INDEX_HANDSHAKE);
	return e ? e->peer : NULL;
}

/* Under load, a handshake message with no cookie is answered with a cookie
 * reply and dropped. A relayed initiation (or a response to no handshake of
 * ours) cannot be answered (see device.h): the relay's address rate-limits it
 * instead. False: drop. */
static bool demand_cookie(struct mg_device *dev, const struct source *src, const uint8_t *buf,
			  size_t len, uint64_t now)
{
	struct mg_msg_cookie_reply reply;
	struct mg_peer *peer = src->relayed ? relayed_cookie_peer(dev, buf) : NULL;

	if (src->relayed && !peer)
		return ratelimit_allows(dev, src->addr, now);
	/* Not rate-limited, as in the kernel and wireguard-go: the reply is
	 * smaller than what triggered it, and limiting it would let spoofed
	 * messages use up a real sender's budget. */
	/* What it would have cost keeps the load on while the flood lasts. */
	load_account(dev, dev->handshake_cost, now);
	mg_cookie_reply_create(&dev->cookie_checker, &reply, buf, len, handshake_sender(buf),
			       src->addr, now);
	if (peer)
		send_route(peer, MG_SEND_TRANSIENT, (const uint8_t *)&reply, sizeof(reply));
	else
		dev->ops->send(dev->ctx, src->addr, MG_SEND_TRANSIENT, (const uint8_t *)&reply,
			       sizeof(reply));
	dev->stats.rx_cookie_sent++;
	return false;
}

/* mac1, then under load mac2 and the rate limit. False: drop. */
static bool admit_handshake(struct mg_device *dev, const struct source *src, const uint8_t *buf,
			    size_t len, uint64_t now)
{
	bool loaded = under_load(dev, now);

	switch (mg_cookie_validate(&dev->cookie_checker, buf, len, src->addr, loaded, now)) {
	case MG_COOKIE_INVALID_MAC:
		dev->stats.rx_bad_mac1++;
		return false;
	case MG_COOKIE_VALID_MAC_BUT_NO_COOKIE:
		return !loaded || demand_cookie(dev, src, buf, len, now);
	case MG_COOKIE_VALID_MAC_WITH_COOKIE:
		return ratelimit_allows(dev, src->addr, now);
	}
	return false;
}

static void handshake_authenticated(struct mg_peer *peer, const struct source *src, size_t len)
{
	authenticated_from(peer, src);
	peer->rx_bytes += len;
	mg_timers_any_authenticated_packet_received(peer);
	mg_timers_any_authenticated_packet_traversal(peer);
}

static void log_handshake(struct mg_peer *peer, const struct mg_keypair *kp)
{
	char name[16];
	peer->device->stats.handshakes_completed++;
	mg_log(peer->device->log, MG_LOG_INFO, "peer %s: handshake completed, keypair 0x%08x (%s)",
	       mg_peer_name(peer, name), kp->entry.index,
	       kp->i_am_the_initiator ? "initiator" : "responder");
	notify(peer, MG_DEVICE_EVENT_HANDSHAKE);
}

static void receive_initiation(struct mg_device *dev, const struct source *src, const uint8_t *buf,
			       size_t len, uint64_t now)
{
	struct mg_peer *peer;

	peer = mg_noise_consume_initiation((const struct mg_msg_initiation *)buf, &dev->identity,
					   &dev->peers, now);
	if (!peer) {
		dev->stats.rx_handshake_failed++;
		return;
	}
	handshake_authenticated(peer, src, len);
	send_response(peer);
}

static void receive_response(struct mg_device *dev, const struct source *src, const uint8_t *buf,
			     size_t len, uint64_t now)
{
	struct mg_keypair *kp;
	struct mg_peer *peer;

	peer = mg_noise_consume_response((const struct mg_msg_response *)buf, &dev->identity,
					 &dev->indices);
	if (!peer) {
		dev->stats.rx_handshake_failed++;
		return;
	}
	handshake_authenticated(peer, src, len);
	kp = mg_noise_begin_session(&peer->handshake, &peer->keypairs, &dev->indices, now);
	if (!kp)
		return;
	mg_timers_session_derived(peer);
	mg_timers_handshake_complete(peer);
	log_handshake(peer, kp);
	/* The responder waits for our first packet before it uses the keys. */
	mg_device_send_keepalive(peer);
}

/* A cookie reply to our pending initiation: resend it now with mac2 rather
 * than after REKEY_TIMEOUT, once per attempt (device.h). A reply to our
 * response (entry is a keypair) needs nothing: the initiator resends. */
static void retry_with_cookie(struct mg_peer *peer, const struct mg_index_entry *e, uint64_t now)
{
	if (e->type != MG_INDEX_HANDSHAKE ||
	    peer->handshake.state != MG_HANDSHAKE_CREATED_INITIATION || peer->timers.cookie_retried)
		return;
	peer->timers.cookie_retried = true;
	send_initiation_now(peer, now);
}

static void receive_cookie_reply(struct mg_device *dev, const uint8_t *buf, uint64_t now)
{
	const struct mg_msg_cookie_reply *msg = (const void *)buf;
	struct mg_index_entry *e;
	char name[16];

	e = mg_index_lookup(&dev->indices, le32toh(msg->receiver_index),
			    MG_INDEX_HANDSHAKE | MG_INDEX_KEYPAIR);
	if (!e || !mg_cookie_reply_consume(&e->peer->cookie, msg, now)) {
		dev->stats.rx_bad_cookie++;
		return;
	}
	mg_log(dev->log, MG_LOG_INFO, "peer %s: cookie reply accepted, next handshake carries mac2",
	       mg_peer_name(e->peer, name));
	retry_with_cookie(e->peer, e, now);
}

/* An admitted initiation or response, its work timed for the load bucket. */
static void receive_handshake(struct mg_device *dev, const struct source *src, const uint8_t *buf,
			      size_t len, uint64_t now)
{
	uint64_t start = work_now(dev), end;

	if (buf[0] == MG_MSG_INITIATION)
		receive_initiation(dev, src, buf, len, now);
	else
		receive_response(dev, src, buf, len, now);
	end = work_now(dev);
	cost_sample(dev, end > start ? end - start : 0);
	load_account(dev, end > start ? end - start : 0, now);
}

/* The length of the IP packet in a decrypted payload and its source
 * address; false if it is not a sound IPv4 or IPv6 packet. */
static bool inner_packet(const uint8_t *p, size_t len, size_t *ip_len, int *family,
			 const uint8_t **src)
{
	if (len >= 20 && (p[0] >> 4) == 4) {
		*ip_len = (size_t)p[2] << 8 | p[3];
		*family = AF_INET;
		*src = p + 12;
		return *ip_len >= 20 && *ip_len <= len;
	}
	if (len >= 40 && (p[0] >> 4) == 6) {
		*ip_len = ((size_t)p[4] << 8 | p[5]) + 40;
		*family = AF_INET6;
		*src = p + 8;
		return *ip_len <= len;
	}
	return false;
}

static bool keypair_usable_for_receive(const struct mg_keypair *kp, uint64_t now)
{
	return kp->valid && now < kp->birth + REJECT_AFTER_TIME &&
	       kp->replay.next < REJECT_AFTER_MESSAGES;
}

static void keep_key_fresh_receive(struct mg_peer *peer, uint64_t now)
{
	struct mg_keypair *kp = peer->keypairs.current;

	if (!kp || !kp->valid || !kp->i_am_the_initiator || peer->timers.sent_lastminute_handshake)
		return;
	if (now >= kp->birth + REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) {
		peer->timers.sent_lastminute_handshake = true;
		mg_device_send_initiation(peer, false);
	}
}

static void deliver(struct mg_device *dev, struct mg_peer *peer, const uint8_t *plain, size_t len)
{
	const uint8_t *src;
	size_t ip_len;
	int family;

	/* The peer sent data and expects an answer even if we then drop it,
	 * as the kernel and wireguard-go do. */
	mg_timers_data_received(peer);
	if (!inner_packet(plain, len, &ip_len, &family, &src)) {
		dev->stats.rx_bad_ip++;
		return;
	}
	if (mg_allowedips_lookup(&dev->allowedips, family, src) != peer) {
		dev->stats.rx_not_allowed++;
		return;
	}
	if (dev->filter && dev->filter->inbound &&
	    !dev->filter->inbound(dev->filter->ctx, peer, plain, ip_len)) {
		dev->stats.rx_filtered++;
		return;
	}
	dev->ops->deliver(dev->ctx, plain, ip_len);
}

static void receive_data(struct mg_device *dev, const struct source *src, uint8_t *buf, size_t len,
			 uint64_t now)
{
	const struct mg_msg_data *hdr = (const void *)buf;
	uint8_t *payload = buf + MG_DATA_HEADER_SIZE;
	size_t plain_len = len - MG_DATA_MIN_SIZE;
	uint64_t counter = le64toh(hdr->counter);
	struct mg_index_entry *e;
	struct mg_keypair *kp;
	struct mg_peer *peer;

	e = mg_index_lookup(&dev->indices, le32toh(hdr->key_idx), MG_INDEX_KEYPAIR);
	if (!e) {
		dev->stats.rx_unknown_index++;
		return;
	}
	kp = container_of(e, struct mg_keypair, entry);
	peer = e->peer;
	if (!keypair_usable_for_receive(kp, now)) {
		dev->stats.rx_expired_key++;
		return;
	}
	if (!mg_aead_open(payload, payload, len - MG_DATA_HEADER_SIZE, NULL, 0, counter,
			  kp->receive_key)) {
		dev->stats.rx_decrypt_failed++;
		return;
	}
	if (!mg_replay_accept(&kp->replay, counter)) {
		dev->stats.rx_replayed++;
		return;
	}
	authenticated_from(peer, src);
	if (mg_noise_received_with_keypair(&peer->keypairs, kp, &dev->indices)) {
		mg_timers_handshake_complete(peer);
		log_handshake(peer, kp);
		send_staged(peer);
	}
	keep_key_fresh_receive(peer, now);
	mg_timers_any_authenticated_packet_received(peer);
	mg_timers_any_authenticated_packet_traversal(peer);
	peer->rx_bytes += len;
	if (plain_len)
		deliver(dev, peer, payload, plain_len);
}

/* The WireGuard type of a datagram, or MG_MSG_INVALID when it is not one:
 * the type byte, three zero bytes and the exact size must all match, so STUN
 * and other protocols sharing the port are told apart reliably. */
static enum mg_message_type classify(const uint8_t *buf, size_t len)
{
	if (len < 4 || buf[1] || buf[2] || buf[3])
		return MG_MSG_INVALID;
	switch (buf[0]) {
	case MG_MSG_INITIATION:
		return len == sizeof(struct mg_msg_initiation) ? MG_MSG_INITIATION : MG_MSG_INVALID;
	case MG_MSG_RESPONSE:
		return len == sizeof(struct mg_msg_response) ? MG_MSG_RESPONSE : MG_MSG_INVALID;
	case MG_MSG_COOKIE_REPLY:
		return len == sizeof(struct mg_msg_cookie_reply) ? MG_MSG_COOKIE_REPLY
								 : MG_MSG_INVALID;
	case MG_MSG_DATA:
		return len >= MG_DATA_MIN_SIZE ? MG_MSG_DATA : MG_MSG_INVALID;
	}
	return MG_MSG_INVALID;
}

static bool looks_like_wireguard(const uint8_t *buf, size_t len)
{
	return len >= 4 && buf[0] >= MG_MSG_INITIATION && buf[0] <= MG_MSG_DATA && !buf[1] &&
	       !buf[2] && !buf[3];
}

/* False when it is not a WireGuard message of a known type and size. */
static bool receive_wireguard(struct mg_device *dev, const struct source *src, uint8_t *buf,
			      size_t len)
{
	uint64_t now = now_ns(dev);

	switch (classify(buf, len)) {
	case MG_MSG_INITIATION:
	case MG_MSG_RESPONSE:
		if (admit_handshake(dev, src, buf, len, now))
			receive_handshake(dev, src, buf, len, now);
		return true;
	case MG_MSG_COOKIE_REPLY:
		receive_cookie_reply(dev, buf, now);
		return true;
	case MG_MSG_DATA:
		receive_data(dev, src, buf, len, now);
		return true;
	case MG_MSG_INVALID:
		break;
	}
	if (!looks_like_wireguard(buf, len))
		return false;
	dev->stats.rx_invalid++;
	return true;
}

void mg_device_receive(struct mg_device *dev, const struct mg_endpoint *from, uint8_t *buf,
		       size_t len)
{
	struct source src = { .addr = from, .relayed = false };

	if (receive_wireguard(dev, &src, buf, len))
		return;
	if (dev->other_handler)
		dev->other_handler(dev->other_ctx, from, buf, len);
	else
		dev->stats.rx_not_wireguard++;
}

void mg_device_receive_relayed(struct mg_device *dev, const struct mg_endpoint *relay, uint8_t *buf,
			       size_t len)
{
	struct source src = { .addr = relay, .relayed = true };

	if (!receive_wireguard(dev, &src, buf, len))
		dev->stats.rx_not_wireguard++;
}

void mg_device_zero_keys(struct mg_peer *peer)
{
	bool had_session = peer->keypairs.current || peer->keypairs.previous || peer->keypairs.next;

	mg_noise_handshake_clear(&peer->handshake, &peer->device->indices);
	mg_noise_keypairs_clear(&peer->keypairs, &peer->device->indices);
	if (had_session)
		notify(peer, MG_DEVICE_EVENT_IDLE);
}
